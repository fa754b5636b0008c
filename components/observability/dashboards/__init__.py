"""Grafana dashboards authored as code, and the ConfigMaps that ship them to Grafana's sidecar."""

from __future__ import annotations

import json
from typing import Any

from components.kit.kube import labels
from components.kit.ref import Ref
from components.observability.dashboards.builder import Dashboard
from components.observability.dashboards.datapath import datapath_dashboard
from components.observability.dashboards.dynamo import frontend_dashboard, workers_dashboard
from components.observability.dashboards.gpus import gpu_dashboard
from components.observability.dashboards.platform import platform_dashboard
from components.observability.observed import Observed, Thresholds

# Grafana's dashboard sidecar loads ConfigMaps with this label (kube-prometheus-stack's default)
# and files them into the folder named by the annotation.
SIDECAR_LABEL = "grafana_dashboard"
SIDECAR_LABEL_VALUE = "1"
FOLDER_ANNOTATION = "grafana_folder"
FOLDER = "Dynamo"


def build_dashboards(observed: Observed, thresholds: Thresholds) -> list[Dashboard]:
    return [
        frontend_dashboard(thresholds.ttft_p95_seconds, thresholds.frontend_error_ratio),
        workers_dashboard(),
        gpu_dashboard(observed, thresholds.gpu_temperature_celsius),
        platform_dashboard(observed, thresholds.jetstream_storage_ratio, thresholds.etcd_quota_ratio),
        datapath_dashboard(observed),
    ]


def dashboard_configmap(dashboard: Dashboard, namespace: Ref) -> dict[str, Any]:
    """One dashboard as a ConfigMap the sidecar picks up (deterministic JSON text)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": f"dashboard-{dashboard.uid}",
            "namespace": namespace,
            "labels": labels(f"dashboard-{dashboard.uid}", "observability",
                             {SIDECAR_LABEL: SIDECAR_LABEL_VALUE}),
            "annotations": {FOLDER_ANNOTATION: FOLDER},
        },
        "data": {f"{dashboard.uid}.json": json.dumps(dashboard.to_json(), sort_keys=True, separators=(",", ":"))},
    }
