"""Test doubles for other components' typed outputs, for component tests under mocks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi

from components.namespaces.manifests import namespace_manifest
from components.register.kube import KubeObject


class Marker(pulumi.CustomResource):
    """A resource that stands for another component's readiness handle (such as a Helm release)."""

    def __init__(self, name: str) -> None:
        super().__init__("test:index:Marker", name, {}, None)


@dataclass(frozen=True)
class FakeMonitoring:
    """Satisfies components.register.monitoring.Monitoring; `crds_ready` is any registered resource."""

    crds: pulumi.Resource
    ns: pulumi.Output[str]

    @property
    def namespace(self) -> pulumi.Output[str]:
        return self.ns

    @property
    def prometheus_pod_labels(self) -> Mapping[str, str]:
        return {"app.kubernetes.io/name": "prometheus"}

    @property
    def crds_ready(self) -> pulumi.Resource:
        return self.crds

    @property
    def prometheus_url(self) -> pulumi.Output[str]:
        return pulumi.Output.from_input("http://prometheus.monitoring.svc.cluster.local:9090")

    @property
    def otlp_grpc_endpoint(self) -> pulumi.Output[str]:
        return pulumi.Output.from_input("http://tempo.monitoring.svc.cluster.local:4317")

    @property
    def otlp_http_endpoint(self) -> pulumi.Output[str]:
        return pulumi.Output.from_input("http://tempo.monitoring.svc.cluster.local:4318")


def fake_monitoring() -> FakeMonitoring:
    return FakeMonitoring(crds=Marker("monitoring-crds"), ns=namespace("monitoring"))


def namespace(name: str) -> pulumi.Output[str]:
    """A registered Namespace's name, carrying the dependency on it as the real ones do."""
    return KubeObject(f"ns-{name}", namespace_manifest(name, name), pulumi.ResourceOptions()).name
