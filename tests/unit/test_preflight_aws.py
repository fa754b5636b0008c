"""The AWS preflight against moto: a good set-up passes; each broken one fails with its message.

moto has no capacity reservations and knows no EC2 quotas, so DescribeCapacityReservations and
GetServiceQuota are answered by `World` through botocore's before-call hook (the way botocore's own
Stubber answers): every other call goes to moto.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.awsrequest import AWSResponse
from botocore.exceptions import NoCredentialsError
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.eks.models import eks_backends

from stacks import preflight
from stacks.cluster_view import StorageClassInfo
from stacks.config import StackConfig
from stacks.kube_client import ClusterTarget
from stacks.preflight_aws import AwsClients, aws_checks
from stacks.report import CheckResult
from tests.cluster_stub import DEFAULT, StubCluster
from tests.harness import ROOT, parse, stack_config

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
    quotas: dict[str, float] = field(default_factory=dict)
    connected: int = 0

    def connect(self, _: object) -> AwsClients:
        self.connected += 1
        return self.clients

    def cluster(self) -> Any:
        return eks_backends[DEFAULT_ACCOUNT_ID][REGION].clusters[CLUSTER]


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
        state = World(AwsClients(sts=session.client("sts"), eks=eks, ec2=ec2,
                                 quotas=session.client("service-quotas")), vpc, subnets[0], subnets[1], group)
        state.cluster().resources_vpc_config.update({"vpcId": vpc, "clusterSecurityGroupId": group})
        state.reservations[RESERVATION] = {
            "CapacityReservationId": RESERVATION, "State": "active", "InstanceType": "p5.48xlarge",
            "AvailabilityZone": f"{REGION}a", "TotalInstanceCount": 2, "AvailableInstanceCount": 2}
        state.quotas["L-417A185B"] = 384.0

        def reservations(params: dict[str, Any]) -> dict[str, Any]:
            found = [state.reservations[i] for i in params["CapacityReservationIds"] if i in state.reservations]
            if not found:
                return {"Error": {"Code": "InvalidCapacityReservationId.NotFound", "Message": "not found"}}
            return {"CapacityReservations": found}

        def quota(params: dict[str, Any]) -> dict[str, Any]:
            if params["QuotaCode"] not in state.quotas:
                return {"Error": {"Code": "NoSuchResourceException", "Message": "no such quota"}}
            return {"Quota": {"QuotaCode": params["QuotaCode"], "Value": state.quotas[params["QuotaCode"]]}}

        answer(ec2, "DescribeCapacityReservations", reservations)
        answer(state.clients.quotas, "GetServiceQuota", quota)
        yield state


def values(world: World, pool: dict[str, Any] | None = None, **aws: Any) -> dict[str, Any]:
    h100 = {"name": "h100", "kind": "eks", "instanceType": "p5.48xlarge", "efa": True,
            "availabilityZone": f"{REGION}a", "subnetIds": [world.subnet_a], "maxNodes": 2,
            "capacityReservationId": RESERVATION} | (pool or {})
    return stack_config("prod") | {
        "aws": {"region": REGION, "clusterName": CLUSTER, "vpcId": world.vpc,
                "clusterSecurityGroupId": world.security_group, "accountId": DEFAULT_ACCOUNT_ID} | aws,
        "nodePools": [h100], "graphs": []}


def config(world: World, pool: dict[str, Any] | None = None, **aws: Any) -> StackConfig:
    return parse(values(world, pool, **aws), "prod")


def failures(results: list[CheckResult]) -> list[str]:
    return [f"{r.name}: {r.message}" for r in results if not r.ok]


def check(world: World, pool: dict[str, Any] | None = None, **aws: Any) -> list[str]:
    return failures(aws_checks(config(world, pool, **aws), world.connect))


# -- a good set-up --------------------------------------------------------------------------------
def test_a_good_set_up_passes_every_check(world: World) -> None:
    results = aws_checks(config(world), world.connect)
    assert failures(results) == []
    assert [r.name for r in results] == [
        "aws credentials", f"eks cluster {CLUSTER}", f"pool h100 subnet {world.subnet_a}", "pool h100 EFA",
        f"pool h100 capacity reservation {RESERVATION}", "vCPU quota Running On-Demand P instances"]
    assert results[-1].message == "384 vCPUs cover 384 at maximum size (h100 384)"


def test_the_command_reports_and_exits(world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stack_file = tmp_path / "Pulumi.prod.yaml"
    stack_file.write_text(yaml.safe_dump({"config": {f"dynamo-cluster:{k}": v for k, v in values(world).items()}}))
    assert preflight.run(ROOT, "prod", stack_file, aws=True, cluster=False, connect_aws=world.connect) == 0
    assert capsys.readouterr().out.endswith("6 checks, 0 failed\n")
    world.quotas["L-417A185B"] = 192.0
    assert preflight.run(ROOT, "prod", stack_file, aws=True, cluster=False, connect_aws=world.connect) == 1
    out = capsys.readouterr().out
    assert "FAIL  vCPU quota Running On-Demand P instances" in out
    assert "      fix: request an increase: aws service-quotas request-service-quota-increase" in out
    assert preflight.run(ROOT, "prod", stack_file, aws=False, cluster=False) == 2


def test_cluster_and_aws_checks_make_one_report(world: World, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    stack_file = tmp_path / "Pulumi.prod.yaml"
    stack_file.write_text(yaml.safe_dump({"config": {f"dynamo-cluster:{k}": v for k, v in values(world).items()}}))
    cluster = StubCluster(classes=[StorageClassInfo("gp3", "ebs.csi.aws.com", DEFAULT),
                                   StorageClassInfo("efs-sc", "efs.csi.aws.com")])
    targets: list[ClusterTarget] = []

    def connect_cluster(target: ClusterTarget) -> StubCluster:
        targets.append(target)
        return cluster

    assert preflight.run(ROOT, "prod", stack_file, aws=True, connect_aws=world.connect,
                         connect_cluster=connect_cluster) == 0
    lines = capsys.readouterr().out.splitlines()
    assert targets == [ClusterTarget(context="arn:aws:eks:us-east-1:111122223333:cluster/dynamo-prod",
                                     kubeconfig_path="~/.kube/config")]
    assert lines[1] == ("PASS  kubernetes api: context arn:aws:eks:us-east-1:111122223333:cluster/dynamo-prod of "
                        "kubeconfig ~/.kube/config answers")
    assert [line.split(":")[0] for line in lines[12:15]] == ["PASS  secrets", "PASS  aws credentials",
                                                             "PASS  eks cluster dynamo-prod"]
    assert lines[-1] == "18 checks, 0 failed"


def test_a_stack_without_eks_pools_asks_aws_nothing(world: World) -> None:
    results = aws_checks(parse(stack_config("dev")), world.connect)
    assert results == [CheckResult.passed("aws", "the stack has no eks node pools; nothing to check")]
    assert world.connected == 0


# -- credentials ----------------------------------------------------------------------------------
def test_credentials_of_another_account(world: World) -> None:
    assert check(world, accountId="111122223333") == [
        f"aws credentials: belong to account {DEFAULT_ACCOUNT_ID}, but dynamo-cluster:aws.accountId is 111122223333"]


def test_no_credentials(world: World) -> None:
    def refuse(**_: Any) -> None:
        raise NoCredentialsError()
    world.clients.sts.meta.events.register("before-call.sts.GetCallerIdentity", refuse)
    assert check(world) == ["aws credentials: cannot be used: Unable to locate credentials"]


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
    return replace(cfg, node_pools=(replace(pool, eks=replace(pool.eks, **changes)),))


def test_efa_on_a_type_without_efa(world: World) -> None:
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


def test_reservation_too_small(world: World) -> None:
    assert check(world, {"maxNodes": 3}) == [
        f"pool h100 capacity reservation {RESERVATION}: holds 2 instances, but the pool grows to 3 nodes",
        "vCPU quota Running On-Demand P instances: is 384 vCPUs, but the pools need 576 at maximum size (h100 576)"]


# -- quotas ---------------------------------------------------------------------------------------
def test_quota_too_low(world: World) -> None:
    world.quotas["L-417A185B"] = 192.0
    assert check(world) == [
        "vCPU quota Running On-Demand P instances: is 192 vCPUs, but the pools need 384 at maximum size (h100 384)"]


def test_quota_api_not_answering_is_reported_not_failed(world: World) -> None:
    world.quotas.clear()
    results = aws_checks(config(world), world.connect)
    assert failures(results) == []
    assert results[-1].message == "the quota API did not answer for L-417A185B (NoSuchResourceException); not checked"


def test_spot_pools_draw_on_the_spot_quota(world: World) -> None:
    world.quotas["L-3819A6DF"] = 8.0
    pool = {"instanceType": "g6e.12xlarge", "efa": False, "capacityType": "SPOT", "capacityReservationId": None}
    assert check(world, pool) == [
        "vCPU quota All G and VT Spot Instance Requests: is 8 vCPUs, but the pools need 96 at maximum size (h100 96)"]
