"""Helm values for the OpenTelemetry collector: OTLP in, traces out to Tempo, logs out to Loki.

Dynamo builds one OTLP exporter for traces and one for logs when `OTEL_EXPORT_ENABLED` is on, and
sends both to the same endpoint unless told otherwise; Tempo takes no logs, so the graphs send
everything here and the collector splits it: traces over OTLP/gRPC to Tempo, logs over OTLP/HTTP to
Loki's native `/otlp` endpoint. The collector's own metrics (port 8888) are scraped through the
chart's ServiceMonitor, which is what the export-failure alert reads.

The configuration is given whole through the chart's `alternateConfig` instead of being merged into
its default `config`: the default receivers (Jaeger, Zipkin, a self-scraping Prometheus) and the
metrics pipeline can then be left out without setting any chart default to null, which Helm would
delete from the defaults its templates read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.kit.resources import Resources

COLLECTOR_SERVICE = "otel-collector"  # fullnameOverride: the Deployment and the Service
OTLP_GRPC_PORT = 4317
OTLP_HTTP_PORT = 4318
METRICS_PORT = 8888
HEALTH_PORT = 13133
# The Kubernetes distribution of the collector: the OTLP receiver and exporters, batch,
# memory_limiter and health_check are all in it. The tag is the chart's appVersion, written out so
# the image is pinned in the plan.
IMAGE = "otel/opentelemetry-collector-k8s"
IMAGE_TAG = "0.158.0"
# Exporter ids (type/name). Collector 0.144 renamed the `otlp` and `otlphttp` exporters to
# `otlp_grpc` and `otlp_http`; the old names are deprecated aliases.
TRACES_EXPORTER = "otlp_grpc/tempo"
LOGS_EXPORTER = "otlp_http/loki"
# The chart's default ports this deployment does not use (it receives OTLP only).
UNUSED_PORTS = ("jaeger-compact", "jaeger-thrift", "jaeger-grpc", "zipkin")

_POD_IP = "${env:MY_POD_IP}"  # set by the chart on the collector container


@dataclass(frozen=True)
class CollectorSettings:
    replicas: int
    resources: Resources


def collector_config(tempo_otlp_grpc: str, loki_otlp_http: str) -> dict[str, Any]:
    """The whole collector configuration: `tempo_otlp_grpc` is Tempo's OTLP/gRPC address
    (``host:port``), `loki_otlp_http` Loki's OTLP base URL (the exporter appends ``/v1/logs``)."""
    pipeline = {"receivers": ["otlp"], "processors": ["memory_limiter", "batch"]}
    return {
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": f"{_POD_IP}:{OTLP_GRPC_PORT}"},
                                             "http": {"endpoint": f"{_POD_IP}:{OTLP_HTTP_PORT}"}}}},
        "processors": {
            # the chart's own defaults: refuse data above 80% of the container's memory limit
            "memory_limiter": {"check_interval": "5s", "limit_percentage": 80, "spike_limit_percentage": 25},
            "batch": {},
        },
        "exporters": {
            TRACES_EXPORTER: {"endpoint": tempo_otlp_grpc, "tls": {"insecure": True}},
            LOGS_EXPORTER: {"endpoint": loki_otlp_http},
        },
        "extensions": {"health_check": {"endpoint": f"{_POD_IP}:{HEALTH_PORT}"}},  # the chart's probes
        "service": {
            "extensions": ["health_check"],
            "telemetry": {"metrics": {"readers": [
                {"pull": {"exporter": {"prometheus": {"host": _POD_IP, "port": METRICS_PORT}}}}]}},
            "pipelines": {
                "traces": {**pipeline, "exporters": [TRACES_EXPORTER]},
                "logs": {**pipeline, "exporters": [LOGS_EXPORTER]},
            },
        },
    }


def collector_values(settings: CollectorSettings, *, tempo_otlp_grpc: str, loki_otlp_http: str) -> dict[str, Any]:
    ports: dict[str, Any] = {name: {"enabled": False} for name in UNUSED_PORTS}
    ports["metrics"] = {"enabled": True}
    values: dict[str, Any] = {
        "fullnameOverride": COLLECTOR_SERVICE,
        "mode": "deployment",
        "replicaCount": settings.replicas,
        "image": {"repository": IMAGE, "tag": IMAGE_TAG},
        "resources": settings.resources.to_k8s(),
        "ports": ports,
        "alternateConfig": collector_config(tempo_otlp_grpc, loki_otlp_http),
        "serviceMonitor": {"enabled": True},
    }
    if settings.replicas > 1:
        values["podDisruptionBudget"] = {"enabled": True, "minAvailable": 1}
    return values
