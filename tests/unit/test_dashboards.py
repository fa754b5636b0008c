"""Dashboards as code: valid Grafana JSON, sane layout, and queries over catalogued metrics only."""

import json
import re
from typing import Any

import pytest

from components.observability.dashboards import FOLDER_ANNOTATION, SIDECAR_LABEL, build_dashboards, dashboard_configmap
from components.observability.dashboards.builder import GRID_WIDTH, Dashboard, Panel, Query, Row, Threshold
from components.observability.metrics_catalog import Group, bucket, groups, known, metric, source_of
from components.observability.observed import Observed, Thresholds
from tests.harness import schema_problems
from tests.promql import parse, series_names, unknown_series, variable_series

OBSERVED = Observed(platform_namespace="dynamo-system", gpu_pool_label="dynamo-cluster/pool")
THRESHOLDS = Thresholds(ttft_p95_seconds=1.5, frontend_error_ratio=0.02, gpu_temperature_celsius=83)


def models() -> list[dict[str, Any]]:
    """Each dashboard as Grafana would load it: through JSON text."""
    return [json.loads(json.dumps(d.to_json())) for d in build_dashboards(OBSERVED, THRESHOLDS)]


def panels(model: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in model["panels"] if p["type"] != "row"]


def test_the_dashboards_the_issues_ask_for() -> None:
    assert [m["uid"] for m in models()] == ["dynamo-frontend", "dynamo-workers", "dynamo-gpus", "dynamo-platform",
                                            "dynamo-datapath"]


def test_each_dashboard_is_a_grafana_dashboard_model() -> None:
    for model in models():
        assert {"uid", "title", "panels", "schemaVersion", "templating", "time", "refresh"} <= set(model)
        assert isinstance(model["schemaVersion"], int)
        assert model["templating"]["list"][0]["type"] == "datasource"
        for panel in panels(model):
            assert panel["type"] in {"timeseries", "stat", "table"}
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            ref_ids = [t["refId"] for t in panel["targets"]]
            assert ref_ids, panel["title"]
            assert len(set(ref_ids)) == len(ref_ids), panel["title"]
            assert panel["fieldConfig"]["defaults"]["unit"]


def test_panel_ids_are_unique_and_the_grid_has_no_overlap() -> None:
    for model in models():
        ids = [p["id"] for p in model["panels"]]
        assert len(set(ids)) == len(ids), model["uid"]
        taken: set[tuple[int, int]] = set()
        for p in model["panels"]:
            pos = p["gridPos"]
            assert pos["x"] >= 0
            assert pos["x"] + pos["w"] <= GRID_WIDTH
            cells = {(x, y) for x in range(pos["x"], pos["x"] + pos["w"])
                     for y in range(pos["y"], pos["y"] + pos["h"])}
            assert not cells & taken, f"{model['uid']}: panel {p['title']!r} overlaps another"
            taken |= cells


def test_every_query_parses_and_names_only_catalogued_metrics() -> None:
    checked = 0
    for model in models():
        for panel in panels(model):
            for target in panel["targets"]:
                parse(target["expr"])
                assert series_names(target["expr"]), (model["uid"], panel["title"])  # names a metric
                assert unknown_series(target["expr"]) == set(), (model["uid"], panel["title"])
                checked += 1
        for variable in model["templating"]["list"][1:]:
            assert variable_series(variable["query"]["query"]) in known()
    assert checked > 50


def test_the_slo_and_limits_from_config_are_drawn() -> None:
    by_uid = {m["uid"]: m for m in models()}

    def steps(uid: str, title: str) -> list[Any]:
        panel = next(p for p in panels(by_uid[uid]) if p["title"] == title)
        return [s["value"] for s in panel["fieldConfig"]["defaults"]["thresholds"]["steps"]]

    assert steps("dynamo-frontend", "Time to first token, p95") == [None, 1.5]
    assert steps("dynamo-frontend", "Error ratio") == [None, 0.02]
    assert steps("dynamo-gpus", "Temperature") == [None, 83]
    assert steps("dynamo-platform", "JetStream storage used") == [None, 0.8]


def test_frontend_panels_are_per_model_and_workers_per_worker_group() -> None:
    by_uid = {m["uid"]: m for m in models()}
    latency = next(p for p in panels(by_uid["dynamo-frontend"]) if p["title"] == "Time to first token")
    assert [t["legendFormat"] for t in latency["targets"]] == ["p50 {{model}}", "p95 {{model}}", "p99 {{model}}"]
    assert all("sum by (model, le)" in t["expr"] for t in latency["targets"])
    kv = next(p for p in panels(by_uid["dynamo-workers"]) if p["title"] == "KV cache usage per worker group")
    assert all("by (dynamo_namespace, dynamo_component)" in t["expr"] for t in kv["targets"])


def test_gpu_panels_group_per_pool_through_the_node_label() -> None:
    gpu = next(m for m in models() if m["uid"] == "dynamo-gpus")
    per_pool = [p for p in panels(gpu) if p["title"].endswith("per pool")]
    assert len(per_pool) == 4
    for panel in per_pool:
        assert 'label_dynamo_cluster_pool=~"$pool"' in panel["targets"][0]["expr"]
    titles = {p["title"] for p in panels(gpu)}
    assert {"GPU utilisation", "GPU memory used", "Power draw", "Temperature", "Last XID error per GPU",
            "NVLink traffic"} <= titles


def test_platform_dashboard_is_scoped_to_the_platform_namespace() -> None:
    platform = next(m for m in models() if m["uid"] == "dynamo-platform")
    for panel in panels(platform):
        for target in panel["targets"]:
            assert 'namespace="dynamo-system"' in target["expr"], panel["title"]


def test_pool_label_becomes_the_kube_state_metrics_label() -> None:
    assert Observed("p", "eks.amazonaws.com/nodegroup").pool_series_label == "label_eks_amazonaws_com_nodegroup"


def test_configmaps_are_labelled_for_the_sidecar_and_hold_the_dashboard() -> None:
    for dashboard in build_dashboards(OBSERVED, THRESHOLDS):
        cm = dashboard_configmap(dashboard, "monitoring")
        assert cm["metadata"]["labels"][SIDECAR_LABEL] == "1"
        assert cm["metadata"]["annotations"][FOLDER_ANNOTATION] == "Dynamo"
        (text,) = cm["data"].values()
        assert json.loads(text) == dashboard.to_json()
        assert len(text.encode()) < 256 * 1024  # far under the ConfigMap limit of 1 MiB
        assert schema_problems([cm], "1.33") == []


def test_builder_lays_out_rows_and_wraps_panels() -> None:
    wide = Panel("a", (Query("up"),), width=16)
    model = Dashboard("u", "t", "d", rows=(Row("r", (wide, wide)),)).to_json()
    row, first, second = model["panels"]
    assert row["type"] == "row"
    assert row["gridPos"]["y"] == 0
    assert first["gridPos"] == {"h": 8, "w": 16, "x": 0, "y": 1}
    assert second["gridPos"] == {"h": 8, "w": 16, "x": 0, "y": 9}
    with pytest.raises(ValueError, match="no query"):
        Panel("empty", ())
    with pytest.raises(ValueError, match="width 30"):
        Panel("too wide", (Query("up"),), width=30)
    assert Panel("t", (Query("up"),), thresholds=(Threshold(1, "red"),)).to_json(1, 0, 0)[
        "fieldConfig"]["defaults"]["custom"] == {"thresholdsStyle": {"mode": "line"}}


def test_catalog_refuses_unknown_names() -> None:
    assert metric("DCGM_FI_DEV_GPU_TEMP") == "DCGM_FI_DEV_GPU_TEMP"
    assert bucket("dynamo_frontend_time_to_first_token_seconds") in known()
    with pytest.raises(KeyError, match=r"not in components/observability/metrics_catalog\.py"):
        metric("dynamo_frontend_made_up_total")
    with pytest.raises(KeyError):
        bucket("dynamo_frontend_requests_total")


def test_every_catalog_metric_cites_where_its_name_was_read() -> None:
    seen: dict[str, str] = {}
    for group in groups():
        for name in group.series():
            assert name not in seen, f"{name} is in two groups: {seen[name]} and {group.exporter}"
            seen[name] = group.exporter
        # a file of a named repository, a reference copy or a documentation page, not a bare claim
        assert re.search(r"[\w.-]+/[\w./-]+|docs", group.source), group.exporter
    assert set(seen) == known()
    assert all(source_of(name) for name in known())
    with pytest.raises(ValueError, match="cites no source"):
        Group("an exporter", source=" ", names=("x_total",))
    with pytest.raises(KeyError):
        source_of("dynamo_frontend_made_up_total")


def test_the_catalog_follows_dynamo_14() -> None:
    # 1.4 deprecates the in-flight and queued gauges of the frontend; the dashboards use their replacements
    assert "dynamo_frontend_inflight_requests" not in known()
    assert "dynamo_frontend_queued_requests" not in known()
    used = {name for model in models() for panel in panels(model) for target in panel["targets"]
            for name in series_names(target["expr"])}
    assert {"dynamo_frontend_active_requests", "dynamo_frontend_stage_requests"} <= used


def datapath() -> dict[str, Any]:
    [model] = [m for m in models() if m["uid"] == "dynamo-datapath"]
    return model


def test_the_data_path_dashboard_draws_each_part_of_the_path() -> None:
    by_title = {p["title"]: p for p in panels(datapath())}
    rows = [p["title"] for p in datapath()["panels"] if p["type"] == "row"]
    assert rows == ["KV transfer: NIXL", "KV transfer: engines and router", "KV router", "Event plane: KV events",
                    "Request plane", "Planner (when a graph runs one)", "Telemetry: the OpenTelemetry collector"]

    def names(title: str) -> set[str]:
        return {n for t in by_title[title]["targets"] for n in series_names(t["expr"])}

    assert "agent_tx_bytes_total" in names("KV bytes sent per second")
    assert names("Failed KV transfers") >= {"vllm:nixl_num_failed_transfers_total", "agent_errors_total"}
    assert "vllm:nixl_xfer_time_seconds_bucket" in names("vLLM KV transfer time")
    assert "trtllm_kv_transfer_latency_seconds_bucket" in names("TensorRT-LLM KV transfer latency")
    assert "dynamo_component_router_kv_hit_rate_sum" in names("Predicted KV-cache hit rate")
    assert "dynamo_component_kv_cache_events_applied" in names("KV events applied by the router")
    assert "dynamo_request_plane_inflight_requests" in names("In-flight requests on the request plane")
    assert "dynamo_planner_num_prefill_replicas" in names("Replicas: current and planned")
    assert "otelcol_exporter_send_failed_spans_total" in names("Spans exported")


def test_data_path_series_are_drawn_per_graph_and_role() -> None:
    """Series that know nothing of graphs are joined to the graph and role of their pod."""
    graph, role = "label_dynamo_cluster_graph", "label_dynamo_cluster_role"
    checked = 0
    for panel in panels(datapath()):
        for target in panel["targets"]:
            if "otelcol_" in target["expr"]:
                continue  # the collector is not a graph's
            assert "kube_pod_labels" in target["expr"], panel["title"]
            assert "on (namespace, pod) group_left" in target["expr"], panel["title"]
            assert f'{graph}=~"$graph"' in target["expr"], panel["title"]
            checked += 1
    nixl = next(p for p in panels(datapath()) if p["title"] == "KV bytes sent per second")
    assert f"sum by ({graph}, {role})" in nixl["targets"][0]["expr"]
    assert nixl["targets"][0]["legendFormat"] == f"{{{{{graph}}}}} {{{{{role}}}}}"
    [variable] = datapath()["templating"]["list"][1:]
    assert variable["query"]["query"] == f'label_values(kube_pod_labels{{{graph}!=""}}, {graph})'
    assert checked > 30


def test_data_path_dashboard_says_what_is_not_exported() -> None:
    failed = next(p for p in panels(datapath()) if p["title"] == "Failed KV transfers")
    assert "v1.3.2" in failed["description"]
    assert "v1.3.0" in failed["description"]
