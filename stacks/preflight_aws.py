"""AWS preflight: before `pulumi up`, ask AWS whether the ``eks`` node pools can be created as planned.

Checks, each a `CheckResult` (see `stacks.report`):

- the credentials work and belong to the account ``aws.accountId`` names (if it does; when they
  do not, nothing else is asked);
- the EKS cluster exists, is ACTIVE, runs a Kubernetes version this project supports and the one
  ``kubernetes.version`` says; its VPC and cluster security group are the ones ``aws`` config names;
- each pool's subnets exist (in that VPC), lie in the pool's availability zone, and their zone offers
  the pool's instance type;
- EFA pools use an instance type that EC2 says supports EFA, with at least as many EFA interfaces as
  the launch template attaches;
- a capacity reservation a pool names exists, is active, matches the instance type and the zone, and
  holds at least the pool's maximum size;
- the account's vCPU quota for running on-demand (or spot) P and G instances covers every pool at
  maximum size, where the Service Quotas API answers (when it does not, the check says so and passes).

Read-only calls: GetCallerIdentity, DescribeCluster, DescribeSubnets, DescribeInstanceTypeOfferings,
DescribeInstanceTypes, DescribeCapacityReservations, GetServiceQuota.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from components.eks_nodes import EksNodeGroup
from components.node_pools import NodePoolSettings
from stacks.config import StackConfig
from stacks.config.aws import AwsConfig
from stacks.config.cluster import SUPPORTED_KUBERNETES
from stacks.report import CheckResult

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_eks import EKSClient
    from mypy_boto3_service_quotas import ServiceQuotasClient
    from mypy_boto3_sts import STSClient

# Service Quotas codes of the EC2 vCPU quotas, by instance family letter and purchase option.
QUOTAS: dict[tuple[str, str], tuple[str, str]] = {
    ("p", "on-demand"): ("L-417A185B", "Running On-Demand P instances"),
    ("g", "on-demand"): ("L-DB2E81BA", "Running On-Demand G and VT instances"),
    ("p", "spot"): ("L-7212CCBC", "All P Spot Instance Requests"),
    ("g", "spot"): ("L-3819A6DF", "All G and VT Spot Instance Requests"),
}


_RESERVATION_NOT_FOUND = ("InvalidCapacityReservationId.NotFound", "InvalidCapacityReservationId.Malformed")


@dataclass(frozen=True)
class AwsClients:
    sts: STSClient
    eks: EKSClient
    ec2: EC2Client
    quotas: ServiceQuotasClient


def connect(aws: AwsConfig) -> AwsClients:
    """Clients for the stack's region (and profile), with the standard credential chain."""
    import boto3

    session = boto3.Session(region_name=aws.region, profile_name=aws.profile)
    return AwsClients(sts=session.client("sts"), eks=session.client("eks"), ec2=session.client("ec2"),
                      quotas=session.client("service-quotas"))


def _error_code(error: Exception) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", "ClientError"))
    return type(error).__name__


# -- the credentials ------------------------------------------------------------------------------
def check_identity(aws: AwsConfig, sts: STSClient) -> CheckResult:
    name = "aws credentials"
    try:
        identity = sts.get_caller_identity()
    except (ClientError, BotoCoreError) as error:
        return CheckResult.failed(name, f"cannot be used: {error}",
                                  "configure credentials (environment, shared config, SSO or an instance role); "
                                  "dynamo-cluster:aws.profile names a profile to use")
    account = identity.get("Account", "")
    if aws.account_id is not None and account != aws.account_id:
        return CheckResult.failed(name, f"belong to account {account}, but dynamo-cluster:aws.accountId is "
                                        f"{aws.account_id}", f"use credentials of account {aws.account_id}")
    return CheckResult.passed(name, f"account {account} ({identity.get('Arn', '')})")


# -- the cluster ----------------------------------------------------------------------------------
def check_cluster(config: StackConfig, eks: EKSClient) -> list[CheckResult]:
    aws = config.aws
    name = f"eks cluster {aws.cluster_name}"
    try:
        cluster = eks.describe_cluster(name=aws.cluster_name or "")["cluster"]
    except ClientError as error:
        if _error_code(error) != "ResourceNotFoundException":
            raise
        return [CheckResult.failed(name, f"no cluster named {aws.cluster_name} in {aws.region}",
                                   "create the cluster, or set dynamo-cluster:aws.clusterName and aws.region "
                                   "to an existing one")]
    results: list[CheckResult] = []
    status, version = cluster.get("status", ""), cluster.get("version", "")
    if status != "ACTIVE":
        results.append(CheckResult.failed(
            name, f"is {status}, not ACTIVE", f"wait until it is ACTIVE: aws eks wait cluster-active --name "
                                              f"{aws.cluster_name}"))
    if version not in SUPPORTED_KUBERNETES:
        results.append(CheckResult.failed(
            name, f"runs Kubernetes {version}, which this project does not support",
            f"upgrade the cluster to one of {', '.join(SUPPORTED_KUBERNETES)}"))
    elif version != config.kubernetes.version:
        results.append(CheckResult.failed(
            name, f"runs Kubernetes {version}, but dynamo-cluster:kubernetes.version is {config.kubernetes.version}",
            f"set kubernetes.version to \"{version}\" (manifests are validated for it), or upgrade the cluster"))
    vpc = cluster.get("resourcesVpcConfig", {})
    if aws.vpc_id is not None and vpc.get("vpcId") != aws.vpc_id:
        results.append(CheckResult.failed(
            name, f"is in VPC {vpc.get('vpcId')}, but dynamo-cluster:aws.vpcId is {aws.vpc_id}",
            f"set aws.vpcId to {vpc.get('vpcId')}"))
    if aws.cluster_security_group_id is not None and \
            vpc.get("clusterSecurityGroupId") != aws.cluster_security_group_id:
        results.append(CheckResult.failed(
            name, f"has cluster security group {vpc.get('clusterSecurityGroupId')}, but "
                  f"dynamo-cluster:aws.clusterSecurityGroupId is {aws.cluster_security_group_id}",
            f"set aws.clusterSecurityGroupId to {vpc.get('clusterSecurityGroupId')}"))
    return results or [CheckResult.passed(name, f"ACTIVE, Kubernetes {version}")]


# -- subnets and zones ----------------------------------------------------------------------------
def _zones_offering(ec2: EC2Client, instance_type: str) -> list[str]:
    offers = ec2.describe_instance_type_offerings(
        LocationType="availability-zone", Filters=[{"Name": "instance-type", "Values": [instance_type]}])
    return sorted(o["Location"] for o in offers.get("InstanceTypeOfferings", []))


def check_subnets(pool: NodePoolSettings, group: EksNodeGroup, aws: AwsConfig,
                  ec2: EC2Client) -> tuple[list[CheckResult], set[str]]:
    """Results, and the zones the pool's subnets are in."""
    results: list[CheckResult] = []
    zones: set[str] = set()
    offering = _zones_offering(ec2, group.instance_type)
    for subnet_id in group.subnet_ids:
        name = f"pool {pool.name} subnet {subnet_id}"
        try:
            subnet = ec2.describe_subnets(SubnetIds=[subnet_id])["Subnets"][0]
        except ClientError as error:
            if _error_code(error) != "InvalidSubnetID.NotFound":
                raise
            results.append(CheckResult.failed(name, f"does not exist in {aws.region}",
                                              f"set {pool.key}.subnetIds to subnets of the cluster's VPC"))
            continue
        zone = subnet.get("AvailabilityZone", "")
        zones.add(zone)
        bad = len(results)
        if aws.vpc_id is not None and subnet.get("VpcId") != aws.vpc_id:
            results.append(CheckResult.failed(name, f"is in VPC {subnet.get('VpcId')}, not the cluster's {aws.vpc_id}",
                                              "use a subnet of the cluster's VPC"))
        if group.availability_zone is not None and zone != group.availability_zone:
            results.append(CheckResult.failed(
                name, f"is in {zone}, but {pool.key}.availabilityZone is {group.availability_zone}",
                f"use a subnet in {group.availability_zone}, or set availabilityZone to {zone}"))
        if zone not in offering:
            results.append(CheckResult.failed(
                name, f"is in {zone}, which does not offer {group.instance_type}",
                f"use a subnet in a zone that offers it: {', '.join(offering) or 'none in this region'}"))
        if len(results) == bad:
            results.append(CheckResult.passed(name, f"in {zone}, which offers {group.instance_type}"))
    return results, zones


# -- EFA ------------------------------------------------------------------------------------------
def _instance_type(ec2: EC2Client, instance_type: str) -> Any:
    types: Any = [instance_type]  # the stubs list every instance type name as a literal
    return ec2.describe_instance_types(InstanceTypes=types)["InstanceTypes"][0]


def check_efa(pool: NodePoolSettings, group: EksNodeGroup, ec2: EC2Client) -> list[CheckResult]:
    name = f"pool {pool.name} EFA"
    network = _instance_type(ec2, group.instance_type).get("NetworkInfo", {})
    if not network.get("EfaSupported", False):
        return [CheckResult.failed(name, f"{group.instance_type} does not support EFA",
                                   f"an EFA-capable instance type, or efa: false on {pool.key}")]
    most = network.get("EfaInfo", {}).get("MaximumEfaInterfaces", 0)
    if most < group.efa_interfaces:
        return [CheckResult.failed(
            name, f"{group.instance_type} takes {most} EFA interfaces, but the launch template attaches "
                  f"{group.efa_interfaces}", "correct the instance's network cards in components/catalog.py")]
    return [CheckResult.passed(name, f"{group.instance_type} supports EFA: {group.efa_interfaces} interfaces")]


# -- capacity reservations ------------------------------------------------------------------------
def check_reservation(pool: NodePoolSettings, group: EksNodeGroup, zones: set[str],
                      ec2: EC2Client) -> list[CheckResult]:
    reservation_id = group.capacity_reservation_id or ""
    name = f"pool {pool.name} capacity reservation {reservation_id}"
    try:
        found = ec2.describe_capacity_reservations(CapacityReservationIds=[reservation_id])["CapacityReservations"]
    except ClientError as error:
        if _error_code(error) not in _RESERVATION_NOT_FOUND:
            raise
        found = []
    if not found:
        return [CheckResult.failed(name, "does not exist in this account and region",
                                   f"set {pool.key}.capacityReservationId to a reservation of this account")]
    reservation = found[0]
    results: list[CheckResult] = []
    state = reservation.get("State", "")
    if state != "active":
        results.append(CheckResult.failed(name, f"is {state}, not active",
                                          "wait for it to become active (a capacity block starts at its start "
                                          "date), or name an active reservation"))
    if reservation.get("InstanceType") != group.instance_type:
        results.append(CheckResult.failed(
            name, f"is for {reservation.get('InstanceType')}, but the pool runs {group.instance_type}",
            f"a reservation for {group.instance_type}, or instanceType {reservation.get('InstanceType')}"))
    zone = reservation.get("AvailabilityZone", "")
    if zones and zone not in zones:
        results.append(CheckResult.failed(
            name, f"is in {zone}, but the pool's subnets are in {', '.join(sorted(zones))}",
            f"a subnet in {zone}, or a reservation in {', '.join(sorted(zones))}"))
    total = reservation.get("TotalInstanceCount", 0)
    if total < group.max_nodes:
        results.append(CheckResult.failed(
            name, f"holds {total} instances, but the pool grows to {group.max_nodes} nodes",
            f"a reservation of at least {group.max_nodes} instances, or maxNodes {total}"))
    return results or [CheckResult.passed(name, f"active, {total} x {group.instance_type} in {zone}")]


# -- vCPU quotas ----------------------------------------------------------------------------------
def check_quotas(pools: Sequence[NodePoolSettings], ec2: EC2Client, quotas: ServiceQuotasClient) -> list[CheckResult]:
    """One result per quota the pools draw on: their vCPUs at maximum size against its value."""
    need: dict[tuple[str, str], list[tuple[str, int]]] = {}
    for pool in pools:
        group = pool.eks
        if group is None or group.capacity_type == "CAPACITY_BLOCK":
            continue  # capacity blocks are bounded by their reservation, checked above
        option = "spot" if group.capacity_type == "SPOT" else "on-demand"
        vcpus = _instance_type(ec2, group.instance_type).get("VCpuInfo", {}).get("DefaultVCpus", 0)
        need.setdefault((group.instance_type[0], option), []).append((pool.name, vcpus * group.max_nodes))
    results: list[CheckResult] = []
    for (family, option), parts in sorted(need.items()):
        code, title = QUOTAS.get((family, option), ("", f"{family.upper()} instances ({option})"))
        wanted = sum(v for _, v in parts)
        detail = ", ".join(f"{pool} {v}" for pool, v in parts)
        name = f"vCPU quota {title}"
        if not code:
            results.append(CheckResult.passed(name, f"no known quota code; not checked ({detail} vCPUs)"))
            continue
        try:
            value = quotas.get_service_quota(ServiceCode="ec2", QuotaCode=code)["Quota"].get("Value", 0.0)
        except (ClientError, BotoCoreError) as error:  # closed to the credentials, unknown code, unreachable
            results.append(CheckResult.passed(
                name, f"the quota API did not answer for {code} ({_error_code(error)}); not checked"))
            continue
        if value < wanted:
            results.append(CheckResult.failed(
                name, f"is {value:g} vCPUs, but the pools need {wanted} at maximum size ({detail})",
                f"request an increase: aws service-quotas request-service-quota-increase --service-code ec2 "
                f"--quota-code {code} --desired-value {wanted}"))
        else:
            results.append(CheckResult.passed(name, f"{value:g} vCPUs cover {wanted} at maximum size ({detail})"))
    return results


def aws_checks(config: StackConfig, connect_to: Callable[[AwsConfig], AwsClients] = connect) -> list[CheckResult]:
    """Every AWS check for the stack's ``eks`` pools, in a stable order. AWS is asked nothing (and
    `connect_to` not called) when the stack has no such pool."""
    pools = [p for p in config.node_pools if p.eks is not None]
    if not pools:
        return [CheckResult.passed("aws", "the stack has no eks node pools; nothing to check")]
    clients = connect_to(config.aws)
    identity = check_identity(config.aws, clients.sts)
    if not identity.ok:
        return [identity]  # every other call would fail the same way, or look at the wrong account
    results = [identity, *check_cluster(config, clients.eks)]
    for pool in pools:
        assert pool.eks is not None
        subnet_results, zones = check_subnets(pool, pool.eks, config.aws, clients.ec2)
        results += subnet_results
        if pool.eks.efa:
            results += check_efa(pool, pool.eks, clients.ec2)
        if pool.eks.capacity_reservation_id is not None:
            results += check_reservation(pool, pool.eks, zones, clients.ec2)
    return results + check_quotas(pools, clients.ec2, clients.quotas)
