"""Helm values for Loki as one binary, and the names clients use to reach it.

Logs arrive from the OpenTelemetry collector on Loki's native OTLP endpoint (`/otlp`): a record's
`service.name` becomes the index label `service_name`, its trace and span ids the structured
metadata `trace_id` and `span_id`, which is what Grafana's trace-to-logs and logs-to-trace links
match on. Storage is the pod's filesystem (a volume when persistent), so the chart's scalable and
distributed targets, its gateway, caches, canary and Helm test are all off; the chart refuses to
render a single binary next to any of them. Retention is applied by the compactor inside the binary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.kit.resources import Resources, Storage

LOKI_SERVICE = "loki"  # fullnameOverride: the StatefulSet and the Service (no gateway)
LOKI_HTTP_PORT = 3100
OTLP_PATH = "/otlp"
# Retention works on whole index periods (24h); Loki's minimum retention is one period.
INDEX_PERIOD_HOURS = 24
# The first (and only) schema: a TSDB index, schema v13, on the filesystem (the chart's test schema).
SCHEMA = {"from": "2024-04-01", "store": "tsdb", "object_store": "filesystem", "schema": "v13",
          "index": {"prefix": "loki_index_", "period": f"{INDEX_PERIOD_HOURS}h"}}
DATA_DIR = "/var/loki"
# Targets of the scalable and distributed modes: their replicas must be zero next to a single binary.
SCALABLE_TARGETS = ("backend", "read", "write")


@dataclass(frozen=True)
class LokiSettings:
    retention: str  # whole hours, a multiple of INDEX_PERIOD_HOURS, e.g. "336h"
    resources: Resources
    storage: Storage | None


def loki_values(settings: LokiSettings) -> dict[str, Any]:
    persistence: dict[str, Any] = {"enabled": False}  # an emptyDir: logs live as long as the pod
    if settings.storage is not None:
        persistence = {"enabled": True, "storageClass": settings.storage.storage_class,
                       "size": settings.storage.size, "accessModes": ["ReadWriteOnce"]}
    values: dict[str, Any] = {
        "deploymentMode": "Monolithic",
        "fullnameOverride": LOKI_SERVICE,
        "loki": {
            "auth_enabled": False,  # one tenant: no X-Scope-OrgID header for the collector or Grafana
            "commonConfig": {"replication_factor": 1},
            "storage": {"type": "filesystem"},
            "schemaConfig": {"configs": [dict(SCHEMA)]},
            "compactor": {"working_directory": f"{DATA_DIR}/compactor", "retention_enabled": True,
                          "delete_request_store": "filesystem"},
            # Merged over the rendered configuration: the chart's limits_config keeps its defaults.
            "structuredConfig": {"limits_config": {"retention_period": settings.retention,
                                                   "allow_structured_metadata": True}},
        },
        "singleBinary": {"replicas": 1, "resources": settings.resources.to_k8s(), "persistence": persistence},
        "gateway": {"enabled": False},
        "chunksCache": {"enabled": False},
        "resultsCache": {"enabled": False},
        "lokiCanary": {"enabled": False},
        "test": {"enabled": False},  # the chart's Helm test needs the canary
    }
    values.update({target: {"replicas": 0} for target in SCALABLE_TARGETS})
    return values
