"""AWS preflight: before `pulumi up`, ask AWS whether the ``eks`` node pools can be created as planned.

Checks, each a `Finding` (see `stacks.preflight.report`):

- the credentials work and belong to the account ``aws.accountId`` names (if it does; when they
  do not, nothing else is asked);
- the EKS cluster exists, is ACTIVE, runs a Kubernetes version this project supports and the one
  ``kubernetes.version`` says; its VPC and cluster security group are the ones ``aws`` config names;
- each pool's subnets exist (in that VPC), lie in the pool's availability zone, and their zone offers
  the pool's instance type;
- EFA pools use an instance type that EC2 says supports EFA, with at least as many EFA interfaces as
  the launch template attaches;
- a capacity reservation a pool names exists, is active, matches the instance type and the zone, and
  has room for the pool at its maximum size: its free instances (``AvailableInstanceCount``) plus
  the instances of the pool already running in it (a re-run, found by the tags the pool's launch
  template gives them); instances anything else runs in it do not count;
- the account's vCPU quota for running on-demand (or spot) P and G instances covers every pool at
  maximum size; a quota that cannot be read (the Service Quotas API does not know it, or no quota
  code is known for the family) fails its check as "not checked": nothing says the pools fit.

An answer preflight cannot read (not AWS's XML or JSON, a proxy's error page, a field missing) fails
the check that asked, naming the call and the missing field; it is never a traceback, and a missing
field is never shown as "None".

A call AWS refuses (no IAM permission, expired credentials, throttling) or that does not reach it (no
credentials, no network to the endpoint) fails the check that made it, naming the call, the error
code and the fix; the other checks still run. Only when the credentials themselves cannot be used
(GetCallerIdentity, or the session) is nothing else asked.

Read-only calls, each also the IAM action it needs: sts:GetCallerIdentity, eks:DescribeCluster,
ec2:DescribeSubnets, ec2:DescribeInstanceTypeOfferings, ec2:DescribeInstanceTypes,
ec2:DescribeCapacityReservations, ec2:DescribeInstances, servicequotas:GetServiceQuota; and those of
the model cache's checks (`stacks.preflight.aws_cache`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from components.nodes.eks import EksNodeGroup, instance_tags
from components.nodes.settings import NodePoolSettings
from stacks.config.aws import AwsConfig
from stacks.config.cluster import SUPPORTED_KUBERNETES
from stacks.config.stack import StackConfig
from stacks.ops.aws import (
    AnswerError,
    AwsCallError,
    AwsClients,
    Caller,
    ask,
    connect,
    need,
    need_list,
    not_checked,
    shown,
)
from stacks.ops.report import Finding

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


# -- the credentials ------------------------------------------------------------------------------
CREDENTIALS = "aws credentials"


def _unusable(failure: AwsCallError, caller: Caller) -> Finding:
    return Finding.failed(CREDENTIALS, f"cannot be used: {failure.describe()}; no other AWS check ran",
                              failure.fix(caller))


def check_identity(aws: AwsConfig, sts: STSClient) -> tuple[Finding, Caller]:
    """The result, and who the other checks ask as."""
    caller = Caller(region=aws.region or "", profile=aws.profile)
    try:
        identity = ask("sts:GetCallerIdentity", sts.get_caller_identity)
    except AwsCallError as failure:
        return _unusable(failure, caller), caller
    try:
        account, arn = str(need("sts:GetCallerIdentity", identity, "Account")), str(identity.get("Arn") or "")
    except AwsCallError as failure:
        return _unusable(failure, caller), caller
    caller = Caller(region=caller.region, arn=arn, profile=aws.profile)
    if aws.account_id is not None and account != aws.account_id:
        return Finding.failed(
            CREDENTIALS, f"belong to account {account}, but dynamo-cluster:aws.accountId is {aws.account_id}",
            f"use credentials of account {aws.account_id}"), caller
    return Finding.passed(CREDENTIALS, f"account {account} ({arn})"), caller


# -- the cluster ----------------------------------------------------------------------------------
def check_cluster(config: StackConfig, eks: EKSClient, caller: Caller) -> list[Finding]:
    aws = config.aws
    name = f"eks cluster {aws.cluster_name}"
    try:
        cluster = need("eks:DescribeCluster", ask("eks:DescribeCluster", lambda: eks.describe_cluster(
            name=aws.cluster_name or "")), "cluster")
        status = str(need("eks:DescribeCluster", cluster, "status"))
        version = str(need("eks:DescribeCluster", cluster, "version"))
    except AwsCallError as failure:
        if failure.code != "ResourceNotFoundException":
            return [not_checked(name, failure, caller)]
        return [Finding.failed(name, f"no cluster named {aws.cluster_name} in {aws.region}",
                                   "create the cluster, or set dynamo-cluster:aws.clusterName and aws.region "
                                   "to an existing one")]
    results: list[Finding] = []
    if status != "ACTIVE":
        results.append(Finding.failed(
            name, f"is {status}, not ACTIVE", f"wait until it is ACTIVE: aws eks wait cluster-active --name "
                                              f"{aws.cluster_name}"))
    if version not in SUPPORTED_KUBERNETES:
        results.append(Finding.failed(
            name, f"runs Kubernetes {version}, which this project does not support",
            f"upgrade the cluster to one of {', '.join(SUPPORTED_KUBERNETES)}"))
    elif version != config.kubernetes.version:
        results.append(Finding.failed(
            name, f"runs Kubernetes {version}, but dynamo-cluster:kubernetes.version is {config.kubernetes.version}",
            f"set kubernetes.version to \"{version}\" (manifests are validated for it), or upgrade the cluster"))
    vpc = cluster.get("resourcesVpcConfig") or {}
    vpc_id, group = vpc.get("vpcId"), vpc.get("clusterSecurityGroupId")
    if aws.vpc_id is not None and vpc_id != aws.vpc_id:
        results.append(Finding.failed(
            name, f"is in VPC {shown(vpc_id)}, but dynamo-cluster:aws.vpcId is {aws.vpc_id}",
            f"set aws.vpcId to {vpc_id}" if vpc_id else "check the cluster's VPC in the EKS console"))
    if aws.cluster_security_group_id is not None and group != aws.cluster_security_group_id:
        results.append(Finding.failed(
            name, f"has cluster security group {shown(group)}, but "
                  f"dynamo-cluster:aws.clusterSecurityGroupId is {aws.cluster_security_group_id}",
            f"set aws.clusterSecurityGroupId to {group}" if group else
            "check the cluster's security group in the EKS console"))
    return results or [Finding.passed(name, f"ACTIVE, Kubernetes {version}")]


# -- subnets and zones ----------------------------------------------------------------------------
def _zones_offering(ec2: EC2Client, instance_type: str) -> list[str]:
    offers = ask("ec2:DescribeInstanceTypeOfferings", lambda: ec2.describe_instance_type_offerings(
        LocationType="availability-zone", Filters=[{"Name": "instance-type", "Values": [instance_type]}]))
    listed = need("ec2:DescribeInstanceTypeOfferings", offers, "InstanceTypeOfferings")
    return sorted(str(need("ec2:DescribeInstanceTypeOfferings", o, "Location")) for o in listed)


def check_subnets(pool: NodePoolSettings, group: EksNodeGroup, aws: AwsConfig, ec2: EC2Client,
                  caller: Caller) -> tuple[list[Finding], set[str]]:
    """Results, and the zones the pool's subnets are in. When EC2 does not say which zones offer the
    instance type, that is one failure, and each subnet is still checked for the rest."""
    results: list[Finding] = []
    zones: set[str] = set()
    offering: list[str] | None
    try:
        offering = _zones_offering(ec2, group.instance_type)
    except AwsCallError as failure:
        offering = None
        results.append(not_checked(f"pool {pool.name} instance type offerings", failure, caller))
    for subnet_id in group.subnet_ids:
        name = f"pool {pool.name} subnet {subnet_id}"
        try:
            subnet = need("ec2:DescribeSubnets", ask("ec2:DescribeSubnets", partial(
                ec2.describe_subnets, SubnetIds=[subnet_id])), "Subnets", 0)
            zone = str(need("ec2:DescribeSubnets", subnet, "AvailabilityZone"))
        except AwsCallError as failure:
            if failure.code != "InvalidSubnetID.NotFound":
                results.append(not_checked(name, failure, caller))
                continue
            results.append(Finding.failed(name, f"does not exist in {aws.region}",
                                              f"set {pool.key}.subnetIds to subnets of the cluster's VPC"))
            continue
        zones.add(zone)
        bad = len(results)
        if aws.vpc_id is not None and subnet.get("VpcId") != aws.vpc_id:
            results.append(Finding.failed(name, f"is in VPC {shown(subnet.get('VpcId'))}, not the cluster's "
                                                    f"{aws.vpc_id}",
                                              "use a subnet of the cluster's VPC"))
        if group.availability_zone is not None and zone != group.availability_zone:
            results.append(Finding.failed(
                name, f"is in {zone}, but {pool.key}.availabilityZone is {group.availability_zone}",
                f"use a subnet in {group.availability_zone}, or set availabilityZone to {zone}"))
        if offering is not None and zone not in offering:
            results.append(Finding.failed(
                name, f"is in {zone}, which does not offer {group.instance_type}",
                f"use a subnet in a zone that offers it: {', '.join(offering) or 'none in this region'}"))
        if len(results) == bad:
            results.append(Finding.passed(name, f"in {zone}, which offers {group.instance_type}" if offering
                                              is not None else f"in {zone} (whether the zone offers "
                                                               f"{group.instance_type}: not known)"))
    return results, zones


# -- EFA ------------------------------------------------------------------------------------------
def _instance_type(ec2: EC2Client, instance_type: str) -> Any:
    types: Any = [instance_type]  # the stubs list every instance type name as a literal
    return need("ec2:DescribeInstanceTypes", ask("ec2:DescribeInstanceTypes",
                 lambda: ec2.describe_instance_types(InstanceTypes=types)), "InstanceTypes", 0)


def check_efa(pool: NodePoolSettings, group: EksNodeGroup, ec2: EC2Client, caller: Caller) -> list[Finding]:
    name = f"pool {pool.name} EFA"
    try:
        network = need("ec2:DescribeInstanceTypes", _instance_type(ec2, group.instance_type), "NetworkInfo")
        supported = network.get("EfaSupported", False)
        most = need("ec2:DescribeInstanceTypes", network, "EfaInfo", "MaximumEfaInterfaces") if supported else 0
    except AwsCallError as failure:
        return [not_checked(name, failure, caller)]
    if not supported:
        return [Finding.failed(name, f"{group.instance_type} does not support EFA",
                                   f"an EFA-capable instance type, or efa: false on {pool.key}")]
    if not isinstance(most, int) or most < group.efa_interfaces:
        return [Finding.failed(
            name, f"{group.instance_type} takes {most} EFA interfaces, but the launch template attaches "
                  f"{group.efa_interfaces}", "correct the instance's network cards in components/nodes/catalog.py")]
    return [Finding.passed(name, f"{group.instance_type} supports EFA: {group.efa_interfaces} interfaces")]


# -- capacity reservations ------------------------------------------------------------------------
def _pool_instances_in(ec2: EC2Client, reservation_id: str, pool: str, group: EksNodeGroup) -> int:
    """How many of the pool's instances (tagged as its launch template tags them) run in the reservation."""
    filters: Any = [{"Name": "capacity-reservation-id", "Values": [reservation_id]},
                    {"Name": "instance-state-name", "Values": ["pending", "running"]},
                    *({"Name": f"tag:{key}", "Values": [value]} for key, value in instance_tags(pool, group).items())]

    def count() -> int:
        pages = ec2.get_paginator("describe_instances").paginate(Filters=filters)
        return sum(len(r.get("Instances") or []) for page in pages for r in page.get("Reservations") or [])
    return ask("ec2:DescribeInstances", count)


def check_reservation_room(pool: NodePoolSettings, group: EksNodeGroup, reservation: Any, *, name: str,
                           ec2: EC2Client, caller: Caller) -> Finding:
    """Whether the reservation has room for the pool at maximum size.

    What counts: its free instances (AvailableInstanceCount) and, when those are fewer than the pool's
    maximum, the pool's own instances already running in it (on a re-run they hold part of it, and stay
    the pool's). Instances anything else runs in it count against it, which the total would hide."""
    reservation_id = group.capacity_reservation_id or ""
    try:
        total = int(need("ec2:DescribeCapacityReservations", reservation, "TotalInstanceCount"))
        free = int(need("ec2:DescribeCapacityReservations", reservation, "AvailableInstanceCount"))
    except (AwsCallError, ValueError, TypeError) as failure:
        error = failure if isinstance(failure, AwsCallError) else AwsCallError(
            "ec2:DescribeCapacityReservations", AnswerError(f"an instance count that is not a number: {failure}"))
        return not_checked(name, error, caller)
    want = group.max_nodes
    held = f"active, {total} x {group.instance_type} in {reservation.get('AvailabilityZone', '')}; "
    if free >= want:
        return Finding.passed(name, held + f"{free} of them free cover the pool's {want} nodes at maximum size")
    try:
        own = _pool_instances_in(ec2, reservation_id, pool.name, group)
    except AwsCallError as failure:
        return Finding.failed(
            name, f"{free} of its {total} instances are free, fewer than the pool's {want} nodes; which of the others "
                  f"run the pool's own nodes is not known: {failure.describe()}", failure.fix(caller))
    room = free + own
    if room >= want:
        return Finding.passed(name, held + f"{free} of them free + {own} running the pool's nodes cover its {want} "
                                               f"nodes at maximum size (free instances and the pool's own count; "
                                               f"others' do not)")
    others = total - free - own
    aside = (f" ({others} instance{'s' if others != 1 else ''} in it run{'' if others != 1 else 's'} something else)"
             if others > 0 else "")
    options = [f"a reservation with room for {want}", f"free {want - room} more of its instances"]
    if room > 0:
        options.append(f"set {pool.key}.maxNodes to {room}")
    return Finding.failed(
        name, f"{free} of its {total} instances are free and {own} run the pool's nodes: room for {room} of the pool's "
              f"nodes, but it grows to {want}{aside}",
        ", ".join(options[:-1]) + f", or {options[-1]}")


def check_reservation(pool: NodePoolSettings, group: EksNodeGroup, zones: set[str], ec2: EC2Client,
                      caller: Caller) -> list[Finding]:
    reservation_id = group.capacity_reservation_id or ""
    name = f"pool {pool.name} capacity reservation {reservation_id}"
    try:
        found = need_list("ec2:DescribeCapacityReservations", ask(
            "ec2:DescribeCapacityReservations", lambda: ec2.describe_capacity_reservations(
                CapacityReservationIds=[reservation_id])), "CapacityReservations")
    except KeyError:
        return [not_checked(name, AwsCallError("ec2:DescribeCapacityReservations", AnswerError(
            "the answer has no CapacityReservations")), caller)]
    except AwsCallError as failure:
        if failure.code not in _RESERVATION_NOT_FOUND:
            return [not_checked(name, failure, caller)]
        found = []
    if not found:
        return [Finding.failed(name, "does not exist in this account and region",
                                   f"set {pool.key}.capacityReservationId to a reservation of this account")]
    reservation = found[0]
    results: list[Finding] = []
    state = reservation.get("State")
    if state != "active":
        results.append(Finding.failed(name, f"is {shown(state)}, not active",
                                          "wait for it to become active (a capacity block starts at its start "
                                          "date), or name an active reservation"))
    if reservation.get("InstanceType") != group.instance_type:
        results.append(Finding.failed(
            name, f"is for {shown(reservation.get('InstanceType'))}, but the pool runs {group.instance_type}",
            f"a reservation for {group.instance_type}, or instanceType {reservation.get('InstanceType')}"))
    zone = reservation.get("AvailabilityZone") or ""
    if zones and zone not in zones:
        results.append(Finding.failed(
            name, f"is in {shown(zone)}, but the pool's subnets are in {', '.join(sorted(zones))}",
            f"a subnet in {zone}, or a reservation in {', '.join(sorted(zones))}"))
    room = check_reservation_room(pool, group, reservation, name=name, ec2=ec2, caller=caller)
    if not room.ok:
        results.append(room)
    return results or [room]


# -- vCPU quotas ----------------------------------------------------------------------------------
def _quota_name(family: str, option: str) -> tuple[str, str]:
    """(quota code or "", check name) of a family's quota for a purchase option."""
    code, title = QUOTAS.get((family, option), ("", f"{family.upper()} instances ({option})"))
    return code, f"vCPU quota {title}"


def check_quotas(pools: Sequence[NodePoolSettings], ec2: EC2Client, quotas: ServiceQuotasClient,
                 caller: Caller) -> list[Finding]:
    """One result per quota the pools draw on: their vCPUs at maximum size against its value."""
    per_quota: dict[tuple[str, str], list[tuple[str, int]]] = {}
    unknown: dict[tuple[str, str], AwsCallError] = {}  # quotas whose pools' vCPUs EC2 did not tell
    for pool in pools:
        group = pool.eks
        if group is None or group.capacity_type == "CAPACITY_BLOCK":
            continue  # capacity blocks are bounded by their reservation, checked above
        option = "spot" if group.capacity_type == "SPOT" else "on-demand"
        quota = (group.instance_type[0], option)
        try:
            vcpus = int(need("ec2:DescribeInstanceTypes", _instance_type(ec2, group.instance_type), "VCpuInfo",
                              "DefaultVCpus"))
        except AwsCallError as failure:
            unknown.setdefault(quota, failure)
            continue
        per_quota.setdefault(quota, []).append((pool.name, vcpus * group.max_nodes))
    results: list[Finding] = []
    for quota in sorted(per_quota.keys() | unknown.keys()):
        code, name = _quota_name(*quota)
        if quota in unknown:
            results.append(not_checked(name, unknown[quota], caller))
            continue
        parts = per_quota[quota]
        wanted = sum(v for _, v in parts)
        detail = ", ".join(f"{pool} {v}" for pool, v in parts)
        look = ("look the quota up in the Service Quotas console (EC2) and make sure it covers "
                f"{wanted} vCPUs before `pulumi up`")
        if not code:
            results.append(Finding.failed(name, f"not checked: no quota code is known for these instances "
                                                    f"({detail} vCPUs)", look))
            continue
        try:
            answer = ask("servicequotas:GetServiceQuota", partial(
                quotas.get_service_quota, ServiceCode="ec2", QuotaCode=code))
            value = float(need("servicequotas:GetServiceQuota", answer, "Quota", "Value"))
        except (ValueError, TypeError):
            results.append(not_checked(name, AwsCallError("servicequotas:GetServiceQuota", AnswerError(
                "the quota's Value is not a number")), caller))
            continue
        except AwsCallError as failure:
            if failure.code == "NoSuchResourceException":  # the API knows no such quota here
                results.append(Finding.failed(
                    name, f"not checked: the quota API does not know {code} here ({failure.code}), so nothing "
                          f"says {wanted} vCPUs fit ({detail})", look))
            else:
                results.append(not_checked(name, failure, caller))
            continue
        if value < wanted:
            results.append(Finding.failed(
                name, f"is {value:g} vCPUs, but the pools need {wanted} at maximum size ({detail})",
                f"request an increase: aws service-quotas request-service-quota-increase --service-code ec2 "
                f"--quota-code {code} --desired-value {wanted}"))
        else:
            results.append(Finding.passed(name, f"{value:g} vCPUs cover {wanted} at maximum size ({detail})"))
    return results


def aws_checks(config: StackConfig, connect_to: Callable[[AwsConfig], AwsClients] = connect,
               into: list[Finding] | None = None) -> list[Finding]:
    """Every AWS check for the stack's ``eks`` pools, its model cache on FSx or EFS
    (`stacks.preflight.aws_cache`) and its load balancer endpoints (`stacks.preflight.aws_endpoints`),
    in a stable order; appended to `into` as they are made. AWS is asked nothing (and `connect_to` not
    called) when the stack has neither."""
    from stacks.preflight.aws_cache import cache_aws_checks
    from stacks.preflight.aws_endpoints import endpoint_aws_checks

    pools = [p for p in config.node_pools if p.eks is not None]
    cache = config.dynamo.model_cache
    provisioned = cache if cache is not None and cache.on_aws else None
    if not pools and provisioned is None and config.load_balancer is None:
        return [Finding.passed("aws", "the stack has no eks node pools, no model cache on AWS and no load "
                                          "balancer endpoint; nothing to check")]
    try:
        clients = ask("the AWS session", lambda: connect_to(config.aws))
    except AwsCallError as failure:  # a profile the shared config lacks, a broken config file
        return [_unusable(failure, Caller(region=config.aws.region or "", profile=config.aws.profile))]
    identity, caller = check_identity(config.aws, clients.sts)
    if not identity.ok:
        return [identity]  # every other call would fail the same way, or look at the wrong account
    # `into` holds every finding as soon as it is made: an interrupted run still reports them
    results = into if into is not None else []
    results += [identity, *check_cluster(config, clients.eks, caller)]
    for pool in pools:
        assert pool.eks is not None
        subnet_results, zones = check_subnets(pool, pool.eks, config.aws, clients.ec2, caller)
        results += subnet_results
        if pool.eks.efa:
            results += check_efa(pool, pool.eks, clients.ec2, caller)
        if pool.eks.capacity_reservation_id is not None:
            results += check_reservation(pool, pool.eks, zones, clients.ec2, caller)
    if pools:
        results += check_quotas(pools, clients.ec2, clients.quotas, caller)
    if provisioned is not None:
        results += cache_aws_checks(config, provisioned, eks=clients.eks, ec2=clients.ec2, fsx=clients.fsx,
                                    efs=clients.efs, caller=caller)
    results += endpoint_aws_checks(config, ec2=clients.ec2, eks=clients.eks, acm=clients.acm, caller=caller)
    return results
