"""Test doubles for components' typed inputs."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi


class Marker(pulumi.CustomResource):
    """A resource that stands for another component's readiness handle (such as a Helm release)."""

    def __init__(self, name: str) -> None:
        super().__init__("test:index:Marker", name, {}, None)


class FakeMonitoring:
    """Satisfies components.monitoring.Monitoring."""

    def __init__(self) -> None:
        self._ready = Marker("monitoring-crds")

    @property
    def namespace(self) -> pulumi.Output[str]:
        return pulumi.Output.from_input("monitoring")

    @property
    def prometheus_pod_labels(self) -> Mapping[str, str]:
        return {"app.kubernetes.io/name": "prometheus"}

    @property
    def crds_ready(self) -> pulumi.Resource:
        return self._ready

    @property
    def prometheus_url(self) -> pulumi.Output[str]:
        return pulumi.Output.from_input("http://prometheus.monitoring.svc.cluster.local:9090")

    @property
    def otlp_grpc_endpoint(self) -> pulumi.Output[str]:
        return pulumi.Output.from_input("http://tempo.monitoring.svc.cluster.local:4317")

    @property
    def otlp_http_endpoint(self) -> pulumi.Output[str]:
        return pulumi.Output.from_input("http://tempo.monitoring.svc.cluster.local:4318")
