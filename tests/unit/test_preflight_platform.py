"""The "platform nodes" check: enough Ready, schedulable, untainted nodes for NATS and etcd."""

from typing import Any

from stacks.config.stack import StackConfig
from stacks.ops.cluster_view import NodeTaint
from stacks.ops.report import Finding
from stacks.preflight.platform import PlatformService, check_platform_nodes, platform_services
from tests.cluster_stub import GPU_TAINT, StubCluster, dev, gpu_node, named, one, prod, run, system_node
from tests.harness import parse, servers_config, stack_config

H100 = {"dynamo-cluster/pool": "h100-efa"}
GPU_NODES = [gpu_node(f"gpu-{i}", pool=H100, efa=32, taints=(GPU_TAINT,)) for i in range(2)]
CONTROL_PLANE = NodeTaint("node-role.kubernetes.io/control-plane", "NoSchedule")
UNTAINTED = "Ready, schedulable, without a NoSchedule or NoExecute taint"
ADD = "add a system node group of at least {n} without NoSchedule or NoExecute taints{labelled} (NATS and etcd " \
      "tolerate none)"


def prod_with(**sections: dict[str, Any]) -> StackConfig:
    """prod (NATS and etcd deployed) with keys of its nats / etcd sections changed."""
    values = servers_config("prod")
    return parse(values | {key: values[key] | changes for key, changes in sections.items()}, "prod")


def platform(config: StackConfig, nodes: list[Any]) -> list[Finding]:
    return named(run(config, StubCluster(node_list=nodes)), "platform nodes")


def test_the_services_and_what_they_ask_come_from_config() -> None:
    assert platform_services(prod()) == [PlatformService("NATS", "server", "nats", 3, True),
                                         PlatformService("etcd", "member", "etcd", 3, True)]
    assert [(s.replicas, s.separate_nodes, s.nodes_needed) for s in platform_services(dev())] == [(1, False, 1)] * 2
    no_etcd = parse(servers_config("prod") | {"dynamo": {"eventPlane": "nats"}}, "prod")
    assert [s.title for s in platform_services(no_etcd)] == ["NATS"]


# -- prod: one node per server and member ---------------------------------------------------------
def test_prod_with_three_system_nodes_passes() -> None:
    nodes = [*GPU_NODES, *(system_node(f"sys-{i}") for i in range(3))]
    assert platform(prod(), nodes) == [Finding.passed(
        "platform nodes", f"3 nodes can run NATS and etcd ({UNTAINTED}); they need 3: NATS 3 servers and etcd 3 "
                          "members, one per node")]


def test_prod_with_gpu_nodes_only_fails_before_the_first_up() -> None:
    """The EKS cluster has only the GPU node groups (tainted): NATS and etcd would stay Pending."""
    [result] = platform(prod(), GPU_NODES)
    assert result == Finding.failed(
        "platform nodes",
        f"0 nodes can run NATS and etcd ({UNTAINTED}), but they need 3: NATS 3 servers and etcd 3 members, one per "
        "node; left out: gpu-0 (taint nvidia.com/gpu=true:NoSchedule), gpu-1 (taint nvidia.com/gpu=true:NoSchedule)",
        ADD.format(n="3 nodes", labelled=""))


def test_prod_with_an_empty_cluster_fails() -> None:
    assert platform(prod(), []) == [Finding.failed(
        "platform nodes", f"0 nodes can run NATS and etcd ({UNTAINTED}), but they need 3: NATS 3 servers and etcd 3 "
                          "members, one per node", ADD.format(n="3 nodes", labelled=""))]


def test_not_ready_cordoned_and_tainted_nodes_do_not_count() -> None:
    nodes = [system_node("sys-0"), system_node("sys-1"), system_node("down", ready=False),
             system_node("drained", cordoned=True), system_node("cp", taints=(CONTROL_PLANE,)),
             system_node("evict", taints=(NodeTaint("maintenance", "NoExecute", "now"),)), *GPU_NODES]
    [result] = platform(prod(), nodes)
    assert result == Finding.failed(
        "platform nodes",
        f"2 nodes can run NATS and etcd ({UNTAINTED}), but they need 3: NATS 3 servers and etcd 3 members, one per "
        "node; left out: down (not Ready), drained (cordoned), cp (taint node-role.kubernetes.io/control-plane:"
        "NoSchedule), evict (taint maintenance=now:NoExecute), gpu-0 (taint nvidia.com/gpu=true:NoSchedule) and 1 more",
        ADD.format(n="1 node", labelled="") + ", or lower nats.replicas and etcd.replicas to 1 (fewer replicas "
                                              "survive fewer node failures; only a dev stack lets them share nodes)")


def test_a_prefer_no_schedule_taint_does_not_keep_them_off() -> None:
    soft = (NodeTaint("spot", "PreferNoSchedule"),)
    nodes = [system_node(f"sys-{i}", taints=soft) for i in range(3)]
    assert platform(prod(), nodes)[0].ok


def test_the_largest_requirement_counts() -> None:
    config = prod_with(etcd={"replicas": 5})
    nodes = [system_node(f"sys-{i}") for i in range(4)]
    [result] = platform(config, nodes)
    assert result.detail == (f"4 nodes can run NATS and etcd ({UNTAINTED}), but they need 5: NATS 3 servers and "
                              "etcd 5 members, one per node")
    assert result.fix == ADD.format(n="1 node", labelled="") + ", or lower etcd.replicas to 3 (fewer replicas " \
                                                               "survive fewer node failures; only a dev stack lets " \
                                                               "them share nodes)"


def test_without_etcd_nats_alone_counts() -> None:
    config = parse(servers_config("prod") | {"dynamo": {"eventPlane": "nats"}}, "prod")
    nodes = [system_node(f"sys-{i}") for i in range(3)]
    assert platform(config, nodes)[0].detail == (f"3 nodes can run NATS ({UNTAINTED}); they need 3: NATS 3 servers, "
                                                  "one per node")


# -- node selectors -------------------------------------------------------------------------------
def test_only_nodes_matching_the_node_selector_count() -> None:
    role = {"role": "platform"}
    config = prod_with(nats={"nodeSelector": role}, etcd={"nodeSelector": role})
    nodes = [system_node("sys-0", role), system_node("sys-1", role), system_node("other-0"), system_node("other-1")]
    [result] = platform(config, nodes)
    assert result == Finding.failed(
        "platform nodes", f"2 nodes can run NATS and etcd ({UNTAINTED}, labelled role=platform), but they need 3: NATS "
                          "3 servers and etcd 3 members, one per node",
        ADD.format(n="1 node", labelled=", labelled role=platform") + ", or lower nats.replicas and etcd.replicas to "
        "1 (fewer replicas survive fewer node failures; only a dev stack lets them share nodes), or change "
        "nats.nodeSelector and etcd.nodeSelector to labels more such nodes carry")


def test_different_selectors_are_counted_apart() -> None:
    config = prod_with(nats={"nodeSelector": {"role": "nats"}})
    nodes = [system_node("nats-0", {"role": "nats"}), system_node("nats-1", {"role": "nats"}), system_node("sys-0"),
             system_node("sys-1")]
    assert [(r.ok, r.detail) for r in platform(config, nodes)] == [
        (False, f"2 nodes can run NATS ({UNTAINTED}, labelled role=nats), but they need 3: NATS 3 servers, one per "
                "node"),
        (True, f"4 nodes can run etcd ({UNTAINTED}); they need 3: etcd 3 members, one per node")]


# -- dev: they share a node -----------------------------------------------------------------------
def test_dev_needs_one_node() -> None:
    assert platform(dev(), [system_node("kind-control-plane")]) == [Finding.passed(
        "platform nodes", f"1 node can run NATS and etcd ({UNTAINTED}); they need 1: NATS 1 server and etcd 1 member, "
                          "sharing nodes (dev)")]


def test_dev_on_a_tainted_control_plane_only_fails() -> None:
    [result] = platform(dev(), [system_node("kind-control-plane", taints=(CONTROL_PLANE,))])
    assert result == Finding.failed(
        "platform nodes", f"0 nodes can run NATS and etcd ({UNTAINTED}), but they need 1: NATS 1 server and etcd 1 "
                          "member, sharing nodes (dev); left out: kind-control-plane (taint "
                          "node-role.kubernetes.io/control-plane:NoSchedule)",
        ADD.format(n="1 node", labelled=""))


# -- in the whole run -----------------------------------------------------------------------------
def test_the_nodes_are_read_once_for_both_node_checks() -> None:
    stub = StubCluster(node_list=[system_node("kind-control-plane")])
    results = run(dev(), stub)
    assert one(results, "platform nodes").ok
    assert stub.calls.count("nodes") == 1


def test_nodes_it_may_not_read_fail_the_check() -> None:
    result = one(run(dev(), StubCluster(refuse={"nodes"})), "platform nodes")
    assert (result.ok, result.detail) == (False, "not checked: cannot nodes: 403 Forbidden")


def test_the_check_is_a_function_of_services_and_nodes() -> None:
    one_node = PlatformService("NATS", "server", "nats", 1, separate_nodes=False)
    assert check_platform_nodes([one_node], [system_node("n")])[0].ok
    assert not check_platform_nodes([one_node], [])[0].ok


def test_a_stack_without_nats_or_etcd_needs_no_platform_nodes() -> None:
    """Upstream's transport defaults (Kubernetes discovery, ZMQ, TCP): nothing to place."""
    config = parse(stack_config("seed-multinode"), "seed-multinode")
    assert platform_services(config) == []
    assert platform(config, []) == [Finding.passed(
        "platform nodes", "the stack runs neither NATS nor etcd: its transport plan needs neither")]
