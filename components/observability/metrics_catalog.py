"""The metric names this project's dashboards, alert rules and datasource links may use.

One list, grouped by who exports the series. A test parses every dashboard query and alert rule
with a PromQL parser and fails when one names a series that is not here, so a renamed metric is
caught in review instead of showing up as an empty panel. Histograms are listed by family; their
``_bucket``, ``_sum`` and ``_count`` series are derived.

Each group says where its names were read. Label facts the queries rely on are noted too.
"""

from __future__ import annotations

from collections.abc import Iterable

# Dynamo frontend (the OpenAI-compatible HTTP service, `python -m dynamo.frontend`).
# Read from shared/reference/dynamo/deploy/observability (grafana_dashboards/dynamo.json,
# disagg-dashboard.json and the k8s/ dashboard ConfigMaps) and from Dynamo's metric name table
# lib/runtime/src/metrics/prometheus_names.rs (module `frontend_service`). Labels: `model` on
# every series; `status` is `success` or `error` on requests_total; `worker_type` on the router
# queue gauge; `worker_id` and `dp_rank` on the per-worker gauges.
DYNAMO_FRONTEND_COUNTERS = (
    "dynamo_frontend_requests_total",
    "dynamo_frontend_output_tokens_total",
)
DYNAMO_FRONTEND_GAUGES = (
    "dynamo_frontend_inflight_requests",
    "dynamo_frontend_queued_requests",
    "dynamo_frontend_worker_active_prefill_tokens",
    "dynamo_frontend_worker_active_decode_blocks",
    "dynamo_frontend_router_queue_pending_requests",
)
DYNAMO_FRONTEND_HISTOGRAMS = (
    "dynamo_frontend_time_to_first_token_seconds",
    "dynamo_frontend_inter_token_latency_seconds",
    "dynamo_frontend_request_duration_seconds",
    "dynamo_frontend_input_sequence_tokens",
    "dynamo_frontend_output_sequence_tokens",
)

# Dynamo workers (every backend component's system port, DYN_SYSTEM_PORT).
# Read from the same reference dashboards (disagg-dashboard.json: request rate and duration per
# `dynamo_component`, `dynamo_component_gpu_cache_usage_percent`, `dynamo_component_total_blocks`)
# and prometheus_names.rs (modules `work_handler` and `kvstats`). Labels: `dynamo_namespace`,
# `dynamo_component` (the worker group, e.g. prefill or backend), `dynamo_endpoint`.
DYNAMO_WORKER_COUNTERS = (
    "dynamo_component_requests_total",
    "dynamo_component_errors_total",
    "dynamo_component_request_bytes_total",
    "dynamo_component_response_bytes_total",
)
DYNAMO_WORKER_GAUGES = (
    "dynamo_component_inflight_requests",
    "dynamo_component_gpu_cache_usage_percent",
    "dynamo_component_total_blocks",
)
DYNAMO_WORKER_HISTOGRAMS = (
    "dynamo_component_request_duration_seconds",
)

# NVIDIA DCGM exporter, as the GPU operator deploys it.
# Read from shared/reference/charts/dcgm-exporter/values.yaml (its commented default counter
# list), shared/reference/dynamo/deploy/observability/k8s/dcgm-metrics-with-nvlink.csv and the
# reference dcgm-metrics.json / disagg-dashboard.json. Units: temperatures in C, power in W,
# framebuffer in MiB, utilisation in percent. Labels: `gpu`, `UUID`, `modelName` and `Hostname`
# (the node name: the GPU operator passes NODE_NAME to the exporter). NVLink series exist only on
# GPUs with NVLink and only when the exporter's counter list includes them.
DCGM = (
    "DCGM_FI_DEV_GPU_UTIL",
    "DCGM_FI_DEV_MEM_COPY_UTIL",
    "DCGM_FI_DEV_FB_USED",
    "DCGM_FI_DEV_FB_FREE",
    "DCGM_FI_DEV_POWER_USAGE",
    "DCGM_FI_DEV_GPU_TEMP",
    "DCGM_FI_DEV_MEMORY_TEMP",
    "DCGM_FI_DEV_XID_ERRORS",
    "DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL",
    "DCGM_FI_PROF_NVLINK_TX_BYTES",
    "DCGM_FI_PROF_NVLINK_RX_BYTES",
)

# NATS server through the nats chart's promExporter sidecar (prometheus-nats-exporter).
# The chart (shared/reference/charts/nats/values.yaml, `promExporter`, port 7777) runs the exporter
# with `-prefix=nats -varz -jsz=all`, so /varz numbers become `nats_varz_<field>` and the JetStream
# collector's names (collector/jsz.go of nats-io/prometheus-nats-exporter) become
# `nats_server_*`, `nats_stream_*` and `nats_consumer_*`. Labels: `server_id` on every series;
# `server_name`, `stream_name`, `consumer_name` on the JetStream ones. Byte values are bytes.
NATS = (
    "nats_varz_connections",
    "nats_varz_slow_consumers",
    "nats_varz_in_msgs",
    "nats_varz_out_msgs",
    "nats_varz_in_bytes",
    "nats_varz_out_bytes",
    "nats_varz_mem",
    "nats_server_jetstream_disabled",
    "nats_server_total_streams",
    "nats_server_total_consumers",
    "nats_server_total_messages",
    "nats_server_total_message_bytes",
    "nats_server_max_storage",
    "nats_stream_total_bytes",
    "nats_stream_total_messages",
    "nats_consumer_num_pending",
    "nats_consumer_num_ack_pending",
)

# etcd server (our StatefulSet's /metrics on the metrics port, 2381).
# `etcd_server_has_leader` is read from shared/reference/charts/etcd/values.yaml (its example
# PrometheusRule); the others are from etcd's own metric definitions (server/etcdserver/metrics.go,
# server/storage/mvcc/metrics.go, server/storage/wal/metrics.go, server/storage/backend/metrics.go).
ETCD_COUNTERS_AND_GAUGES = (
    "etcd_server_has_leader",
    "etcd_server_is_leader",
    "etcd_server_leader_changes_seen_total",
    "etcd_server_proposals_failed_total",
    "etcd_server_proposals_pending",
    "etcd_server_quota_backend_bytes",
    "etcd_mvcc_db_total_size_in_bytes",
)
ETCD_HISTOGRAMS = (
    "etcd_disk_wal_fsync_duration_seconds",
    "etcd_disk_backend_commit_duration_seconds",
)

# Kubernetes object state from kube-state-metrics (a kube-prometheus-stack dependency) and
# Prometheus' own per-target `up`. Used to count NATS/etcd members that are not ready and to map
# GPU nodes to pools (`kube_node_labels` carries `label_<node label>` for the node labels allowed
# by kube-state-metrics' metricLabelsAllowlist, which the observability values set).
KUBERNETES = (
    "up",
    "kube_statefulset_replicas",
    "kube_statefulset_status_replicas_ready",
    "kube_node_labels",
)

# Tempo's metrics generator (span-metrics and service-graphs processors), remote-written into
# Prometheus; only the Grafana Tempo datasource's trace-to-metrics queries use them.
TEMPO_GENERATED_COUNTERS = (
    "traces_spanmetrics_calls_total",
    "traces_service_graph_request_total",
)
TEMPO_GENERATED_HISTOGRAMS = (
    "traces_spanmetrics_latency",
)

HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def _expand(histograms: Iterable[str]) -> tuple[str, ...]:
    return tuple(family + suffix for family in histograms for suffix in HISTOGRAM_SUFFIXES)


HISTOGRAMS = frozenset(DYNAMO_FRONTEND_HISTOGRAMS + DYNAMO_WORKER_HISTOGRAMS + ETCD_HISTOGRAMS
                       + TEMPO_GENERATED_HISTOGRAMS)

KNOWN: frozenset[str] = frozenset(
    DYNAMO_FRONTEND_COUNTERS + DYNAMO_FRONTEND_GAUGES + DYNAMO_WORKER_COUNTERS + DYNAMO_WORKER_GAUGES
    + DCGM + NATS + ETCD_COUNTERS_AND_GAUGES + KUBERNETES + TEMPO_GENERATED_COUNTERS
    + _expand(HISTOGRAMS)
)


def metric(name: str) -> str:
    """`name`, checked against the catalog: builders spell every series through this."""
    if name not in KNOWN:
        raise KeyError(f"metric {name!r} is not in components/observability/metrics_catalog.py")
    return name


def bucket(family: str) -> str:
    """The ``_bucket`` series of a histogram family in the catalog."""
    if family not in HISTOGRAMS:
        raise KeyError(f"histogram {family!r} is not in components/observability/metrics_catalog.py")
    return family + "_bucket"
