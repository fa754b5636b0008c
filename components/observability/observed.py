"""What the dashboards and alert rules watch, and where it runs.

Known from config at plan time, so the pure builders take it directly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


def series_label(label_key: str) -> str:
    """The label kube-state-metrics gives a Kubernetes label key on `kube_*_labels`."""
    return "label_" + re.sub(r"[^a-zA-Z0-9_]", "_", label_key)


@dataclass(frozen=True)
class Observed:
    """The platform namespace (NATS, etcd), the StatefulSet name patterns of NATS and etcd there
    (regular expressions, as kube-state-metrics' `statefulset` label is matched), the node label
    whose value names a GPU node's pool, the pod labels that name a graph pod's graph and role, and
    which graphs move KV caches between workers (disaggregated graphs of a real engine) or route on
    the KV events their workers publish."""

    platform_namespace: str
    gpu_pool_label: str
    nats_statefulsets: str = ".*nats.*"
    etcd_statefulsets: str = ".*etcd.*"
    graph_label: str = "dynamo-cluster/graph"
    role_label: str = "dynamo-cluster/role"
    kv_transfer_graphs: tuple[str, ...] = ()
    kv_event_graphs: tuple[str, ...] = ()

    @property
    def pool_series_label(self) -> str:
        """The label kube-state-metrics gives `gpu_pool_label` on `kube_node_labels`."""
        return series_label(self.gpu_pool_label)

    @property
    def graph_series_label(self) -> str:
        """The label naming a pod's graph on `kube_pod_labels`."""
        return series_label(self.graph_label)

    @property
    def role_series_label(self) -> str:
        """The label naming a pod's role (frontend, prefill, decode, worker) on `kube_pod_labels`."""
        return series_label(self.role_label)

    def platform(self, extra: str = "") -> str:
        """A label matcher list for series scraped in the platform namespace."""
        base = f'namespace="{self.platform_namespace}"'
        return f"{base}, {extra}" if extra else base

    def statefulset(self, pattern: str) -> str:
        return self.platform(f'statefulset=~"{pattern}"')


@dataclass(frozen=True)
class Thresholds:
    """Where alerts fire; the dashboards draw the same lines."""

    ttft_p95_seconds: float
    frontend_error_ratio: float
    gpu_temperature_celsius: int
    jetstream_storage_ratio: float = 0.8
    etcd_quota_ratio: float = 0.8
