"""The ``aws`` keys: the account, region and EKS cluster the AWS resources of a stack live in.

Every key is optional on its own; which ones a stack needs follows from what it creates (an ``eks``
pool needs `region` and `clusterName`, an EFA pool also `vpcId` and `clusterSecurityGroupId`), and the
pool and model-cache readers report the missing ones against these keys."""

from __future__ import annotations

from typing import Any

from stacks.config.schema import Key, Text, Unset

REGION = Key(
    "aws.region",
    Text("AWS region", r"^[a-z]{2}(-[a-z]+)+-[0-9]+$", "an AWS region such as us-east-1"),
    Unset("required with eks pools"),
    "`us-east-1`",
    "The region of the cluster and its node groups.",
)
PROFILE = Key(
    "aws.profile",
    Text("string"),
    Unset("unset: the standard credential chain"),
    "`gpu-admin`",
    "A named profile of the shared AWS config to use.",
)
ACCOUNT_ID = Key(
    "aws.accountId",
    Text("string (12 digits, quoted)", r"^[0-9]{12}$", "a 12-digit AWS account id, quoted in YAML"),
    Unset(),
    '`"111122223333"`',
    "The only account the credentials may belong to: the provider refuses any other, and preflight says so.",
)
CLUSTER_NAME = Key(
    "aws.clusterName",
    Text("EKS cluster name", r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$", "an EKS cluster name: letters, digits, '-' and '_'"),
    Unset("required with eks pools"),
    "`dynamo-prod`",
    "The existing EKS cluster the node groups join.",
)
VPC_ID = Key(
    "aws.vpcId",
    Text("VPC id", r"^vpc-[0-9a-f]{8,17}$", "a VPC id such as vpc-0abc12345"),
    Unset("required with EFA pools"),
    "`vpc-0a1b2c3d4e5f67890`",
    "The cluster's VPC, where the EFA security groups are created.",
)
CLUSTER_SECURITY_GROUP_ID = Key(
    "aws.clusterSecurityGroupId",
    Text(
        "security group id",
        r"^sg-[0-9a-f]{8,17}$",
        "the cluster security group id (sg-...) that `aws eks describe-cluster` shows as "
        "resourcesVpcConfig.clusterSecurityGroupId",
    ),
    Unset("required with EFA pools"),
    "`sg-0a1b2c3d4e5f67890`",
    "The cluster security group (`aws eks describe-cluster --name <cluster> --query "
    "cluster.resourcesVpcConfig.clusterSecurityGroupId`). EFA interfaces carry it so the nodes can join the "
    "cluster.",
)

KEYS: tuple[Key[Any], ...] = (REGION, PROFILE, ACCOUNT_ID, CLUSTER_NAME, VPC_ID, CLUSTER_SECURITY_GROUP_ID)
