"""The dynamo-platform values and the operator/graph components under mocks."""

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest

from components.dynamo.component import DynamoGraph
from components.dynamo.dgd import GraphWiring
from components.dynamo.releases import DEFAULT_RELEASE, RELEASES
from components.dynamo.transport import TransportPlan
from components.kit.resources import Resources
from components.nodes.component import GpuNodePool
from components.operator.component import DynamoOperator
from components.operator.values import OperatorSettings, OperatorWiring, operator_values, values_keys
from stacks.plan.artifacts import RELEASE_TYPE
from tests.fakes import Marker, fake_monitoring
from tests.graph_fixtures import POOLS, existing_pool, graph
from tests.harness import named, run_resources

SETTINGS = OperatorSettings(release=DEFAULT_RELEASE, chart=DEFAULT_RELEASE.chart, release_name="dynamo-platform",
                            image_tag=None, gang_scheduling="auto", resources=Resources("500m", "1Gi", "1"),
                            timeout_seconds=900)
BOTH = TransportPlan(discovery="etcd", event_plane="nats")
WIRING = OperatorWiring(transport=BOTH, nats_url="nats://nats.dynamo-system.svc.cluster.local:4222",
                        etcd_url="http://etcd.dynamo-system.svc.cluster.local:2379",
                        prometheus_url="http://prometheus.monitoring.svc.cluster.local:9090", pull_secret="nvcr-pull")
GPU_POOLS = [POOLS["h100-efa"], POOLS["l40s"]]


def values(**kw: Any) -> dict[str, Any]:
    wiring = kw.pop("wiring", WIRING)
    args: dict[str, Any] = {"gpu_pools": GPU_POOLS, "any_multinode": True, "pod_monitors": True} | kw
    return operator_values(SETTINGS, wiring, **args)


def test_wires_our_nats_etcd_and_prometheus_and_turns_bundled_ones_off() -> None:
    v = values()
    op = v["dynamo-operator"]
    assert op["natsAddr"] == "nats://nats.dynamo-system.svc.cluster.local:4222"
    assert op["etcdAddr"] == "http://etcd.dynamo-system.svc.cluster.local:2379"
    assert op["discoveryBackend"] == "etcd"
    assert op["dynamo"]["metrics"]["prometheusEndpoint"] == "http://prometheus.monitoring.svc.cluster.local:9090"
    assert op["upgradeCRD"] is True
    assert "nats" not in v  # `nats.enabled`: the 1.2+ chart refuses the key
    assert v["global"]["nats"] == {"install": False}
    assert v["global"]["etcd"] == {"install": False}
    assert op["imagePullSecrets"] == [{"name": "nvcr-pull"}]


def test_kubernetes_discovery_has_no_etcd_at_all() -> None:
    wiring = OperatorWiring(transport=TransportPlan(event_plane="nats"), nats_url=WIRING.nats_url, etcd_url=None,
                            prometheus_url=None, pull_secret=None)
    op = values(wiring=wiring)["dynamo-operator"]
    assert op["discoveryBackend"] == "kubernetes"
    assert "etcdAddr" not in op


def test_upstream_defaults_wire_neither_nats_nor_etcd() -> None:
    wiring = OperatorWiring(transport=TransportPlan(), nats_url=None, etcd_url=None, prometheus_url=None,
                            pull_secret=None)
    op = values(wiring=wiring)["dynamo-operator"]
    assert (op["discoveryBackend"], "natsAddr" in op, "etcdAddr" in op) == ("kubernetes", False, False)


def test_wiring_follows_the_plan_or_refuses() -> None:
    with pytest.raises(ValueError, match=r"NATS is in the transport plan .*: wire its URL exactly then"):
        OperatorWiring(transport=BOTH, nats_url=None, etcd_url="http://e:2379", prometheus_url=None, pull_secret=None)
    with pytest.raises(ValueError, match=r"etcd is not in the transport plan"):
        OperatorWiring(transport=TransportPlan(), nats_url=None, etcd_url="http://e:2379", prometheus_url=None,
                       pull_secret=None)


@pytest.mark.parametrize("version", sorted(RELEASES))
def test_every_values_key_is_one_the_release_chart_takes(version: str) -> None:
    """What we send is within the keys of that release's chart (its values.yaml, read into the table)."""
    from dataclasses import replace

    release = RELEASES[version]
    settings = replace(SETTINGS, release=release, chart=release.chart, image_tag="custom")
    sent = values_keys(operator_values(settings, WIRING, gpu_pools=GPU_POOLS, any_multinode=True, pod_monitors=True))
    assert sent - release.values_keys == set()
    assert {"global.nats.install", "dynamo-operator.natsAddr", "dynamo-operator.etcdAddr"} <= sent


def test_gang_scheduling_follows_multinode_graphs() -> None:
    assert values()["global"]["grove"] == {"install": True, "enabled": True}
    assert values()["global"]["kai-scheduler"] == {"install": True, "enabled": True}
    assert values(any_multinode=False)["global"]["grove"] == {"install": False, "enabled": False}


def _chart_refuses_stale_podgroup_eviction(v: dict[str, Any]) -> bool:
    """The dynamo-platform chart's sixth install-time check, as shared/reference/dynamo-1.7/repo-index-1.6-era/
    chart-checks/validate-values-conditions.md restates templates/validate-values.yaml (and dynamo-1.4/SOURCE.txt
    its 1.5-era form): Grove on (`global.grove.enabled` or `.install`) with the bundled KAI installed fails unless
    `kai-scheduler.scheduler.args.default-staleness-grace-period`, through Helm's `toString`, is exactly "-1"."""
    glob = v.get("global", {})
    grove_on = bool(glob.get("grove", {}).get("enabled") or glob.get("grove", {}).get("install"))
    if not (grove_on and glob.get("kai-scheduler", {}).get("install")):
        return False
    value = v.get("kai-scheduler", {}).get("scheduler", {}).get("args", {}).get("default-staleness-grace-period")
    rendered = "<nil>" if value is None else str(value)  # toString of a missing key, a string or an integer
    return rendered != "-1"


@pytest.mark.parametrize("version", sorted(RELEASES))
def test_multinode_values_pass_the_charts_staleness_check(version: str) -> None:
    from dataclasses import replace

    release = RELEASES[version]
    settings = replace(SETTINGS, release=release, chart=release.chart)
    multinode = operator_values(settings, WIRING, gpu_pools=GPU_POOLS, any_multinode=True, pod_monitors=True)
    single = operator_values(settings, WIRING, gpu_pools=GPU_POOLS, any_multinode=False, pod_monitors=True)
    assert not _chart_refuses_stale_podgroup_eviction(single)
    if release.kai_staleness_check:
        assert not _chart_refuses_stale_podgroup_eviction(multinode)
        assert multinode["kai-scheduler"]["scheduler"] == {"args": {"default-staleness-grace-period": "-1"}}
    else:  # the 1.4 chart has no such check, and its KAI (v0.13.4) is left as it ships
        assert "scheduler" not in multinode["kai-scheduler"]


def test_the_staleness_check_refuses_what_upstreams_install_doc_writes() -> None:
    """The check is reproduced, not assumed: the doc's `-1s` and a missing value fail it."""
    base = {"global": {"grove": {"install": True}, "kai-scheduler": {"install": True}}}
    assert _chart_refuses_stale_podgroup_eviction(base)
    assert _chart_refuses_stale_podgroup_eviction(
        base | {"kai-scheduler": {"scheduler": {"args": {"default-staleness-grace-period": "-1s"}}}})
    assert not _chart_refuses_stale_podgroup_eviction(
        base | {"kai-scheduler": {"scheduler": {"args": {"default-staleness-grace-period": -1}}}})


def test_operator_stays_off_gpu_nodes() -> None:
    affinity = values()["dynamo-operator"]["controllerManager"]["affinity"]
    terms = affinity["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [
        {"key": "nvidia.com/gpu.present", "operator": "DoesNotExist"},
        {"key": "dynamo-cluster/pool", "operator": "NotIn", "values": ["h100-efa"]},
        {"key": "dynamo-cluster/pool", "operator": "NotIn", "values": ["l40s"]},
    ]}]


def program() -> None:
    provider = k8s.Provider("kubernetes", kubeconfig="/dev/null", context="c")
    opts = pulumi.ResourceOptions(providers={"kubernetes": provider})
    monitoring = fake_monitoring()
    operator = DynamoOperator("dynamo-operator", SETTINGS, namespace="dynamo-system", wiring=WIRING,
                              gpu_pools=GPU_POOLS, any_multinode=True, monitoring=monitoring, opts=opts)
    wiring = GraphWiring(namespace="dynamo")
    pools = [GpuNodePool(name, existing_pool(shape), opts) for name, shape in POOLS.items()]
    for backend in ("vllm", "trtllm"):
        DynamoGraph(backend, graph(backend), pools=pools, wiring=wiring, crds_ready=operator.crds_ready, opts=opts)
    Marker("unrelated")


def test_graphs_depend_on_the_operator_which_depends_on_monitoring_crds() -> None:
    registry = run_resources(program)
    release = registry.of_type(RELEASE_TYPE)[0]
    crds = named(registry, "monitoring-crds")
    assert crds.urn in release.dependencies
    dgds = registry.of_type("kubernetes:nvidia.com/v1beta1:DynamoGraphDeployment")
    assert len(dgds) == 2
    for dgd in dgds:
        assert release.urn in dgd.dependencies
        assert dgd.options["customTimeouts"] == {"create": "60m", "update": "60m"}
    trt = named(registry, "trtllm-dgd")
    configmap = named(registry, "trtllm-engine-config")
    assert configmap.urn in trt.dependencies
    [prefill] = [c for c in trt.inputs["spec"]["components"] if c["name"] == "prefill"]
    volumes = prefill["podTemplate"]["spec"]["volumes"]
    assert volumes == [{"name": "engine-config", "configMap": {"name": "trtllm-disagg-engine-config"}}]
    assert release.inputs["values"]["dynamo-operator"]["dynamo"]["metrics"]["podMonitors"] == {
        "enabled": True, "nixlTelemetry": False}
