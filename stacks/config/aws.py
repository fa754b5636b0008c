"""The ``aws`` section: the account, region and EKS cluster the ``eks`` node pools live in.

Every key is optional on its own; which ones a stack needs follows from its node pools (an ``eks``
pool needs `region` and `clusterName`; an EFA pool also `vpcId` and `clusterSecurityGroupId`), and
`stacks.config.node_pools` reports the missing ones against these keys.
"""

from __future__ import annotations

from dataclasses import dataclass

from stacks.config.reader import Node

SECTION = "aws"
_REGION = r"^[a-z]{2}(-[a-z]+)+-[0-9]+$"
_ACCOUNT = r"^[0-9]{12}$"
_VPC = r"^vpc-[0-9a-f]{8,17}$"
_SECURITY_GROUP = r"^sg-[0-9a-f]{8,17}$"
_CLUSTER = r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$"


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
        region=node.optional_string("region", pattern=_REGION, pattern_text="an AWS region such as us-east-1"),
        profile=node.optional_string("profile"),
        account_id=node.optional_string("accountId", pattern=_ACCOUNT,
                                        pattern_text="a 12-digit AWS account id, quoted in YAML"),
        cluster_name=node.optional_string("clusterName", pattern=_CLUSTER,
                                          pattern_text="an EKS cluster name: letters, digits, '-' and '_'"),
        vpc_id=node.optional_string("vpcId", pattern=_VPC, pattern_text="a VPC id such as vpc-0abc12345"),
        cluster_security_group_id=node.optional_string(
            "clusterSecurityGroupId", pattern=_SECURITY_GROUP,
            pattern_text="the cluster security group id (sg-...) that `aws eks describe-cluster` shows as "
                         "resourcesVpcConfig.clusterSecurityGroupId"),
    )
    node.close()
    return config, node
