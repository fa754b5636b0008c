"""FSx for Lustre as the model cache, as pulumi-aws wire properties and Kubernetes manifests (pure).

- `security_group_props` (``aws:ec2/securityGroup:SecurityGroup``): Lustre's ports, TCP 988 and
  1018-1023, from the file system's own group (its servers talk to each other) and from the nodes'
  group (the cluster security group every node of the stack's pools carries), as the FSx for Lustre
  guide's "File system access control with Amazon VPC" asks; all traffic out.
- `file_system_props` (``aws:fsx/lustreFileSystem:LustreFileSystem``): in one subnet (the EFA
  pool's: FSx for Lustre takes exactly one, and its zone is the file server's), with the deployment
  type, capacity and throughput per TiB from config.
- `data_repository_association_props` (``aws:fsx/dataRepositoryAssociation:DataRepositoryAssociation``):
  an optional link of a directory of the file system to an S3 prefix, imported lazily.
- `persistent_volume`: the static PersistentVolume of the FSx CSI driver (``fsx.csi.aws.com``,
  volume handle the file system id, attributes its DNS name and mount name), mounted with ``flock``.

Capacity rules (FSx API reference, CreateFileSystem StorageCapacity): SSD deployment types take
1200 GiB, 2400 GiB or a multiple of 2400 GiB. Throughput per TiB (FSx for Lustre guide, "Managing
throughput capacity"): PERSISTENT_1 50, 100 or 200 MB/s/TiB; PERSISTENT_2 125, 250, 500 or 1000;
SCRATCH_2 has none to set. `capacity_problem` and `throughput_problem` say what is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from components.kit.kube import labels
from components.kit.ref import Ref

CSI_DRIVER = "fsx.csi.aws.com"
# Lustre's LNET port and the ports its servers answer on (FSx for Lustre guide, "File system access
# control with Amazon VPC").
LUSTRE_PORTS: tuple[tuple[int, int], ...] = ((988, 988), (1018, 1023))
CACHE_TAG = "dynamo-cluster/model-cache"

DeploymentType = Literal["PERSISTENT_2", "PERSISTENT_1", "SCRATCH_2"]
DEPLOYMENT_TYPES: tuple[DeploymentType, ...] = get_args(DeploymentType)
THROUGHPUTS: Mapping[DeploymentType, tuple[int, ...]] = {
    "PERSISTENT_2": (125, 250, 500, 1000), "PERSISTENT_1": (50, 100, 200), "SCRATCH_2": ()}
LUSTRE_VERSIONS = ("2.15", "2.12")
CAPACITY_STEP_GIB = 2400


@dataclass(frozen=True)
class S3Repository:
    """An S3 prefix linked to a directory of the file system (a data repository association)."""

    path: str                        # s3://bucket/prefix/
    file_system_path: str = "/s3"    # where it appears in the file system


@dataclass(frozen=True)
class LustreSettings:
    """An FSx for Lustre file system for the model cache, in the subnet of one pool."""

    name: str                 # the cache's name (tags, resource names)
    pool: str                 # the pool whose subnet and zone it is in
    subnet_id: str
    availability_zone: str | None
    vpc_id: str
    client_security_group_id: str  # the nodes' security group (the cluster security group)
    deployment_type: DeploymentType = "PERSISTENT_2"
    storage_capacity_gib: int = 2400
    throughput_per_tib: int | None = 250
    lustre_version: str = "2.15"
    s3: S3Repository | None = None

    @property
    def throughput_mbps(self) -> float | None:
        """The file system's throughput in MB/s (capacity in TiB x throughput per TiB), when set."""
        if self.throughput_per_tib is None:
            return None
        return self.storage_capacity_gib / 1024 * self.throughput_per_tib


def capacity_problem(deployment: DeploymentType, gib: int) -> str | None:
    if gib in (1200, 2400) or (gib > 0 and gib % CAPACITY_STEP_GIB == 0):
        return None
    return f"{deployment} file systems take 1200, 2400 or a multiple of 2400 GiB (4800, 7200, ...)"


def throughput_problem(deployment: DeploymentType, per_tib: int | None) -> str | None:
    allowed = THROUGHPUTS[deployment]
    if not allowed:
        return None if per_tib is None else f"unset: {deployment} has no throughput per TiB to choose"
    if per_tib in allowed:
        return None
    return f"one of {', '.join(map(str, allowed))} MB/s/TiB for {deployment}"


def _tags(settings: LustreSettings) -> dict[str, str]:
    return {CACHE_TAG: settings.name, "Name": f"{settings.name}-lustre"}


def security_group_props(settings: LustreSettings) -> dict[str, Any]:
    rules = []
    for low, high in LUSTRE_PORTS:
        ports = str(low) if low == high else f"{low}-{high}"
        rules.append({"protocol": "tcp", "fromPort": low, "toPort": high, "self": True,
                      "description": f"Lustre {ports} between the file servers"})
        rules.append({"protocol": "tcp", "fromPort": low, "toPort": high,
                      "securityGroups": [settings.client_security_group_id],
                      "description": f"Lustre {ports} from the cluster's nodes"})
    return {"vpcId": settings.vpc_id,
            "description": f"FSx for Lustre model cache {settings.name}: Lustre from the cluster's nodes",
            "ingress": rules,
            "egress": [{"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"],
                        "description": "all traffic out"}],
            "tags": _tags(settings)}


def file_system_props(settings: LustreSettings, security_group_id: Ref) -> dict[str, Any]:
    props: dict[str, Any] = {
        "subnetIds": settings.subnet_id,  # one subnet (a string in pulumi-aws 7)
        "securityGroupIds": [security_group_id],
        "deploymentType": settings.deployment_type,
        "storageType": "SSD",
        "storageCapacity": settings.storage_capacity_gib,
        "fileSystemTypeVersion": settings.lustre_version,
        "dataCompressionType": "NONE",  # weights are dense: compression costs CPU and saves little
        "tags": _tags(settings),
    }
    if settings.throughput_per_tib is not None:
        props["perUnitStorageThroughput"] = settings.throughput_per_tib
    return props


def data_repository_association_props(settings: LustreSettings, file_system_id: Ref) -> dict[str, Any]:
    """The S3 link: listings imported when created and kept current (new, changed and deleted
    objects), file contents loaded on first read; nothing exported back, and the files stay in the
    file system when the association goes."""
    assert settings.s3 is not None
    return {"fileSystemId": file_system_id, "dataRepositoryPath": settings.s3.path,
            "fileSystemPath": settings.s3.file_system_path, "batchImportMetaDataOnCreate": True,
            "deleteDataInFilesystem": False,
            "s3": {"autoImportPolicy": {"events": ["NEW", "CHANGED", "DELETED"]}},
            "tags": _tags(settings)}


def persistent_volume(pv_name: str, claim_name: str, namespace: str, settings: LustreSettings, *,
                      file_system_id: Ref, dns_name: Ref,
                      mount_name: Ref) -> dict[str, Any]:
    """The static PersistentVolume of the file system, reserved for the cache's claim (`claimRef`),
    so no other claim can bind it. `Retain`: a deleted claim never deletes the file system (the CSI
    driver does not delete statically provisioned volumes either)."""
    return {
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": pv_name, "labels": labels(pv_name, "model-cache")},
        "spec": {
            "capacity": {"storage": f"{settings.storage_capacity_gib}Gi"},
            "volumeMode": "Filesystem",
            "accessModes": ["ReadWriteMany"],
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": "",
            "mountOptions": ["flock"],
            "claimRef": {"name": claim_name, "namespace": namespace},
            "csi": {"driver": CSI_DRIVER, "volumeHandle": file_system_id,
                    "volumeAttributes": {"dnsname": dns_name, "mountname": mount_name}},
        },
    }
