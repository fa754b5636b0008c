"""The ``modelCache`` section: the shared model cache, the storage it lives on, the CSI driver that
mounts it, and the Jobs that download each model into it once.

``kind`` picks the storage: ``existing`` (a ReadWriteMany StorageClass the cluster has: the
default, and what the stack did before it provisioned storage), ``fsx-lustre`` (an FSx for Lustre
file system in the subnet and zone of a pool, by default the first EFA pool) or ``efs`` (an EFS file
system with a mount target in each of the pools' subnets). The two AWS kinds need ``aws.region``,
``aws.vpcId`` and ``aws.clusterSecurityGroupId`` (the nodes' security group, which the file
system's admits), and ``aws.clusterName`` when the stack installs the CSI driver add-on.

Every key of every kind is read whatever the kind is (a key of another kind is a problem that says
so), so that one reading of the committed stacks sees every documented key.
"""

from __future__ import annotations

import re
from collections.abc import Sequence, Set
from dataclasses import dataclass

from components.kit.resources import Storage
from components.nodes.settings import NodePoolSettings
from components.storage import csi, efs, lustre
from components.storage.cache import (
    CacheKind,
    CacheStore,
    Efs,
    ExistingClass,
    FsxLustre,
    ModelCacheSettings,
)
from components.storage.downloads import DownloadSettings
from stacks.config.aws import AwsConfig
from stacks.config.common import read_resources, read_storage
from stacks.config.keys import model_cache as K
from stacks.config.limits import MOUNT_PATH_TEXT, mount_path_problem
from stacks.config.reader import Node
from stacks.config.rules import require_aws_for_cache

SECTION = "modelCache"
_KIND_SECTIONS: dict[str, CacheKind] = {"fsx": "fsx-lustre", "efs": "efs"}


def _eks_pools(pools: Sequence[NodePoolSettings]) -> list[NodePoolSettings]:
    return [p for p in pools if p.eks is not None]


def _fsx_pool(node: Node, pools: Sequence[NodePoolSettings], active: bool,
              broken: Set[str]) -> NodePoolSettings | None:
    """The pool whose subnet and zone the file system goes into: `fsx.pool`, or the first EFA pool
    (the first eks pool when none has EFA). Pools with problems of their own (`broken`) are not
    reported again here."""
    eks = _eks_pools(pools)
    name = node.read_optional(K.FSX_POOL)
    if not active or (name in broken if name is not None else not eks and bool(broken)):
        return None
    names = ", ".join(p.name for p in eks) or "none is configured"
    if name is not None:
        chosen = next((p for p in eks if p.name == name), None)
        if chosen is None:
            node.problem("pool", f"is {name!r}, which is not an eks pool", f"the name of an eks pool ({names})")
            return None
    else:
        chosen = next((p for p in eks if p.eks is not None and p.eks.efa), eks[0] if eks else None)
        if chosen is None:
            node.problem("pool", "is not set, and the stack has no eks pool whose subnet the file system could use",
                         "an eks pool in nodePools (FSx for Lustre goes into its subnet and zone)")
            return None
    assert chosen.eks is not None
    if len(chosen.eks.subnet_ids) != 1:
        node.problem("pool", f"is {chosen.name!r}, a pool with {len(chosen.eks.subnet_ids)} subnets",
                     "an eks pool with exactly one subnet (FSx for Lustre lives in one subnet; every EFA pool has one)")
        return None
    return chosen


def _s3(node: Node, deployment: lustre.DeploymentType, active: bool) -> lustre.S3Repository | None:
    s3 = node.child("s3")
    path = s3.read_optional(K.FSX_S3_REPOSITORY)
    fs_path = s3.read(K.FSX_S3_PATH)
    if fs_path == "/" or fs_path.rstrip("/") in ("/hub", "/dynamo-cluster"):
        s3.problem("fileSystemPath", f"is {fs_path!r}, where the download Jobs write",
                   "a directory of its own, such as /s3")
    s3.close()
    if path is None or not active:
        return None
    if deployment != "PERSISTENT_2":
        s3.problem("repositoryPath", f"is set on a {deployment} file system",
                   "unset, or fsx.deploymentType PERSISTENT_2 (data repository associations need it)")
        return None
    return lustre.S3Repository(path=path, file_system_path=fs_path)


def _read_lustre(node: Node, *, name: str, pools: Sequence[NodePoolSettings], aws: AwsConfig,
                 active: bool, broken: Set[str]) -> lustre.LustreSettings | None:
    fsx = node.child("fsx")
    pool = _fsx_pool(fsx, pools, active, broken)
    deployment = fsx.read(K.FSX_DEPLOYMENT_TYPE)
    capacity = fsx.read(K.FSX_CAPACITY)
    default_throughput = {"PERSISTENT_2": 250, "PERSISTENT_1": 200, "SCRATCH_2": None}[deployment]
    configured_throughput = fsx.configured(K.FSX_THROUGHPUT)
    throughput = default_throughput if configured_throughput is None else configured_throughput
    version = fsx.read(K.FSX_LUSTRE_VERSION)
    s3 = _s3(fsx, deployment, active)
    if active:
        wrong = lustre.capacity_problem(deployment, capacity)
        if wrong is not None:
            fsx.problem("storageCapacityGiB", f"is {capacity}", wrong)
        wrong = lustre.throughput_problem(deployment, throughput)
        if wrong is not None:
            fsx.problem("throughputPerTiB", f"is {throughput}", wrong)
    fsx.close()
    if not active or pool is None or pool.eks is None or aws.vpc_id is None or aws.cluster_security_group_id is None:
        return None
    return lustre.LustreSettings(
        name=name, pool=pool.name, subnet_id=pool.eks.subnet_ids[0], availability_zone=pool.eks.availability_zone,
        vpc_id=aws.vpc_id, client_security_group_id=aws.cluster_security_group_id, deployment_type=deployment,
        storage_capacity_gib=capacity, throughput_per_tib=throughput, lustre_version=version, s3=s3)


def _read_efs(node: Node, *, name: str, pools: Sequence[NodePoolSettings], aws: AwsConfig,
              active: bool, broken: Set[str]) -> efs.EfsSettings | None:
    section = node.child("efs")
    pool_subnets = list(dict.fromkeys(s for p in _eks_pools(pools) if p.eks is not None for s in p.eks.subnet_ids))
    subnets = section.read(K.EFS_SUBNETS, pool_subnets)
    for subnet in subnets:
        if not re.match(K.SUBNET, subnet):
            section.problem("subnetIds", f"has {subnet!r}", "subnet ids such as subnet-0abc12345")
    if active and len(set(subnets)) != len(subnets):
        section.problem("subnetIds", "names a subnet twice", "each subnet once (one mount target each)")
    zones: dict[str, str] = {}
    for pool in _eks_pools(pools):
        if pool.eks is not None and pool.eks.availability_zone and len(pool.eks.subnet_ids) == 1:
            zones[pool.eks.subnet_ids[0]] = pool.eks.availability_zone
    seen: dict[str, str] = {}
    for subnet in subnets:
        zone = zones.get(subnet)
        if active and zone is not None and zone in seen and seen[zone] != subnet:  # EFS's rule, not FSx's
            section.problem("subnetIds", f"has {seen[zone]} and {subnet}, both in {zone}",
                            "one subnet per availability zone (EFS takes one mount target per zone)")
        if zone is not None:
            seen.setdefault(zone, subnet)
    throughput = section.read(K.EFS_THROUGHPUT_MODE)
    if active and not subnets and not broken:
        section.problem("subnetIds", "is empty, and the stack has no eks pool to take subnets from",
                        "the subnets of the nodes that mount the cache (one mount target each)")
    section.close()
    if not active or not subnets or aws.vpc_id is None or aws.cluster_security_group_id is None:
        return None
    return efs.EfsSettings(name=name, subnet_ids=tuple(subnets), vpc_id=aws.vpc_id,
                           client_security_group_id=aws.cluster_security_group_id, throughput_mode=throughput)


def _read_csi(node: Node, kind: CacheKind, aws: AwsConfig) -> csi.CsiDriverSettings | None:
    section = node.child("csiDriver")
    install = section.read(K.CSI_INSTALL)
    version = section.read_optional(K.CSI_VERSION)
    section.close()
    if kind == "existing":
        return None
    return csi.CsiDriverSettings(kind=kind, install=install, version=version or csi.DRIVERS[kind].version,
                                 cluster_name=aws.cluster_name or "", partition=aws.partition)


def read_download(node: Node) -> DownloadSettings:
    section = node.child("download")
    image = section.read(K.DOWNLOAD_IMAGE)
    if image.endswith(":latest"):
        section.problem(K.DOWNLOAD_IMAGE.name, f"is {image!r}", K.IMAGE_TEXT)
    exclude: list[str] = section.read(K.DOWNLOAD_EXCLUDE)
    settings = DownloadSettings(
        enabled=section.read(K.DOWNLOAD_ENABLED),
        image=image,
        timeout_minutes=section.read(K.DOWNLOAD_TIMEOUT),
        backoff_limit=section.read(K.DOWNLOAD_BACKOFF),
        workers=section.read(K.DOWNLOAD_WORKERS),
        exclude=tuple(exclude),
        resources=read_resources(section, K.DOWNLOAD_RESOURCES),
    )
    section.close()
    return settings


def _other_kind_keys(node: Node, kind: CacheKind) -> None:
    for section, owner in _KIND_SECTIONS.items():
        if owner != kind and node.value.get(section):
            node.problem(section, f"is set, but modelCache.kind is {kind}", f"remove it, or kind: {owner}")
    if kind == "existing" and node.value.get("csiDriver"):
        node.problem("csiDriver", "is set, but modelCache.kind is existing (the cluster's class brings its driver)",
                     "remove it, or kind: fsx-lustre or efs")


@dataclass(frozen=True)
class CacheConfig:
    """What config says about the cache: its settings (None when it is off, or has problems), and
    what the graphs read from it even then."""

    enabled: bool
    mount_path: str
    downloads: bool  # models are downloaded by Jobs (modelCache.download.enabled)
    settings: ModelCacheSettings | None
    download_minutes: int = 0  # how long a download may take (modelCache.download.timeoutMinutes)


def read_model_cache(root: Node, *, retain: bool, aws: AwsConfig, aws_node: Node,
                     pools: Sequence[NodePoolSettings], workloads_namespace: str,
                     broken_pools: Set[str] = frozenset()) -> CacheConfig:
    """Opt-in in every environment; ``kind: existing`` needs a ReadWriteMany class the cluster has.
    `broken_pools`: pools nodePools declares that have problems of their own (and no settings)."""
    node = root.child(SECTION)
    enabled = node.read(K.ENABLED)
    kind = node.read(K.KIND)
    provisioned = kind != "existing"
    # No default class: an existing cache needs ReadWriteMany, which the stack's block-storage class lacks.
    storage = read_storage(node, K.STORAGE, "")
    storage_node = node.value.get("storage") or {}
    mount_path = node.read(K.MOUNT_PATH)
    if (wrong := mount_path_problem(mount_path)) is not None:
        node.problem(K.MOUNT_PATH.name, wrong, MOUNT_PATH_TEXT)
    claim = node.read(K.CLAIM_NAME)
    if enabled and not provisioned and not storage.storage_class:
        node.problem("storage.storageClass", "is required when the model cache is enabled with kind existing",
                     "a StorageClass that provides ReadWriteMany volumes (EFS, FSx for Lustre, NFS), or kind "
                     "fsx-lustre or efs, which provision the storage")
    if enabled and provisioned and isinstance(storage_node, dict) and storage_node.get("storageClass"):
        node.problem("storage.storageClass", f"is set, but modelCache.kind {kind} creates the cache's storage",
                     "unset (or kind: existing)")
    if enabled and kind == "fsx-lustre" and isinstance(storage_node, dict) and storage_node.get("size"):
        node.problem("storage.size", "is set, but the FSx for Lustre file system's size is "
                                     "modelCache.fsx.storageCapacityGiB", "unset")
    active = enabled
    lustre_settings = _read_lustre(node, name=claim, pools=pools, aws=aws, active=active and kind == "fsx-lustre",
                                   broken=broken_pools)
    efs_settings = _read_efs(node, name=claim, pools=pools, aws=aws, active=active and kind == "efs",
                             broken=broken_pools)
    csi_settings = _read_csi(node, kind, aws)
    download = read_download(node)
    if enabled:
        _other_kind_keys(node, kind)
        if provisioned:
            require_aws_for_cache(aws, aws_node, kind=kind,
                                  installs_driver=csi_settings is not None and csi_settings.install)
    node.close()
    settings = _settings(enabled, kind, claim=claim, storage=storage, mount_path=mount_path, retain=retain,
                         lustre_settings=lustre_settings, efs_settings=efs_settings, csi_settings=csi_settings,
                         download=download, workloads_namespace=workloads_namespace)
    return CacheConfig(enabled=enabled, mount_path=mount_path, downloads=download.enabled, settings=settings,
                       download_minutes=download.timeout_minutes)


def _settings(enabled: bool, kind: CacheKind, *, claim: str, storage: Storage, mount_path: str, retain: bool,
              lustre_settings: lustre.LustreSettings | None, efs_settings: efs.EfsSettings | None,
              csi_settings: csi.CsiDriverSettings | None, download: DownloadSettings,
              workloads_namespace: str) -> ModelCacheSettings | None:
    if not enabled:
        return None
    store: CacheStore
    if kind == "fsx-lustre":
        if lustre_settings is None or csi_settings is None:
            return None  # its problems are reported
        store = FsxLustre(lustre_settings, csi_settings, volume_name=f"{workloads_namespace}-{claim}")
    elif kind == "efs":
        if efs_settings is None or csi_settings is None:
            return None
        store = Efs(efs_settings, csi_settings, size=storage.size)
    else:
        store = ExistingClass(storage)
    return ModelCacheSettings(claim_name=claim, mount_path=mount_path, retain=retain, store=store, download=download)
