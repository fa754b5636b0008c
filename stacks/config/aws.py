"""The ``aws`` section: the account, region and EKS cluster the ``eks`` node pools live in.

Every key is optional on its own; which ones a stack needs follows from its node pools (an ``eks``
pool needs `region` and `clusterName`; an EFA pool also `vpcId` and `clusterSecurityGroupId`), and
`stacks.config.node_pools` reports the missing ones against these keys.
"""

from __future__ import annotations

from dataclasses import dataclass

from stacks.config.keys import aws as keys
from stacks.config.reader import Node

SECTION = "aws"


@dataclass(frozen=True)
class AwsConfig:
    """How the stack's explicit AWS provider reaches the account (never ambient defaults alone:
    the region is always given, and `account_id` pins the account the credentials must belong to)."""

    region: str | None = None
    profile: str | None = None
    account_id: str | None = None
    cluster_name: str | None = None
    vpc_id: str | None = None
    cluster_security_group_id: str | None = None

    @property
    def partition(self) -> str:
        """The ARN partition of the region."""
        region = self.region or ""
        if region.startswith("cn-"):
            return "aws-cn"
        if region.startswith("us-gov-"):
            return "aws-us-gov"
        return "aws"


def read_aws(root: Node) -> tuple[AwsConfig, Node]:
    """The section, and its node so that pool readers can report a key it lacks."""
    node = root.child(SECTION)
    config = AwsConfig(
        region=node.read_optional(keys.REGION), profile=node.read_optional(keys.PROFILE),
        account_id=node.read_optional(keys.ACCOUNT_ID), cluster_name=node.read_optional(keys.CLUSTER_NAME),
        vpc_id=node.read_optional(keys.VPC_ID),
        cluster_security_group_id=node.read_optional(keys.CLUSTER_SECURITY_GROUP_ID),
    )
    node.close()
    return config, node
