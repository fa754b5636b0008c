"""A request followed end to end: graph pods send traces and logs to the collector, which splits them
between Tempo and Loki, and Grafana links the two."""

from __future__ import annotations

from typing import Any

import pytest

from components.kit.resources import Resources, Storage
from components.observability import collector, loki
from components.observability import settings as s
from components.observability.datasources import loki_datasource, traces_to_logs
from stacks.plan.artifacts import releases
from tests.harness import example_stacks, plan_config, plan_stack, stack_config
from tests.unit.test_dynamo_stacks import DGD

COLLECTOR_GRPC = "http://otel-collector.monitoring.svc.cluster.local:4317"
TRACING = {"DYN_LOGGING_JSONL": "true", "OTEL_EXPORT_ENABLED": "true", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
           "OTEL_EXPORTER_OTLP_ENDPOINT": COLLECTOR_GRPC}


def graphs(stack: str, values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    registry = plan_stack(stack) if values is None else plan_config(values, stack)
    return [dict(r.inputs) for r in registry.of_type(DGD)]


@pytest.mark.parametrize("stack", ["dev", "prod", *example_stacks()])
def test_every_graph_container_has_the_tracing_env(stack: str) -> None:
    found = graphs(stack)
    assert found
    observed = stack_config(stack).get("observability", {}).get("enabled", True) is not False
    for graph in found:
        env = {e["name"]: e.get("value") for e in graph["spec"]["env"]}
        for component in graph["spec"]["components"]:
            [container] = component["podTemplate"]["spec"]["containers"]
            own = {e["name"]: e.get("value") for e in container["env"]}
            # the graph-wide env reaches every container, and no container overrides it
            assert not set(own) & set(TRACING), component["name"]
            # each component names itself: graph and role
            assert own["OTEL_SERVICE_NAME"] == f"{graph['metadata']['name']}-{component['name']}"
            if observed:
                assert {k: env.get(k) for k in TRACING} == TRACING, (graph["metadata"]["name"], component["name"])
            else:
                assert not set(env) & set(TRACING)


def test_without_observability_graphs_export_nothing() -> None:
    for graph in graphs("dev", stack_config("dev") | {"observability": {"enabled": False}}):
        names = {e["name"] for e in graph["spec"]["env"]}
        assert not names & set(TRACING)
        assert "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" not in names


def collector_values(replicas: int = 1) -> dict[str, Any]:
    return collector.collector_values(collector.CollectorSettings(replicas, Resources("100m", "256Mi")),
                                      tempo_otlp_grpc="tempo:4317", loki_otlp_http="http://loki:3100/otlp")


def test_collector_sends_traces_to_tempo_and_logs_to_loki() -> None:
    values = collector_values()
    config = values["alternateConfig"]
    pipelines = config["service"]["pipelines"]
    assert set(pipelines) == {"traces", "logs"}  # Dynamo sends no OTLP metrics
    assert pipelines["traces"] == {"receivers": ["otlp"], "processors": ["memory_limiter", "batch"],
                                   "exporters": ["otlp_grpc/tempo"]}
    assert pipelines["logs"]["exporters"] == ["otlp_http/loki"]
    assert config["exporters"]["otlp_grpc/tempo"] == {"endpoint": "tempo:4317", "tls": {"insecure": True}}
    assert config["exporters"]["otlp_http/loki"] == {"endpoint": "http://loki:3100/otlp"}
    assert set(config["receivers"]) == {"otlp"}
    assert set(config["receivers"]["otlp"]["protocols"]) == {"grpc", "http"}
    # the chart requires the health_check extension, and the mode and image it has no default for
    assert "health_check" in config["service"]["extensions"]
    assert values["mode"] == "deployment"
    assert values["image"] == {"repository": "otel/opentelemetry-collector-k8s", "tag": "0.158.0"}
    # its own metrics are scraped: the export-failure alert reads them
    assert values["ports"]["metrics"] == {"enabled": True}
    assert values["serviceMonitor"] == {"enabled": True}
    assert config["service"]["telemetry"]["metrics"]["readers"][0]["pull"]["exporter"]["prometheus"]["port"] == 8888
    assert {name for name, port in values["ports"].items() if port == {"enabled": False}} == {
        "jaeger-compact", "jaeger-thrift", "jaeger-grpc", "zipkin"}
    assert "podDisruptionBudget" not in values
    assert collector_values(2)["podDisruptionBudget"] == {"enabled": True, "minAvailable": 1}


def nulls(value: Any, path: str = "") -> list[str]:
    if value is None:
        return [path]
    if isinstance(value, dict):
        return [p for k, item in value.items() for p in nulls(item, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in nulls(item, f"{path}[{i}]")]
    return []


def test_collector_and_loki_values_null_no_chart_default() -> None:
    """Helm deletes a null key from the chart's defaults; templates that read it then fail."""
    for stack in ("dev", "prod"):
        for release in releases(plan_stack(stack)):
            if release["chart"] in ("loki", "opentelemetry-collector"):
                assert nulls(release["values"]) == [], release["name"]


def loki_values(storage: Storage | None) -> dict[str, Any]:
    return loki.loki_values(loki.LokiSettings("336h", Resources("500m", "4Gi"), storage))


def test_loki_runs_as_one_binary_with_retention_and_structured_metadata() -> None:
    values = loki_values(Storage("gp3", "100Gi"))
    assert values["deploymentMode"] == "Monolithic"
    assert values["singleBinary"]["replicas"] == 1
    # the chart refuses a single binary next to any scalable target, and a test without its canary
    assert [values[t]["replicas"] for t in ("backend", "read", "write")] == [0, 0, 0]
    assert values["test"] == {"enabled": False}
    assert values["lokiCanary"] == {"enabled": False}
    assert values["gateway"] == {"enabled": False}
    config = values["loki"]
    assert config["auth_enabled"] is False
    assert config["storage"]["type"] == "filesystem"
    [schema] = config["schemaConfig"]["configs"]
    assert (schema["store"], schema["schema"], schema["index"]["period"]) == ("tsdb", "v13", "24h")
    assert config["structuredConfig"]["limits_config"] == {"retention_period": "336h",
                                                           "allow_structured_metadata": True}
    assert config["compactor"]["retention_enabled"] is True
    assert config["compactor"]["delete_request_store"] == "filesystem"
    assert values["singleBinary"]["persistence"] == {"enabled": True, "storageClass": "gp3", "size": "100Gi",
                                                     "accessModes": ["ReadWriteOnce"]}
    assert loki_values(None)["singleBinary"]["persistence"] == {"enabled": False}


def test_the_collector_reaches_loki_and_tempo_by_their_services() -> None:
    [release] = [r for r in releases(plan_stack("prod")) if r["name"] == "otel-collector"]
    exporters = release["values"]["alternateConfig"]["exporters"]
    assert exporters["otlp_grpc/tempo"]["endpoint"] == f"{s.TEMPO_SERVICE}:{s.OTLP_GRPC_PORT}"
    assert exporters["otlp_http/loki"]["endpoint"] == f"http://{loki.LOKI_SERVICE}:{loki.LOKI_HTTP_PORT}/otlp"
    [tempo] = [r for r in releases(plan_stack("prod")) if r["name"] == "tempo"]
    assert tempo["values"]["fullnameOverride"] == s.TEMPO_SERVICE
    [lok] = [r for r in releases(plan_stack("prod")) if r["name"] == "loki"]
    assert lok["values"]["fullnameOverride"] == loki.LOKI_SERVICE


def test_grafana_links_traces_and_logs_both_ways() -> None:
    [release] = [r for r in releases(plan_stack("dev")) if r["name"] == "kube-prometheus-stack"]
    sources = {d["uid"]: d for d in release["values"]["grafana"]["additionalDataSources"]}
    assert set(sources) == {"tempo", "loki"}
    lok = sources["loki"]
    assert (lok["type"], lok["url"]) == ("loki", "http://loki:3100")
    [field] = lok["jsonData"]["derivedFields"]
    # a log line's trace_id (structured metadata of OTLP-ingested logs) opens the trace in Tempo
    assert (field["matcherType"], field["matcherRegex"], field["datasourceUid"]) == ("label", "trace_id", "tempo")
    assert field["url"] == "$${__value.raw}"  # escaped from Grafana's environment expansion
    links = sources["tempo"]["jsonData"]["tracesToLogsV2"]
    assert links == traces_to_logs()
    assert links["datasourceUid"] == "loki"
    assert links["customQuery"] is True
    assert links["query"] == '{service_name=~".+"} | trace_id = "$${__trace.traceId}"'
    assert loki_datasource("http://x:3100", "t")["jsonData"]["derivedFields"][0]["datasourceUid"] == "t"


def test_graph_and_role_labels_reach_kube_state_metrics() -> None:
    """The data-path dashboard and alerts attribute series to graphs through kube_pod_labels: the
    labels kube-state-metrics exports must be those every graph pod carries."""
    registry = plan_stack("prod")
    [release] = [r for r in releases(registry) if r["name"] == "kube-prometheus-stack"]
    allow = release["values"]["kube-state-metrics"]["metricLabelsAllowlist"]
    assert allow == ["nodes=[dynamo-cluster/pool]", "pods=[dynamo-cluster/graph,dynamo-cluster/role]"]
    for graph in (dict(r.inputs) for r in registry.of_type(DGD)):
        for component in graph["spec"]["components"]:
            labels = component["podTemplate"]["metadata"]["labels"]
            assert labels["dynamo-cluster/graph"] == graph["metadata"]["name"]
            assert labels["dynamo-cluster/role"] == component["name"]
