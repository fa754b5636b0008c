"""The model cache's file system on AWS, as components: `LustreCache` (FSx for Lustre and its static
PersistentVolume) and `EfsCache` (EFS, its mount targets and a StorageClass). Each registers the
file system's security group, the file system, the CSI driver add-on (unless the cluster has the
driver) and the Kubernetes object pods bind through; the claim itself is the model storage's.

Data survives `pulumi destroy` when `retain` (prod without allowDataLoss): the file system, and what
cannot be deleted while it exists (the Lustre file system's security group, which its network
interfaces carry), are left in place, the PersistentVolume and StorageClass too, and the add-on is
removed with `preserve` so the driver keeps running for the volumes left behind. AWS resources use
the ``aws`` provider and Kubernetes objects the ``kubernetes`` provider of `opts`.
"""

from __future__ import annotations

from typing import Any

import pulumi

from components.kit.aws import (
    EFS_FILE_SYSTEM,
    EFS_MOUNT_TARGET,
    EKS_ADDON,
    FSX_DATA_REPOSITORY_ASSOCIATION,
    FSX_LUSTRE_FILE_SYSTEM,
    IAM_ROLE,
    IAM_ROLE_POLICY_ATTACHMENT,
    SECURITY_GROUP,
    AwsResource,
)
from components.kit.kube import KubeObject
from components.storage import efs, lustre
from components.storage.csi import CsiDriverSettings, addon_props, controller_role_props, policy_arn

LUSTRE_TYPE = "dynamo-cluster:components:LustreCache"
EFS_TYPE = "dynamo-cluster:components:EfsCache"


def _addon(name: str, csi: CsiDriverSettings, parent: pulumi.Resource, *, retain: bool,
           cache: str) -> AwsResource | None:
    """The CSI driver's EKS add-on (with its controller's IAM role when the driver needs one), or None
    when the cluster has the driver already."""
    if not csi.install:
        return None
    child = pulumi.ResourceOptions(parent=parent)
    role_arn: pulumi.Output[Any] | None = None
    attachments: list[pulumi.Resource] = []
    arn = policy_arn(csi)
    if arn is not None:
        role = AwsResource(IAM_ROLE, f"{name}-csi-role", controller_role_props(csi, cache), child,
                           outputs=("arn", "name"))
        attachments.append(AwsResource(IAM_ROLE_POLICY_ATTACHMENT, f"{name}-csi-policy",
                                       {"role": role.id, "policyArn": arn}, child, outputs=()))
        role_arn = role.output("arn")
    return AwsResource(EKS_ADDON, f"{name}-csi-driver", addon_props(csi, preserve=retain, role_arn=role_arn),
                       pulumi.ResourceOptions(parent=parent, depends_on=attachments), outputs=("arn",))


class LustreCache(pulumi.ComponentResource):
    """An FSx for Lustre file system and the PersistentVolume `volume_name` (reserved for the claim
    `claim_name` in `namespace`) through which pods mount it."""

    file_system_id: pulumi.Output[str]
    volume_name: pulumi.Output[str]

    def __init__(self, name: str, settings: lustre.LustreSettings, csi: CsiDriverSettings, *, pv_name: str,
                 claim_name: str, namespace: str, retain: bool, opts: pulumi.ResourceOptions) -> None:
        super().__init__(LUSTRE_TYPE, name, None, opts)
        keep = pulumi.ResourceOptions(parent=self, retain_on_delete=retain)
        group = AwsResource(SECURITY_GROUP, f"{name}-sg", lustre.security_group_props(settings), keep,
                            outputs=("arn", "name"))
        fs = AwsResource(FSX_LUSTRE_FILE_SYSTEM, f"{name}-fs", lustre.file_system_props(settings, group.id), keep,
                         outputs=("arn", "dnsName", "mountName"))
        if settings.s3 is not None:
            AwsResource(FSX_DATA_REPOSITORY_ASSOCIATION, f"{name}-s3",
                        lustre.data_repository_association_props(settings, fs.id), keep,
                        outputs=("arn", "associationId"))
        addon = _addon(name, csi, self, retain=retain, cache=settings.name)
        volume = KubeObject(f"{name}-pv", lustre.persistent_volume(
            pv_name, claim_name, namespace, settings, file_system_id=fs.id, dns_name=fs.output("dnsName"),
            mount_name=fs.output("mountName")),
            pulumi.ResourceOptions(parent=self, retain_on_delete=retain, depends_on=[addon] if addon else []))
        self.file_system_id = fs.id
        self.volume_name = volume.name
        self.register_outputs({"fileSystemId": self.file_system_id, "volumeName": self.volume_name})


class EfsCache(pulumi.ComponentResource):
    """An EFS file system with a mount target in each subnet, and the StorageClass `storage_class`
    that provisions access points on it."""

    file_system_id: pulumi.Output[str]
    storage_class: pulumi.Output[str]

    def __init__(self, name: str, settings: efs.EfsSettings, csi: CsiDriverSettings, *, stack: str, retain: bool,
                 opts: pulumi.ResourceOptions) -> None:
        super().__init__(EFS_TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        group = AwsResource(SECURITY_GROUP, f"{name}-sg", efs.security_group_props(settings), child,
                            outputs=("arn", "name"))
        fs = AwsResource(EFS_FILE_SYSTEM, f"{name}-fs", efs.file_system_props(settings, stack),
                         pulumi.ResourceOptions(parent=self, retain_on_delete=retain), outputs=("arn", "dnsName"))
        targets = [AwsResource(EFS_MOUNT_TARGET, f"{name}-mount-{subnet}",
                               efs.mount_target_props(fs.id, subnet, group.id), child, outputs=())
                   for subnet in settings.subnet_ids]
        addon = _addon(name, csi, self, retain=retain, cache=settings.name)
        needs: list[pulumi.Resource] = [*targets, *([addon] if addon else [])]
        storage_class = KubeObject(f"{name}-storage-class", efs.storage_class(settings, fs.id, retain=retain),
                                   pulumi.ResourceOptions(parent=self, retain_on_delete=retain, depends_on=needs))
        self.file_system_id = fs.id
        self.storage_class = storage_class.name
        self.register_outputs({"fileSystemId": self.file_system_id, "storageClass": self.storage_class})
