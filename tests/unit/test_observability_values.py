"""Helm values for kube-prometheus-stack and Tempo: pure functions of the settings."""

from typing import Any

import yaml

from components.kit import charts
from components.kit.quantity import quantity_bytes
from components.kit.resources import Resources, Storage
from components.observability import settings as s
from components.observability import values as v
from tests.promql import parse, unknown_series

RES = Resources("100m", "256Mi")
DISK = Storage("gp3", "200Gi")


def kps(*, persistent: bool, managed: bool, alertmanager: bool = True, replicas: int = 2) -> dict[str, Any]:
    storage = DISK if persistent else None
    return v.kube_prometheus_stack_values(
        prometheus=s.PrometheusSettings("15d", replicas, RES, storage),
        alertmanager=s.AlertmanagerSettings(alertmanager, 2, RES, storage),
        grafana=s.GrafanaSettings(RES, storage),
        admin_secret="grafana-admin", managed_control_plane=managed, gpu_pool_label="dynamo-cluster/pool",
        namespace="monitoring", remote_write_receiver=True)


def test_prometheus_selects_monitors_and_rules_without_the_release_label() -> None:
    spec = kps(persistent=False, managed=False)["prometheus"]["prometheusSpec"]
    for kind in ("rule", "serviceMonitor", "podMonitor", "probe", "scrapeConfig"):
        assert spec[f"{kind}SelectorNilUsesHelmValues"] is False


def test_persistence_and_retention() -> None:
    spec = kps(persistent=True, managed=True)["prometheus"]["prometheusSpec"]
    assert spec["retention"] == "15d"
    assert spec["replicas"] == 2
    claim = spec["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert claim["storageClassName"] == "gp3"
    assert claim["resources"]["requests"]["storage"] == "200Gi"
    assert spec["retentionSize"] == "174080MiB"  # 85% of 200 GiB
    dev = kps(persistent=False, managed=False)
    assert "storageSpec" not in dev["prometheus"]["prometheusSpec"]
    assert "retentionSize" not in dev["prometheus"]["prometheusSpec"]
    assert "storage" not in dev["alertmanager"]["alertmanagerSpec"]
    assert "persistence" not in dev["grafana"]


def test_size_bytes() -> None:
    assert quantity_bytes("1Gi") == 1 << 30
    assert quantity_bytes("500M") == 500_000_000
    assert v.retention_size(Storage("x", "10Gi")) == "8704MiB"


def test_alertmanager_on_or_off() -> None:
    on = kps(persistent=True, managed=True)["alertmanager"]
    assert on["enabled"] is True
    assert on["alertmanagerSpec"]["replicas"] == 2
    assert kps(persistent=True, managed=True, alertmanager=False)["alertmanager"] == {"enabled": False}


def test_managed_control_plane_turns_off_what_it_hides() -> None:
    eks = kps(persistent=True, managed=True)
    for scraper in ("kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy"):
        assert eks[scraper] == {"enabled": False}
    assert eks["defaultRules"]["rules"]["kubeSchedulerAlerting"] is False
    kind = kps(persistent=False, managed=False)
    assert "kubeScheduler" not in kind
    assert "defaultRules" not in kind


def test_grafana_admin_comes_from_the_secret_only() -> None:
    grafana = kps(persistent=False, managed=False)["grafana"]
    assert grafana["admin"] == {"existingSecret": "grafana-admin", "userKey": "admin-user",
                                "passwordKey": "admin-password"}
    text = yaml.safe_dump(grafana)
    assert "adminPassword" not in text
    assert "adminUser" not in text


def test_dashboard_sidecar_and_kube_state_metrics_pool_label() -> None:
    values = kps(persistent=False, managed=False)
    sidecar = values["grafana"]["sidecar"]["dashboards"]
    # only Grafana's own namespace: a ConfigMap in another namespace cannot add a dashboard
    assert (sidecar["label"], sidecar["labelValue"], sidecar["searchNamespace"]) == (
        "grafana_dashboard", "1", "monitoring")
    assert sidecar["folderAnnotation"] == "grafana_folder"
    assert values["kube-state-metrics"]["metricLabelsAllowlist"] == ["nodes=[dynamo-cluster/pool]"]


def test_tempo_is_a_grafana_datasource_with_trace_to_metrics() -> None:
    values = kps(persistent=False, managed=False)
    tempo, _loki = values["grafana"]["additionalDataSources"]
    assert (tempo["type"], tempo["uid"], tempo["url"]) == ("tempo", "tempo", "http://tempo:3200")
    links = tempo["jsonData"]["tracesToMetrics"]
    assert links["datasourceUid"] == "prometheus"
    for query in links["queries"]:
        assert "$$__tags" in query["query"]  # escaped from Grafana's environment expansion
        parse(query["query"])
        assert unknown_series(query["query"]) == set()
    assert tempo["jsonData"]["serviceMap"] == {"datasourceUid": "prometheus"}
    assert values["grafana"]["sidecar"]["datasources"]["exemplarTraceIdDestinations"]["datasourceUid"] == "tempo"
    assert values["prometheus"]["prometheusSpec"]["enableRemoteWriteReceiver"] is True


def test_tempo_receives_otlp_and_writes_span_metrics_to_every_prometheus() -> None:
    values = v.tempo_values(s.TempoSettings("336h", RES, Storage("gp3", "100Gi"), metrics_generator=True),
                            prometheus_replicas=2)
    tempo = values["tempo"]
    assert tempo["receivers"]["otlp"]["protocols"] == {"grpc": {"endpoint": "0.0.0.0:4317"},
                                                       "http": {"endpoint": "0.0.0.0:4318"}}
    assert "jaeger" not in tempo["receivers"]  # a null would delete the chart default its templates read
    assert tempo["retention"] == "336h"
    assert [w["url"] for w in tempo["metricsGenerator"]["storage"]["remote_write"]] == [
        "http://prometheus-kps-prometheus-0.prometheus-operated:9090/api/v1/write",
        "http://prometheus-kps-prometheus-1.prometheus-operated:9090/api/v1/write"]
    assert values["persistence"]["size"] == "100Gi"
    assert "persistence" not in v.tempo_values(s.TempoSettings("24h", RES, None), 1)


def test_charts_are_pinned() -> None:
    assert charts.KUBE_PROMETHEUS_STACK.version == "88.5.3"
    assert charts.TEMPO.version == "2.2.4"
    assert charts.TEMPO.repository == "https://grafana-community.github.io/helm-charts"
    assert (charts.LOKI.version, charts.LOKI.repository) == ("18.11.0", "https://grafana-community.github.io/helm-charts")
    assert (charts.OPENTELEMETRY_COLLECTOR.version, charts.OPENTELEMETRY_COLLECTOR.repository) == (
        "0.170.0", "https://open-telemetry.github.io/opentelemetry-helm-charts")


def test_the_remote_write_receiver_is_on_only_with_tempos_metrics_generator() -> None:
    off = v.tempo_values(s.TempoSettings("24h", RES, None), 1)["tempo"]
    assert off["metricsGenerator"]["enabled"] is False
    assert "overrides" not in off
    spec = v.prometheus_values(s.PrometheusSettings("2d", 1, RES, None))["prometheusSpec"]
    assert spec["enableRemoteWriteReceiver"] is False
    on = v.prometheus_values(s.PrometheusSettings("2d", 1, RES, None), remote_write_receiver=True)
    assert on["prometheusSpec"]["enableRemoteWriteReceiver"] is True
