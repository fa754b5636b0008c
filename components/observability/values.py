"""Helm values for kube-prometheus-stack and Tempo, the names and ports they fix, and the settings
of the whole observability stack (the collector's and Loki's values are in their own modules).

Pure functions of the settings below. Every URL in the values is namespace-relative (Prometheus,
Grafana and Tempo share the monitoring namespace); the component builds the fully qualified
ones it exports. No credential ever appears here: Grafana reads its admin user and password
from a Secret named in `grafana.admin.existingSecret`.
"""

from __future__ import annotations

from typing import Any

from components.kit.kube import secret_manifest
from components.kit.quantity import quantity_bytes
from components.kit.ref import Ref
from components.kit.resources import Storage
from components.observability.datasources import loki_datasource, traces_to_logs
from components.observability.loki import LOKI_HTTP_PORT, LOKI_SERVICE
from components.observability.metrics_catalog import bucket, metric
from components.observability.receivers import alertmanager_config
from components.observability.settings import (
    CONTROL_PLANE_RULES,
    CONTROL_PLANE_SCRAPERS,
    GRAFANA_ADMIN_SECRET,
    GRAFANA_PASSWORD_KEY,
    GRAFANA_SERVICE,
    GRAFANA_USER_KEY,
    KPS_NAME,
    OTLP_GRPC_PORT,
    OTLP_HTTP_PORT,
    PROMETHEUS_DATASOURCE_UID,
    PROMETHEUS_PORT,
    PROMETHEUS_SERVICE,
    TEMPO_DATASOURCE_UID,
    TEMPO_HTTP_PORT,
    TEMPO_SERVICE,
    AlertmanagerSettings,
    GrafanaSettings,
    PrometheusSettings,
    TempoSettings,
)


def retention_size(storage: Storage) -> str:
    """Prometheus' size-based retention: 85% of the volume, so a burst of series ages data out
    instead of filling the disk (Prometheus stops ingesting on a full disk)."""
    return f"{quantity_bytes(storage.size) * 85 // 100 // (1 << 20)}MiB"


def _claim(storage: Storage) -> dict[str, Any]:
    return {"volumeClaimTemplate": {"spec": {
        "storageClassName": storage.storage_class,
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": storage.size}},
    }}}


def prometheus_values(settings: PrometheusSettings, *, remote_write_receiver: bool = False) -> dict[str, Any]:
    """`remote_write_receiver`: accept samples pushed to /api/v1/write (only Tempo's metrics generator
    needs it; with it on, anything that reaches Prometheus can write series)."""
    spec: dict[str, Any] = {
        "replicas": settings.replicas,
        "retention": settings.retention,
        "resources": settings.resources.to_k8s(),
        # Select monitors and rules from every namespace, with or without the release label:
        # the Dynamo operator's PodMonitors and the NATS chart's carry none.
        "ruleSelectorNilUsesHelmValues": False,
        "serviceMonitorSelectorNilUsesHelmValues": False,
        "podMonitorSelectorNilUsesHelmValues": False,
        "probeSelectorNilUsesHelmValues": False,
        "scrapeConfigSelectorNilUsesHelmValues": False,
        # Tempo's metrics generator remote-writes span metrics (when it runs); exemplars link metrics
        # to traces.
        "enableRemoteWriteReceiver": remote_write_receiver,
        "enableFeatures": ["exemplar-storage"],
    }
    if settings.storage is not None:
        spec["storageSpec"] = _claim(settings.storage)
        spec["retentionSize"] = retention_size(settings.storage)
    return {"prometheusSpec": spec}


def alertmanager_values(settings: AlertmanagerSettings, receivers_secret: Ref | None = None
                        ) -> dict[str, Any]:
    """Alertmanager, with the receivers' Secret (`receivers_secret`, required when there are
    receivers) mounted for the configuration's `*_file` fields."""
    if not settings.enabled:
        return {"enabled": False}
    spec: dict[str, Any] = {"replicas": settings.replicas, "resources": settings.resources.to_k8s()}
    if settings.storage is not None:
        spec["storage"] = _claim(settings.storage)
    values: dict[str, Any] = {"enabled": True, "alertmanagerSpec": spec}
    if settings.receivers:
        if receivers_secret is None:
            raise ValueError("Alertmanager receivers need the Secret that holds their credentials")
        spec["secrets"] = [receivers_secret]
        values["config"] = alertmanager_config(settings.receivers)
    return values


def tempo_datasource() -> dict[str, Any]:
    """Tempo in Grafana, with trace-to-metrics queries over the span metrics Tempo generates and
    the service map. `$$` escapes `$` from Grafana's environment expansion in provisioning files."""
    tags = "$$__tags"
    return {
        "name": "Tempo",
        "type": "tempo",
        "uid": TEMPO_DATASOURCE_UID,
        "access": "proxy",
        "url": f"http://{TEMPO_SERVICE}:{TEMPO_HTTP_PORT}",
        "isDefault": False,
        "editable": False,
        "jsonData": {
            "tracesToMetrics": {
                "datasourceUid": PROMETHEUS_DATASOURCE_UID,
                "spanStartTimeShift": "-5m",
                "spanEndTimeShift": "5m",
                "tags": [{"key": "service.name", "value": "service"}],
                "queries": [
                    {"name": "Span rate",
                     "query": f"sum(rate({metric('traces_spanmetrics_calls_total')}{{{tags}}}[5m]))"},
                    {"name": "Span latency p95",
                     "query": f"histogram_quantile(0.95, sum by (le) "
                              f"(rate({bucket('traces_spanmetrics_latency')}{{{tags}}}[5m])))"},
                ],
            },
            "tracesToLogsV2": traces_to_logs(),
            "serviceMap": {"datasourceUid": PROMETHEUS_DATASOURCE_UID},
            "nodeGraph": {"enabled": True},
            "search": {"hide": False},
        },
    }


def grafana_values(settings: GrafanaSettings, admin_secret: Ref,
                   dashboard_namespace: Ref) -> dict[str, Any]:
    """`dashboard_namespace`: the only namespace whose ConfigMaps the dashboard sidecar loads (Grafana's
    own, where the project's dashboards live): a ConfigMap elsewhere cannot put a dashboard in."""
    values: dict[str, Any] = {
        "fullnameOverride": GRAFANA_SERVICE,
        "replicas": 1,
        "resources": settings.resources.to_k8s(),
        "admin": {"existingSecret": admin_secret, "userKey": GRAFANA_USER_KEY,
                  "passwordKey": GRAFANA_PASSWORD_KEY},
        "sidecar": {
            "dashboards": {
                "enabled": True,
                "label": "grafana_dashboard",
                "labelValue": "1",
                "searchNamespace": dashboard_namespace,
                "folderAnnotation": "grafana_folder",
                "provider": {"foldersFromFilesStructure": True, "allowUiUpdates": False},
            },
            "datasources": {
                "exemplarTraceIdDestinations": {"datasourceUid": TEMPO_DATASOURCE_UID,
                                                "traceIdLabelName": "trace_id"},
            },
        },
        "additionalDataSources": [tempo_datasource(),
                                  loki_datasource(f"http://{LOKI_SERVICE}:{LOKI_HTTP_PORT}", TEMPO_DATASOURCE_UID)],
    }
    if settings.storage is not None:
        values["persistence"] = {"enabled": True, "type": "pvc", "storageClassName": settings.storage.storage_class,
                                 "size": settings.storage.size, "accessModes": ["ReadWriteOnce"]}
        # A ReadWriteOnce volume cannot be mounted by the old and the new pod of a rolling update.
        values["deploymentStrategy"] = {"type": "Recreate"}
    return values


def kube_prometheus_stack_values(*, prometheus: PrometheusSettings, alertmanager: AlertmanagerSettings,
                                 grafana: GrafanaSettings, admin_secret: Ref,
                                 managed_control_plane: bool, gpu_pool_label: str,
                                 namespace: Ref, pod_labels: tuple[str, ...] = (),
                                 receivers_secret: Ref | None = None,
                                 remote_write_receiver: bool = False) -> dict[str, Any]:
    allowlist = [f"nodes=[{gpu_pool_label}]"]
    if pod_labels:
        allowlist.append(f"pods=[{','.join(pod_labels)}]")
    values: dict[str, Any] = {
        "fullnameOverride": KPS_NAME,
        "crds": {"enabled": True},
        "prometheus": prometheus_values(prometheus, remote_write_receiver=remote_write_receiver),
        "alertmanager": alertmanager_values(alertmanager, receivers_secret),
        "grafana": grafana_values(grafana, admin_secret, namespace),
        # kube_node_labels carries the pool label, so GPU series can be grouped per pool; kube_pod_labels
        # the graph and role labels, so every series of a graph pod can be attributed to both.
        "kube-state-metrics": {"metricLabelsAllowlist": allowlist},
    }
    if managed_control_plane:
        values.update({scraper: {"enabled": False} for scraper in CONTROL_PLANE_SCRAPERS})
        values["defaultRules"] = {"rules": dict.fromkeys(CONTROL_PLANE_RULES, False)}
    return values


def tempo_values(settings: TempoSettings, prometheus_replicas: int) -> dict[str, Any]:
    """Single-binary Tempo: OTLP receivers (the chart's Jaeger defaults stay: a null would delete a
    default the chart's templates read), retention, and, when `settings.metrics_generator`, a metrics
    generator that writes span metrics and the service graph to every Prometheus replica (each keeps
    a full copy)."""
    remote_write = [{"url": f"http://prometheus-{PROMETHEUS_SERVICE}-{i}.prometheus-operated:{PROMETHEUS_PORT}"
                            "/api/v1/write"} for i in range(prometheus_replicas)]
    values: dict[str, Any] = {
        "fullnameOverride": TEMPO_SERVICE,
        "replicas": 1,
        "tempo": {
            "retention": settings.retention,
            "resources": settings.resources.to_k8s(),
            "reportingEnabled": False,
            "receivers": {
                "otlp": {"protocols": {"grpc": {"endpoint": f"0.0.0.0:{OTLP_GRPC_PORT}"},
                                       "http": {"endpoint": f"0.0.0.0:{OTLP_HTTP_PORT}"}}},
            },
            "metricsGenerator": {
                "enabled": settings.metrics_generator,
                "storage": {"path": "/var/tempo/generator/wal", "remote_write": remote_write},
                "traces_storage": {"path": "/var/tempo/generator/traces"},
            },
        },
        "serviceMonitor": {"enabled": True},
    }
    if settings.metrics_generator:
        values["tempo"]["overrides"] = {"defaults": {"metrics_generator": {
            "processors": ["service-graphs", "span-metrics"]}}}
    if settings.storage is not None:
        values["persistence"] = {"enabled": True, "storageClassName": settings.storage.storage_class,
                                 "size": settings.storage.size, "accessModes": ["ReadWriteOnce"]}
    return values




def grafana_admin_secret(user: str, password: Ref, namespace: Ref) -> dict[str, object]:
    return secret_manifest(GRAFANA_ADMIN_SECRET, namespace, {GRAFANA_USER_KEY: user, GRAFANA_PASSWORD_KEY: password},
                           component="observability")
