"""The metric names this project's dashboards, alert rules and datasource links may use.

One list of groups, each by who exports its series and each saying where its names were read; an
engine's own KV-transfer series come from its backend's profile (`groups`). A
test parses every dashboard query and alert rule with a PromQL parser and fails when one names a
series that is not here, and another fails when a group cites no source, so a renamed metric is
caught in review instead of showing up as an empty panel. Histograms are listed by family; their
``_bucket``, ``_sum`` and ``_count`` series are derived.

Dynamo's names are those of release 1.4 (ai-dynamo/dynamo at cdf9267d, the commit the 1.4 reference
copies; `D14` below). Series register lazily: a family appears only after the first event that
fills it, so an empty panel can mean "nothing happened yet" as well as "not exported".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from components.dynamo.backends import BACKENDS
from components.dynamo.backends.base import TransferMetrics

HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


@dataclass(frozen=True)
class Group:
    """Series of one exporter: `source` says where the names were read, `labels` what queries rely on."""

    exporter: str
    source: str
    names: tuple[str, ...] = ()  # counters and gauges, as exposed (counters with their suffix)
    histograms: tuple[str, ...] = ()
    labels: str = ""
    # Whether the conformance suite's mocker graphs run this exporter (the Dynamo frontend, router
    # and worker runtime): then every name not in `conditional` must be exposed after a few requests.
    served_here: bool = False
    # Names that appear only under a condition those graphs do not meet: name -> the condition.
    conditional: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.source.strip():
            raise ValueError(f"metric group {self.exporter!r} cites no source")
        if not (self.names or self.histograms):
            raise ValueError(f"metric group {self.exporter!r} is empty")
        unknown = set(self.conditional) - set(self.names) - set(self.histograms)
        if unknown:
            raise ValueError(f"metric group {self.exporter!r}: conditional names it does not list: {sorted(unknown)}")

    def series(self) -> tuple[str, ...]:
        """Every series name of the group, histogram series expanded."""
        return self.names + _expand(self.histograms)


def _expand(histograms: Iterable[str]) -> tuple[str, ...]:
    return tuple(family + suffix for family in histograms for suffix in HISTOGRAM_SUFFIXES)


GROUPS: tuple[Group, ...] = (
    Group(
        "Dynamo frontend (`python -m dynamo.frontend`, HTTP port)",
        source="D14 docs/fern/reference/observability/metrics-catalog.mdx, checked against "
               "lib/llm/src/http/service/metrics.rs (labels), lib/runtime/src/metrics/frontend_perf.rs "
               "(stage_requests) and lib/llm/src/kv_router/metrics.rs (worker and router queue gauges); "
               "requests_total and stage_requests also in shared/reference/dynamo-1.4/docs/fern/kubernetes/"
               "observability/metrics.mdx:105-117",
        names=("dynamo_frontend_requests_total", "dynamo_frontend_output_tokens_total",
               "dynamo_frontend_model_rejection_total", "dynamo_frontend_active_requests",
               "dynamo_frontend_stage_requests", "dynamo_frontend_worker_active_prefill_tokens",
               "dynamo_frontend_worker_active_decode_blocks", "dynamo_frontend_router_queue_pending_requests"),
        histograms=("dynamo_frontend_time_to_first_token_seconds", "dynamo_frontend_inter_token_latency_seconds",
                    "dynamo_frontend_request_duration_seconds", "dynamo_frontend_input_sequence_tokens",
                    "dynamo_frontend_output_sequence_tokens", "dynamo_frontend_cached_tokens"),
        labels="`model` on the per-model series; `status` (success, error) on requests_total; `stage` "
               "(preprocess, route, dispatch) on stage_requests; `worker_id`, `dp_rank`, `worker_type` on the "
               "per-worker gauges; `worker_type` on the router queue gauge, registered only with a queue threshold",
        served_here=True,
        conditional={"dynamo_frontend_model_rejection_total": "only once the frontend rejects a request "
                                                                "(every worker busy)"},
    ),
    Group(
        "Dynamo workers (every backend component's system port, DYN_SYSTEM_PORT)",
        source="D14 docs/fern/reference/observability/metrics-catalog.mdx (requests, errors, bytes, in-flight, "
               "duration) and components/src/dynamo/common/utils/prometheus.py:355-405 (the KV-cache gauges the "
               "backends set; the 1.4 catalog page does not list them)",
        names=("dynamo_component_requests_total", "dynamo_component_errors_total",
               "dynamo_component_request_bytes_total", "dynamo_component_response_bytes_total",
               "dynamo_component_inflight_requests", "dynamo_component_gpu_cache_usage_percent",
               "dynamo_component_total_blocks"),
        histograms=("dynamo_component_request_duration_seconds",),
        labels="`dynamo_namespace`, `dynamo_component` (prefill, backend, ...), `dynamo_endpoint`",
        served_here=True,
        conditional={
            "dynamo_component_errors_total": "only once a request fails in a worker",
            "dynamo_component_gpu_cache_usage_percent": "set by the vLLM, SGLang and TensorRT-LLM workers' Python "
                                                        "handlers, not by the mocker",
            "dynamo_component_total_blocks": "set by the vLLM, SGLang and TensorRT-LLM workers' Python handlers, "
                                             "not by the mocker",
        },
    ),
    Group(
        "Dynamo KV router (the frontend with --router-mode kv)",
        source="D14 docs/fern/reference/observability/metrics-catalog.mdx:257-335 and "
               "lib/llm/src/kv_router/metrics.rs:860-933 (router_* series), :677-716 (router overhead)",
        names=("dynamo_component_router_requests_total", "dynamo_component_kv_cache_events_applied"),
        histograms=("dynamo_component_router_kv_hit_rate",
                    "dynamo_component_router_kv_transfer_estimated_latency_seconds",
                    "dynamo_router_overhead_total_ms"),
        labels="kv_hit_rate is the predicted overlap (0 to 1) at routing time; kv_cache_events_applied has "
               "`status` and `event_type` and exists only when workers publish KV events; without KV routing "
               "the router_* series stay zero and the overhead histogram is not registered",
        served_here=True,
    ),
    Group(
        "Dynamo KV event publishers (workers)",
        source="D14 lib/llm/src/kv_router/metrics.rs:108-122",
        names=("dynamo_component_kv_publisher_engines_dropped_events_total",
               "dynamo_component_kv_publisher_zmq_events_total"),
        labels="the component hierarchy; `stage`, `event_type` on zmq_events_total",
        served_here=True,
        conditional={"dynamo_component_kv_publisher_zmq_events_total": "only where a worker relays an engine's "
                                                                       "ZMQ KV events (vLLM, SGLang); the mocker "
                                                                       "publishes its own"},
    ),
    Group(
        "Dynamo request plane and transports (the runtime in every Dynamo process)",
        source="D14 lib/runtime/src/metrics/request_plane.rs:13-63 and lib/runtime/src/metrics/"
               "transport_metrics.rs:12-53",
        names=("dynamo_transport_tcp_bytes_sent_total", "dynamo_transport_tcp_bytes_received_total",
               "dynamo_transport_tcp_errors_total", "dynamo_transport_nats_errors_total",
               "dynamo_request_plane_inflight_requests"),
        histograms=("dynamo_request_plane_queue_seconds", "dynamo_request_plane_send_seconds",
                    "dynamo_request_plane_roundtrip_ttft_seconds"),
        labels="none of their own (`error_type` on nats_errors_total); the scrape adds `namespace` and `pod`",
        served_here=True,
        conditional={"dynamo_transport_nats_errors_total": "only once a NATS operation fails"},
    ),
    Group(
        "Dynamo planner (when a graph runs one)",
        source="D14 components/src/dynamo/planner/monitoring/planner_metrics.py:6-260",
        names=("dynamo_planner_num_prefill_replicas", "dynamo_planner_num_decode_replicas",
               "dynamo_planner_predicted_num_prefill_replicas", "dynamo_planner_predicted_num_decode_replicas",
               "dynamo_planner_observed_requests_per_second", "dynamo_planner_predicted_requests_per_second",
               "dynamo_planner_observed_ttft_ms", "dynamo_planner_observed_itl_ms",
               "dynamo_planner_sla_target_ttft_ms", "dynamo_planner_sla_target_itl_ms"),
    ),
    Group(
        "NIXL telemetry (the NIXL library inside the workers, its own port)",
        source="ai-dynamo/nixl v1.3.2 src/plugins/telemetry/prometheus/prometheus_exporter.cpp:119-147 (the "
               "counters; v1.3.0 has the same); v1.3.1 src/core/telemetry/telemetry_event.h:199-245 "
               "(agent_errors_total, which v1.3.0 and v1.3.2 do not export)",
        names=("agent_tx_bytes_total", "agent_rx_bytes_total", "agent_tx_requests_num_total",
               "agent_rx_requests_num_total", "agent_xfer_time_total", "agent_errors_total"),
        labels="`hostname`, `agent_name`; `status` on agent_errors_total; xfer_time_total is in microseconds; "
               "Dynamo 1.4.2 ships NIXL v1.3.2 with vLLM, v1.3.1 with TensorRT-LLM, v1.3.0 with SGLang",
    ),
    Group(
        "OpenTelemetry collector (its own metrics, port 8888)",
        source="open-telemetry/opentelemetry-collector exporter/exporterhelper/documentation.md (generated by "
               "mdatagen, at 05ada2d2): monotonic sums, which the collector's Prometheus reader exposes with "
               "the `_total` suffix",
        names=("otelcol_exporter_sent_spans_total", "otelcol_exporter_send_failed_spans_total",
               "otelcol_exporter_sent_log_records_total", "otelcol_exporter_send_failed_log_records_total",
               "otelcol_exporter_queue_size", "otelcol_exporter_queue_capacity"),
        labels="`exporter` (the exporter id, e.g. otlp_grpc/tempo)",
    ),
    Group(
        "NVIDIA DCGM exporter, as the GPU operator deploys it",
        source="shared/reference/charts/dcgm-exporter/values.yaml (its commented default counter list), "
               "shared/reference/dynamo/deploy/observability/k8s/dcgm-metrics-with-nvlink.csv and the reference "
               "dcgm-metrics.json / disagg-dashboard.json",
        names=("DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_MEM_COPY_UTIL", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE",
               "DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_DEV_GPU_TEMP", "DCGM_FI_DEV_MEMORY_TEMP", "DCGM_FI_DEV_XID_ERRORS",
               "DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL", "DCGM_FI_PROF_NVLINK_TX_BYTES", "DCGM_FI_PROF_NVLINK_RX_BYTES"),
        labels="`gpu`, `UUID`, `modelName`, `Hostname` (the node name); temperatures in C, power in W, "
               "framebuffer in MiB, utilisation in percent; NVLink series only on GPUs with NVLink",
    ),
    Group(
        "NATS server through the nats chart's promExporter sidecar (prometheus-nats-exporter)",
        source="shared/reference/charts/nats/values.yaml (`promExporter`, port 7777, `-prefix=nats -varz "
               "-jsz=all`): /varz numbers become nats_varz_<field>, the JetStream collector's names "
               "(collector/jsz.go of nats-io/prometheus-nats-exporter) nats_server_*, nats_stream_*, "
               "nats_consumer_*",
        names=("nats_varz_connections", "nats_varz_slow_consumers", "nats_varz_in_msgs", "nats_varz_out_msgs",
               "nats_varz_in_bytes", "nats_varz_out_bytes", "nats_varz_mem", "nats_server_jetstream_disabled",
               "nats_server_total_streams", "nats_server_total_consumers", "nats_server_total_messages",
               "nats_server_total_message_bytes", "nats_server_max_storage", "nats_stream_total_bytes",
               "nats_stream_total_messages", "nats_consumer_num_pending", "nats_consumer_num_ack_pending"),
        labels="`server_id` on every series; `server_name`, `stream_name`, `consumer_name` on the JetStream ones",
    ),
    Group(
        "etcd server (our StatefulSet's /metrics on the metrics port, 2381)",
        source="etcd_server_has_leader: shared/reference/charts/etcd/values.yaml (its example PrometheusRule); "
               "the others: etcd's server/etcdserver/metrics.go, server/storage/mvcc/metrics.go, "
               "server/storage/wal/metrics.go, server/storage/backend/metrics.go",
        names=("etcd_server_leader_changes_seen_total", "etcd_server_proposals_failed_total",
               "etcd_server_has_leader", "etcd_server_is_leader", "etcd_server_proposals_pending",
               "etcd_server_quota_backend_bytes", "etcd_mvcc_db_total_size_in_bytes"),
        histograms=("etcd_disk_wal_fsync_duration_seconds", "etcd_disk_backend_commit_duration_seconds"),
    ),
    Group(
        "Kubernetes object state (kube-state-metrics) and Prometheus' per-target `up`",
        source="kube-state-metrics docs/metrics/workload/statefulset-metrics.md, pod-metrics.md and "
               "cluster/node-metrics.md; `up` is Prometheus' own",
        names=("up", "kube_statefulset_replicas", "kube_statefulset_status_replicas_ready", "kube_node_labels",
               "kube_pod_labels"),
        labels="kube_node_labels and kube_pod_labels carry `label_<key>` for the label keys allowed by "
               "kube-state-metrics' metricLabelsAllowlist (the observability values allow the pool label on "
               "nodes and the graph and role labels on pods)",
    ),
    Group(
        "Tempo's metrics generator (span-metrics and service-graphs processors, remote-written to Prometheus)",
        source="Grafana Tempo docs, metrics-from-traces: the span metrics processor (traces_spanmetrics_*) and "
               "the service graphs processor (traces_service_graph_*)",
        names=("traces_spanmetrics_calls_total", "traces_service_graph_request_total"),
        histograms=("traces_spanmetrics_latency",),
    ),
)



def engine_group(metrics: TransferMetrics) -> Group:
    """The catalog group of an engine's own KV-transfer series, from its backend's profile."""
    return Group(metrics.exporter, source=metrics.source,
                 names=(*([metrics.failed] if metrics.failed else []), *metrics.counters),
                 histograms=(metrics.latency, metrics.bytes), labels=metrics.labels)


def groups() -> tuple[Group, ...]:
    """Every group: the fixed ones, and one per backend whose engine publishes transfer metrics
    (`components.dynamo.backends`), after NIXL's own."""
    engines = tuple(engine_group(b.transfer_metrics) for b in BACKENDS.values() if b.transfer_metrics is not None)
    nixl = next(i for i, g in enumerate(GROUPS) if g.exporter.startswith("NIXL telemetry")) + 1
    return GROUPS[:nixl] + engines + GROUPS[nixl:]


def known() -> frozenset[str]:
    return frozenset(name for group in groups() for name in group.series())


def histograms() -> frozenset[str]:
    return frozenset(family for group in groups() for family in group.histograms)


def source_of(name: str) -> str:
    """Where the name of a catalogued series was read."""
    for group in groups():
        if name in group.series():
            return group.source
    raise KeyError(f"metric {name!r} is not in components/observability/metrics_catalog.py")


def metric(name: str) -> str:
    """`name`, checked against the catalog: builders spell every series through this."""
    if name not in known():
        raise KeyError(f"metric {name!r} is not in components/observability/metrics_catalog.py")
    return name


def bucket(family: str) -> str:
    """The ``_bucket`` series of a histogram family in the catalog."""
    if family not in histograms():
        raise KeyError(f"histogram {family!r} is not in components/observability/metrics_catalog.py")
    return family + "_bucket"
