"""Alert rules for etcd, NATS JetStream, the GPUs, the Dynamo frontend, the KV data path and the
telemetry pipeline, as one PrometheusRule.

Every rule carries a `severity` label, a `summary`, a `description` and a `runbook` annotation:
one line that says what to check first. Prometheus selects PrometheusRules from every namespace
without a release label (see observability_values), so the object needs no special label.

Rules about a graph find its pods through kube-state-metrics' `kube_pod_labels`, which carries the
graph and role labels every graph pod has; the graphs they watch are known at plan time
(`Observed`), and a rule that would watch no graph is left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from components.dynamo.backends import BACKENDS
from components.kit.kube import labels
from components.kit.ref import Ref
from components.observability.metrics_catalog import bucket, metric
from components.observability.observed import Observed, Thresholds

API_VERSION = "monitoring.coreos.com/v1"
RULE_NAME = "dynamo-cluster-alerts"

# XID codes that mean the GPU needs a reset or the node a drain (NVIDIA's XID catalogue):
# 48 double-bit ECC error, 63/64 row remapping pending/failed, 74 NVLink error, 79 GPU fallen off
# the bus, 92 high single-bit ECC rate, 94/95 contained/uncontained ECC error.
XIDS_NEEDING_RESET = (48, 63, 64, 74, 79, 92, 94, 95)


@dataclass(frozen=True)
class Rule:
    alert: str
    expr: str
    duration: str
    severity: str
    summary: str
    description: str
    runbook: str

    def to_json(self) -> dict[str, Any]:
        return {
            "alert": self.alert,
            "expr": self.expr,
            "for": self.duration,
            "labels": {"severity": self.severity},
            "annotations": {"summary": self.summary, "description": self.description, "runbook": self.runbook},
        }


def etcd_rules(observed: Observed, thresholds: Thresholds) -> list[Rule]:
    ns = observed.platform()
    members = observed.statefulset(observed.etcd_statefulsets)
    ready = f"{metric('kube_statefulset_status_replicas_ready')}{{{members}}}"
    desired = f"{metric('kube_statefulset_replicas')}{{{members}}}"
    return [
        Rule("EtcdNoLeader", f"{metric('etcd_server_has_leader')}{{{ns}}} == 0", "1m", "critical",
             "etcd member {{ $labels.pod }} has no leader",
             "Member {{ $labels.pod }} sees no leader: it serves no writes, and Dynamo discovery and leases stall.",
             "Check that the members reach each other on the peer port (2380) and `etcdctl endpoint status "
             "--cluster`; if a majority is down, restore members before anything else."),
        Rule("EtcdMemberDown", f"{ready} < {desired}", "3m", "warning",
             "etcd StatefulSet {{ $labels.statefulset }} has members that are not ready",
             "{{ $value }} of the desired etcd members are ready.",
             "`kubectl -n " + observed.platform_namespace + " describe pod` the unready member: scheduling, "
             "its PVC and the probe results; then `etcdctl endpoint health --cluster`."),
        Rule("EtcdQuorumAtRisk", f"{ready} <= floor({desired} / 2) + 1 and {desired} >= 3", "1m", "critical",
             "etcd StatefulSet {{ $labels.statefulset }} is one failure from losing quorum",
             "Only {{ $value }} members are ready: losing one more stops every write.",
             "Bring the missing members back before any node drain or upgrade; do not delete member PVCs. "
             "If quorum is already lost, follow the etcd disaster-recovery procedure from a snapshot."),
        Rule("EtcdDatabaseNearQuota",
             f"{metric('etcd_mvcc_db_total_size_in_bytes')}{{{ns}}} / "
             f"{metric('etcd_server_quota_backend_bytes')}{{{ns}}} > {thresholds.etcd_quota_ratio:g}",
             "10m", "warning",
             "etcd member {{ $labels.pod }} database is near its backend quota",
             "The database uses {{ $value | humanizePercentage }} of the quota; at 100% etcd raises a NOSPACE "
             "alarm and refuses writes.",
             "Check auto-compaction, run `etcdctl defrag` member by member, then `etcdctl alarm disarm` if an "
             "alarm was raised; raise the quota if the keyspace really grew."),
    ]


def nats_rules(observed: Observed, thresholds: Thresholds) -> list[Rule]:
    ns = observed.platform()
    servers = observed.statefulset(observed.nats_statefulsets)
    stored = f"{metric('nats_server_total_message_bytes')}{{{ns}}}"
    limit = f"{metric('nats_server_max_storage')}{{{ns}}}"
    return [
        Rule("NatsServerDown",
             f"{metric('kube_statefulset_status_replicas_ready')}{{{servers}}} < "
             f"{metric('kube_statefulset_replicas')}{{{servers}}}", "2m", "critical",
             "NATS StatefulSet {{ $labels.statefulset }} has servers that are not ready",
             "{{ $value }} NATS servers are ready; JetStream streams with replicas there lose redundancy or "
             "stop accepting messages.",
             "`kubectl -n " + observed.platform_namespace + " logs` the unready server and check its JetStream "
             "PVC; `nats server report jetstream` shows which streams lost their leader."),
        Rule("JetStreamStorageHigh",
             f"{stored} / {limit} > {thresholds.jetstream_storage_ratio:g} and {limit} > 0", "10m", "warning",
             "JetStream storage on {{ $labels.server_name }} is over "
             f"{thresholds.jetstream_storage_ratio:.0%}",
             "JetStream uses {{ $value | humanizePercentage }} of its storage limit; when full, publishes to "
             "file-backed streams fail.",
             "Find the largest streams on the NATS dashboard, check their limits (max bytes, max age); grow the "
             "JetStream PVC and max file store together if the data is wanted."),
    ]


def gpu_rules(thresholds: Thresholds) -> list[Rule]:
    xid = metric("DCGM_FI_DEV_XID_ERRORS")
    per_gpu = "Hostname, gpu, UUID"
    needing_reset = " or ".join(f"{xid} == {code}" for code in XIDS_NEEDING_RESET)
    return [
        Rule("GpuXidError", f"max by ({per_gpu}) ({xid}) > 0", "1m", "warning",
             "GPU {{ $labels.gpu }} on {{ $labels.Hostname }} reported XID {{ $value }}",
             "The GPU reported an XID error; its code says whether the application, the driver or the "
             "hardware is at fault.",
             "Look the code up in NVIDIA's XID catalogue and read `dmesg` on the node; application XIDs "
             "(13, 31, 43) point at the workload, others at the GPU or driver."),
        Rule("GpuXidNeedsReset", f"max by ({per_gpu}) ({needing_reset})", "1m", "critical",
             "GPU {{ $labels.gpu }} on {{ $labels.Hostname }} reported XID {{ $value }}, which needs a reset",
             "XID {{ $value }} means uncorrectable memory, NVLink or bus trouble: work on this GPU is unreliable.",
             "Cordon and drain the node, reset the GPU or reboot the node; replace the instance if the error "
             "comes back."),
        Rule("GpuTemperatureHigh",
             f"max by ({per_gpu}) ({metric('DCGM_FI_DEV_GPU_TEMP')}) > {thresholds.gpu_temperature_celsius}",
             "5m", "warning",
             "GPU {{ $labels.gpu }} on {{ $labels.Hostname }} runs at {{ $value }} C",
             f"Above {thresholds.gpu_temperature_celsius} C the GPU throttles its clocks and latency rises.",
             "Compare with the other GPUs of the node on the GPU dashboard: one hot GPU points at its cooling, "
             "all hot at the node or the room; report it to the provider if it persists."),
    ]


def frontend_rules(thresholds: Thresholds) -> list[Rule]:
    requests = metric("dynamo_frontend_requests_total")
    by = "namespace, model"
    errors = f'sum by ({by}) (rate({requests}{{status="error"}}[5m]))'
    total = f"sum by ({by}) (rate({requests}[5m]))"
    ttft = (f"histogram_quantile(0.95, sum by ({by}, le) "
            f"(rate({bucket('dynamo_frontend_time_to_first_token_seconds')}[5m])))")
    return [
        Rule("DynamoFrontendErrorRateHigh", f"{errors} / {total} > {thresholds.frontend_error_ratio:g}", "10m",
             "critical",
             "Model {{ $labels.model }} fails {{ $value | humanizePercentage }} of its requests",
             f"More than {thresholds.frontend_error_ratio:.1%} of the frontend's requests for the model end "
             "with an error.",
             "Check the workers of the model on the Workers dashboard (are they up and registered?), then the "
             "frontend and worker logs for the error type."),
        Rule("DynamoFrontendTtftSloBreached", f"{ttft} > {thresholds.ttft_p95_seconds:g}", "10m", "warning",
             "Model {{ $labels.model }}: time to first token p95 is {{ $value | humanizeDuration }}",
             f"The 95th percentile of time to first token is above the SLO of {thresholds.ttft_p95_seconds:g} s.",
             "Look at queued requests and prefill queues on the Workers dashboard: scale prefill workers when "
             "they queue, check KV-cache usage and GPU utilisation when they do not."),
    ]


def per_graph(observed: Observed, series: str, graphs: tuple[str, ...], role: str | None = None) -> str:
    """`series` (an instant vector with `namespace` and `pod`) summed per graph, for the pods of
    `graphs` (and `role`); the result carries `namespace` and the graph label."""
    graph = observed.graph_series_label
    matchers = [f'{graph}=~"{"|".join(graphs)}"']
    if role is not None:
        matchers.append(f'{observed.role_series_label}="{role}"')
    pods = f"max by (namespace, pod, {graph}) ({metric('kube_pod_labels')}{{{', '.join(matchers)}}})"
    return f"sum by (namespace, {graph}) ({series} * on (namespace, pod) group_left ({graph}) {pods})"


def engine_series(kind: Literal["failed", "bytes_sum"]) -> list[str]:
    """The engines' own transfer series of one kind (failed transfers, bytes moved), from their profiles."""
    out = []
    for backend in BACKENDS.values():
        metrics = backend.transfer_metrics
        name = None if metrics is None else metrics.failed if kind == "failed" else metrics.bytes_sum
        if name is not None:
            out.append(name)
    return out


def datapath_rules(observed: Observed) -> list[Rule]:
    """KV transfers between prefill and decode, and the KV events a KV router routes by."""
    graph = observed.graph_series_label
    failed = " or ".join(f"sum by (namespace, pod) (increase({metric(name)}[5m])) > 0"
                         for name in (*engine_series("failed"), "agent_errors_total"))
    rules = [
        Rule("NixlTransfersFailing", failed, "1m", "warning",
             "KV transfers fail in pod {{ $labels.pod }}",
             "NIXL reported failed KV-cache transfers in the last 5 minutes (vLLM's failed-transfer counter, or "
             "NIXL's own error counter where the NIXL release exports one): the requests concerned are retried "
             "or fail.",
             "Read the worker's log for the NIXL error and the transfer backend it chose (LIBFABRIC on EFA, UCX "
             "otherwise); check that prefill and decode pods reach each other and that no EFA device is down."),
    ]
    if observed.kv_transfer_graphs:
        graphs = observed.kv_transfer_graphs
        serving = per_graph(observed, f"rate({metric('dynamo_frontend_requests_total')}[10m])", graphs, "frontend")
        moved = " or ".join(
            f"({per_graph(observed, f'rate({name}[10m])', graphs)} > 0)"
            for name in (metric("agent_tx_bytes_total"), metric("agent_rx_bytes_total"),
                         *(metric(series) for series in engine_series("bytes_sum"))))
        rules.append(Rule(
            "DisaggGraphMovesNoKvBytes", f"({serving} > 0) unless on (namespace, {graph}) ({moved})", "15m", "warning",
            f"Graph {{{{ $labels.{graph} }}}} serves requests but moves no KV cache",
            "The disaggregated graph's frontend has served requests for 15 minutes while no worker reported KV "
            "bytes transferred: prefill results are not reaching decode through NIXL (decode prefills itself, "
            "or transfers stall), or the NIXL telemetry is not scraped.",
            "Check the data-path dashboard for the graph, the workers' NIXL backend in their logs and the NIXL "
            "telemetry targets in Prometheus; a graph whose prompts are all short may legitimately skip transfers."))
    if observed.kv_event_graphs:
        graphs = observed.kv_event_graphs
        serving = per_graph(observed, f"rate({metric('dynamo_frontend_requests_total')}[10m])", graphs, "frontend")
        applied = per_graph(observed, f"rate({metric('dynamo_component_kv_cache_events_applied')}[10m])", graphs)
        rules.append(Rule(
            "KvEventsStalled", f"({serving} > 0) unless on (namespace, {graph}) ({applied} > 0)", "10m", "warning",
            f"The KV router of graph {{{{ $labels.{graph} }}}} gets no KV events",
            "The graph routes by KV-cache overlap and serves requests, but its router applied no KV event for 10 "
            "minutes: it routes on a stale view of what each worker caches, and cache hits drop.",
            "Check the event plane (NATS when it carries events: the platform dashboard; ZMQ: the workers' "
            "publisher counters on the data-path dashboard) and the workers' logs for KV-event publisher errors."))
    return rules


def telemetry_rules() -> list[Rule]:
    """The OpenTelemetry collector that carries Dynamo's traces to Tempo and its logs to Loki."""
    by = "namespace, pod, exporter"
    failed = (f"sum by ({by}) (rate({metric('otelcol_exporter_send_failed_spans_total')}[5m])) > 0 or "
              f"sum by ({by}) (rate({metric('otelcol_exporter_send_failed_log_records_total')}[5m])) > 0")
    return [
        Rule("OtelCollectorExportFailing", failed, "10m", "warning",
             "The OpenTelemetry collector fails to export through {{ $labels.exporter }}",
             "For 10 minutes the collector has failed to send spans or log records: traces or logs of Dynamo "
             "requests are being lost.",
             "Check that Tempo (traces) or Loki (logs) is up and accepts data: the collector's log names the "
             "error; Loki refuses OTLP logs without structured metadata or past its ingestion limits."),
    ]


def rule_groups(observed: Observed, thresholds: Thresholds) -> list[dict[str, Any]]:
    groups = {
        "dynamo-cluster.etcd": etcd_rules(observed, thresholds),
        "dynamo-cluster.nats": nats_rules(observed, thresholds),
        "dynamo-cluster.gpu": gpu_rules(thresholds),
        "dynamo-cluster.frontend": frontend_rules(thresholds),
        "dynamo-cluster.datapath": datapath_rules(observed),
        "dynamo-cluster.telemetry": telemetry_rules(),
    }
    return [{"name": name, "rules": [r.to_json() for r in rules]} for name, rules in groups.items()]


def prometheus_rule(observed: Observed, thresholds: Thresholds, namespace: Ref) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "PrometheusRule",
        "metadata": {"name": RULE_NAME, "namespace": namespace, "labels": labels(RULE_NAME, "observability")},
        "spec": {"groups": rule_groups(observed, thresholds)},
    }
