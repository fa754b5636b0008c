"""What the dashboards and alert rules watch, and where it runs.

Known from config at plan time, so the pure builders take it directly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Observed:
    """The platform namespace (NATS, etcd), the StatefulSet name patterns of NATS and etcd there
    (regular expressions, as kube-state-metrics' `statefulset` label is matched), and the node
    label whose value names a GPU node's pool."""

    platform_namespace: str
    gpu_pool_label: str
    nats_statefulsets: str = ".*nats.*"
    etcd_statefulsets: str = ".*etcd.*"

    @property
    def pool_series_label(self) -> str:
        """The label kube-state-metrics gives `gpu_pool_label` on `kube_node_labels`."""
        return "label_" + re.sub(r"[^a-zA-Z0-9_]", "_", self.gpu_pool_label)

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
