"""The GPU platform: the NVIDIA GPU operator, the AWS EFA device plugin and the DCGM ServiceMonitor.

- GPU operator (pinned `GPU_OPERATOR`, one `helm.v3.Release`): advertises ``nvidia.com/gpu``, runs
  DCGM exporter and feature discovery. The driver and container toolkit are off unless an
  ``existing`` pool asks for them: the EKS AL2023 NVIDIA AMIs ship both. Its DaemonSets and the
  feature-discovery workers tolerate every taint of every pool.
- EFA device plugin (pinned `EFA_DEVICE_PLUGIN`): advertises ``vpc.amazonaws.com/efa``; installed
  only when some pool has EFA interfaces. The chart itself keeps it to EFA-capable instance types.
- DCGM exporter ServiceMonitor, when a `Monitoring` is given: our own object rather than the one the
  operator would create, so it is part of this graph, waits for the monitoring CRDs
  (`Monitoring.crds_ready`) and goes away with the stack.

Everything lives in its own namespace, labelled for privileged pods (the operands load kernel
modules and mount host paths). Values and manifests come from the pure functions below.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from components.helm import ChartRef, helm_release
from components.kube import KubeObject, labels
from components.monitoring import Monitoring
from components.node_pools import GPU_TOLERATION
from components.placement import PoolShape

TYPE = "dynamo-cluster:components:GpuPlatform"
GPU_OPERATOR = ChartRef("gpu-operator", "v26.7.0", "https://helm.ngc.nvidia.com/nvidia")
EFA_DEVICE_PLUGIN = ChartRef("aws-efa-k8s-device-plugin", "v0.5.30", "https://aws.github.io/eks-charts")

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


class GpuPlatform(pulumi.ComponentResource):
    """GPU operator, EFA device plugin (when a pool has EFA) and the DCGM ServiceMonitor (when
    `monitoring` is given), for the pools in `pools`."""

    namespace: pulumi.Output[str]
    gpu_operator_status: pulumi.Output[str]
    efa_device_plugin: bool

    def __init__(self, name: str, settings: GpuPlatformSettings, *, pools: Sequence[PoolShape],
                 monitoring: Monitoring | None, opts: pulumi.ResourceOptions) -> None:
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tolerations = platform_tolerations(pools)
        self.namespace = KubeObject(f"{name}-namespace", namespace_manifest(settings.namespace), child).name
        operator = helm_release(
            f"{name}-gpu-operator", chart=settings.gpu_operator_chart, release_name="gpu-operator",
            namespace=self.namespace,
            values=gpu_operator_values(settings, tolerations), opts=child, timeout_seconds=900)
        self.gpu_operator_status = operator.status.apply(lambda s: s.status)
        self.efa_device_plugin = any(p.has_efa for p in pools)
        if self.efa_device_plugin:
            helm_release(f"{name}-efa-device-plugin", chart=settings.efa_plugin_chart,
                         release_name="aws-efa-k8s-device-plugin", namespace=self.namespace,
                         values=efa_plugin_values(tolerations), opts=child)
        if monitoring is not None:
            KubeObject(f"{name}-dcgm-service-monitor",
                       dcgm_service_monitor(settings.namespace, settings.scrape_interval),
                       pulumi.ResourceOptions(parent=self, depends_on=[monitoring.crds_ready, operator]))
        self.register_outputs({"namespace": self.namespace, "gpuOperatorStatus": self.gpu_operator_status,
                               "efaDevicePlugin": self.efa_device_plugin})
