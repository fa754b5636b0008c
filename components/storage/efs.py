"""EFS as the model cache, as pulumi-aws wire properties and Kubernetes manifests (pure).

- `security_group_props` (``aws:ec2/securityGroup:SecurityGroup``): NFS (TCP 2049) from the nodes'
  security group (the cluster security group); all traffic out.
- `file_system_props` (``aws:efs/fileSystem:FileSystem``): encrypted, general purpose, elastic
  throughput by default (it follows the load instead of accruing burst credits: a model cache is read
  in bursts of hundreds of GiB).
- `mount_target_props` (``aws:efs/mountTarget:MountTarget``): one per subnet; EFS allows one mount
  target per availability zone, and a node mounts the one in its zone.
- `storage_class`: the EFS CSI driver's class (``efs.csi.aws.com``) that provisions an access point
  per volume (``provisioningMode: efs-ap``) on this file system.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

from components.kit.kube import labels
from components.kit.ref import Ref
from components.storage.lustre import CACHE_TAG

CSI_DRIVER = "efs.csi.aws.com"
NFS_PORT = 2049

ThroughputMode = Literal["elastic", "bursting"]
THROUGHPUT_MODES: tuple[ThroughputMode, ...] = get_args(ThroughputMode)


@dataclass(frozen=True)
class EfsSettings:
    name: str                       # the cache's name (tags, resource names, the StorageClass)
    subnet_ids: tuple[str, ...]     # one mount target each
    vpc_id: str
    client_security_group_id: str   # the nodes' security group (the cluster security group)
    throughput_mode: ThroughputMode = "elastic"

    @property
    def storage_class_name(self) -> str:
        return f"{self.name}-efs"


def _tags(settings: EfsSettings) -> dict[str, str]:
    return {CACHE_TAG: settings.name, "Name": f"{settings.name}-efs"}


def security_group_props(settings: EfsSettings) -> dict[str, Any]:
    return {"vpcId": settings.vpc_id,
            "description": f"EFS model cache {settings.name}: NFS from the cluster's nodes",
            "ingress": [{"protocol": "tcp", "fromPort": NFS_PORT, "toPort": NFS_PORT,
                         "securityGroups": [settings.client_security_group_id],
                         "description": "NFS from the cluster's nodes"}],
            "egress": [{"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"],
                        "description": "all traffic out"}],
            "tags": _tags(settings)}


def file_system_props(settings: EfsSettings, stack: str) -> dict[str, Any]:
    return {"creationToken": f"{stack}-{settings.name}", "encrypted": True, "performanceMode": "generalPurpose",
            "throughputMode": settings.throughput_mode, "tags": _tags(settings)}


def mount_target_props(file_system_id: Ref, subnet_id: str,
                       security_group_id: Ref) -> dict[str, Any]:
    return {"fileSystemId": file_system_id, "subnetId": subnet_id, "securityGroups": [security_group_id]}


def storage_class(settings: EfsSettings, file_system_id: Ref, *, retain: bool) -> dict[str, Any]:
    """Access points under ``/dynamo-cluster`` of the file system; `retain` keeps a released volume
    (and its access point and files) instead of deleting it."""
    name = settings.storage_class_name
    return {
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": name, "labels": labels(name, "model-cache")},
        "provisioner": CSI_DRIVER,
        "parameters": {"provisioningMode": "efs-ap", "fileSystemId": file_system_id, "directoryPerms": "755",
                       "basePath": "/dynamo-cluster"},
        "reclaimPolicy": "Retain" if retain else "Delete",
        "volumeBindingMode": "Immediate",
    }
