"""Alert rules: real PromQL, catalogued metrics, a runbook line each, thresholds from config."""

import re
from typing import Any

import promql_parser
import pytest

from components.observability.alert_rules import XIDS_NEEDING_RESET, prometheus_rule, rule_groups
from components.observability.observed import Observed, Thresholds
from tests.promql import parse, series_names, unknown_series

OBSERVED = Observed(platform_namespace="dynamo-system", gpu_pool_label="dynamo-cluster/pool",
                    kv_transfer_graphs=("llama", "kimi"), kv_event_graphs=("llama",))
THRESHOLDS = Thresholds(ttft_p95_seconds=1.5, frontend_error_ratio=0.02, gpu_temperature_celsius=83)


def rules() -> dict[str, dict[str, Any]]:
    out = {}
    for group in rule_groups(OBSERVED, THRESHOLDS):
        for rule in group["rules"]:
            assert rule["alert"] not in out, f"duplicate alert {rule['alert']}"
            out[rule["alert"]] = rule
    return out


def test_the_alerts_the_issue_asks_for_exist() -> None:
    assert set(rules()) >= {
        "EtcdNoLeader", "EtcdMemberDown", "EtcdQuorumAtRisk",
        "NatsServerDown", "JetStreamStorageHigh",
        "GpuXidError", "GpuTemperatureHigh",
        "DynamoFrontendErrorRateHigh", "DynamoFrontendTtftSloBreached",
        "NixlTransfersFailing", "DisaggGraphMovesNoKvBytes", "KvEventsStalled", "OtelCollectorExportFailing",
    }


@pytest.mark.parametrize("name", sorted(rules()))
def test_rule_is_valid_promql_over_catalogued_metrics_with_a_runbook(name: str) -> None:
    rule = rules()[name]
    parse(rule["expr"])  # raises on anything the Prometheus grammar or its type checks reject
    assert unknown_series(rule["expr"]) == set()
    promql_parser.parse_duration(rule["for"])
    assert rule["labels"]["severity"] in {"warning", "critical"}
    annotations = rule["annotations"]
    assert annotations["summary"]
    assert annotations["description"]
    assert len(annotations["runbook"]) > 40
    assert "\n" not in annotations["runbook"]
    assert re.fullmatch(r"[A-Z][A-Za-z0-9]+", name)


def test_the_parser_really_rejects_bad_promql() -> None:
    for bad in ("rate(up)", "sum(up", "nosuchfunction(up)", "up > > 1"):
        with pytest.raises(ValueError, match=r"."):
            parse(bad)


def test_thresholds_come_from_config() -> None:
    r = rules()
    assert r["DynamoFrontendTtftSloBreached"]["expr"].endswith("> 1.5")
    assert "histogram_quantile(0.95" in r["DynamoFrontendTtftSloBreached"]["expr"]
    assert r["DynamoFrontendErrorRateHigh"]["expr"].endswith("> 0.02")
    assert r["GpuTemperatureHigh"]["expr"].endswith("> 83")
    assert "> 0.8" in r["JetStreamStorageHigh"]["expr"]
    assert "over 80%" in r["JetStreamStorageHigh"]["annotations"]["summary"]


def test_etcd_and_nats_rules_watch_the_platform_namespace_only() -> None:
    for name, rule in rules().items():
        if name.startswith(("Etcd", "Nats", "JetStream")):
            assert rule["expr"].count('namespace="dynamo-system"') >= 1, name


def test_quorum_rule_compares_ready_members_with_a_majority() -> None:
    expr = rules()["EtcdQuorumAtRisk"]["expr"]
    assert "<= floor(kube_statefulset_replicas" in expr
    assert "/ 2) + 1" in expr
    assert ">= 3" in expr
    assert series_names(expr) == {"kube_statefulset_status_replicas_ready", "kube_statefulset_replicas"}


def test_xid_reset_rule_lists_each_code() -> None:
    expr = rules()["GpuXidNeedsReset"]["expr"]
    assert [int(c) for c in re.findall(r"== (\d+)", expr)] == list(XIDS_NEEDING_RESET)


def test_prometheus_rule_object() -> None:
    manifest = prometheus_rule(OBSERVED, THRESHOLDS, "monitoring")
    assert manifest["apiVersion"] == "monitoring.coreos.com/v1"
    assert manifest["kind"] == "PrometheusRule"
    assert manifest["metadata"]["namespace"] == "monitoring"
    groups = manifest["spec"]["groups"]
    assert [g["name"] for g in groups] == ["dynamo-cluster.etcd", "dynamo-cluster.nats", "dynamo-cluster.gpu",
                                           "dynamo-cluster.frontend", "dynamo-cluster.datapath",
                                           "dynamo-cluster.telemetry"]
    for group in groups:
        for rule in group["rules"]:
            assert set(rule) == {"alert", "expr", "for", "labels", "annotations"}


def test_graph_rules_watch_only_the_graphs_they_apply_to() -> None:
    r = rules()
    graph = 'label_dynamo_cluster_graph=~"llama|kimi"'
    assert r["DisaggGraphMovesNoKvBytes"]["expr"].count(graph) == 5  # serving, and four ways of moving bytes
    assert 'label_dynamo_cluster_role="frontend"' in r["DisaggGraphMovesNoKvBytes"]["expr"]
    assert series_names(r["DisaggGraphMovesNoKvBytes"]["expr"]) == {
        "dynamo_frontend_requests_total", "kube_pod_labels", "agent_tx_bytes_total", "agent_rx_bytes_total",
        "vllm:nixl_bytes_transferred_sum", "trtllm_kv_transfer_bytes_sum"}
    assert r["KvEventsStalled"]["expr"].count('label_dynamo_cluster_graph=~"llama"') == 2
    assert "dynamo_component_kv_cache_events_applied" in series_names(r["KvEventsStalled"]["expr"])
    # without such graphs the rules are left out, rather than watching nothing
    bare = Observed(platform_namespace="dynamo-system", gpu_pool_label="dynamo-cluster/pool")
    alerts = {rule["alert"] for g in rule_groups(bare, THRESHOLDS) for rule in g["rules"]}
    assert "DisaggGraphMovesNoKvBytes" not in alerts
    assert "KvEventsStalled" not in alerts
    assert {"NixlTransfersFailing", "OtelCollectorExportFailing"} <= alerts


def test_failed_transfers_read_both_counters_that_exist() -> None:
    assert series_names(rules()["NixlTransfersFailing"]["expr"]) == {"vllm:nixl_num_failed_transfers_total",
                                                                    "agent_errors_total"}
    assert series_names(rules()["OtelCollectorExportFailing"]["expr"]) == {
        "otelcol_exporter_send_failed_spans_total", "otelcol_exporter_send_failed_log_records_total"}
