"""The `observability` section: Prometheus, Alertmanager, Grafana, Tempo, dashboards and alerts.

dev is the same stack, small: no persistent volumes, short retention, one replica each. prod keeps
data on volumes of the stack's storage class, retains longer, runs two Prometheus and Alertmanager
replicas and turns off the scrapers of control-plane parts a managed (EKS) control plane hides.
Every key is read even when the section is disabled, so a typo is reported either way.
"""

from __future__ import annotations

from components.kit.charts import KUBE_PROMETHEUS_STACK, TEMPO
from components.kit.resources import Resources, Storage
from components.namespaces import NamespaceNames
from components.observability.observed import Observed, Thresholds
from components.observability.values import (
    AlertmanagerSettings,
    GrafanaSettings,
    ObservabilitySettings,
    PrometheusSettings,
    TempoSettings,
)
from stacks.config.common import read_chart_version, read_resources, read_storage
from stacks.config.defaults import ObservabilityDefaults
from stacks.config.reader import Node

# Prometheus accepts y, w, d, h, m, s, ms; Tempo's block retention is a Go duration (no days).
_PROMETHEUS_DURATION = r"^[1-9][0-9]*(ms|s|m|h|d|w|y)$"
_GO_HOURS = r"^[1-9][0-9]*(m|h)$"
# A Kubernetes label key: an optional DNS-subdomain prefix and a name of at most 63 characters.
_LABEL_KEY = r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"


ALERTMANAGER_RESOURCES = Resources("50m", "128Mi")
GRAFANA_RESOURCES = Resources("100m", "512Mi")


def read_observability(root: Node, d: ObservabilityDefaults, namespaces: NamespaceNames,
                       storage_class: str) -> ObservabilitySettings | None:
    """The section's settings, or None when `observability.enabled` is false."""
    node = root.child("observability")
    enabled = node.boolean("enabled", True)
    persistent = node.boolean("persistence", d.persistence)

    def storage(section: Node, size: str, minimum: str) -> Storage | None:
        read = read_storage(section, "storage", storage_class, size, minimum=minimum)
        return read if persistent else None

    prom = node.child("prometheus")
    prometheus = PrometheusSettings(
        retention=prom.string("retention", d.prometheus_retention, pattern=_PROMETHEUS_DURATION,
                              pattern_text="a Prometheus duration such as 2d, 15d or 12h"),
        replicas=prom.integer("replicas", d.prometheus_replicas, minimum=1, maximum=3),
        resources=read_resources(prom, "resources", d.prometheus_resources),
        storage=storage(prom, d.prometheus_size, "5Gi"),
    )
    prom.close()

    am = node.child("alertmanager")
    alertmanager = AlertmanagerSettings(
        enabled=am.boolean("enabled", True),
        replicas=am.integer("replicas", d.alertmanager_replicas, minimum=1, maximum=5),
        resources=read_resources(am, "resources", ALERTMANAGER_RESOURCES),
        storage=storage(am, "2Gi", "1Gi"),
    )
    am.close()

    graf = node.child("grafana")
    admin_user = graf.string("adminUser", "admin", pattern=r"^[A-Za-z0-9_.@-]{1,64}$",
                             pattern_text="a user name: letters, digits and _ . @ -")
    grafana = GrafanaSettings(resources=read_resources(graf, "resources", GRAFANA_RESOURCES),
                              storage=storage(graf, "10Gi", "1Gi"))
    graf.close()

    tem = node.child("tempo")
    tempo = TempoSettings(
        retention=tem.string("retention", d.tempo_retention, pattern=_GO_HOURS,
                             pattern_text="hours or minutes such as 24h or 336h (Tempo takes no days)"),
        resources=read_resources(tem, "resources", d.tempo_resources),
        storage=storage(tem, d.tempo_size, "1Gi"),
        metrics_generator=tem.boolean("metricsGenerator", False),
    )
    tem.close()

    alerts = node.child("alerts")
    thresholds = Thresholds(
        ttft_p95_seconds=alerts.integer("ttftP95Milliseconds", 2000, minimum=10, maximum=600_000) / 1000,
        frontend_error_ratio=alerts.integer("errorRatePercent", 5, minimum=1, maximum=100) / 100,
        gpu_temperature_celsius=alerts.integer("gpuTemperatureCelsius", 85, minimum=50, maximum=110),
    )
    alerts.close()

    observed = Observed(
        platform_namespace=namespaces.platform,
        gpu_pool_label=node.string("gpuPoolLabel", "dynamo-cluster/pool", pattern=_LABEL_KEY,
                                   pattern_text="a Kubernetes label key such as dynamo-cluster/pool"),
    )
    managed = node.boolean("managedControlPlane", d.managed_control_plane)
    kps_chart = read_chart_version(node, "kubePrometheusStackVersion", KUBE_PROMETHEUS_STACK)
    tempo_chart = read_chart_version(node, "tempoVersion", TEMPO)
    node.close()
    if not enabled:
        return None
    return ObservabilitySettings(prometheus=prometheus, alertmanager=alertmanager, grafana=grafana, tempo=tempo,
                                 observed=observed, thresholds=thresholds, grafana_admin_user=admin_user,
                                 managed_control_plane=managed, kube_prometheus_stack_chart=kps_chart,
                                 tempo_chart=tempo_chart)
