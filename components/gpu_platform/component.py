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

from collections.abc import Sequence

import pulumi

from components.gpu_platform.values import (
    GpuPlatformSettings,
    dcgm_service_monitor,
    efa_plugin_values,
    gpu_operator_values,
    namespace_manifest,
    platform_tolerations,
)
from components.nodes.shape import PoolShape
from components.register.helm import helm_release
from components.register.kube import KubeObject
from components.register.monitoring import Monitoring

TYPE = "dynamo-cluster:components:GpuPlatform"


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
        self.gpu_operator_status = operator.status.apply(lambda s: str((s or {}).get("status", "")))
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
