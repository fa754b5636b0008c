"""The observability stack as settings: the object names and ports the project fixes (so that URLs do
not depend on release names), and what config decides for Prometheus, Alertmanager, Grafana and Tempo
(the collector's and Loki's settings are in their own modules). No builders here."""

from __future__ import annotations

from dataclasses import dataclass

from components.kit import charts
from components.kit.charts import ChartRef
from components.kit.kube import service_host
from components.kit.resources import Resources, Storage
from components.observability.collector import CollectorSettings
from components.observability.loki import LokiSettings
from components.observability.observed import Observed, Thresholds
from components.observability.receivers import Receiver

# Object names, fixed with fullnameOverride so the URLs below do not depend on release names.
KPS_NAME = "kps"
PROMETHEUS_SERVICE = f"{KPS_NAME}-prometheus"  # Service and Prometheus resource name
PROMETHEUS_PORT = 9090
GRAFANA_SERVICE = "grafana"
GRAFANA_PORT = 80
ALERTMANAGER_SERVICE = f"{KPS_NAME}-alertmanager"
ALERTMANAGER_PORT = 9093
TEMPO_SERVICE = "tempo"
TEMPO_HTTP_PORT = 3200
OTLP_GRPC_PORT = 4317
OTLP_HTTP_PORT = 4318

# Labels the Prometheus Operator puts on the Prometheus server pods.
PROMETHEUS_POD_LABELS = {"app.kubernetes.io/name": "prometheus", "operator.prometheus.io/name": PROMETHEUS_SERVICE}

# The admin Secret's keys, as the Grafana chart's `admin.userKey` / `admin.passwordKey` name them.
GRAFANA_USER_KEY = "admin-user"
GRAFANA_PASSWORD_KEY = "admin-password"

PROMETHEUS_DATASOURCE_UID = "prometheus"  # kube-prometheus-stack's sidecar datasource
TEMPO_DATASOURCE_UID = "tempo"

# Control-plane components whose metrics a managed control plane (EKS) does not expose, with the
# default rule groups that only make sense when they are scraped.
CONTROL_PLANE_SCRAPERS = ("kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy")
CONTROL_PLANE_RULES = ("etcd", "kubeControllerManager", "kubeSchedulerAlerting", "kubeSchedulerRecording",
                       "kubeProxy")


@dataclass(frozen=True)
class PrometheusSettings:
    retention: str
    replicas: int
    resources: Resources
    storage: Storage | None


@dataclass(frozen=True)
class AlertmanagerSettings:
    enabled: bool
    replicas: int
    resources: Resources
    storage: Storage | None
    receivers: tuple[Receiver, ...] = ()  # none: the chart's configuration, which notifies nobody


@dataclass(frozen=True)
class GrafanaSettings:
    resources: Resources
    storage: Storage | None


@dataclass(frozen=True)
class TempoSettings:
    retention: str
    resources: Resources
    storage: Storage | None
    # span metrics and the service graph, written to Prometheus' remote-write receiver (which is off
    # without them)
    metrics_generator: bool = False


GRAFANA_ADMIN_SECRET = "grafana-admin"


@dataclass(frozen=True)
class ObservabilitySettings:
    prometheus: PrometheusSettings
    alertmanager: AlertmanagerSettings
    grafana: GrafanaSettings
    tempo: TempoSettings
    collector: CollectorSettings
    loki: LokiSettings
    observed: Observed
    thresholds: Thresholds
    grafana_admin_user: str = "admin"
    # EKS and other managed control planes hide the controller manager, scheduler, etcd and
    # kube-proxy metrics: their scrapers and rules are turned off.
    managed_control_plane: bool = False
    kube_prometheus_stack_chart: ChartRef = charts.KUBE_PROMETHEUS_STACK
    tempo_chart: ChartRef = charts.TEMPO
    collector_chart: ChartRef = charts.OPENTELEMETRY_COLLECTOR
    loki_chart: ChartRef = charts.LOKI


def cluster_url(service: str, namespace: str, port: int) -> str:
    return f"http://{service_host(service, namespace)}:{port}"
