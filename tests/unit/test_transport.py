"""The transport plan: each plan deploys exactly the servers it needs and wires exactly what it
implies (operator values, graph env, discovery annotation, KV-event flags)."""

from typing import Any

import pytest

from stacks.plan.artifacts import RELEASE_TYPE
from stacks.plan.mockrun import Registry
from tests.harness import plan_config, stack_config

NATS = "dynamo-cluster:components:NatsJetStream"
ETCD = "dynamo-cluster:components:EtcdCluster"
DGD = "kubernetes:nvidia.com/v1beta1:DynamoGraphDeployment"


def plan(**transport: str) -> Registry:
    """dev (a disagg mocker graph, KV router) with a vLLM agg graph on a GPU pool, and `transport`."""
    values = stack_config("dev")
    values["dynamo"] = transport
    values["nodePools"] = [*values["nodePools"], {"name": "l40s", "kind": "existing", "nodeSelector": {"gpu": "l40s"},
                                                  "nodes": 2, "gpusPerNode": 4, "gpuModel": "L40S",
                                                  "gpuMemoryGiB": 44}]
    values["graphs"] = [*values["graphs"], {"name": "llm", "backend": "vllm", "mode": "agg", "model": "m",
                                            "frontend": {"routerMode": "kv"},
                                            "worker": {"pool": "l40s", "replicas": 2, "gpusPerNode": 4}}]
    values.pop("nats", None)
    return plan_config(values, "dev")


def operator(registry: Registry) -> dict[str, Any]:
    [release] = [r for r in registry.of_type(RELEASE_TYPE) if r.inputs["chart"] == "dynamo-platform"]
    return release.inputs["values"]["dynamo-operator"]  # type: ignore[no-any-return]


def graph(registry: Registry, name: str) -> dict[str, Any]:
    [found] = [r.inputs for r in registry.of_type(DGD) if r.inputs["metadata"]["name"] == name]
    return dict(found)


def env(manifest: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in manifest["spec"]["env"]}


def args(manifest: dict[str, Any], component: str) -> list[str]:
    [c] = [c for c in manifest["spec"]["components"] if c["name"] == component]
    return c["podTemplate"]["spec"]["containers"][0]["args"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(("transport", "servers", "wired", "planes"), [
    # upstream's defaults: no server at all
    ({}, set(), {"discoveryBackend": "kubernetes"}, ("zmq", "tcp")),
    ({"discovery": "etcd"}, {ETCD}, {"discoveryBackend": "etcd", "etcdAddr": "https://etcd.dynamo-system.svc.cluster."
                                                                               "local:2379"}, ("zmq", "tcp")),
    ({"eventPlane": "nats"}, {NATS}, {"discoveryBackend": "kubernetes",
                                      "natsAddr": "nats://nats.dynamo-system.svc.cluster.local:4222"}, ("nats", "tcp")),
    ({"requestPlane": "nats"}, {NATS}, {"discoveryBackend": "kubernetes",
                                        "natsAddr": "nats://nats.dynamo-system.svc.cluster.local:4222"},
     ("zmq", "nats")),
    ({"eventPlane": "none"}, set(), {"discoveryBackend": "kubernetes"}, ("zmq", "tcp")),
])
def test_each_plan_deploys_and_wires_exactly_what_it_needs(transport: dict[str, str], servers: set[str],
                                                           wired: dict[str, str], planes: tuple[str, str]) -> None:
    registry = plan(**transport)
    assert {t for t in (NATS, ETCD) if registry.of_type(t)} == servers
    op = operator(registry)
    assert {k: op[k] for k in ("discoveryBackend", "natsAddr", "etcdAddr") if k in op} == wired
    for name in ("mocker", "llm"):
        manifest = graph(registry, name)
        found = env(manifest)
        assert (found["DYN_EVENT_PLANE"], found["DYN_REQUEST_PLANE"]) == planes
        credentials = {k for k in found if k.startswith("NATS_AUTH")}
        assert credentials == ({"NATS_AUTH_USERNAME", "NATS_AUTH_PASSWORD"} if NATS in servers else set())
        annotated = manifest["metadata"]["annotations"].get("nvidia.com/dynamo-discovery-backend")
        assert annotated == ("etcd" if ETCD in servers else None)
    kv_events = transport.get("eventPlane") != "none"
    assert ("--kv-events-config" in args(graph(registry, "llm"), "worker")) == kv_events
    assert ("--no-router-kv-events" in args(graph(registry, "llm"), "frontend")) == (not kv_events)
    outputs = registry.stack_outputs
    assert (outputs["nats"] is not None, outputs["etcd"] is not None) == (NATS in servers, ETCD in servers)


def test_the_summary_says_which_servers_run_and_why() -> None:
    from stacks.config.load import load
    from stacks.plan import command
    from tests.harness import ROOT

    stack_file, config = load(ROOT, "prod")
    summary = command.render(stack_file, config).files()["summary.md"]
    assert "- Discovery **kubernetes**, event plane **nats**, request plane **tcp** (`dynamo.*`)." in summary
    assert "- NATS JetStream: deployed, 3 servers, because the event plane uses NATS." in summary
    assert "- etcd: not deployed: discovery is Kubernetes (DynamoWorkerMetadata and EndpointSlices)." in summary
    assert "- Graph `kimi-k2` routes by KV events that its prefill workers publish over nats." in summary
    assert "graphs as `nvidia.com/v1beta1` DynamoGraphDeployments (the CRD stores v1alpha1)" in summary


def test_etcd_discovery_hands_graphs_and_operator_a_client_certificate_by_reference() -> None:
    keys = ["ETCD_AUTH_CA", "ETCD_AUTH_CLIENT_CERT", "ETCD_AUTH_CLIENT_KEY"]
    registry = plan(discovery="etcd")
    for name in ("mocker", "llm"):
        refs = {k: v for k, v in env(graph(registry, name)).items() if k.startswith("ETCD_AUTH_")}
        assert sorted(refs) == keys
        assert all(set(ref) == {"secretKeyRef"} and ref["secretKeyRef"]["key"] == key for key, ref in refs.items())
    assert [e["name"] for e in operator(registry)["env"]] == keys
    assert all("value" not in e for e in operator(registry)["env"])  # references only, no key material
    # without etcd nobody gets them
    plain = plan()
    assert "env" not in operator(plain)
    assert not [k for k in env(graph(plain, "llm")) if k.startswith("ETCD_AUTH_")]
