"""The data-path dashboard: how requests and KV caches move between a graph's components.

Every series is attributed to its graph and role through kube-state-metrics' `kube_pod_labels`
(the graph and role labels every graph pod carries), so series that know nothing of graphs (NIXL's,
the runtime's transport counters) are still drawn per graph and role. A panel stays empty when its
series are not exported: NIXL's error counter exists only in the NIXL release TensorRT-LLM ships,
vLLM's connector series only on vLLM workers, TensorRT-LLM's transfer histograms only on workers
that publish their metrics (`--publish-kv-events` before 1.6, `--publish-metrics` from 1.6), the
router's series only with `--router-mode kv`, the planner's only when a graph runs a planner.
"""

from __future__ import annotations

from components.dynamo.backends import BACKENDS
from components.dynamo.backends.base import Backend, TransferMetrics
from components.observability.dashboards.builder import RATE, Dashboard, Panel, Query, Row, Variable
from components.observability.metrics_catalog import bucket, metric
from components.observability.observed import Observed


def _engines() -> list[tuple[Backend, TransferMetrics]]:
    """The backends whose engines publish KV-transfer metrics of their own, with those metrics."""
    return [(b, b.transfer_metrics) for b in BACKENDS.values() if b.transfer_metrics is not None]


class _Graphs:
    """Query helpers that attribute series to the graph (and role) of the pod that exports them."""

    def __init__(self, observed: Observed) -> None:
        self.graph = observed.graph_series_label
        self.role = observed.role_series_label
        self.pods = (f"max by (namespace, pod, {self.graph}, {self.role}) "
                     f'({metric("kube_pod_labels")}{{{self.graph}=~"$graph"}})')
        self.legend = f"{{{{{self.graph}}}}} {{{{{self.role}}}}}"

    def join(self, series: str, by: str) -> str:
        """`series` summed by `by` (graph and role labels allowed) over the pods of the picked graphs."""
        return (f"sum by ({by}) ({series} * on (namespace, pod) group_left ({self.graph}, {self.role}) "
                f"{self.pods})")

    def rate(self, name: str, by: str = "") -> str:
        return self.join(f"rate({metric(name)}[{RATE}])", by or f"{self.graph}, {self.role}")

    def increase(self, name: str, by: str = "") -> str:
        return self.join(f"increase({metric(name)}[{RATE}])", by or f"{self.graph}, {self.role}")

    def gauge(self, name: str, by: str = "") -> str:
        return self.join(metric(name), by or f"{self.graph}, {self.role}")

    def quantile(self, q: float, family: str, by: str = "") -> str:
        group = by or self.graph
        return f"histogram_quantile({q}, {self.join(f'rate({bucket(family)}[{RATE}])', f'{group}, le')})"

    def mean(self, family: str, by: str = "") -> str:
        group = by or self.graph
        return f"{self.rate(family + '_sum', group)} / {self.rate(family + '_count', group)}"


def datapath_dashboard(observed: Observed) -> Dashboard:
    g = _Graphs(observed)
    per_graph = f"{{{{{g.graph}}}}}"
    nixl = Row("KV transfer: NIXL", (
        Panel("KV bytes sent per second", (Query(g.rate("agent_tx_bytes_total"), g.legend),), unit="Bps",
              description="NIXL telemetry of each worker (NIXL_TELEMETRY_ENABLE); the series appear with the "
                          "first transfer."),
        Panel("KV bytes received per second", (Query(g.rate("agent_rx_bytes_total"), g.legend),), unit="Bps"),
        Panel("Transfers per second", (
            Query(g.rate("agent_tx_requests_num_total"), f"sent {g.legend}"),
            Query(g.rate("agent_rx_requests_num_total"), f"received {g.legend}"),
        ), unit="ops"),
        Panel("Mean transfer time", (Query(
            f"{g.rate('agent_xfer_time_total')} / {g.rate('agent_tx_requests_num_total')}", g.legend),),
            unit="µs", description="NIXL's cumulative transfer time (start to completion, microseconds) over "
                                   "the transfers it posted."),
        Panel("Failed KV transfers", (
            *(Query(g.increase(m.failed), f"{b.title} {g.legend}") for b, m in _engines() if m.failed),
            Query(g.increase("agent_errors_total", f"{g.graph}, {g.role}, status"),
                  f"NIXL {{{{status}}}} {g.legend}"),
        ), unit="short", width=24,
            description="vLLM's NIXL connector counts failed transfers. NIXL's own error counter is exported by "
                        "NIXL v1.3.1 (TensorRT-LLM's, in Dynamo 1.4.2) and not by v1.3.0 (SGLang's) or v1.3.2 "
                        "(vLLM's): an SGLang graph's failed transfers show in its logs only."),
    ))
    engine_panels = [panel for b, m in _engines() for panel in (
        Panel(f"{b.title} {m.latency_title}", (
            Query(g.quantile(0.5, m.latency), f"p50 {per_graph}"),
            Query(g.quantile(0.95, m.latency), f"p95 {per_graph}"),
        ), unit="s"),
        Panel(f"{b.title} KV bytes per second", (Query(g.rate(m.bytes_sum), g.legend),), unit="Bps"))]
    engines = Row("KV transfer: engines and router", (
        *engine_panels,
        Panel("KV transfer latency the router estimates", (
            Query(g.quantile(0.95, "dynamo_component_router_kv_transfer_estimated_latency_seconds"),
                  f"p95 {per_graph}"),), unit="s", width=24,
              description="The KV router's estimate when it weighs moving a cache against recomputing it."),
    ))
    router = Row("KV router", (
        Panel("Predicted KV-cache hit rate", (
            Query(g.mean("dynamo_component_router_kv_hit_rate"), f"mean {per_graph}"),
            Query(g.quantile(0.5, "dynamo_component_router_kv_hit_rate"), f"p50 {per_graph}"),
        ), unit="percentunit", minimum=0, maximum=1,
            description="The share of a request's blocks the router expects the chosen worker to hold (overlap at "
                        "routing time)."),
        Panel("Cached tokens per request", (Query(g.mean("dynamo_frontend_cached_tokens"), f"mean {per_graph}"),),
              description="Prompt tokens served from a worker's prefix cache, per request."),
        Panel("Routed requests per second", (Query(g.rate("dynamo_component_router_requests_total", g.graph),
                                                   per_graph),), unit="reqps"),
        Panel("Routing overhead", (Query(g.quantile(0.95, "dynamo_router_overhead_total_ms"), f"p95 {per_graph}"),),
              unit="ms"),
    ))
    events = Row("Event plane: KV events", (
        Panel("KV events applied by the router", (Query(
            g.rate("dynamo_component_kv_cache_events_applied", f"{g.graph}, status"),
            f"{per_graph} {{{{status}}}}"),), unit="ops",
            description="Events the router's index applied; a status other than ok means the router's view of "
                        "a worker's cache diverged."),
        Panel("KV events published by workers", (Query(
            g.rate("dynamo_component_kv_publisher_zmq_events_total"), g.legend),), unit="ops"),
        Panel("KV events dropped by engines", (Query(
            g.increase("dynamo_component_kv_publisher_engines_dropped_events_total"), g.legend),),
            description="Gaps in the engine's event ids: the router misses those cache changes."),
        Panel("NATS transport errors", (Query(
            g.rate("dynamo_transport_nats_errors_total", f"{g.graph}, {g.role}, error_type"),
            f"{g.legend} {{{{error_type}}}}"),), unit="ops",
            description="Only when a plane runs over NATS."),
    ))
    requests = Row("Request plane", (
        Panel("In-flight requests on the request plane", (Query(
            g.gauge("dynamo_request_plane_inflight_requests"), g.legend),)),
        Panel("Queue and send time", (
            Query(g.quantile(0.95, "dynamo_request_plane_queue_seconds", f"{g.graph}, {g.role}"),
                  f"queue p95 {g.legend}"),
            Query(g.quantile(0.95, "dynamo_request_plane_send_seconds", f"{g.graph}, {g.role}"),
                  f"send p95 {g.legend}"),
        ), unit="s"),
        Panel("Round trip to first response", (Query(
            g.quantile(0.95, "dynamo_request_plane_roundtrip_ttft_seconds", f"{g.graph}, {g.role}"),
            f"p95 {g.legend}"),), unit="s"),
        Panel("TCP transport", (
            Query(g.rate("dynamo_transport_tcp_bytes_sent_total"), f"sent {g.legend}"),
            Query(g.rate("dynamo_transport_tcp_bytes_received_total"), f"received {g.legend}"),
        ), unit="Bps"),
        Panel("TCP transport errors", (Query(g.rate("dynamo_transport_tcp_errors_total"), g.legend),),
              unit="ops", width=24),
    ))
    planner = Row("Planner (when a graph runs one)", (
        Panel("Replicas: current and planned", (
            Query(g.gauge("dynamo_planner_num_prefill_replicas", g.graph), f"prefill {per_graph}"),
            Query(g.gauge("dynamo_planner_num_decode_replicas", g.graph), f"decode {per_graph}"),
            Query(g.gauge("dynamo_planner_predicted_num_prefill_replicas", g.graph), f"prefill planned {per_graph}"),
            Query(g.gauge("dynamo_planner_predicted_num_decode_replicas", g.graph), f"decode planned {per_graph}"),
        )),
        Panel("Load: observed and predicted", (
            Query(g.gauge("dynamo_planner_observed_requests_per_second", g.graph), f"observed {per_graph}"),
            Query(g.gauge("dynamo_planner_predicted_requests_per_second", g.graph), f"predicted {per_graph}"),
        ), unit="reqps"),
        Panel("Latency against the planner's targets", (
            Query(g.gauge("dynamo_planner_observed_ttft_ms", g.graph), f"TTFT {per_graph}"),
            Query(g.gauge("dynamo_planner_sla_target_ttft_ms", g.graph), f"TTFT target {per_graph}"),
            Query(g.gauge("dynamo_planner_observed_itl_ms", g.graph), f"ITL {per_graph}"),
            Query(g.gauge("dynamo_planner_sla_target_itl_ms", g.graph), f"ITL target {per_graph}"),
        ), unit="ms", width=24),
    ))
    by_exporter = "namespace, exporter"
    telemetry = Row("Telemetry: the OpenTelemetry collector", (
        Panel("Spans exported", (
            Query(f"sum by ({by_exporter}) (rate({metric('otelcol_exporter_sent_spans_total')}[{RATE}]))",
                  "sent {{exporter}}"),
            Query(f"sum by ({by_exporter}) (rate({metric('otelcol_exporter_send_failed_spans_total')}[{RATE}]))",
                  "failed {{exporter}}"),
        ), unit="ops"),
        Panel("Log records exported", (
            Query(f"sum by ({by_exporter}) (rate({metric('otelcol_exporter_sent_log_records_total')}[{RATE}]))",
                  "sent {{exporter}}"),
            Query(f"sum by ({by_exporter}) "
                  f"(rate({metric('otelcol_exporter_send_failed_log_records_total')}[{RATE}]))",
                  "failed {{exporter}}"),
        ), unit="ops"),
        Panel("Export queue fill", (Query(
            f"max by ({by_exporter}) ({metric('otelcol_exporter_queue_size')} / "
            f"{metric('otelcol_exporter_queue_capacity')})", "{{exporter}}"),),
            unit="percentunit", minimum=0, maximum=1, width=24,
            description="A full queue drops data: the backend is slower than the graphs produce traces and logs."),
    ))
    return Dashboard(
        uid="dynamo-datapath",
        title="Dynamo / Data path",
        description="KV-cache transfers between prefill and decode, the KV router and its events, the request "
                    "plane, the planner and the telemetry pipeline, per graph and role.",
        variables=(Variable("graph", "Graph", f'{metric("kube_pod_labels")}{{{g.graph}!=""}}', g.graph),),
        rows=(nixl, engines, router, events, requests, planner, telemetry),
    )
