"""The `observability` section: Prometheus, Alertmanager (and its receivers), Grafana, Tempo, Loki,
the OpenTelemetry collector, dashboards and alerts.

dev is the same stack, small: no persistent volumes, short retention, one replica each. prod keeps
data on volumes of the stack's storage class, retains longer, runs two Prometheus, Alertmanager and
collector replicas and turns off the scrapers of control-plane parts a managed (EKS) control plane
hides. Every key is read even when the section is disabled, so a typo is reported either way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set

from components.dynamo.commands import publishes_kv_events
from components.dynamo.datapath import exports_nixl_telemetry
from components.dynamo.dgd import GRAPH_LABEL, ROLE_LABEL
from components.dynamo.spec import GraphSpec
from components.kit.charts import KUBE_PROMETHEUS_STACK, LOKI, OPENTELEMETRY_COLLECTOR, TEMPO
from components.kit.resources import Resources, Storage
from components.namespaces.manifests import NamespaceNames
from components.nodes.shape import PoolShape
from components.observability.collector import CollectorSettings
from components.observability.loki import INDEX_PERIOD_HOURS, LokiSettings
from components.observability.observed import Observed, Thresholds
from components.observability.receivers import ReceiverKind
from components.observability.settings import (
    AlertmanagerSettings,
    GrafanaSettings,
    ObservabilitySettings,
    PrometheusSettings,
    TempoSettings,
)
from stacks.config.common import read_chart_version, read_resources, read_storage
from stacks.config.defaults import ObservabilityDefaults
from stacks.config.reader import Node
from stacks.config.receivers import read_receivers

# Prometheus accepts y, w, d, h, m, s, ms; Tempo's block retention is a Go duration (no days).
_PROMETHEUS_DURATION = r"^[1-9][0-9]*(ms|s|m|h|d|w|y)$"
_GO_HOURS = r"^[1-9][0-9]*(m|h)$"
# A Kubernetes label key: an optional DNS-subdomain prefix and a name of at most 63 characters.
_LABEL_KEY = r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"


ALERTMANAGER_RESOURCES = Resources("50m", "128Mi")
GRAFANA_RESOURCES = Resources("100m", "512Mi")


def reports_kv_bytes(graph: GraphSpec) -> bool:
    """Whether the graph's workers report the KV bytes they move whatever NIXL's telemetry does (their
    backend's transfer metrics: vLLM's NIXL connector always, TensorRT-LLM's workers that publish KV
    events; SGLang reports none of its own)."""
    return graph.backend.reports_kv_bytes(any(publishes_kv_events(graph, group) for group in graph.groups))


def kv_transfer_graphs(graphs: Sequence[GraphSpec],
                       pools: Mapping[str, PoolShape] | None = None) -> tuple[str, ...]:
    """Graphs whose decode workers receive KV caches from prefill workers (disaggregated graphs of a
    real engine: the mocker simulates the transfer) and whose moved bytes are measured, by the
    engine or by NIXL's telemetry: a graph without a measure would look as if it moved nothing."""
    shapes = pools or {}
    return tuple(g.name for g in graphs if g.mode == "disagg" and g.backend.moves_kv
                 and (reports_kv_bytes(g) or exports_nixl_telemetry(g, shapes)))


def kv_event_graphs(graphs: Sequence[GraphSpec]) -> tuple[str, ...]:
    """Graphs whose KV router routes on the KV events its workers publish."""
    return tuple(g.name for g in graphs if any(publishes_kv_events(g, group) for group in g.groups))


def _loki_retention(node: Node, default: str) -> str:
    allowed = f"whole days in hours, at least {INDEX_PERIOD_HOURS}h, such as 24h, 168h or 720h"
    text = node.string("retention", default, pattern=r"^[1-9][0-9]*h$", pattern_text=allowed)
    if text.endswith("h") and text[:-1].isdigit() and int(text[:-1]) % INDEX_PERIOD_HOURS:
        node.problem("retention", f"is {text!r}", allowed)
        return default
    return text


def read_observability(root: Node, d: ObservabilityDefaults, namespaces: NamespaceNames,
                       storage_class: str, *, graphs: Sequence[GraphSpec] = (),
                       pools: Mapping[str, PoolShape] | None = None,
                       with_secret: Set[ReceiverKind] = frozenset()) -> ObservabilitySettings | None:
    """The section's settings, or None when `observability.enabled` is false. `graphs` are the
    stack's graphs (the data-path alerts watch some of them); `with_secret` are the Alertmanager
    receivers whose secret is set."""
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
        receivers=read_receivers(am, with_secret),
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

    lok = node.child("loki")
    loki = LokiSettings(
        retention=_loki_retention(lok, d.loki_retention),
        resources=read_resources(lok, "resources", d.loki_resources),
        storage=storage(lok, d.loki_size, "1Gi"),
    )
    lok.close()

    col = node.child("collector")
    collector = CollectorSettings(
        replicas=col.integer("replicas", d.collector_replicas, minimum=1, maximum=5),
        resources=read_resources(col, "resources", d.collector_resources),
    )
    col.close()

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
        graph_label=GRAPH_LABEL,
        role_label=ROLE_LABEL,
        kv_transfer_graphs=kv_transfer_graphs(graphs, pools),
        kv_event_graphs=kv_event_graphs(graphs),
    )
    managed = node.boolean("managedControlPlane", d.managed_control_plane)
    kps_chart = read_chart_version(node, "kubePrometheusStackVersion", KUBE_PROMETHEUS_STACK)
    tempo_chart = read_chart_version(node, "tempoVersion", TEMPO)
    loki_chart = read_chart_version(node, "lokiVersion", LOKI)
    collector_chart = read_chart_version(node, "collectorVersion", OPENTELEMETRY_COLLECTOR)
    node.close()
    if not enabled:
        return None
    return ObservabilitySettings(prometheus=prometheus, alertmanager=alertmanager, grafana=grafana, tempo=tempo,
                                 collector=collector, loki=loki, observed=observed, thresholds=thresholds,
                                 grafana_admin_user=admin_user, managed_control_plane=managed,
                                 kube_prometheus_stack_chart=kps_chart, tempo_chart=tempo_chart,
                                 collector_chart=collector_chart, loki_chart=loki_chart)
