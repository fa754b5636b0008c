"""preflight fails, with the fix, on a cluster that accepts NetworkPolicies but enforces none."""

from __future__ import annotations

import pytest

from stacks.ops.cluster_view import ContainerInfo, WorkloadInfo
from stacks.ops.report import Finding
from stacks.preflight.network_policy import check_enforcement
from tests.cluster_stub import StubCluster, dev, one, run

POLICIES = ["nats", "monitoring"]


def aws_node(enable: str | None) -> WorkloadInfo:
    args = ("--enable-ipv6=false", *((f"--enable-network-policy={enable}",) if enable is not None else ()))
    return WorkloadInfo("aws-node", "kube-system", containers=(
        ContainerInfo("aws-node", "602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.19.0"),
        ContainerInfo("aws-eks-nodeagent", "602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon/"
                                           "aws-network-policy-agent:v1.2.0", args)))


def kindnet(image: str, args: tuple[str, ...] = ()) -> WorkloadInfo:
    return WorkloadInfo("kindnet", "kube-system", containers=(ContainerInfo("kindnet-cni", image, args),))


def check(daemons: list[WorkloadInfo], maps: dict[tuple[str, str], dict[str, str]] | None = None) -> Finding:
    found = maps or {}
    return check_enforcement(daemons, lambda ns, name: found.get((ns, name)), policies=POLICIES)


@pytest.mark.parametrize(("daemons", "maps", "engine"), [
    ([aws_node("true")], None, "the VPC CNI's network policy agent"),
    ([], {("kube-system", "amazon-vpc-cni"): {"enable-network-policy-controller": "true"}},
     "the VPC CNI's network policy controller"),
    ([WorkloadInfo("calico-node", "calico-system")], None, "Calico (calico-system/calico-node)"),
    ([WorkloadInfo("antrea-agent", "kube-system")], None, "Antrea"),
    ([WorkloadInfo("cilium", "kube-system")], None, "Cilium (kube-system/cilium, enable-policy: default)"),
    ([WorkloadInfo("kube-router", "kube-system", containers=(
        ContainerInfo("kube-router", "k", ("/usr/local/bin/kube-router", "--run-firewall=true")),))], None,
     "kube-router"),
    # kind v0.24.0's kindnetd, and the newest kind's (v0.32.0)
    ([kindnet("docker.io/kindest/kindnetd:v20240813-c6f155d6")], None, "NetworkPolicies built in since kind v0.24.0"),
    ([kindnet("docker.io/kindest/kindnetd:v20260528-9350166c")], None, "kindnet (kube-system/kindnet"),
    ([kindnet("ghcr.io/aojea/kindnetd:v1.8.5", ("--network-policy=true",))], None, "--network-policy=true"),
    ([kindnet("ghcr.io/aojea/kindnetd:v1.5.0")], None, "default on"),
])
def test_an_enforcing_engine_passes(daemons: list[WorkloadInfo], maps: dict[tuple[str, str], dict[str, str]] | None,
                                    engine: str) -> None:
    result = check(daemons, maps)
    assert result.ok, result
    assert engine in result.detail
    assert "nats, monitoring" in result.detail


@pytest.mark.parametrize(("daemons", "maps", "said"), [
    ([aws_node("false")], None, "--enable-network-policy=false"),
    ([aws_node(None)], None, "--enable-network-policy=(unset)"),
    ([kindnet("docker.io/kindest/kindnetd:v20240513-cd2ac642")], None, "from before kind v0.24.0"),
    ([kindnet("ghcr.io/aojea/kindnetd:v1.4.0")], None, "--network-policy=(unset: off before v1.5)"),
    ([], None, "no engine that enforces NetworkPolicies runs"),
    ([WorkloadInfo("cilium", "kube-system")], {("kube-system", "cilium-config"): {"enable-policy": "never"}},
     "Cilium runs with enable-policy: never"),
    ([WorkloadInfo("kube-router", "kube-system", containers=(
        ContainerInfo("kube-router", "k", ("--run-router=true", "--run-firewall=false")),))], None,
     "--run-firewall=false"),
])
def test_no_enforcement_fails_with_the_fix(daemons: list[WorkloadInfo],
                                           maps: dict[tuple[str, str], dict[str, str]] | None, said: str) -> None:
    result = check(daemons, maps)
    assert not result.ok
    assert said in result.detail
    assert "would be accepted and not enforced" in result.detail
    assert "enableNetworkPolicy" in result.fix
    assert "Calico, Cilium or Antrea" in result.fix


@pytest.mark.parametrize(("daemons", "said"), [
    ([kindnet("registry.example/kindnetd:custom")], "runs registry.example/kindnetd:custom, whose version"),
    ([WorkloadInfo("kube-flannel-ds", "kube-flannel")], "kube-flannel/kube-flannel-ds looks like pod networking"),
])
def test_an_engine_it_cannot_classify_is_unknown_not_none(daemons: list[WorkloadInfo], said: str) -> None:
    result = check(daemons)
    assert not result.ok
    assert result.detail.startswith("unknown whether NetworkPolicies are enforced: ")
    assert said in result.detail
    assert "no engine" not in result.detail


def test_a_stack_without_network_policies_needs_none() -> None:
    assert check_enforcement([], lambda _ns, _name: None, policies=[]).ok


def test_the_cluster_preflight_runs_it() -> None:
    stub = StubCluster(config_maps={})
    result = one(run(dev(), stub), "network policy enforcement")
    assert not result.ok
    assert "nats, etcd, monitoring" in result.detail
    refused = StubCluster(refuse={"config_map"})
    assert one(run(dev(), refused), "network policy enforcement").detail.startswith("not checked: cannot config_map")
