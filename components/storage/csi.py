"""The CSI drivers that mount the model cache, installed as EKS add-ons (pulumi-aws wire properties).

The drivers' Helm charts are not in the reference set this project validates chart values against;
the EKS add-ons are AWS's supported installation, pinned to a version here (each pin's source is in
docs/decisions.md) and installed into ``kube-system`` by EKS. The FSx driver needs no AWS permission
for a statically provisioned file system (the node plugin mounts it with the Lustre client); the EFS
driver's controller creates an access point per volume, and gets the AWS managed policy
``AmazonEFSCSIDriverPolicy`` through an IAM role that EKS Pod Identity hands its service account
(which needs the ``eks-pod-identity-agent`` add-on on the cluster; preflight checks it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from components.kit.aws import pod_identity_trust_policy
from components.kit.ref import Ref
from components.storage import efs, lustre

CsiKind = Literal["fsx-lustre", "efs"]
NAMESPACE = "kube-system"
POD_IDENTITY_AGENT = "eks-pod-identity-agent"


@dataclass(frozen=True)
class CsiDriver:
    """What one driver is called where: the EKS add-on, the CSIDriver object, its workloads."""

    addon: str
    driver: str
    version: str               # the pinned add-on version
    node_daemonset: str
    controller: str
    controller_service_account: str
    policy: str | None = None  # the AWS managed policy its controller needs, when it needs one


DRIVERS: Mapping[CsiKind, CsiDriver] = {
    # v1.7.0-eksbuild.1: the FSx CSI driver add-on version the EKS user guide names for hybrid nodes
    # (awsdocs/amazon-eks-user-guide PR 1215); driver 1.7.0 was released in November 2025.
    "fsx-lustre": CsiDriver(addon="aws-fsx-csi-driver", driver=lustre.CSI_DRIVER, version="v1.7.0-eksbuild.1",
                            node_daemonset="fsx-csi-node", controller="fsx-csi-controller",
                            controller_service_account="fsx-csi-controller-sa"),
    # v3.3.0-eksbuild.1: the EFS CSI driver add-on version current deployments moved to in June-July
    # 2026 (zalando-incubator/kubernetes-on-aws PR 11666; ministryofjustice/modernisation-platform-
    # environments PR 17347).
    "efs": CsiDriver(addon="aws-efs-csi-driver", driver=efs.CSI_DRIVER, version="v3.3.0-eksbuild.1",
                     node_daemonset="efs-csi-node", controller="efs-csi-controller",
                     controller_service_account="efs-csi-controller-sa",
                     policy="service-role/AmazonEFSCSIDriverPolicy"),
}


@dataclass(frozen=True)
class CsiDriverSettings:
    kind: CsiKind
    install: bool            # False: the cluster has the driver already; nothing is installed
    version: str
    cluster_name: str
    partition: str = "aws"

    @property
    def driver(self) -> CsiDriver:
        return DRIVERS[self.kind]


def controller_role_props(settings: CsiDriverSettings, cache: str) -> dict[str, Any]:
    return {"assumeRolePolicy": pod_identity_trust_policy(),
            "description": f"{settings.driver.addon} controller of cluster {settings.cluster_name} "
                           f"(model cache {cache})",
            "tags": {lustre.CACHE_TAG: cache}}


def policy_arn(settings: CsiDriverSettings) -> str | None:
    policy = settings.driver.policy
    return None if policy is None else f"arn:{settings.partition}:iam::aws:policy/{policy}"


def addon_props(settings: CsiDriverSettings, *, preserve: bool,
                role_arn: Ref | None = None) -> dict[str, Any]:
    """The add-on: conflicts with a driver installed otherwise fail the creation (preflight names
    them first) instead of overwriting it; later updates keep settings changed in the cluster.
    `preserve`: removing the add-on leaves the driver running (volumes kept on destroy still mount)."""
    driver = settings.driver
    props: dict[str, Any] = {"clusterName": settings.cluster_name, "addonName": driver.addon,
                             "addonVersion": settings.version, "resolveConflictsOnCreate": "NONE",
                             "resolveConflictsOnUpdate": "PRESERVE", "preserve": preserve}
    if role_arn is not None:
        props["podIdentityAssociations"] = [{"roleArn": role_arn,
                                             "serviceAccount": driver.controller_service_account}]
    return props
