"""AWS preflight: before `pulumi up`, ask AWS whether the ``eks`` node pools can be created as planned.

Checks, each a `CheckResult` (see `stacks.preflight.report`):

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

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    HTTPClientError,
    NoAuthTokenError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    SSOError,
    TokenRetrievalError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.parsers import ResponseParserError

from components.nodes.eks import EksNodeGroup, instance_tags
from components.nodes.settings import NodePoolSettings
from stacks.config.aws import AwsConfig
from stacks.config.cluster import SUPPORTED_KUBERNETES
from stacks.config.stack import StackConfig
from stacks.preflight.report import CheckResult

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_efs import EFSClient
    from mypy_boto3_eks import EKSClient
    from mypy_boto3_fsx import FSxClient
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
# Error codes by what fixes them. Permission: each service's "not allowed"; credentials: AWS did not
# accept who asked; throttled: asked too often.
_PERMISSION_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
                               "UnauthorizedAccess"})
_CREDENTIAL_CODES = frozenset({"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId",
                               "UnrecognizedClientException", "AuthFailure", "SignatureDoesNotMatch",
                               "IncompleteSignature", "MissingAuthenticationToken", "RequestExpired"})
_THROTTLED_CODES = frozenset({"Throttling", "ThrottlingException", "RequestLimitExceeded",
                              "TooManyRequestsException"})
_CREDENTIAL_ERRORS = (NoCredentialsError, PartialCredentialsError, TokenRetrievalError, SSOError,
                      CredentialRetrievalError, NoAuthTokenError)
_CREDENTIALS_FIX = ("configure credentials (environment, shared config, SSO or an instance role), or refresh "
                    "expired ones (aws sso login); dynamo-cluster:aws.profile names a profile to use")
# The AWS CLI's name of a service, where it differs from the IAM prefix.
_CLI_SERVICE = {"servicequotas": "service-quotas", "elasticfilesystem": "efs"}

T = TypeVar("T")


@dataclass(frozen=True)
class AwsClients:
    sts: STSClient
    eks: EKSClient
    ec2: EC2Client
    quotas: ServiceQuotasClient
    fsx: FSxClient
    efs: EFSClient


def connect(aws: AwsConfig) -> AwsClients:
    """Clients for the stack's region (and profile), with the standard credential chain."""
    import boto3

    session = boto3.Session(region_name=aws.region, profile_name=aws.profile)
    return AwsClients(sts=session.client("sts"), eks=session.client("eks"), ec2=session.client("ec2"),
                      quotas=session.client("service-quotas"), fsx=session.client("fsx"), efs=session.client("efs"))


def _error_code(error: Exception) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", "ClientError"))
    if isinstance(error, ResponseParserError | AnswerError):
        return "an unreadable answer"
    return type(error).__name__


@dataclass(frozen=True)
class Caller:
    """Who asks AWS, and where: what the fix of a refused or unreachable call names."""

    region: str
    arn: str = ""  # the identity GetCallerIdentity returned; "" before it answered
    profile: str | None = None


class AnswerError(Exception):
    """An answer that does not hold what AWS documents (a field missing or of another kind)."""


class AwsCallError(Exception):
    """An AWS call that did not answer: refused, throttled, unreachable, or without usable credentials.
    `call` is the API call as IAM names it (``ec2:DescribeSubnets``): also the permission it needs."""

    def __init__(self, call: str, error: ClientError | BotoCoreError | ResponseParserError | AnswerError) -> None:
        super().__init__(f"{call} failed with {_error_code(error)}")
        self.call = call
        self.error = error

    @property
    def code(self) -> str:
        return _error_code(self.error)

    def describe(self) -> str:
        """``ec2:DescribeSubnets failed with UnauthorizedOperation: <what AWS said>``."""
        if isinstance(self.error, ClientError):
            said = str(self.error.response.get("Error", {}).get("Message", ""))
        else:
            said = str(self.error)
        said = said.strip().splitlines()[0] if said.strip() else ""
        return f"{self.call} failed with {self.code}" + (f": {said}" if said else "")

    def fix(self, caller: Caller) -> str:
        service, _, action = self.call.partition(":")
        if isinstance(self.error, ResponseParserError | AnswerError):
            text = (f"the answer to {self.call} could not be read: check that nothing between here and AWS (a proxy, "
                    f"a firewall's page, a custom endpoint) answers instead of it, then run preflight again")
        elif isinstance(self.error, ProfileNotFound) and caller.profile is not None:
            text = (f"add profile {caller.profile} to the shared AWS config (aws configure --profile "
                    f"{caller.profile}), or unset dynamo-cluster:aws.profile")
        elif not action:  # not an API call: the session, from the environment and the shared config files
            text = ("correct what the error names (the shared AWS config and credentials files, AWS_* environment "
                    "variables), then run preflight again")
        elif isinstance(self.error, _CREDENTIAL_ERRORS) or self.code in _CREDENTIAL_CODES:
            text = _CREDENTIALS_FIX
        elif isinstance(self.error, BotoConnectionError | HTTPClientError):
            text = (f"make AWS's {service} endpoint for dynamo-cluster:aws.region reachable from here (network, "
                    f"proxy settings, or a VPC endpoint); check aws.region is {caller.region}")
        elif self.code in _PERMISSION_CODES:
            who = f" ({caller.arn})" if caller.arn else ""
            text = f"allow {self.call} (a read-only call) in an IAM policy of the identity preflight runs as{who}"
        elif self.code in _THROTTLED_CODES:
            text = f"AWS throttled {self.call}: run preflight again in a minute"
        else:
            command = re.sub(r"(?<!^)(?=[A-Z])", "-", action).lower()
            text = (f"fix what AWS says and run preflight again (the same read-only call: aws "
                    f"{_CLI_SERVICE.get(service, service)} {command})")
        return text


def _ask(call: str, request: Callable[[], T]) -> T:
    """`request()`'s answer; any AWS or botocore error, and an answer botocore cannot parse, raises
    `AwsCallError` naming `call`."""
    try:
        return request()
    except (ClientError, BotoCoreError, ResponseParserError) as error:
        raise AwsCallError(call, error) from None


def _need(call: str, answer: Any, *path: str | int) -> Any:
    """`answer[path[0]][path[1]]...`, or `AwsCallError` naming the field the answer lacks."""
    value = answer
    for i, key in enumerate(path):
        try:
            value = value[key]
        except (KeyError, IndexError, TypeError):
            shown = "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in path[:i + 1]).lstrip(".")
            raise AwsCallError(call, AnswerError(f"the answer has no {shown}")) from None
    if value is None:
        raise AwsCallError(call, AnswerError(f"the answer's {path[-1]} is empty"))
    return value


def _shown(value: Any) -> str:
    """A field of an answer as a message shows it: never "None"."""
    return "(not in AWS's answer)" if value is None or value == "" else str(value)


def _not_checked(name: str, failure: AwsCallError, caller: Caller) -> CheckResult:
    return CheckResult.failed(name, f"not checked: {failure.describe()}", failure.fix(caller))


# -- the credentials ------------------------------------------------------------------------------
CREDENTIALS = "aws credentials"


def _unusable(failure: AwsCallError, caller: Caller) -> CheckResult:
    return CheckResult.failed(CREDENTIALS, f"cannot be used: {failure.describe()}; no other AWS check ran",
                              failure.fix(caller))


def check_identity(aws: AwsConfig, sts: STSClient) -> tuple[CheckResult, Caller]:
    """The result, and who the other checks ask as."""
    caller = Caller(region=aws.region or "", profile=aws.profile)
    try:
        identity = _ask("sts:GetCallerIdentity", sts.get_caller_identity)
    except AwsCallError as failure:
        return _unusable(failure, caller), caller
    try:
        account, arn = str(_need("sts:GetCallerIdentity", identity, "Account")), str(identity.get("Arn") or "")
    except AwsCallError as failure:
        return _unusable(failure, caller), caller
    caller = Caller(region=caller.region, arn=arn, profile=aws.profile)
    if aws.account_id is not None and account != aws.account_id:
        return CheckResult.failed(
            CREDENTIALS, f"belong to account {account}, but dynamo-cluster:aws.accountId is {aws.account_id}",
            f"use credentials of account {aws.account_id}"), caller
    return CheckResult.passed(CREDENTIALS, f"account {account} ({arn})"), caller


# -- the cluster ----------------------------------------------------------------------------------
def check_cluster(config: StackConfig, eks: EKSClient, caller: Caller) -> list[CheckResult]:
    aws = config.aws
    name = f"eks cluster {aws.cluster_name}"
    try:
        cluster = _need("eks:DescribeCluster", _ask("eks:DescribeCluster", lambda: eks.describe_cluster(
            name=aws.cluster_name or "")), "cluster")
        status = str(_need("eks:DescribeCluster", cluster, "status"))
        version = str(_need("eks:DescribeCluster", cluster, "version"))
    except AwsCallError as failure:
        if failure.code != "ResourceNotFoundException":
            return [_not_checked(name, failure, caller)]
        return [CheckResult.failed(name, f"no cluster named {aws.cluster_name} in {aws.region}",
                                   "create the cluster, or set dynamo-cluster:aws.clusterName and aws.region "
                                   "to an existing one")]
    results: list[CheckResult] = []
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
    vpc = cluster.get("resourcesVpcConfig") or {}
    vpc_id, group = vpc.get("vpcId"), vpc.get("clusterSecurityGroupId")
    if aws.vpc_id is not None and vpc_id != aws.vpc_id:
        results.append(CheckResult.failed(
            name, f"is in VPC {_shown(vpc_id)}, but dynamo-cluster:aws.vpcId is {aws.vpc_id}",
            f"set aws.vpcId to {vpc_id}" if vpc_id else "check the cluster's VPC in the EKS console"))
    if aws.cluster_security_group_id is not None and group != aws.cluster_security_group_id:
        results.append(CheckResult.failed(
            name, f"has cluster security group {_shown(group)}, but "
                  f"dynamo-cluster:aws.clusterSecurityGroupId is {aws.cluster_security_group_id}",
            f"set aws.clusterSecurityGroupId to {group}" if group else
            "check the cluster's security group in the EKS console"))
    return results or [CheckResult.passed(name, f"ACTIVE, Kubernetes {version}")]


# -- subnets and zones ----------------------------------------------------------------------------
def _zones_offering(ec2: EC2Client, instance_type: str) -> list[str]:
    offers = _ask("ec2:DescribeInstanceTypeOfferings", lambda: ec2.describe_instance_type_offerings(
        LocationType="availability-zone", Filters=[{"Name": "instance-type", "Values": [instance_type]}]))
    listed = _need("ec2:DescribeInstanceTypeOfferings", offers, "InstanceTypeOfferings")
    return sorted(str(_need("ec2:DescribeInstanceTypeOfferings", o, "Location")) for o in listed)


def check_subnets(pool: NodePoolSettings, group: EksNodeGroup, aws: AwsConfig, ec2: EC2Client,
                  caller: Caller) -> tuple[list[CheckResult], set[str]]:
    """Results, and the zones the pool's subnets are in. When EC2 does not say which zones offer the
    instance type, that is one failure, and each subnet is still checked for the rest."""
    results: list[CheckResult] = []
    zones: set[str] = set()
    offering: list[str] | None
    try:
        offering = _zones_offering(ec2, group.instance_type)
    except AwsCallError as failure:
        offering = None
        results.append(_not_checked(f"pool {pool.name} instance type offerings", failure, caller))
    for subnet_id in group.subnet_ids:
        name = f"pool {pool.name} subnet {subnet_id}"
        try:
            subnet = _need("ec2:DescribeSubnets", _ask("ec2:DescribeSubnets", partial(
                ec2.describe_subnets, SubnetIds=[subnet_id])), "Subnets", 0)
            zone = str(_need("ec2:DescribeSubnets", subnet, "AvailabilityZone"))
        except AwsCallError as failure:
            if failure.code != "InvalidSubnetID.NotFound":
                results.append(_not_checked(name, failure, caller))
                continue
            results.append(CheckResult.failed(name, f"does not exist in {aws.region}",
                                              f"set {pool.key}.subnetIds to subnets of the cluster's VPC"))
            continue
        zones.add(zone)
        bad = len(results)
        if aws.vpc_id is not None and subnet.get("VpcId") != aws.vpc_id:
            results.append(CheckResult.failed(name, f"is in VPC {_shown(subnet.get('VpcId'))}, not the cluster's "
                                                    f"{aws.vpc_id}",
                                              "use a subnet of the cluster's VPC"))
        if group.availability_zone is not None and zone != group.availability_zone:
            results.append(CheckResult.failed(
                name, f"is in {zone}, but {pool.key}.availabilityZone is {group.availability_zone}",
                f"use a subnet in {group.availability_zone}, or set availabilityZone to {zone}"))
        if offering is not None and zone not in offering:
            results.append(CheckResult.failed(
                name, f"is in {zone}, which does not offer {group.instance_type}",
                f"use a subnet in a zone that offers it: {', '.join(offering) or 'none in this region'}"))
        if len(results) == bad:
            results.append(CheckResult.passed(name, f"in {zone}, which offers {group.instance_type}" if offering
                                              is not None else f"in {zone} (whether the zone offers "
                                                               f"{group.instance_type}: not known)"))
    return results, zones


# -- EFA ------------------------------------------------------------------------------------------
def _instance_type(ec2: EC2Client, instance_type: str) -> Any:
    types: Any = [instance_type]  # the stubs list every instance type name as a literal
    return _need("ec2:DescribeInstanceTypes", _ask("ec2:DescribeInstanceTypes",
                 lambda: ec2.describe_instance_types(InstanceTypes=types)), "InstanceTypes", 0)


def check_efa(pool: NodePoolSettings, group: EksNodeGroup, ec2: EC2Client, caller: Caller) -> list[CheckResult]:
    name = f"pool {pool.name} EFA"
    try:
        network = _need("ec2:DescribeInstanceTypes", _instance_type(ec2, group.instance_type), "NetworkInfo")
        supported = network.get("EfaSupported", False)
        most = _need("ec2:DescribeInstanceTypes", network, "EfaInfo", "MaximumEfaInterfaces") if supported else 0
    except AwsCallError as failure:
        return [_not_checked(name, failure, caller)]
    if not supported:
        return [CheckResult.failed(name, f"{group.instance_type} does not support EFA",
                                   f"an EFA-capable instance type, or efa: false on {pool.key}")]
    if not isinstance(most, int) or most < group.efa_interfaces:
        return [CheckResult.failed(
            name, f"{group.instance_type} takes {most} EFA interfaces, but the launch template attaches "
                  f"{group.efa_interfaces}", "correct the instance's network cards in components/nodes/catalog.py")]
    return [CheckResult.passed(name, f"{group.instance_type} supports EFA: {group.efa_interfaces} interfaces")]


# -- capacity reservations ------------------------------------------------------------------------
def _pool_instances_in(ec2: EC2Client, reservation_id: str, pool: str, group: EksNodeGroup) -> int:
    """How many of the pool's instances (tagged as its launch template tags them) run in the reservation."""
    filters: Any = [{"Name": "capacity-reservation-id", "Values": [reservation_id]},
                    {"Name": "instance-state-name", "Values": ["pending", "running"]},
                    *({"Name": f"tag:{key}", "Values": [value]} for key, value in instance_tags(pool, group).items())]

    def count() -> int:
        pages = ec2.get_paginator("describe_instances").paginate(Filters=filters)
        return sum(len(r.get("Instances") or []) for page in pages for r in page.get("Reservations") or [])
    return _ask("ec2:DescribeInstances", count)


def check_reservation_room(pool: NodePoolSettings, group: EksNodeGroup, reservation: Any, *, name: str,
                           ec2: EC2Client, caller: Caller) -> CheckResult:
    """Whether the reservation has room for the pool at maximum size.

    What counts: its free instances (AvailableInstanceCount) and, when those are fewer than the pool's
    maximum, the pool's own instances already running in it (on a re-run they hold part of it, and stay
    the pool's). Instances anything else runs in it count against it, which the total would hide."""
    reservation_id = group.capacity_reservation_id or ""
    try:
        total = int(_need("ec2:DescribeCapacityReservations", reservation, "TotalInstanceCount"))
        free = int(_need("ec2:DescribeCapacityReservations", reservation, "AvailableInstanceCount"))
    except (AwsCallError, ValueError, TypeError) as failure:
        error = failure if isinstance(failure, AwsCallError) else AwsCallError(
            "ec2:DescribeCapacityReservations", AnswerError(f"an instance count that is not a number: {failure}"))
        return _not_checked(name, error, caller)
    want = group.max_nodes
    held = f"active, {total} x {group.instance_type} in {reservation.get('AvailabilityZone', '')}; "
    if free >= want:
        return CheckResult.passed(name, held + f"{free} of them free cover the pool's {want} nodes at maximum size")
    try:
        own = _pool_instances_in(ec2, reservation_id, pool.name, group)
    except AwsCallError as failure:
        return CheckResult.failed(
            name, f"{free} of its {total} instances are free, fewer than the pool's {want} nodes; which of the others "
                  f"run the pool's own nodes is not known: {failure.describe()}", failure.fix(caller))
    room = free + own
    if room >= want:
        return CheckResult.passed(name, held + f"{free} of them free + {own} running the pool's nodes cover its {want} "
                                               f"nodes at maximum size (free instances and the pool's own count; "
                                               f"others' do not)")
    others = total - free - own
    aside = (f" ({others} instance{'s' if others != 1 else ''} in it run{'' if others != 1 else 's'} something else)"
             if others > 0 else "")
    options = [f"a reservation with room for {want}", f"free {want - room} more of its instances"]
    if room > 0:
        options.append(f"set {pool.key}.maxNodes to {room}")
    return CheckResult.failed(
        name, f"{free} of its {total} instances are free and {own} run the pool's nodes: room for {room} of the pool's "
              f"nodes, but it grows to {want}{aside}",
        ", ".join(options[:-1]) + f", or {options[-1]}")


def check_reservation(pool: NodePoolSettings, group: EksNodeGroup, zones: set[str], ec2: EC2Client,
                      caller: Caller) -> list[CheckResult]:
    reservation_id = group.capacity_reservation_id or ""
    name = f"pool {pool.name} capacity reservation {reservation_id}"
    try:
        found = _ask("ec2:DescribeCapacityReservations", lambda: ec2.describe_capacity_reservations(
            CapacityReservationIds=[reservation_id]))["CapacityReservations"]
        if not isinstance(found, list):
            raise AwsCallError("ec2:DescribeCapacityReservations",
                               AnswerError("the answer has no CapacityReservations"))
    except KeyError:
        return [_not_checked(name, AwsCallError("ec2:DescribeCapacityReservations", AnswerError(
            "the answer has no CapacityReservations")), caller)]
    except AwsCallError as failure:
        if failure.code not in _RESERVATION_NOT_FOUND:
            return [_not_checked(name, failure, caller)]
        found = []
    if not found:
        return [CheckResult.failed(name, "does not exist in this account and region",
                                   f"set {pool.key}.capacityReservationId to a reservation of this account")]
    reservation = found[0]
    results: list[CheckResult] = []
    state = reservation.get("State")
    if state != "active":
        results.append(CheckResult.failed(name, f"is {_shown(state)}, not active",
                                          "wait for it to become active (a capacity block starts at its start "
                                          "date), or name an active reservation"))
    if reservation.get("InstanceType") != group.instance_type:
        results.append(CheckResult.failed(
            name, f"is for {_shown(reservation.get('InstanceType'))}, but the pool runs {group.instance_type}",
            f"a reservation for {group.instance_type}, or instanceType {reservation.get('InstanceType')}"))
    zone = reservation.get("AvailabilityZone") or ""
    if zones and zone not in zones:
        results.append(CheckResult.failed(
            name, f"is in {_shown(zone)}, but the pool's subnets are in {', '.join(sorted(zones))}",
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
                 caller: Caller) -> list[CheckResult]:
    """One result per quota the pools draw on: their vCPUs at maximum size against its value."""
    need: dict[tuple[str, str], list[tuple[str, int]]] = {}
    unknown: dict[tuple[str, str], AwsCallError] = {}  # quotas whose pools' vCPUs EC2 did not tell
    for pool in pools:
        group = pool.eks
        if group is None or group.capacity_type == "CAPACITY_BLOCK":
            continue  # capacity blocks are bounded by their reservation, checked above
        option = "spot" if group.capacity_type == "SPOT" else "on-demand"
        quota = (group.instance_type[0], option)
        try:
            vcpus = int(_need("ec2:DescribeInstanceTypes", _instance_type(ec2, group.instance_type), "VCpuInfo",
                              "DefaultVCpus"))
        except AwsCallError as failure:
            unknown.setdefault(quota, failure)
            continue
        need.setdefault(quota, []).append((pool.name, vcpus * group.max_nodes))
    results: list[CheckResult] = []
    for quota in sorted(need.keys() | unknown.keys()):
        code, name = _quota_name(*quota)
        if quota in unknown:
            results.append(_not_checked(name, unknown[quota], caller))
            continue
        parts = need[quota]
        wanted = sum(v for _, v in parts)
        detail = ", ".join(f"{pool} {v}" for pool, v in parts)
        look = ("look the quota up in the Service Quotas console (EC2) and make sure it covers "
                f"{wanted} vCPUs before `pulumi up`")
        if not code:
            results.append(CheckResult.failed(name, f"not checked: no quota code is known for these instances "
                                                    f"({detail} vCPUs)", look))
            continue
        try:
            answer = _ask("servicequotas:GetServiceQuota", partial(
                quotas.get_service_quota, ServiceCode="ec2", QuotaCode=code))
            value = float(_need("servicequotas:GetServiceQuota", answer, "Quota", "Value"))
        except (ValueError, TypeError):
            results.append(_not_checked(name, AwsCallError("servicequotas:GetServiceQuota", AnswerError(
                "the quota's Value is not a number")), caller))
            continue
        except AwsCallError as failure:
            if failure.code == "NoSuchResourceException":  # the API knows no such quota here
                results.append(CheckResult.failed(
                    name, f"not checked: the quota API does not know {code} here ({failure.code}), so nothing "
                          f"says {wanted} vCPUs fit ({detail})", look))
            else:
                results.append(_not_checked(name, failure, caller))
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
    """Every AWS check for the stack's ``eks`` pools and its model cache on FSx or EFS
    (`stacks.preflight.aws_cache`), in a stable order. AWS is asked nothing (and `connect_to` not
    called) when the stack has neither."""
    from stacks.preflight.aws_cache import cache_aws_checks

    pools = [p for p in config.node_pools if p.eks is not None]
    cache = config.dynamo.model_cache
    provisioned = cache if cache is not None and cache.kind != "existing" else None
    if not pools and provisioned is None:
        return [CheckResult.passed("aws", "the stack has no eks node pools and no model cache on AWS; nothing to "
                                          "check")]
    try:
        clients = _ask("the AWS session", lambda: connect_to(config.aws))
    except AwsCallError as failure:  # a profile the shared config lacks, a broken config file
        return [_unusable(failure, Caller(region=config.aws.region or "", profile=config.aws.profile))]
    identity, caller = check_identity(config.aws, clients.sts)
    if not identity.ok:
        return [identity]  # every other call would fail the same way, or look at the wrong account
    results = [identity, *check_cluster(config, clients.eks, caller)]
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
    return results
