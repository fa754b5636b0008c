"""promtool unit-test cases of every alert rule: at least one firing and one silent case each.

The rules are those of `OBSERVED` and `THRESHOLDS`: platform namespace dynamo-system, a
disaggregated vLLM graph `llama` that moves KV caches and routes on KV events, and the thresholds
of the alert-rule tests (TTFT SLO 1.5 s, error ratio 2%, GPU temperature 83 C). Series are sampled
every minute (`tests/promtool.py`); ``a+bxn`` is promtool's expanding notation.
"""

from __future__ import annotations

from components.observability.observed import Observed, Thresholds
from tests.promtool import AlertCase, Fired

OBSERVED = Observed(platform_namespace="dynamo-system", gpu_pool_label="dynamo-cluster/pool",
                    kv_transfer_graphs=("llama",), kv_event_graphs=("llama",))
THRESHOLDS = Thresholds(ttft_p95_seconds=1.5, frontend_error_ratio=0.02, gpu_temperature_celsius=83)

PLATFORM = 'namespace="dynamo-system"'
ETCD = f'{PLATFORM}, statefulset="etcd"'
NATS = f'{PLATFORM}, statefulset="nats"'
GPU = 'Hostname="gpu-node-1", gpu="3", UUID="GPU-1234"'
GPU_LABELS = {"Hostname": "gpu-node-1", "gpu": "3", "UUID": "GPU-1234"}
MODEL = 'namespace="dynamo", model="llama"'
GRAPH = "label_dynamo_cluster_graph"
ROLE = "label_dynamo_cluster_role"


def pod(name: str, graph: str, role: str) -> str:
    """kube-state-metrics' series for a graph pod with its graph and role labels."""
    return f'kube_pod_labels{{namespace="dynamo", pod="{name}", {GRAPH}="{graph}", {ROLE}="{role}", uid="u-{name}"}}'


# The pods of graph `llama` (watched) and of a mocker graph (not watched: it moves no KV cache).
LLAMA_PODS = {pod("llama-frontend-0", "llama", "frontend"): "1x40", pod("llama-prefill-0", "llama", "prefill"): "1x40",
              pod("llama-decode-0", "llama", "decode"): "1x40"}
MOCKER_PODS = {pod("mocker-frontend-0", "mocker", "frontend"): "1x40"}
SERVING = {'dynamo_frontend_requests_total{namespace="dynamo", pod="llama-frontend-0", model="llama", '
           'status="success"}': "0+5x40",
           'dynamo_frontend_requests_total{namespace="dynamo", pod="mocker-frontend-0", model="mock", '
           'status="success"}': "0+5x40"}
IDLE = {'dynamo_frontend_requests_total{namespace="dynamo", pod="llama-frontend-0", model="llama", '
        'status="success"}': "100x40"}
LLAMA_ALERT = {"namespace": "dynamo", GRAPH: "llama"}
RX_BYTES = 'agent_rx_bytes_total{namespace="dynamo", pod="llama-decode-0", hostname="n1", agent_name="decode"}'
EVENTS = ('dynamo_component_kv_cache_events_applied{namespace="dynamo", pod="llama-frontend-0", status="ok", '
          'event_type="stored"}')
SPANS_FAILED = ('otelcol_exporter_send_failed_spans_total{namespace="monitoring", pod="otel-collector-0", '
                'exporter="otlp_grpc/tempo"}')
LOGS_FAILED = ('otelcol_exporter_send_failed_log_records_total{namespace="monitoring", pod="otel-collector-0", '
               'exporter="otlp_http/loki"}')
TTFT = "dynamo_frontend_time_to_first_token_seconds_bucket"


def _ttft(bucket_with_all: str) -> dict[str, str]:
    """A TTFT histogram whose observations all fall into the bucket `bucket_with_all`."""
    bounds = ("0.5", "1", "2", "+Inf")
    start = bounds.index(bucket_with_all)
    return {f'{TTFT}{{{MODEL}, le="{le}"}}': ("0+10x30" if i >= start else "0x30") for i, le in enumerate(bounds)}


CASES: tuple[AlertCase, ...] = (
    # etcd
    AlertCase("EtcdNoLeader", "a member without a leader", {
        f'etcd_server_has_leader{{{PLATFORM}, pod="etcd-0"}}': "1x10",
        f'etcd_server_has_leader{{{PLATFORM}, pod="etcd-1"}}': "1 0x9",
    }, "5m", (Fired({"namespace": "dynamo-system", "pod": "etcd-1"}),)),
    AlertCase("EtcdNoLeader", "every member has a leader", {
        f'etcd_server_has_leader{{{PLATFORM}, pod="etcd-0"}}': "1x10",
        'etcd_server_has_leader{namespace="elsewhere", pod="etcd-0"}': "0x10",  # not the platform's etcd
    }, "5m"),
    AlertCase("EtcdMemberDown", "two of three members ready", {
        f"kube_statefulset_status_replicas_ready{{{ETCD}}}": "3 2x10",
        f"kube_statefulset_replicas{{{ETCD}}}": "3x10",
    }, "8m", (Fired({"namespace": "dynamo-system", "statefulset": "etcd"}, {"": "2"}),)),
    AlertCase("EtcdMemberDown", "all members ready", {
        f"kube_statefulset_status_replicas_ready{{{ETCD}}}": "3x10",
        f"kube_statefulset_replicas{{{ETCD}}}": "3x10",
    }, "8m"),
    AlertCase("EtcdQuorumAtRisk", "a bare majority of three", {
        f"kube_statefulset_status_replicas_ready{{{ETCD}}}": "3 2x10",
        f"kube_statefulset_replicas{{{ETCD}}}": "3x10",
    }, "5m", (Fired({"namespace": "dynamo-system", "statefulset": "etcd"}, {"": "2"}),)),
    AlertCase("EtcdQuorumAtRisk", "one failure tolerated, and a single member is no quorum at risk", {
        f"kube_statefulset_status_replicas_ready{{{ETCD}}}": "4x10",
        f"kube_statefulset_replicas{{{ETCD}}}": "5x10",
        f'kube_statefulset_status_replicas_ready{{{PLATFORM}, statefulset="etcd-dev"}}': "0x10",
        f'kube_statefulset_replicas{{{PLATFORM}, statefulset="etcd-dev"}}': "1x10",
    }, "5m"),
    AlertCase("EtcdDatabaseNearQuota", "90% of the quota", {
        f'etcd_mvcc_db_total_size_in_bytes{{{PLATFORM}, pod="etcd-0"}}': "900x20",
        f'etcd_server_quota_backend_bytes{{{PLATFORM}, pod="etcd-0"}}': "1000x20",
    }, "15m", (Fired({"namespace": "dynamo-system", "pod": "etcd-0"}, {"humanizePercentage": "90%"}),)),
    AlertCase("EtcdDatabaseNearQuota", "half the quota", {
        f'etcd_mvcc_db_total_size_in_bytes{{{PLATFORM}, pod="etcd-0"}}': "500x20",
        f'etcd_server_quota_backend_bytes{{{PLATFORM}, pod="etcd-0"}}': "1000x20",
    }, "15m"),
    # NATS
    AlertCase("NatsServerDown", "two of three servers ready", {
        f"kube_statefulset_status_replicas_ready{{{NATS}}}": "3 2x10",
        f"kube_statefulset_replicas{{{NATS}}}": "3x10",
    }, "5m", (Fired({"namespace": "dynamo-system", "statefulset": "nats"}, {"": "2"}),)),
    AlertCase("NatsServerDown", "every server ready", {
        f"kube_statefulset_status_replicas_ready{{{NATS}}}": "3x10",
        f"kube_statefulset_replicas{{{NATS}}}": "3x10",
    }, "5m"),
    AlertCase("JetStreamStorageHigh", "90% of the storage limit", {
        f'nats_server_total_message_bytes{{{PLATFORM}, server_name="nats-0"}}': "90x20",
        f'nats_server_max_storage{{{PLATFORM}, server_name="nats-0"}}': "100x20",
    }, "15m", (Fired({"namespace": "dynamo-system", "server_name": "nats-0"}, {"humanizePercentage": "90%"}),)),
    AlertCase("JetStreamStorageHigh", "a tenth of the limit, and a server without JetStream storage", {
        f'nats_server_total_message_bytes{{{PLATFORM}, server_name="nats-0"}}': "10x20",
        f'nats_server_max_storage{{{PLATFORM}, server_name="nats-0"}}': "100x20",
        f'nats_server_total_message_bytes{{{PLATFORM}, server_name="nats-1"}}': "10x20",
        f'nats_server_max_storage{{{PLATFORM}, server_name="nats-1"}}': "0x20",
    }, "15m"),
    # GPUs
    AlertCase("GpuXidError", "an application XID", {f"DCGM_FI_DEV_XID_ERRORS{{{GPU}}}": "0 13x5"}, "4m",
              (Fired(GPU_LABELS, {"": "13"}),)),
    AlertCase("GpuXidError", "no XID", {f"DCGM_FI_DEV_XID_ERRORS{{{GPU}}}": "0x5"}, "4m"),
    AlertCase("GpuXidNeedsReset", "XID 79: the GPU fell off the bus", {f"DCGM_FI_DEV_XID_ERRORS{{{GPU}}}": "0 79x5"},
              "4m", (Fired(GPU_LABELS, {"": "79"}),)),
    AlertCase("GpuXidNeedsReset", "an application XID needs no reset", {f"DCGM_FI_DEV_XID_ERRORS{{{GPU}}}": "0 13x5"},
              "4m"),
    AlertCase("GpuTemperatureHigh", "90 C for ten minutes", {f"DCGM_FI_DEV_GPU_TEMP{{{GPU}}}": "90x10"}, "8m",
              (Fired(GPU_LABELS, {"": "90"}),)),
    AlertCase("GpuTemperatureHigh", "70 C", {f"DCGM_FI_DEV_GPU_TEMP{{{GPU}}}": "70x10"}, "8m"),
    # the frontend
    AlertCase("DynamoFrontendErrorRateHigh", "a quarter of the requests fail", {
        f'dynamo_frontend_requests_total{{{MODEL}, status="error"}}': "0+1x30",
        f'dynamo_frontend_requests_total{{{MODEL}, status="success"}}': "0+3x30",
    }, "20m", (Fired({"namespace": "dynamo", "model": "llama"}, {"humanizePercentage": "25%"}),)),
    AlertCase("DynamoFrontendErrorRateHigh", "no request fails", {
        f'dynamo_frontend_requests_total{{{MODEL}, status="error"}}': "0x30",
        f'dynamo_frontend_requests_total{{{MODEL}, status="success"}}': "0+3x30",
    }, "20m"),
    AlertCase("DynamoFrontendTtftSloBreached", "every first token between 1 and 2 s", _ttft("2"), "20m",
              (Fired({"namespace": "dynamo", "model": "llama"}, {"humanizeDuration": "1.95s"}),)),
    AlertCase("DynamoFrontendTtftSloBreached", "every first token under 0.5 s", _ttft("0.5"), "20m"),
    # the KV data path
    AlertCase("NixlTransfersFailing", "vLLM counts a failed transfer", {
        'vllm:nixl_num_failed_transfers_total{namespace="dynamo", pod="llama-decode-0", model_name="llama", '
        'engine="0"}': "0x5 1x10",
    }, "8m", (Fired({"namespace": "dynamo", "pod": "llama-decode-0"}),)),
    AlertCase("NixlTransfersFailing", "NIXL counts a backend error", {
        'agent_errors_total{namespace="dynamo", pod="trt-prefill-0", hostname="n1", agent_name="p0", '
        'status="backend"}': "0x5 2x10",
    }, "8m", (Fired({"namespace": "dynamo", "pod": "trt-prefill-0"}),)),
    AlertCase("NixlTransfersFailing", "failures long ago, none since", {
        'vllm:nixl_num_failed_transfers_total{namespace="dynamo", pod="llama-decode-0", model_name="llama", '
        'engine="0"}': "0 3x15",
        'agent_errors_total{namespace="dynamo", pod="trt-prefill-0", hostname="n1", agent_name="p0", '
        'status="backend"}': "1x15",
    }, "12m"),
    AlertCase("DisaggGraphMovesNoKvBytes", "serving without a byte moved", {
        **LLAMA_PODS, **MOCKER_PODS, **SERVING, RX_BYTES: "0x40",
    }, "30m", (Fired(LLAMA_ALERT),)),
    AlertCase("DisaggGraphMovesNoKvBytes", "serving and moving KV caches", {
        **LLAMA_PODS, **MOCKER_PODS, **SERVING, RX_BYTES: "0+4096x40",
    }, "30m"),
    AlertCase("DisaggGraphMovesNoKvBytes", "moving KV caches through vLLM's connector only", {
        **LLAMA_PODS, **SERVING,
        'vllm:nixl_bytes_transferred_sum{namespace="dynamo", pod="llama-decode-0", model_name="llama", '
        'engine="0"}': "0+4096x40",
    }, "30m"),
    AlertCase("DisaggGraphMovesNoKvBytes", "not serving", {**LLAMA_PODS, **IDLE, RX_BYTES: "0x40"}, "30m"),
    AlertCase("KvEventsStalled", "serving while the router applies no KV event", {
        **LLAMA_PODS, **MOCKER_PODS, **SERVING, EVENTS: "500x40",
    }, "25m", (Fired(LLAMA_ALERT),)),
    AlertCase("KvEventsStalled", "events flow while serving", {
        **LLAMA_PODS, **MOCKER_PODS, **SERVING, EVENTS: "0+20x40",
    }, "25m"),
    AlertCase("KvEventsStalled", "no events while idle", {**LLAMA_PODS, **IDLE, EVENTS: "500x40"}, "25m"),
    # the telemetry pipeline
    AlertCase("OtelCollectorExportFailing", "Tempo refuses spans", {SPANS_FAILED: "0+10x30"}, "20m",
              (Fired({"namespace": "monitoring", "pod": "otel-collector-0", "exporter": "otlp_grpc/tempo"}),)),
    AlertCase("OtelCollectorExportFailing", "Loki refuses log records", {LOGS_FAILED: "0+10x30"}, "20m",
              (Fired({"namespace": "monitoring", "pod": "otel-collector-0", "exporter": "otlp_http/loki"}),)),
    AlertCase("OtelCollectorExportFailing", "failures stopped long ago", {
        SPANS_FAILED: "0+10x5 50x25", LOGS_FAILED: "3x30"}, "25m"),
)
