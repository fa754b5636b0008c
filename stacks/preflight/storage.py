"""Cluster preflight of storage: the StorageClasses the stack's volumes need.

- exactly one StorageClass is the default (volumes that name no class, in charts, get it);
- every class a volume of the stack names exists (`storage_class_uses` collects them, with the config
  key that names each);
- a class that must provide ReadWriteMany volumes (the model cache, mounted by every worker on many
  nodes) does.

How ReadWriteMany is told from the API: a StorageClass does not say which access modes its volumes
support, so the provisioner decides. File-system provisioners (`RWX_PROVISIONERS`, or a name containing
one of `RWX_MARKERS`: EFS, FSx for Lustre, Filestore, Azure Files, NFS, CephFS) pass; block-storage
provisioners (`BLOCK_PROVISIONERS`: EBS, persistent disks, Azure disks, local paths) fail; any other
provisioner passes with a message that says it was not verified.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from components.kit.resources import Storage
from components.storage.cache import ExistingClass
from stacks.config.stack import StackConfig
from stacks.ops.cluster_view import DEFAULT_CLASS_ANNOTATIONS, StorageClassInfo
from stacks.ops.report import Finding

RWX_PROVISIONERS = ("efs.csi.aws.com", "fsx.csi.aws.com", "filestore.csi.storage.gke.io", "file.csi.azure.com",
                    "kubernetes.io/azure-file", "nfs.csi.k8s.io", "cephfs.csi.ceph.com")
RWX_MARKERS = ("nfs", "cephfs", "lustre", "filestore", "azurefile", "azure-file")
BLOCK_PROVISIONERS = ("ebs.csi.aws.com", "kubernetes.io/aws-ebs", "pd.csi.storage.gke.io", "kubernetes.io/gce-pd",
                      "disk.csi.azure.com", "kubernetes.io/azure-disk", "rancher.io/local-path",
                      "kubernetes.io/no-provisioner", "rbd.csi.ceph.com", "topolvm.io")

@dataclass(frozen=True)
class StorageClassUse:
    """A StorageClass a volume of the stack names, and the config key that names it."""

    storage_class: str
    key: str  # e.g. observability.prometheus.storage
    read_write_many: bool = False
    defaults_to_stack_class: bool = True  # unset, <key>.storageClass is the stack's storageClass


def storage_class_uses(config: StackConfig) -> list[StorageClassUse]:
    """Every StorageClass the stack's volumes use: a config section with volumes adds its line here."""
    uses: list[StorageClassUse] = []

    def add(key: str, storage: Storage | None, *, rwx: bool = False, stack_default: bool = True) -> None:
        if storage is not None:
            uses.append(StorageClassUse(storage.storage_class, key, rwx, stack_default))

    if config.nats is not None:
        add("nats.storage", config.nats.storage)
    if config.etcd is not None:
        add("etcd.storage", config.etcd.storage)
    obs = config.observability
    if obs is not None:
        add("observability.prometheus.storage", obs.prometheus.storage)
        if obs.alertmanager.enabled:
            add("observability.alertmanager.storage", obs.alertmanager.storage)
        add("observability.grafana.storage", obs.grafana.storage)
        add("observability.tempo.storage", obs.tempo.storage)
    cache = config.dynamo.model_cache
    if cache is not None and isinstance(cache.store, ExistingClass):  # the other kinds bring their storage
        add("modelCache.storage", cache.storage, rwx=True, stack_default=False)
    return uses


def access(provisioner: str) -> str:
    """``rwx``, ``rwo`` (block storage: ReadWriteOnce only) or ``unknown``; see the module docstring."""
    if provisioner in RWX_PROVISIONERS or any(marker in provisioner.lower() for marker in RWX_MARKERS):
        return "rwx"
    return "rwo" if provisioner in BLOCK_PROVISIONERS else "unknown"


def _patch_default(storage_class: StorageClassInfo, value: str) -> str:
    """The kubectl command that sets the default-class annotation(s) the class carries to `value`."""
    keys = [k for k in DEFAULT_CLASS_ANNOTATIONS if k in storage_class.annotations] or [DEFAULT_CLASS_ANNOTATIONS[0]]
    patch = json.dumps({"metadata": {"annotations": dict.fromkeys(keys, value)}})
    return f"kubectl patch storageclass {storage_class.name} -p '{patch}'"


def check_default_class(classes: Sequence[StorageClassInfo], stack_class: str) -> Finding:
    name = "default storage class"
    defaults = [c for c in classes if c.is_default]
    if not classes:
        return Finding.failed(name, "the cluster has no StorageClass",
                                  "install a CSI driver and a StorageClass for it, marked default (on EKS: the EBS "
                                  "CSI driver add-on and a gp3 class)")
    if not defaults:
        pick = next((c for c in classes if c.name == stack_class), classes[0])
        return Finding.failed(
            name, f"none of the StorageClasses ({', '.join(c.name for c in classes)}) is marked default; volumes "
                  f"that name no class stay Pending", f"mark one default: {_patch_default(pick, 'true')}")
    if len(defaults) > 1:
        keep = next((c for c in defaults if c.name == stack_class), defaults[0])
        drop = [c for c in defaults if c.name != keep.name]
        return Finding.failed(
            name, f"{len(defaults)} StorageClasses are marked default ({', '.join(c.name for c in defaults)}); a "
                  f"volume that names no class gets the most recently created of them",
            f"keep one: {'; '.join(_patch_default(c, 'false') for c in drop)}")
    return Finding.passed(name, f"{defaults[0].name} ({defaults[0].provisioner})")


def _describe(classes: Sequence[StorageClassInfo]) -> str:
    return ", ".join(c.name + (" (default)" if c.is_default else "") for c in classes) or "none"


def check_named_classes(classes: Sequence[StorageClassInfo], uses: Sequence[StorageClassUse]) -> list[Finding]:
    """One result per class the stack names, then one per use that needs ReadWriteMany volumes."""
    by_name = {c.name: c for c in classes}
    rwx_classes = [c.name for c in classes if access(c.provisioner) == "rwx"]
    results: list[Finding] = []
    for class_name in sorted({u.storage_class for u in uses}):
        users = [u for u in uses if u.storage_class == class_name]
        keys = ", ".join(u.key for u in users)
        name = f"storage class {class_name}"
        found = by_name.get(class_name)
        if found is not None:
            results.append(Finding.passed(name, f"exists ({found.provisioner}); used by {keys}"))
            continue
        settings = " or ".join(f"{u.key}.storageClass" for u in users)
        if any(u.defaults_to_stack_class for u in users):
            settings += " (or storageClass, which they default to)"
        candidates = rwx_classes if any(u.read_write_many for u in users) else [c.name for c in classes]
        results.append(Finding.failed(
            name, f"does not exist; used by {keys}; the cluster has: {_describe(classes)}",
            f"create StorageClass {class_name}, or set {settings} to "
            + (f"one of: {', '.join(candidates)}" if candidates else "a class the cluster has (it has none fitting)")))
    for use in uses:
        found = by_name.get(use.storage_class)
        if use.read_write_many and found is not None:
            results.append(_check_rwx(use, found, rwx_classes))
    return results


def _check_rwx(use: StorageClassUse, found: StorageClassInfo, rwx_classes: Sequence[str]) -> Finding:
    name = f"{use.key} ReadWriteMany"
    kind = access(found.provisioner)
    if kind == "rwx":
        return Finding.passed(name, f"{found.name} ({found.provisioner}) provides ReadWriteMany volumes")
    if kind == "unknown":
        return Finding.passed(name, f"{found.name} is provisioned by {found.provisioner}, which this check does "
                                        f"not know: not verified; make sure it provides ReadWriteMany volumes")
    others = [c for c in rwx_classes if c != found.name]
    return Finding.failed(
        name, f"{found.name} is provisioned by {found.provisioner}, block storage that provides only ReadWriteOnce "
              f"volumes; every worker mounts this volume, on many nodes",
        f"set {use.key}.storageClass to a ReadWriteMany class: "
        + (", ".join(others) if others else "the cluster has none; install the EFS CSI driver (or FSx for Lustre, "
                                            "or an NFS provisioner) and a StorageClass for it"))
