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
from components.kit.resources import Storage
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
from stacks.config.keys import observability as K
from stacks.config.keys.common import StorageKeys
from stacks.config.reader import Node
from stacks.config.receivers import read_receivers


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


def _loki_retention(node: Node) -> str:
    default = node.problems.environment.observability.loki_retention if node.problems.environment else "24h"
    text = node.read(K.LOKI_RETENTION)
    if text.endswith("h") and text[:-1].isdigit() and int(text[:-1]) % INDEX_PERIOD_HOURS:
        node.problem(K.LOKI_RETENTION.name, f"is {text!r}", K.LOKI_RETENTION_ALLOWED)
        return default
    return text


def read_observability(root: Node, namespaces: NamespaceNames,
                       storage_class: str, *, graphs: Sequence[GraphSpec] = (),
                       pools: Mapping[str, PoolShape] | None = None,
                       with_secret: Set[ReceiverKind] = frozenset()) -> ObservabilitySettings | None:
    """The section's settings, or None when `observability.enabled` is false. `graphs` are the
    stack's graphs (the data-path alerts watch some of them); `with_secret` are the Alertmanager
    receivers whose secret is set."""
    node = root.child("observability")
    enabled = node.read(K.ENABLED)
    persistent = node.read(K.PERSISTENCE)

    def storage(section: Node, keys: StorageKeys) -> Storage | None:
        read = read_storage(section, keys, storage_class)
        return read if persistent else None

    prom = node.child("prometheus")
    prometheus = PrometheusSettings(
        retention=prom.read(K.PROMETHEUS_RETENTION),
        replicas=prom.read(K.PROMETHEUS_REPLICAS),
        resources=read_resources(prom, K.PROMETHEUS_RESOURCES),
        storage=storage(prom, K.PROMETHEUS_STORAGE),
    )
    prom.close()

    am = node.child("alertmanager")
    alertmanager = AlertmanagerSettings(
        enabled=am.read(K.ALERTMANAGER_ENABLED),
        replicas=am.read(K.ALERTMANAGER_REPLICAS),
        resources=read_resources(am, K.ALERTMANAGER_RESOURCES),
        storage=storage(am, K.ALERTMANAGER_STORAGE),
        receivers=read_receivers(am, with_secret),
    )
    am.close()

    graf = node.child("grafana")
    admin_user = graf.read(K.GRAFANA_ADMIN_USER)
    grafana = GrafanaSettings(resources=read_resources(graf, K.GRAFANA_RESOURCES),
                              storage=storage(graf, K.GRAFANA_STORAGE))
    graf.close()

    tem = node.child("tempo")
    tempo = TempoSettings(
        retention=tem.read(K.TEMPO_RETENTION),
        resources=read_resources(tem, K.TEMPO_RESOURCES),
        storage=storage(tem, K.TEMPO_STORAGE),
        metrics_generator=tem.read(K.TEMPO_METRICS_GENERATOR),
    )
    tem.close()

    lok = node.child("loki")
    loki = LokiSettings(
        retention=_loki_retention(lok),
        resources=read_resources(lok, K.LOKI_RESOURCES),
        storage=storage(lok, K.LOKI_STORAGE),
    )
    lok.close()

    col = node.child("collector")
    collector = CollectorSettings(
        replicas=col.read(K.COLLECTOR_REPLICAS),
        resources=read_resources(col, K.COLLECTOR_RESOURCES),
    )
    col.close()

    alerts = node.child("alerts")
    thresholds = Thresholds(
        ttft_p95_seconds=alerts.read(K.TTFT_P95) / 1000,
        frontend_error_ratio=alerts.read(K.ERROR_RATE) / 100,
        gpu_temperature_celsius=alerts.read(K.GPU_TEMPERATURE),
    )
    alerts.close()

    observed = Observed(
        platform_namespace=namespaces.platform,
        gpu_pool_label=node.read(K.GPU_POOL_LABEL),
        graph_label=GRAPH_LABEL,
        role_label=ROLE_LABEL,
        kv_transfer_graphs=kv_transfer_graphs(graphs, pools),
        kv_event_graphs=kv_event_graphs(graphs),
    )
    managed = node.read(K.MANAGED_CONTROL_PLANE)
    kps_chart = read_chart_version(node, K.KUBE_PROMETHEUS_STACK_VERSION, KUBE_PROMETHEUS_STACK)
    tempo_chart = read_chart_version(node, K.TEMPO_VERSION, TEMPO)
    loki_chart = read_chart_version(node, K.LOKI_VERSION, LOKI)
    collector_chart = read_chart_version(node, K.COLLECTOR_VERSION, OPENTELEMETRY_COLLECTOR)
    node.close()
    if not enabled:
        return None
    return ObservabilitySettings(prometheus=prometheus, alertmanager=alertmanager, grafana=grafana, tempo=tempo,
                                 collector=collector, loki=loki, observed=observed, thresholds=thresholds,
                                 grafana_admin_user=admin_user, managed_control_plane=managed,
                                 kube_prometheus_stack_chart=kps_chart, tempo_chart=tempo_chart,
                                 collector_chart=collector_chart, loki_chart=loki_chart)
