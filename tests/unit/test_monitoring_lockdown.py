"""The monitoring namespace locked down: no remote-write receiver unless Tempo's metrics generator is
configured, dashboards only from Grafana's own namespace, NetworkPolicies for Prometheus and Tempo."""

from __future__ import annotations

from typing import Any

from stacks.plan.artifacts import releases
from tests.harness import by_kind, plan_config, plan_stack, stack_config


def release_values(registry: Any, chart: str) -> dict[str, Any]:
    [release] = [r for r in releases(registry) if r["chart"] == chart]
    values: dict[str, Any] = release["values"]
    return values


def test_remote_write_is_off_unless_the_metrics_generator_is_configured() -> None:
    default = plan_stack("dev")
    assert release_values(default, "kube-prometheus-stack")["prometheus"]["prometheusSpec"][
        "enableRemoteWriteReceiver"] is False
    assert release_values(default, "tempo")["tempo"]["metricsGenerator"]["enabled"] is False
    values = stack_config("dev")
    values["observability"] = {**values["observability"], "tempo": {"metricsGenerator": True}}
    configured = plan_config(values)
    assert release_values(configured, "kube-prometheus-stack")["prometheus"]["prometheusSpec"][
        "enableRemoteWriteReceiver"] is True
    assert release_values(configured, "tempo")["tempo"]["metricsGenerator"]["enabled"] is True


def test_grafana_loads_dashboards_only_from_its_namespace_where_they_live() -> None:
    registry = plan_stack("prod")
    sidecar = release_values(registry, "kube-prometheus-stack")["grafana"]["sidecar"]["dashboards"]
    assert sidecar["searchNamespace"] == "monitoring"
    dashboards = [r for r in by_kind(registry, "ConfigMap")
                  if r.inputs["metadata"].get("labels", {}).get("grafana_dashboard") == "1"]
    assert dashboards
    assert {r.inputs["metadata"]["namespace"] for r in dashboards} == {"monitoring"}


def test_prometheus_and_tempo_admit_their_namespace_and_only_their_client_ports_from_others() -> None:
    policies = {r.inputs["metadata"]["name"]: r.inputs for r in by_kind(plan_stack("dev"), "NetworkPolicy")
                if r.inputs["metadata"]["namespace"] == "monitoring"}
    assert set(policies) == {"prometheus", "tempo"}
    prometheus, tempo = policies["prometheus"]["spec"], policies["tempo"]["spec"]
    assert prometheus["podSelector"]["matchLabels"]["operator.prometheus.io/name"] == "kps-prometheus"
    assert tempo["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "tempo",
                                                   "app.kubernetes.io/instance": "tempo"}
    for spec, ports in ((prometheus, [9090]), (tempo, [4317, 4318])):
        own, clients = spec["ingress"]
        assert own == {"from": [{"namespaceSelector": {"matchLabels": {
            "kubernetes.io/metadata.name": "monitoring"}}}]}
        assert clients["from"][0]["namespaceSelector"]["matchExpressions"][0]["values"] == ["dynamo-system", "dynamo"]
        assert [p["port"] for p in clients["ports"]] == ports
