"""The shared model cache and the Hugging Face token Secret, as settings and manifests.

The cache is one ReadWriteMany claim every graph mounts (`modelCache`), on one of three kinds of
storage (`CacheKind`): ``existing``, a StorageClass the cluster has; ``fsx-lustre``, an FSx for
Lustre file system the stack creates, bound statically (a PersistentVolume reserved for the claim);
``efs``, an EFS file system the stack creates, with a StorageClass of its own. Models get into it
through one download Job each (`components.storage.downloads`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, assert_never, get_args

from components.kit.kube import labels, secret_manifest
from components.kit.quantity import quantity_bytes
from components.kit.ref import Ref
from components.kit.resources import Storage
from components.storage.csi import CsiDriverSettings
from components.storage.downloads import DownloadPlan, DownloadSettings
from components.storage.efs import EfsSettings
from components.storage.lustre import LustreSettings

HF_TOKEN_KEY = "HF_TOKEN"

CacheKind = Literal["existing", "fsx-lustre", "efs"]
CACHE_KINDS: tuple[CacheKind, ...] = get_args(CacheKind)


@dataclass(frozen=True)
class ExistingClass:
    """A ReadWriteMany StorageClass the cluster has (`modelCache.kind: existing`): the claim asks it."""

    storage: Storage  # the class, and the size the claim requests


@dataclass(frozen=True)
class FsxLustre:
    """An FSx for Lustre file system the stack creates (`fsx-lustre`), bound statically: a
    PersistentVolume reserved for the claim, whose size is the file system's."""

    lustre: LustreSettings
    csi: CsiDriverSettings
    volume_name: str  # the PersistentVolume the claim binds


@dataclass(frozen=True)
class Efs:
    """An EFS file system the stack creates (`efs`), with a StorageClass of its own that provisions an
    access point per claim; it grows as files are written."""

    efs: EfsSettings
    csi: CsiDriverSettings
    size: str  # what the claim requests (nominal: EFS has no size)


# Where the cache lives. Everything that differs by kind matches on it and ends with `assert_never`,
# so a new kind is one class here and mypy names every place that must learn it (docs/contributing.md).
CacheStore = ExistingClass | FsxLustre | Efs


@dataclass(frozen=True)
class ModelCacheSettings:
    claim_name: str
    mount_path: str
    retain: bool          # keep the volume (and the file system) on destroy and replacement
    store: CacheStore
    download: DownloadSettings = field(default_factory=DownloadSettings)

    @property
    def kind(self) -> CacheKind:
        """The config word of the cache's kind (modelCache.kind)."""
        match self.store:
            case ExistingClass():
                return "existing"
            case FsxLustre():
                return "fsx-lustre"
            case Efs():
                return "efs"
            case _:
                assert_never(self.store)

    @property
    def storage(self) -> Storage:
        """What the claim asks for: its class ("" for a static volume) and size."""
        match self.store:
            case ExistingClass(storage=storage):
                return storage
            case FsxLustre(lustre=lustre):
                return Storage("", f"{lustre.storage_capacity_gib}Gi")
            case Efs(efs=efs, size=size):
                return Storage(efs.storage_class_name, size)
            case _:
                assert_never(self.store)

    @property
    def csi(self) -> CsiDriverSettings | None:
        """The CSI driver the stack installs for the cache, when it provisions the storage."""
        match self.store:
            case ExistingClass():
                return None  # the cluster's class brings its driver
            case FsxLustre(csi=csi) | Efs(csi=csi):
                return csi
            case _:
                assert_never(self.store)

    @property
    def on_aws(self) -> bool:
        """Whether the stack creates AWS resources for the cache."""
        return self.csi is not None

    @property
    def capacity(self) -> str:
        """What the cache holds, as the summary says it."""
        match self.store:
            case ExistingClass(storage=storage):
                return storage.size
            case FsxLustre(lustre=lustre):
                return f"{lustre.storage_capacity_gib} GiB"
            case Efs():
                return "elastic (EFS grows as files are written)"
            case _:
                assert_never(self.store)

    @property
    def capacity_gib(self) -> int | None:
        """What the cache can hold in GiB, or None where the storage grows by itself (EFS)."""
        match self.store:
            case ExistingClass(storage=storage):
                return quantity_bytes(storage.size) >> 30
            case FsxLustre(lustre=lustre):
                return lustre.storage_capacity_gib
            case Efs():
                return None
            case _:
                assert_never(self.store)


@dataclass(frozen=True)
class CacheFit:
    """The configured models against the cache's capacity."""

    capacity_gib: int | None          # None: grows by itself (EFS)
    known_gib: int                    # the models whose size is known, together
    unknown: tuple[str, ...]          # models of unknown size
    sizes: Mapping[str, int]          # model (repo@revision) -> GiB, where known

    @property
    def fits(self) -> bool | None:
        """True or False when the capacity and every size are known; None when it cannot be told,
        except that known sizes over the capacity never fit."""
        if self.capacity_gib is None:
            return True
        if self.known_gib > self.capacity_gib:
            return False
        return None if self.unknown else True


def cache_fit(cache: ModelCacheSettings, plans: Sequence[DownloadPlan],
              learned_gib: Mapping[str, int] | None = None) -> CacheFit:
    """The models' sizes (config's `modelSizeGiB`, else what a finished download reported:
    `learned_gib`, by ``repo@revision``) against the cache's capacity."""
    learned = learned_gib or {}
    sizes: dict[str, int] = {}
    unknown: list[str] = []
    for plan in plans:
        key = str(plan.ref)
        size = plan.size_gib if plan.size_gib is not None else learned.get(key)
        if size is None:
            unknown.append(key)
        else:
            sizes[key] = size
    return CacheFit(cache.capacity_gib, sum(sizes.values()), tuple(unknown), sizes)


def model_cache_claim(settings: ModelCacheSettings, namespace: Ref,
                      storage_class: Ref | None = None,
                      volume_name: Ref | None = None) -> dict[str, Any]:
    """The cache's claim: on `storage_class` (default: the settings' class), or bound to the static
    volume `volume_name` (with no class, so no provisioner answers it)."""
    spec: dict[str, Any] = {"accessModes": ["ReadWriteMany"],
                            "resources": {"requests": {"storage": settings.storage.size}}}
    if volume_name is not None:
        spec["storageClassName"] = ""
        spec["volumeName"] = volume_name
    else:
        spec["storageClassName"] = storage_class if storage_class is not None else settings.storage.storage_class
    return {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": settings.claim_name, "namespace": namespace,
                     "labels": labels(settings.claim_name, "model-cache")},
        "spec": spec,
    }


def hf_token_secret(name: str, namespace: Ref, token: Ref) -> dict[str, Any]:
    return secret_manifest(name, namespace, {HF_TOKEN_KEY: token}, component="hf-token")
