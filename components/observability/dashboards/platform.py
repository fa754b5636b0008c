"""The platform dashboard: NATS JetStream and etcd health in the platform namespace."""

from __future__ import annotations

from components.observability.dashboards.builder import RATE, Dashboard, Panel, Query, Row, Threshold
from components.observability.metrics_catalog import bucket, metric
from components.observability.observed import Observed


def _members(observed: Observed, pattern: str) -> tuple[Query, ...]:
    selector = observed.statefulset(pattern)
    return (Query(f"sum({metric('kube_statefulset_status_replicas_ready')}{{{selector}}})", "ready"),
            Query(f"sum({metric('kube_statefulset_replicas')}{{{selector}}})", "desired"))


def platform_dashboard(observed: Observed, storage_ratio: float, quota_ratio: float) -> Dashboard:
    ns = observed.platform()
    nats = Row("NATS JetStream", (
        Panel("NATS servers", _members(observed, observed.nats_statefulsets), kind="stat", width=6, height=5),
        Panel("Client connections", (Query(f"sum by (server_id) ({metric('nats_varz_connections')}{{{ns}}})",
                                           "{{server_id}}"),), width=9, height=5),
        Panel("Slow consumers", (Query(f"sum by (server_id) ({metric('nats_varz_slow_consumers')}{{{ns}}})",
                                       "{{server_id}}"),), width=9, height=5),
        Panel("Messages per second", (
            Query(f"sum(rate({metric('nats_varz_in_msgs')}{{{ns}}}[{RATE}]))", "in"),
            Query(f"sum(rate({metric('nats_varz_out_msgs')}{{{ns}}}[{RATE}]))", "out"),
        ), unit="ops"),
        Panel("JetStream storage used", (Query(
            f"max by (server_name) ({metric('nats_server_total_message_bytes')}{{{ns}}} / "
            f"{metric('nats_server_max_storage')}{{{ns}}})", "{{server_name}}"),),
            unit="percentunit", minimum=0, maximum=1, thresholds=(Threshold(storage_ratio, "red"),),
            description="Bytes stored over the server's JetStream storage limit; the alert fires above the line."),
        Panel("Stream size", (Query(f"max by (stream_name) ({metric('nats_stream_total_bytes')}{{{ns}}})",
                                    "{{stream_name}}"),), unit="bytes"),
        Panel("Consumer backlog", (Query(
            f"max by (stream_name, consumer_name) ({metric('nats_consumer_num_pending')}{{{ns}}})",
            "{{stream_name}}/{{consumer_name}}"),)),
    ))
    etcd = Row("etcd", (
        Panel("Members", _members(observed, observed.etcd_statefulsets), kind="stat", width=6, height=5),
        Panel("Every member sees a leader", (Query(f"min({metric('etcd_server_has_leader')}{{{ns}}})", "has leader"),),
              kind="stat", width=6, height=5, minimum=0, maximum=1,
              description="1 when every member sees a leader; 0 means a member has none (no writes there)."),
        Panel("Leader changes in the last hour", (Query(
            f"sum(increase({metric('etcd_server_leader_changes_seen_total')}{{{ns}}}[1h]))", "changes"),),
            kind="stat", width=12, height=5),
        Panel("Proposals", (
            Query(f"sum(rate({metric('etcd_server_proposals_failed_total')}{{{ns}}}[{RATE}]))", "failed per second"),
            Query(f"sum({metric('etcd_server_proposals_pending')}{{{ns}}})", "pending"),
        )),
        Panel("Database size against the quota", (
            Query(f"max by (pod) ({metric('etcd_mvcc_db_total_size_in_bytes')}{{{ns}}} / "
                  f"{metric('etcd_server_quota_backend_bytes')}{{{ns}}})", "{{pod}}"),
        ), unit="percentunit", minimum=0, maximum=1, thresholds=(Threshold(quota_ratio, "red"),)),
        Panel("Disk latency, p99", (
            Query(f"histogram_quantile(0.99, sum by (pod, le) (rate("
                  f"{bucket('etcd_disk_wal_fsync_duration_seconds')}{{{ns}}}[{RATE}])))", "WAL fsync {{pod}}"),
            Query(f"histogram_quantile(0.99, sum by (pod, le) (rate("
                  f"{bucket('etcd_disk_backend_commit_duration_seconds')}{{{ns}}}[{RATE}])))",
                  "backend commit {{pod}}"),
        ), unit="s", width=24, description="etcd wants WAL fsyncs well under 10 ms; slow disks cause elections."),
    ))
    return Dashboard(
        uid="dynamo-platform",
        title="Dynamo / NATS and etcd",
        description=f"Health of the event plane (NATS JetStream) and discovery (etcd) in namespace "
                    f"{observed.platform_namespace}.",
        rows=(nats, etcd),
    )
