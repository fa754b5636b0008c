"""The GPU platform's settings, Helm values and manifests, as pure functions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components.kit.charts import EFA_DEVICE_PLUGIN, GPU_OPERATOR, ChartRef
from components.kit.kube import labels
from components.nodes.settings import GPU_TOLERATION
from components.nodes.shape import PoolShape

# What the GPU operator names the DCGM exporter's Service and its metrics port.
DCGM_SERVICE_SELECTOR = {"app": "nvidia-dcgm-exporter"}


DCGM_PORT_NAME = "gpu-metrics"


# Feature discovery also runs on control-plane nodes (the chart's default toleration, kept).
_CONTROL_PLANE_TOLERATION = {"key": "node-role.kubernetes.io/control-plane", "operator": "Equal", "value": "",
                             "effect": "NoSchedule"}


@dataclass(frozen=True)
class GpuPlatformSettings:
    namespace: str = "gpu-operator"
    install_driver: bool = False
    install_toolkit: bool = False
    scrape_interval: str = "15s"
    gpu_operator_chart: ChartRef = GPU_OPERATOR
    efa_plugin_chart: ChartRef = EFA_DEVICE_PLUGIN


def platform_tolerations(shapes: Iterable[PoolShape]) -> list[dict[str, str]]:
    """The GPU taint plus every toleration any pool needs, each once, in a stable order."""
    seen: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}
    for toleration in [GPU_TOLERATION, *(t for s in shapes for t in s.tolerations)]:
        seen.setdefault(tuple(sorted(toleration.items())), dict(toleration))
    return list(seen.values())


def gpu_operator_values(settings: GpuPlatformSettings, tolerations: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    tol = [dict(t) for t in tolerations]
    return {
        "driver": {"enabled": settings.install_driver},
        "toolkit": {"enabled": settings.install_toolkit},
        "daemonsets": {"tolerations": tol},
        # The exporter always runs; its ServiceMonitor is ours (see the module docstring).
        "dcgmExporter": {"enabled": True, "serviceMonitor": {"enabled": False}},
        "node-feature-discovery": {"worker": {"tolerations": [dict(_CONTROL_PLANE_TOLERATION), *tol]}},
    }


def efa_plugin_values(tolerations: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    return {"tolerations": [dict(t) for t in tolerations]}


def namespace_manifest(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {
        "name": name,
        "labels": labels(name, "gpu-platform", {"dynamo-cluster/role": "gpu-platform",
                                                "pod-security.kubernetes.io/enforce": "privileged"})}}


def dcgm_service_monitor(namespace: str, interval: str) -> dict[str, Any]:
    """Scrape the DCGM exporter Service the operator creates. Its labels (the workload pod and
    namespace a GPU serves) are kept as the exporter sets them."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": "nvidia-dcgm-exporter", "namespace": namespace,
                     "labels": labels("nvidia-dcgm-exporter", "gpu-platform")},
        "spec": {
            "selector": {"matchLabels": dict(DCGM_SERVICE_SELECTOR)},
            "namespaceSelector": {"matchNames": [namespace]},
            "endpoints": [{"port": DCGM_PORT_NAME, "path": "/metrics", "interval": interval, "honorLabels": True,
                           "relabelings": [{"sourceLabels": ["__meta_kubernetes_pod_node_name"],
                                            "targetLabel": "node", "action": "replace"}]}],
        },
    }
