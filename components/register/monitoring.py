"""What components that publish metrics need from the observability stack.

`Observability` (components/observability/component.py) satisfies this protocol. Components that create
ServiceMonitors, PodMonitors or PrometheusRules take a `Monitoring | None` (None: observability is
off, create none) and make those objects depend on `crds_ready`, because the monitoring.coreos.com
CRDs exist only once the kube-prometheus-stack release is ready.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import pulumi


class Monitoring(Protocol):
    @property
    def namespace(self) -> pulumi.Output[str]:
        """The namespace Prometheus runs in (for NetworkPolicies that admit its scrapes)."""
        ...

    @property
    def prometheus_pod_labels(self) -> Mapping[str, str]:
        """Labels that select the Prometheus server pods (for NetworkPolicies)."""
        ...

    @property
    def crds_ready(self) -> pulumi.Resource:
        """Depend on this before creating monitoring.coreos.com objects."""
        ...

    @property
    def prometheus_url(self) -> pulumi.Output[str]:
        """In-cluster Prometheus HTTP API, e.g. http://<svc>.<ns>.svc.cluster.local:9090."""
        ...

    @property
    def otlp_grpc_endpoint(self) -> pulumi.Output[str]:
        """In-cluster OTLP/gRPC receiver of traces and logs (the OpenTelemetry collector), e.g.
        http://<collector>.<ns>.svc.cluster.local:4317."""
        ...

    @property
    def otlp_http_endpoint(self) -> pulumi.Output[str]:
        """In-cluster OTLP/HTTP receiver of traces and logs (the OpenTelemetry collector), e.g.
        http://<collector>.<ns>.svc.cluster.local:4318."""
        ...
