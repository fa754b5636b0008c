"""The AWS preflight against moto: a good set-up passes; each broken one fails with its message.

moto has no capacity reservations, knows no EC2 quotas and does not record which reservation an
instance runs in, so DescribeCapacityReservations, GetServiceQuota and DescribeInstances are answered
by `World` through botocore's before-call hook (the way botocore's own Stubber answers): every other
call goes to moto. The same hook refuses calls (`refuse`) or raises botocore's own errors
(`unreachable`), for the checks that must report them instead of raising.
"""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.awsrequest import AWSResponse
from botocore.exceptions import EndpointConnectionError, NoCredentialsError
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.eks.models import eks_backends

from components.kit.aws import STACK_TAG
from components.storage.csi import DRIVERS, POD_IDENTITY_AGENT
from components.storage.lustre import CACHE_TAG
from stacks.config.stack import StackConfig
from stacks.ops.aws import AwsClients
from stacks.ops.cluster_view import StorageClassInfo
from stacks.ops.report import Finding
from stacks.ops.target import ClusterTarget
from stacks.preflight import command as preflight
from stacks.preflight.aws import aws_checks
from tests.cluster_stub import DEFAULT, StubCluster, system_node
from tests.harness import ROOT, parse, report_checks, report_line, stack_config

REGION = "us-east-1"
CLUSTER = "dynamo-prod"
RESERVATION = "cr-0a1b2c3d4e5f67890"


@dataclass
class World:
    clients: AwsClients
    vpc: str
    subnet_a: str
    subnet_b: str
    security_group: str
    reservations: dict[str, dict[str, Any]] = field(default_factory=dict)
    instances: list[dict[str, Any]] = field(default_factory=list)
    quotas: dict[str, float] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)  # operation -> error code, for the answered calls
    # EKS add-on versions offered (by add-on name), and the add-ons the cluster runs (name -> status).
    addon_versions: dict[str, list[str]] = field(default_factory=lambda: {
        d.addon: [d.version, "v0.0.1-eksbuild.1"] for d in DRIVERS.values()})
    addons: dict[str, str] = field(default_factory=lambda: {POD_IDENTITY_AGENT: "ACTIVE"})
    connected: int = 0

    def connect(self, _: object) -> AwsClients:
        self.connected += 1
        return self.clients

    def cluster(self) -> Any:
        return eks_backends[DEFAULT_ACCOUNT_ID][REGION].clusters[CLUSTER]

    def run_in_reservation(self, count: int, *, pool: str = "h100", state: str = "running") -> None:
        """`count` instances in the reservation: the pool's nodes (tagged as its launch template tags
        them) or, with `pool=""`, someone else's."""
        tags = [{"Key": "dynamo-cluster/pool", "Value": pool}, {"Key": "Name", "Value": f"{CLUSTER}-{pool}"}]
        for _ in range(count):
            self.instances.append({"InstanceId": f"i-{len(self.instances):017x}", "InstanceType": "p5.48xlarge",
                                   "CapacityReservationId": RESERVATION, "State": {"Name": state},
                                   "Tags": tags if pool else []})
        if state in ("pending", "running"):
            self.reservations[RESERVATION]["AvailableInstanceCount"] -= count


def _matches(instance: dict[str, Any], filters: list[dict[str, Any]]) -> bool:
    """DescribeInstances' filters, the ones the reservation check uses."""
    tags = {t["Key"]: t["Value"] for t in instance["Tags"]}
    fields = {"capacity-reservation-id": instance["CapacityReservationId"],
              "instance-state-name": instance["State"]["Name"]}
    for f in filters:
        name = f["Name"]
        value = tags.get(name[4:]) if name.startswith("tag:") else fields[name]
        if value not in f["Values"]:
            return False
    return True


def answer(client: Any, operation: str, reply: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    """Answer `operation` on `client` with `reply(params)`; a reply with "Error" is a 400."""
    def keep(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["api_params"] = dict(params)

    def hook(context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        body = reply(context["api_params"])
        return AWSResponse(None, 400 if "Error" in body else 200, {}, None), body  # type: ignore[arg-type]
    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register(f"before-parameter-build.{service}.{operation}", keep)
    client.meta.events.register(f"before-call.{service}.{operation}", hook)


@pytest.fixture(scope="module")
def session() -> boto3.Session:
    """One session for the module: its loader parses each service's model once, not per test."""
    return boto3.Session(region_name=REGION)


@pytest.fixture
def world(session: boto3.Session, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")  # the checks use no AMI; loading them is slow
    with mock_aws():
        ec2, eks = session.client("ec2"), session.client("eks")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{zone}")
                   ["Subnet"]["SubnetId"] for i, zone in enumerate("ab")]
        group = ec2.create_security_group(GroupName="cluster", Description="cluster", VpcId=vpc)["GroupId"]
        eks.create_cluster(name=CLUSTER, roleArn=f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/eks", version="1.33",
                           resourcesVpcConfig={"subnetIds": subnets})
        state = World(AwsClients(sts=session.client("sts"), eks=eks, ec2=ec2, quotas=session.client("service-quotas"),
                                 fsx=session.client("fsx"), efs=session.client("efs")),
                      vpc, subnets[0], subnets[1], group)
        state.cluster().resources_vpc_config.update({"vpcId": vpc, "clusterSecurityGroupId": group})
        state.reservations[RESERVATION] = {
            "CapacityReservationId": RESERVATION, "State": "active", "InstanceType": "p5.48xlarge",
            "AvailabilityZone": f"{REGION}a", "TotalInstanceCount": 2, "AvailableInstanceCount": 2}
        state.quotas["L-417A185B"] = 384.0

        def refused(operation: str) -> dict[str, Any] | None:
            code = state.refused.get(operation)
            return None if code is None else {"Error": {"Code": code, "Message": f"not allowed: {operation}"}}

        def reservations(params: dict[str, Any]) -> dict[str, Any]:
            if (error := refused("DescribeCapacityReservations")) is not None:
                return error
            found = [state.reservations[i] for i in params["CapacityReservationIds"] if i in state.reservations]
            if not found:
                return {"Error": {"Code": "InvalidCapacityReservationId.NotFound", "Message": "not found"}}
            return {"CapacityReservations": found}

        def instances(params: dict[str, Any]) -> dict[str, Any]:
            if (error := refused("DescribeInstances")) is not None:
                return error
            found = [i for i in state.instances if _matches(i, params.get("Filters", []))]
            return {"Reservations": [{"ReservationId": "r-0", "Instances": found}] if found else []}

        def quota(params: dict[str, Any]) -> dict[str, Any]:
            if (error := refused("GetServiceQuota")) is not None:
                return error
            if params["QuotaCode"] not in state.quotas:
                return {"Error": {"Code": "NoSuchResourceException", "Message": "no such quota"}}
            return {"Quota": {"QuotaCode": params["QuotaCode"], "Value": state.quotas[params["QuotaCode"]]}}

        def addon_versions(params: dict[str, Any]) -> dict[str, Any]:
            offered = state.addon_versions.get(params["addonName"], [])
            return {"addons": [{"addonName": params["addonName"],
                                "addonVersions": [{"addonVersion": v} for v in offered]}]}

        def addon(params: dict[str, Any]) -> dict[str, Any]:
            status = state.addons.get(params["addonName"])
            if status is None:
                return {"Error": {"Code": "ResourceNotFoundException", "Message": "No addon: " + params["addonName"]}}
            return {"addon": {"addonName": params["addonName"], "status": status, "addonVersion": "v1.3.10-eksbuild.1"}}

        answer(eks, "DescribeAddonVersions", addon_versions)
        answer(eks, "DescribeAddon", addon)
        answer(ec2, "DescribeCapacityReservations", reservations)
        answer(ec2, "DescribeInstances", instances)
        answer(state.clients.quotas, "GetServiceQuota", quota)
        yield state


def values(world: World, pool: dict[str, Any] | None = None, cache: dict[str, Any] | None = None,
           **aws: Any) -> dict[str, Any]:
    """prod on `world`'s account, with one EFA pool h100; its model cache is `cache` (default: off,
    so the pool checks are alone; the cache's checks have their own tests below)."""
    h100 = {"name": "h100", "kind": "eks", "instanceType": "p5.48xlarge", "efa": True,
            "availabilityZone": f"{REGION}a", "subnetIds": [world.subnet_a], "maxNodes": 2,
            "capacityReservationId": RESERVATION} | (pool or {})
    return stack_config("prod") | {
        "aws": {"region": REGION, "clusterName": CLUSTER, "vpcId": world.vpc,
                "clusterSecurityGroupId": world.security_group, "accountId": DEFAULT_ACCOUNT_ID} | aws,
        "nodePools": [h100], "graphs": [], "modelCache": cache or {"enabled": False}}


def config(world: World, pool: dict[str, Any] | None = None, **aws: Any) -> StackConfig:
    return parse(values(world, pool, **aws), "prod")


def failures(results: list[Finding]) -> list[str]:
    return [f"{r.check}: {r.detail}" for r in results if not r.ok]


def check(world: World, pool: dict[str, Any] | None = None, **aws: Any) -> list[str]:
    return failures(aws_checks(config(world, pool, **aws), world.connect))


# -- a good set-up --------------------------------------------------------------------------------
def test_a_good_set_up_passes_every_check(world: World) -> None:
    results = aws_checks(config(world), world.connect)
    assert failures(results) == []
    assert [r.check for r in results] == [
        "aws credentials", f"eks cluster {CLUSTER}", f"pool h100 subnet {world.subnet_a}", "pool h100 EFA",
        f"pool h100 capacity reservation {RESERVATION}", "vCPU quota Running On-Demand P instances"]
    assert results[-1].detail == "384 vCPUs cover 384 at maximum size (h100 384)"


def test_the_command_reports_and_exits(world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stack_file = tmp_path / "Pulumi.prod.yaml"
    stack_file.write_text(yaml.safe_dump({"config": {f"dynamo-cluster:{k}": v for k, v in values(world).items()}}))
    assert preflight.run(ROOT, "prod", stack_file, aws=True, cluster=False, connect_aws=world.connect) == 0
    assert capsys.readouterr().out.endswith("6 checks: 6 ok; result: passed (exit 0)\n")
    world.quotas["L-417A185B"] = 192.0
    assert preflight.run(ROOT, "prod", stack_file, aws=True, cluster=False, connect_aws=world.connect) == 1
    out = capsys.readouterr().out
    assert report_line(out, "FAIL", "vCPU quota Running On-Demand P instances")
    assert re.search(r"^ +fix: request an increase: aws service-quotas request-service-quota-increase", out, re.M)
    assert preflight.run(ROOT, "prod", stack_file, aws=False, cluster=False) == 2


def test_cluster_and_aws_checks_make_one_report(world: World, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    stack_file = tmp_path / "Pulumi.prod.yaml"
    stack_file.write_text(yaml.safe_dump({"config": {f"dynamo-cluster:{k}": v for k, v in values(world).items()}}))
    cluster = StubCluster(classes=[StorageClassInfo("gp3", "ebs.csi.aws.com", DEFAULT),
                                   StorageClassInfo("efs-sc", "efs.csi.aws.com")],
                          node_list=[system_node(f"system-{i}") for i in range(3)])
    targets: list[ClusterTarget] = []

    def connect_cluster(target: ClusterTarget) -> StubCluster:
        targets.append(target)
        return cluster

    assert preflight.run(ROOT, "prod", stack_file, aws=True, connect_aws=world.connect,
                         connect_cluster=connect_cluster) == 0
    lines = capsys.readouterr().out.splitlines()
    assert targets == [ClusterTarget(context="arn:aws:eks:us-east-1:111122223333:cluster/dynamo-prod",
                                     kubeconfig_path="~/.kube/config")]
    out = "\n".join(lines)
    assert report_line(out, "ok", "kubernetes api", "context arn:aws:eks:us-east-1:111122223333:cluster/dynamo-prod of "
                                                    "kubeconfig ~/.kube/config answers")
    # (no model cache here: its class and ReadWriteMany checks are not among them)
    checks = [rest.split("  ")[0] for _, rest in report_checks(out)]
    assert checks[7:14] == ["platform nodes", "network policy enforcement", "dynamo operator", "dynamo crds",
                            "secrets", "aws credentials", "eks cluster dynamo-prod"]
    assert [line.split(":")[0] for line in lines if not line.startswith(" ")][1:3] == [
        "cluster (context arn", "aws (us-east-1)"]
    assert lines[-1] == "18 checks: 18 ok; result: passed (exit 0)"


def test_a_stack_without_eks_pools_asks_aws_nothing(world: World) -> None:
    results = aws_checks(parse(stack_config("dev")), world.connect)
    assert results == [Finding.passed("aws", "the stack has no eks node pools, no model cache on AWS and no load "
                                                 "balancer endpoint; nothing to check")]
    assert world.connected == 0


# -- credentials ----------------------------------------------------------------------------------
def test_credentials_of_another_account(world: World) -> None:
    assert check(world, accountId="111122223333") == [
        f"aws credentials: belong to account {DEFAULT_ACCOUNT_ID}, but dynamo-cluster:aws.accountId is 111122223333"]


def test_no_credentials(world: World) -> None:
    unreachable(world.clients.sts, "GetCallerIdentity", NoCredentialsError())
    [result] = aws_checks(config(world), world.connect)
    assert result == Finding.failed(
        "aws credentials", "cannot be used: sts:GetCallerIdentity failed with NoCredentialsError: Unable to locate "
                           "credentials; no other AWS check ran",
        "configure credentials (environment, shared config, SSO or an instance role), or refresh expired ones "
        "(aws sso login); dynamo-cluster:aws.profile names a profile to use")


def test_a_profile_the_shared_config_lacks(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    assert aws_checks(config(world, profile="gpu-admin")) == [Finding.failed(
        "aws credentials", "cannot be used: the AWS session failed with ProfileNotFound: The config profile "
                           "(gpu-admin) could not be found; no other AWS check ran",
        "add profile gpu-admin to the shared AWS config (aws configure --profile gpu-admin), or unset "
        "dynamo-cluster:aws.profile")]


def test_a_shared_config_that_cannot_be_read(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "config").write_text("[default\nregion = us-east-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    assert aws_checks(config(world)) == [Finding.failed(
        "aws credentials", f"cannot be used: the AWS session failed with ConfigParseError: Unable to parse config "
                           f"file: {tmp_path / 'config'}; no other AWS check ran",
        "correct what the error names (the shared AWS config and credentials files, AWS_* environment variables), "
        "then run preflight again")]


# -- the cluster ----------------------------------------------------------------------------------
def test_cluster_missing(world: World) -> None:
    assert check(world, clusterName="elsewhere") == [f"eks cluster elsewhere: no cluster named elsewhere in {REGION}"]


def test_cluster_not_active(world: World) -> None:
    world.cluster().status = "UPDATING"
    assert check(world) == [f"eks cluster {CLUSTER}: is UPDATING, not ACTIVE"]


def test_cluster_version_unsupported(world: World) -> None:
    world.cluster().version = "1.29"
    assert check(world) == [f"eks cluster {CLUSTER}: runs Kubernetes 1.29, which this project does not support"]


def test_cluster_version_differs_from_config(world: World) -> None:
    world.cluster().version = "1.32"
    assert check(world) == [
        f"eks cluster {CLUSTER}: runs Kubernetes 1.32, but dynamo-cluster:kubernetes.version is 1.33"]


def test_cluster_in_another_vpc(world: World) -> None:
    world.cluster().resources_vpc_config["vpcId"] = "vpc-0ffffffffffffffff"
    assert check(world) == [
        f"eks cluster {CLUSTER}: is in VPC vpc-0ffffffffffffffff, but dynamo-cluster:aws.vpcId is {world.vpc}"]


def test_cluster_security_group_differs(world: World) -> None:
    world.cluster().resources_vpc_config["clusterSecurityGroupId"] = "sg-0ffffffffffffffff"
    assert check(world) == [
        f"eks cluster {CLUSTER}: has cluster security group sg-0ffffffffffffffff, but "
        f"dynamo-cluster:aws.clusterSecurityGroupId is {world.security_group}"]


# -- subnets --------------------------------------------------------------------------------------
def test_subnet_missing(world: World) -> None:
    assert check(world, {"subnetIds": ["subnet-0123456789abcdef0"]}) == [
        f"pool h100 subnet subnet-0123456789abcdef0: does not exist in {REGION}"]


def test_subnet_in_another_vpc(world: World) -> None:
    ec2 = world.clients.ec2
    other = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=other, CidrBlock="10.1.0.0/24", AvailabilityZone=f"{REGION}a")["Subnet"]
    assert check(world, {"subnetIds": [subnet["SubnetId"]]}) == [
        f"pool h100 subnet {subnet['SubnetId']}: is in VPC {other}, not the cluster's {world.vpc}"]


def test_subnet_outside_the_pools_zone(world: World) -> None:
    assert check(world, {"subnetIds": [world.subnet_b]}) == [
        f"pool h100 subnet {world.subnet_b}: is in {REGION}b, but nodePools[0].availabilityZone is {REGION}a",
        f"pool h100 capacity reservation {RESERVATION}: is in {REGION}a, but the pool's subnets are in {REGION}b"]


def test_zone_does_not_offer_the_instance_type(world: World) -> None:
    world.reservations.clear()
    pool = {"instanceType": "p5en.48xlarge", "availabilityZone": f"{REGION}b", "subnetIds": [world.subnet_b]}
    del_reservation = {"capacityReservationId": None}
    found = check(world, pool | del_reservation)
    assert found == [f"pool h100 subnet {world.subnet_b}: is in {REGION}b, which does not offer p5en.48xlarge"]
    result = next(r for r in aws_checks(config(world, pool | del_reservation), world.connect) if not r.ok)
    assert result.fix == f"use a subnet in a zone that offers it: {REGION}a, {REGION}c"


# -- EFA ------------------------------------------------------------------------------------------
def with_group(cfg: StackConfig, **changes: Any) -> StackConfig:
    """`cfg` with its first pool's node group changed past what config validation allows."""
    pool = cfg.node_pools[0]
    assert pool.eks is not None
    return replace(cfg, node_pools=(replace(pool, nodes=replace(pool.eks, **changes)),))


def test_efa_on_a_type_without_efa(world: World) -> None:
    world.quotas["L-DB2E81BA"] = 64.0
    cfg = with_group(config(world, {"capacityReservationId": None}), instance_type="g6e.xlarge", efa_interfaces=1)
    assert failures(aws_checks(cfg, world.connect)) == ["pool h100 EFA: g6e.xlarge does not support EFA"]


def test_efa_interfaces_beyond_the_type(world: World) -> None:
    cfg = with_group(config(world), efa_interfaces=64)
    assert failures(aws_checks(cfg, world.connect)) == [
        "pool h100 EFA: p5.48xlarge takes 32 EFA interfaces, but the launch template attaches 64"]


# -- capacity reservations ------------------------------------------------------------------------
def test_reservation_missing(world: World) -> None:
    world.reservations.clear()
    assert check(world) == [f"pool h100 capacity reservation {RESERVATION}: does not exist in this account and region"]


def test_reservation_not_active(world: World) -> None:
    world.reservations[RESERVATION]["State"] = "expired"
    assert check(world) == [f"pool h100 capacity reservation {RESERVATION}: is expired, not active"]


def test_reservation_for_another_instance_type(world: World) -> None:
    world.reservations[RESERVATION]["InstanceType"] = "p5en.48xlarge"
    assert check(world) == [
        f"pool h100 capacity reservation {RESERVATION}: is for p5en.48xlarge, but the pool runs p5.48xlarge"]


def test_reservation_in_another_zone(world: World) -> None:
    world.reservations[RESERVATION]["AvailabilityZone"] = f"{REGION}c"
    assert check(world) == [
        f"pool h100 capacity reservation {RESERVATION}: is in {REGION}c, but the pool's subnets are in {REGION}a"]


def reservation_result(world: World, pool: dict[str, Any] | None = None) -> Finding:
    results = aws_checks(config(world, pool), world.connect)
    return next(r for r in results if r.check == f"pool h100 capacity reservation {RESERVATION}")


def test_reservation_too_small(world: World) -> None:
    assert check(world, {"maxNodes": 3}) == [
        f"pool h100 capacity reservation {RESERVATION}: 2 of its 2 instances are free and 0 run the pool's nodes: "
        "room for 2 of the pool's nodes, but it grows to 3",
        "vCPU quota Running On-Demand P instances: is 384 vCPUs, but the pools need 576 at maximum size (h100 576)"]
    assert reservation_result(world, {"maxNodes": 3}).fix == (
        "a reservation with room for 3, free 1 more of its instances, or set nodePools[0].maxNodes to 2")


def test_reservation_free_instances_cover_the_pool(world: World) -> None:
    assert reservation_result(world) == Finding.passed(
        f"pool h100 capacity reservation {RESERVATION}",
        "active, 2 x p5.48xlarge in us-east-1a; 2 of them free cover the pool's 2 nodes at maximum size")


def test_reservation_instances_others_run_leave_no_room(world: World) -> None:
    """First `pulumi up`: the reservation holds enough instances in total, but something else runs in
    one of them; only the free ones can take the pool's nodes."""
    world.run_in_reservation(1, pool="")
    result = reservation_result(world)
    assert result == Finding.failed(
        f"pool h100 capacity reservation {RESERVATION}",
        "1 of its 2 instances are free and 0 run the pool's nodes: room for 1 of the pool's nodes, but it grows to 2 "
        "(1 instance in it runs something else)",
        "a reservation with room for 2, free 1 more of its instances, or set nodePools[0].maxNodes to 1")


def test_reservation_running_the_pools_own_nodes_counts_them(world: World) -> None:
    """A re-run: the pool's two nodes already run in the reservation, so none is free, and that is enough."""
    world.reservations[RESERVATION].update(TotalInstanceCount=3, AvailableInstanceCount=3)
    world.run_in_reservation(2)
    world.run_in_reservation(1, pool="h200")  # another pool's nodes, also tagged, count as someone else's
    world.run_in_reservation(1, state="terminated")  # gone: no longer holds an instance of the reservation
    assert reservation_result(world) == Finding.passed(
        f"pool h100 capacity reservation {RESERVATION}",
        "active, 3 x p5.48xlarge in us-east-1a; 0 of them free + 2 running the pool's nodes cover its 2 nodes at "
        "maximum size (free instances and the pool's own count; others' do not)")


def test_reservation_running_some_of_the_pools_nodes_still_too_small(world: World) -> None:
    world.reservations[RESERVATION].update(TotalInstanceCount=3, AvailableInstanceCount=3)
    world.run_in_reservation(1)
    world.run_in_reservation(1, pool="")
    assert check(world, {"maxNodes": 3})[0] == (
        f"pool h100 capacity reservation {RESERVATION}: 1 of its 3 instances are free and 1 run the pool's nodes: "
        "room for 2 of the pool's nodes, but it grows to 3 (1 instance in it runs something else)")


# -- quotas ---------------------------------------------------------------------------------------
def test_quota_too_low(world: World) -> None:
    world.quotas["L-417A185B"] = 192.0
    assert check(world) == [
        "vCPU quota Running On-Demand P instances: is 192 vCPUs, but the pools need 384 at maximum size (h100 384)"]


def test_a_quota_that_cannot_be_read_is_not_checked_never_passed(world: World) -> None:
    world.quotas.clear()
    results = aws_checks(config(world), world.connect)
    assert failures(results) == [
        "vCPU quota Running On-Demand P instances: not checked: the quota API does not know L-417A185B here "
        "(NoSuchResourceException), so nothing says 384 vCPUs fit (h100 384)"]
    assert "Service Quotas console" in results[-1].fix


def test_spot_pools_draw_on_the_spot_quota(world: World) -> None:
    world.quotas["L-3819A6DF"] = 8.0
    pool = {"instanceType": "g6e.12xlarge", "efa": False, "capacityType": "SPOT", "capacityReservationId": None}
    assert check(world, pool) == [
        "vCPU quota All G and VT Spot Instance Requests: is 8 vCPUs, but the pools need 96 at maximum size (h100 96)"]


# -- calls AWS refuses or that do not reach it: reported, and the other checks still run ------------
def refuse(client: Any, operation: str, code: str, message: str = "You are not authorized to perform this "
                                                                        "operation.") -> None:
    answer(client, operation, lambda _: {"Error": {"Code": code, "Message": message}})


def unreachable(client: Any, operation: str, error: Exception) -> None:
    def fail(**_: Any) -> None:
        raise error
    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register(f"before-call.{service}.{operation}", fail)


ALL = ["aws credentials", f"eks cluster {CLUSTER}", "pool h100 subnet {subnet}", "pool h100 EFA",
       f"pool h100 capacity reservation {RESERVATION}", "vCPU quota Running On-Demand P instances"]
PERMISSION = "allow {call} (a read-only call) in an IAM policy of the identity preflight runs as ({arn})"


def only_failure(world: World, results: list[Finding]) -> Finding:
    """The one failed result, after asserting every other check ran (and passed)."""
    assert [r.check for r in results] == [n.format(subnet=world.subnet_a) for n in ALL]
    [failed] = [r for r in results if not r.ok]
    return failed


def arn() -> str:
    return f"arn:aws:sts::{DEFAULT_ACCOUNT_ID}:user/moto"


def test_a_refused_describe_cluster_is_reported(world: World) -> None:
    refuse(world.clients.eks, "DescribeCluster", "AccessDeniedException", "User is not authorized")
    assert only_failure(world, aws_checks(config(world), world.connect)) == Finding.failed(
        f"eks cluster {CLUSTER}", "not checked: eks:DescribeCluster failed with AccessDeniedException: User is not "
                                  "authorized",
        PERMISSION.format(call="eks:DescribeCluster", arn=arn()))


def test_a_refused_describe_subnets_is_reported(world: World) -> None:
    refuse(world.clients.ec2, "DescribeSubnets", "UnauthorizedOperation")
    assert only_failure(world, aws_checks(config(world), world.connect)) == Finding.failed(
        f"pool h100 subnet {world.subnet_a}", "not checked: ec2:DescribeSubnets failed with UnauthorizedOperation: You "
                                              "are not authorized to perform this operation.",
        PERMISSION.format(call="ec2:DescribeSubnets", arn=arn()))


def test_refused_offerings_still_check_the_subnet(world: World) -> None:
    refuse(world.clients.ec2, "DescribeInstanceTypeOfferings", "UnauthorizedOperation")
    results = aws_checks(config(world), world.connect)
    assert failures(results) == [
        "pool h100 instance type offerings: not checked: ec2:DescribeInstanceTypeOfferings failed with "
        "UnauthorizedOperation: You are not authorized to perform this operation."]
    subnet = next(r for r in results if r.check == f"pool h100 subnet {world.subnet_a}")
    assert subnet == Finding.passed(subnet.check, f"in {REGION}a (whether the zone offers p5.48xlarge: not known)")


def test_an_unreachable_ec2_endpoint_is_reported(world: World) -> None:
    url = f"https://ec2.{REGION}.amazonaws.com/"
    unreachable(world.clients.ec2, "DescribeInstanceTypes", EndpointConnectionError(endpoint_url=url))
    results = aws_checks(config(world), world.connect)
    network = (f"make AWS's ec2 endpoint for dynamo-cluster:aws.region reachable from here (network, proxy "
               f"settings, or a VPC endpoint); check aws.region is {REGION}")
    error = (f"ec2:DescribeInstanceTypes failed with EndpointConnectionError: Could not connect to the endpoint URL: "
             f'"{url}"')
    assert [r for r in results if not r.ok] == [
        Finding.failed("pool h100 EFA", f"not checked: {error}", network),
        Finding.failed("vCPU quota Running On-Demand P instances", f"not checked: {error}", network)]
    assert [r.check for r in results] == [n.format(subnet=world.subnet_a) for n in ALL]


def test_a_refused_reservation_is_reported(world: World) -> None:
    world.refused["DescribeCapacityReservations"] = "UnauthorizedOperation"
    assert only_failure(world, aws_checks(config(world), world.connect)) == Finding.failed(
        f"pool h100 capacity reservation {RESERVATION}",
        "not checked: ec2:DescribeCapacityReservations failed with UnauthorizedOperation: not allowed: "
        "DescribeCapacityReservations", PERMISSION.format(call="ec2:DescribeCapacityReservations", arn=arn()))


def test_refused_instances_are_reported_when_the_reservation_needs_them(world: World) -> None:
    world.refused["DescribeInstances"] = "UnauthorizedOperation"
    assert reservation_result(world).ok  # 2 free cover 2 nodes: the pool's own instances are not asked for
    world.run_in_reservation(1)
    assert only_failure(world, aws_checks(config(world), world.connect)) == Finding.failed(
        f"pool h100 capacity reservation {RESERVATION}",
        "1 of its 2 instances are free, fewer than the pool's 2 nodes; which of the others run the pool's own nodes "
        "is not known: ec2:DescribeInstances failed with UnauthorizedOperation: not allowed: DescribeInstances",
        PERMISSION.format(call="ec2:DescribeInstances", arn=arn()))


def test_a_refused_quota_is_reported(world: World) -> None:
    world.refused["GetServiceQuota"] = "AccessDeniedException"
    assert only_failure(world, aws_checks(config(world), world.connect)) == Finding.failed(
        "vCPU quota Running On-Demand P instances",
        "not checked: servicequotas:GetServiceQuota failed with AccessDeniedException: not allowed: GetServiceQuota",
        PERMISSION.format(call="servicequotas:GetServiceQuota", arn=arn()))


def test_expired_credentials_midway_are_reported(world: World) -> None:
    refuse(world.clients.eks, "DescribeCluster", "ExpiredTokenException", "The security token included in the "
                                                                          "request is expired")
    result = only_failure(world, aws_checks(config(world), world.connect))
    assert result.detail == ("not checked: eks:DescribeCluster failed with ExpiredTokenException: The security "
                              "token included in the request is expired")
    assert result.fix.startswith("configure credentials (environment, shared config, SSO or an instance role), or "
                                 "refresh expired ones (aws sso login)")


def test_throttling_says_to_run_again(world: World) -> None:
    refuse(world.clients.ec2, "DescribeSubnets", "RequestLimitExceeded", "Request limit exceeded.")
    result = only_failure(world, aws_checks(config(world), world.connect))
    assert result.fix == "AWS throttled ec2:DescribeSubnets: run preflight again in a minute"


def test_any_other_error_says_to_fix_what_it_names(world: World) -> None:
    refuse(world.clients.ec2, "DescribeSubnets", "OptInRequired", "You are not subscribed to this service.")
    result = only_failure(world, aws_checks(config(world), world.connect))
    assert result.fix == ("fix what AWS says and run preflight again (the same read-only call: aws ec2 "
                          "describe-subnets)")


def test_the_command_reports_a_refused_call_and_exits_1(world: World, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    stack_file = tmp_path / "Pulumi.prod.yaml"
    stack_file.write_text(yaml.safe_dump({"config": {f"dynamo-cluster:{k}": v for k, v in values(world).items()}}))
    refuse(world.clients.eks, "DescribeCluster", "AccessDeniedException", "User is not authorized")
    assert preflight.run(ROOT, "prod", stack_file, aws=True, cluster=False, connect_aws=world.connect) == 1
    out = capsys.readouterr().out
    assert report_line(out, "FAIL", f"eks cluster {CLUSTER}",
                       "not checked: eks:DescribeCluster failed with AccessDeniedException")
    assert out.endswith("6 checks: 5 ok, 1 failed; result: failed (exit 1)\n")


def test_every_call_made_is_a_documented_iam_action() -> None:
    """The IAM actions docs/configuration.md tells users to allow are exactly the calls the checks make."""
    made: set[str] = set()
    for module in ("aws.py", "aws_cache.py", "aws_endpoints.py"):
        text = (ROOT / "stacks" / "preflight" / module).read_text()
        made |= set(re.findall(r'ask\(\s*"([a-z0-9]+:[A-Za-z]+)"', text))
    section = (ROOT / "docs" / "configuration.md").read_text().split("## AWS", 1)[1].split("| key |", 1)[0]
    assert made == set(re.findall(r"`([a-z0-9]+:[A-Za-z]+)`", section))
    assert len(made) == 17



# -- answers preflight cannot read ----------------------------------------------------------------
def garbled(client: Any, operation: str, body: bytes, status: int = 200) -> None:
    """`operation` answers `body` as raw bytes (a proxy's page, a truncated answer): botocore parses it."""
    def send(request: Any, **_: Any) -> AWSResponse:
        return AWSResponse(request.url, status, {}, _RawBody(body))  # type: ignore[arg-type]

    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register(f"before-send.{service}.{operation}", send)


class _RawBody:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body

    def read(self, *_: Any) -> bytes:
        body, self.body = self.body, b""
        return body


@pytest.mark.parametrize(("operation", "name"), [
    ("DescribeSubnets", "pool h100 subnet {subnet}"), ("DescribeInstanceTypes", "pool h100 EFA"),
    ("DescribeInstanceTypeOfferings", "pool h100 instance type offerings")])
def test_a_non_xml_answer_is_a_failed_check(world: World, operation: str, name: str) -> None:
    garbled(world.clients.ec2, operation, b"<html><body>502 Bad Gateway from a proxy</body>")
    results = aws_checks(config(world), world.connect)
    found = next(r for r in results if r.check == name.format(subnet=world.subnet_a))
    assert not found.ok
    assert found.detail.startswith(f"not checked: ec2:{operation} failed with an unreadable answer")
    assert "could not be read" in found.fix


def test_missing_fields_are_named_never_none(world: World) -> None:
    world.reservations[RESERVATION] = {"CapacityReservationId": RESERVATION}
    world.quotas["L-417A185B"] = None  # type: ignore[assignment]  # an answer without the quota's value
    results = aws_checks(config(world), world.connect)
    messages = [f"{r.check}: {r.detail}" for r in results if not r.ok]
    assert not any("None" in m for m in messages), messages
    reservation = next(r for r in results if r.check.startswith("pool h100 capacity reservation") and not r.ok
                       and "not active" in r.detail)
    assert "(not in AWS's answer)" in reservation.detail
    room = next(r for r in results if "TotalInstanceCount" in r.detail)
    assert room.detail.startswith("not checked:")
    quota = next(r for r in results if r.check.startswith("vCPU quota"))
    assert not quota.ok
    assert "Value" in quota.detail


def test_a_cluster_answer_without_its_fields_is_a_failed_check(world: World) -> None:
    answer(world.clients.eks, "DescribeCluster", lambda _: {"cluster": {"name": CLUSTER}})
    results = aws_checks(config(world), world.connect)
    found = next(r for r in results if r.check == f"eks cluster {CLUSTER}")
    assert not found.ok
    assert "the answer has no cluster.status" not in found.detail  # the path is named from the cluster object
    assert "the answer has no status" in found.detail


# -- the model cache on FSx for Lustre or EFS -----------------------------------------------------
FSX_CACHE = {"enabled": True, "kind": "fsx-lustre", "fsx": {"storageCapacityGiB": 2400}}
EFS_CACHE = {"enabled": True, "kind": "efs"}
ADDON = "eks add-on aws-fsx-csi-driver v1.7.0-eksbuild.1"


def cache_results(world: World, cache: dict[str, Any]) -> list[Finding]:
    """The model cache's AWS checks of prod with `cache` (the pool checks run too; they pass)."""
    results = aws_checks(parse(values(world, cache=cache), "prod"), world.connect)
    assert failures([r for r in results if not r.check.startswith(("eks add-on", "model cache"))]) == []
    return [r for r in results if r.check.startswith(("eks add-on", "model cache"))]


def group_admitting(world: World, *ports: tuple[int, int]) -> str:
    ec2 = world.clients.ec2
    group = ec2.create_security_group(GroupName=f"cache-{len(ports)}-{ports}", Description="cache",
                                      VpcId=world.vpc)["GroupId"]
    if ports:
        ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": a, "ToPort": b, "UserIdGroupPairs": [{"GroupId": world.security_group}]}
            for a, b in ports])
    return group


def lustre_file_system(world: World, monkeypatch: pytest.MonkeyPatch, *, subnet: str, group: str,
                       lifecycle: str = "AVAILABLE") -> str:
    """The stack's file system, as `pulumi up` made it (tagged with the cache's and the stack's names).
    moto's FSx does not describe a file system's state, VPC or network interfaces: they are added."""
    from moto.fsx import models as fsx_models

    interface = world.clients.ec2.create_network_interface(SubnetId=subnet, Groups=[group])
    fs = world.clients.fsx.create_file_system(
        FileSystemType="LUSTRE", StorageCapacity=2400, SubnetIds=[subnet], SecurityGroupIds=[group],
        Tags=[{"Key": CACHE_TAG, "Value": "model-cache"}, {"Key": STACK_TAG, "Value": "prod"}],
        LustreConfiguration={"DeploymentType": "PERSISTENT_2", "PerUnitStorageThroughput": 250})["FileSystem"]
    described = fsx_models.FileSystem.to_dict
    extra = {"Lifecycle": lifecycle, "VpcId": world.vpc,
             "NetworkInterfaceIds": [interface["NetworkInterface"]["NetworkInterfaceId"]]}
    monkeypatch.setattr(fsx_models.FileSystem, "to_dict", lambda self: described(self) | extra)
    return str(fs["FileSystemId"])


def test_fsx_before_the_first_up_says_what_up_creates(world: World) -> None:
    assert cache_results(world, FSX_CACHE) == [
        Finding.passed(ADDON, "offered for Kubernetes 1.33"),
        Finding.passed("model cache file system", f"none yet: `pulumi up` creates a PERSISTENT_2 FSx for Lustre "
                                                      f"file system of 2400 GiB in subnet {world.subnet_a} "
                                                      f"({REGION}a) of pool h100")]


def test_an_add_on_version_eks_does_not_offer_fails_with_the_ones_it_does(world: World) -> None:
    world.addon_versions["aws-fsx-csi-driver"] = ["v1.9.0-eksbuild.1", "v1.8.0-eksbuild.1"]
    [addon, _] = cache_results(world, FSX_CACHE)
    assert addon == Finding.failed(
        ADDON, "EKS offers no v1.7.0-eksbuild.1 of aws-fsx-csi-driver for Kubernetes 1.33; it offers "
               "v1.9.0-eksbuild.1, v1.8.0-eksbuild.1", "set modelCache.csiDriver.version to one it offers")


def test_the_lustre_file_system_in_the_pools_subnet_admitting_the_nodes_passes(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    group = group_admitting(world, (988, 988), (1018, 1023))
    fs = lustre_file_system(world, monkeypatch, subnet=world.subnet_a, group=group)
    [_, found, reachable] = cache_results(world, FSX_CACHE)
    assert found == Finding.passed("model cache file system", f"{fs} AVAILABLE in subnet {world.subnet_a} "
                                                                  f"({REGION}a), 2400 GiB")
    assert reachable == Finding.passed(
        "model cache reachable from the pools", f"the security groups of FSx for Lustre {fs} ({group}) admit the "
                                                f"cluster security group {world.security_group} on TCP 988 and "
                                                "1018-1023")


def test_a_lustre_file_system_the_nodes_cannot_reach_fails_naming_the_ports(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    group = group_admitting(world, (988, 988))
    fs = lustre_file_system(world, monkeypatch, subnet=world.subnet_a, group=group)
    reachable = cache_results(world, FSX_CACHE)[-1]
    assert not reachable.ok
    assert reachable.detail == (f"the security groups of FSx for Lustre {fs} ({group}) do not admit the cluster "
                                 f"security group {world.security_group} on TCP 1018-1023: pods cannot mount the "
                                 "cache")
    assert reachable.fix.startswith(f"allow TCP 1018-1023 from {world.security_group} in one of them")


def test_a_lustre_file_system_elsewhere_or_not_available_fails(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    group = group_admitting(world, (988, 988), (1018, 1023))
    fs = lustre_file_system(world, monkeypatch, subnet=world.subnet_b, group=group, lifecycle="MISCONFIGURED")
    found = cache_results(world, FSX_CACHE)[1]
    assert found == Finding.failed(
        "model cache file system",
        f"{fs} is MISCONFIGURED, not AVAILABLE; is in subnet {world.subnet_b}, but pool h100's subnet is "
        f"{world.subnet_a} (moving it replaces the file system and empties the cache)",
        f"see aws fsx describe-file-systems --file-system-ids {fs}; set modelCache.fsx.pool to the pool of its subnet "
        "to keep it")


def test_efs_before_the_first_up(world: World) -> None:
    assert cache_results(world, EFS_CACHE) == [
        Finding.passed("eks add-on aws-efs-csi-driver v3.3.0-eksbuild.1", "offered for Kubernetes 1.33"),
        Finding.passed("eks add-on eks-pod-identity-agent", "ACTIVE (v1.3.10-eksbuild.1); aws-efs-csi-driver's "
                                                                "controller gets its IAM role through it"),
        Finding.passed("model cache mount targets", f"one in each of {REGION}a, covering every pool's zone"),
        Finding.passed("model cache file system", f"none yet: `pulumi up` creates an encrypted EFS file system "
                                                      f"with mount targets in {world.subnet_a}")]


def test_efs_needs_the_pod_identity_agent_and_a_mount_target_in_every_pool_zone(world: World) -> None:
    del world.addons[POD_IDENTITY_AGENT]
    results = cache_results(world, EFS_CACHE | {"efs": {"subnetIds": [world.subnet_b]}})
    assert failures(results) == [
        f"eks add-on eks-pod-identity-agent: is not installed on cluster {CLUSTER}",
        f"model cache mount targets: no mount target subnet in {REGION}a, where pool nodes run"]
    assert results[1].fix.startswith(f"aws eks create-addon --cluster-name {CLUSTER} --addon-name "
                                     "eks-pod-identity-agent")


def test_an_efs_file_system_with_its_mount_targets_admitting_nfs_passes(world: World) -> None:
    efs = world.clients.efs
    fs = efs.create_file_system(CreationToken="prod-model-cache", Encrypted=True, Tags=[
        {"Key": CACHE_TAG, "Value": "model-cache"}, {"Key": STACK_TAG, "Value": "prod"}])["FileSystemId"]
    group = group_admitting(world, (2049, 2049))
    efs.create_mount_target(FileSystemId=fs, SubnetId=world.subnet_a, SecurityGroups=[group])
    results = cache_results(world, EFS_CACHE)
    assert failures(results) == []
    assert results[-2:] == [
        Finding.passed("model cache file system", f"{fs} available, mount targets in {world.subnet_a}"),
        Finding.passed("model cache reachable from the pools", f"the security groups of EFS {fs}'s mount targets "
                                                                   f"({group}) admit the cluster security group "
                                                                   f"{world.security_group} on TCP 2049")]


# -- load balancer endpoints ------------------------------------------------------------------------
def endpoint_values(world: World, *, hostname: str = "chat.llm.example.internal", cert: str,
                    subnets: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """prod on `world` with one mocker graph behind an internal load balancer, in world's two subnets."""
    out = values(world)
    out["nodePools"] = [{"name": "cpu", "kind": "existing", "nodeSelector": {"pool": "cpu"}, "nodes": 2,
                         "gpusPerNode": 0}]
    out["graphs"] = [{"name": "chat", "backend": "mocker", "model": "Qwen/Qwen3-0.6B", "prefill": {"pool": "cpu"},
                      "decode": {"pool": "cpu"},
                      "endpoint": {"kind": "internal", "hostname": hostname, "certificateArn": cert}}]
    out["loadBalancer"] = {"subnets": subnets if subnets is not None else [
        {"id": world.subnet_a, "cidr": "10.0.0.0/24"}, {"id": world.subnet_b, "cidr": "10.0.1.0/24"}]}
    return out


@pytest.fixture
def acm_world(world: World, session: boto3.Session, monkeypatch: pytest.MonkeyPatch) -> World:
    """`world` with ACM, whose requested certificates moto issues at once (its validation wait set to 0)."""
    from moto import settings as moto_settings

    monkeypatch.setattr(moto_settings, "ACM_VALIDATION_WAIT", 0)
    return replace(world, clients=replace(world.clients, acm=session.client("acm")))


def endpoint_results(world: World, **kwargs: Any) -> list[Finding]:
    results = aws_checks(parse(endpoint_values(world, **kwargs), "prod"), world.connect)
    return [r for r in results if r.check.startswith(("load balancer", "graph chat", "eks add-on"))]


def _certificate(world: World, domain: str) -> str:
    assert world.clients.acm is not None
    return world.clients.acm.request_certificate(DomainName=domain)["CertificateArn"]


def test_a_load_balancer_endpoint_passes_with_its_subnets_certificate_and_the_pod_identity_agent(
        acm_world: World) -> None:
    results = endpoint_results(acm_world, cert=_certificate(acm_world, "*.llm.example.internal"))
    assert [(r.check, r.ok) for r in results] == [
        ("load balancer subnets", True), ("graph chat: certificate", True), ("eks add-on eks-pod-identity-agent", True)]
    assert "us-east-1a, us-east-1b" in results[0].detail


def test_load_balancer_subnets_with_other_cidrs_or_one_zone_fail(acm_world: World) -> None:
    cert = _certificate(acm_world, "*.llm.example.internal")
    [subnets] = [r for r in endpoint_results(acm_world, cert=cert, subnets=[
        {"id": acm_world.subnet_a, "cidr": "10.0.0.0/24"}, {"id": acm_world.subnet_b, "cidr": "10.0.9.0/24"}])
        if r.check == "load balancer subnets"]
    assert not subnets.ok
    assert "has CIDR 10.0.1.0/24, not 10.0.9.0/24" in subnets.detail
    third = acm_world.clients.ec2.create_subnet(VpcId=acm_world.vpc, CidrBlock="10.0.2.0/24",
                                                AvailabilityZone=f"{REGION}a")["Subnet"]["SubnetId"]
    [one_zone] = [r for r in endpoint_results(acm_world, cert=cert, subnets=[
        {"id": acm_world.subnet_a, "cidr": "10.0.0.0/24"}, {"id": third, "cidr": "10.0.2.0/24"}])
        if r.check == "load balancer subnets"]
    assert not one_zone.ok
    assert "span 1 zone(s)" in one_zone.detail


def test_a_certificate_for_another_host_or_not_issued_fails(acm_world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    other = _certificate(acm_world, "api.example.com")
    [wrong] = [r for r in endpoint_results(acm_world, cert=other) if r.check == "graph chat: certificate"]
    assert not wrong.ok
    assert "not chat.llm.example.internal" in wrong.detail
    from moto import settings as moto_settings

    monkeypatch.setattr(moto_settings, "ACM_VALIDATION_WAIT", 3600)
    pending = _certificate(acm_world, "chat.llm.example.internal")
    [waiting] = [r for r in endpoint_results(acm_world, cert=pending) if r.check == "graph chat: certificate"]
    assert not waiting.ok
    assert "PENDING_VALIDATION, not ISSUED" in waiting.detail
    missing = pending.rsplit("/", 1)[0] + "/00000000-0000-4000-8000-000000000000"
    [gone] = [r for r in endpoint_results(acm_world, cert=missing) if r.check == "graph chat: certificate"]
    assert not gone.ok
    assert "does not exist" in gone.detail


def test_the_controller_needs_the_pod_identity_agent(acm_world: World) -> None:
    acm_world.addons.clear()
    results = endpoint_results(acm_world, cert=_certificate(acm_world, "*.llm.example.internal"))
    [agent] = [r for r in results if r.check.startswith("eks add-on")]
    assert not agent.ok
    assert "is not installed on cluster dynamo-prod" in agent.detail
    assert "the AWS Load Balancer Controller gets its IAM role" in agent.fix


# -- answers that cannot be read, bounds, interruption ------------------------------------------------
def test_an_answer_that_is_not_utf8_is_a_failed_check_naming_the_call(world: World) -> None:
    garbled(world.clients.ec2, "DescribeSubnets", b"<?xml version='1.0'?><r>\xff\xfe\xfa</r>")
    results = aws_checks(config(world), world.connect)
    found = next(r for r in results if r.check == f"pool h100 subnet {world.subnet_a}")
    assert not found.ok
    assert found.detail.startswith("not checked: ec2:DescribeSubnets failed with an unreadable answer")


def test_an_fsx_listing_without_its_list_is_not_read_as_no_file_system(world: World) -> None:
    garbled(world.clients.fsx, "DescribeFileSystems", b"{}")
    results = aws_checks(parse(values(world, cache=FSX_CACHE), "prod"), world.connect)
    [listing] = [r for r in results if r.check == "model cache file system"]
    assert not listing.ok
    assert "fsx:DescribeFileSystems failed with an unreadable answer" in listing.detail
    assert "FileSystems is not a list" in listing.detail or "no FileSystems" in listing.detail


def test_no_security_group_found_is_a_failure_and_no_call_lists_every_group(world: World) -> None:
    from stacks.ops.aws import Caller
    from stacks.preflight.aws_cache import check_admits

    calls: list[Any] = []
    world.clients.ec2.meta.events.register("before-call.ec2.DescribeSecurityGroups",
                                           lambda params, **_: calls.append(params))
    found = check_admits(world.clients.ec2, [], world.security_group, [(988, 988)], what="FSx for Lustre fs-1",
                         caller=Caller(region=REGION))
    assert not found.ok
    assert "no security group of FSx for Lustre fs-1 was found" in found.detail
    assert calls == []


def test_a_server_error_gets_advice_that_fits() -> None:
    from botocore.exceptions import ClientError

    from stacks.ops.aws import AwsCallError, Caller

    response: Any = {"Error": {"Code": "InternalError", "Message": "try again"},
                     "ResponseMetadata": {"HTTPStatusCode": 503}}
    error = ClientError(response, "DescribeSubnets")
    failure = AwsCallError("ec2:DescribeSubnets", error)
    assert failure.server_error
    assert "server error: run preflight again in a few minutes" in failure.fix(Caller(region=REGION))
    assert "AWS Health Dashboard for ec2 in us-east-1" in failure.fix(Caller(region=REGION))


def test_every_client_is_bounded_in_time_and_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    from stacks.ops.aws import ATTEMPTS, CONNECT_TIMEOUT, READ_TIMEOUT, connect

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    clients = connect(parse(stack_config("prod"), "prod").aws)
    for client in (clients.sts, clients.eks, clients.ec2, clients.quotas, clients.fsx, clients.efs, clients.acm):
        assert client is not None
        meta: Any = client.meta.config
        assert (meta.connect_timeout, meta.read_timeout) == (CONNECT_TIMEOUT, READ_TIMEOUT)
        assert meta.retries == {"mode": "standard", "total_max_attempts": ATTEMPTS}


def test_ctrl_c_ends_with_the_checks_done_so_far_and_exit_130(world: World, capsys: pytest.CaptureFixture[str],
                                                              tmp_path: Path) -> None:
    def interrupt(**_: Any) -> None:
        raise KeyboardInterrupt

    world.clients.ec2.meta.events.register("before-call.ec2.DescribeInstanceTypes", interrupt)
    stack = tmp_path / "Pulumi.prod.yaml"
    stack.write_text(yaml.safe_dump({"config": {f"dynamo-cluster:{k}": v for k, v in values(world).items()}}))
    code = preflight.run(ROOT, "prod", stack, aws=True, cluster=False, connect_aws=world.connect)
    out = capsys.readouterr().out
    assert code == 130
    assert report_line(out, "ok", "aws credentials")
    assert "Ctrl-C before every AWS check ran" in out
    assert "Traceback" not in out


def test_a_run_past_its_deadline_asks_nothing_more_and_says_why(world: World,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    from stacks.ops.aws import run_deadline

    with run_deadline(0.0, progress=True):
        results = aws_checks(config(world), world.connect)
    assert [r.ok for r in results] == [False]
    assert "the run's deadline" in results[0].detail
    assert "answered too slowly" in results[0].fix
    assert capsys.readouterr().err == ""  # nothing was asked
    with run_deadline(60.0, progress=True):
        aws_checks(config(world), world.connect)
    assert "aws: ec2:DescribeSubnets ..." in capsys.readouterr().err.splitlines()
