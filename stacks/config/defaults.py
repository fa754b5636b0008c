"""What an environment changes: every default that differs between dev and prod, in one table.

Section readers take an `EnvironmentDefaults` and never ask which environment they are in, so this
module is the one answer to "what does prod change?". A key set in config always wins over these.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, get_args

from components.ingress.settings import EndpointKind
from components.kit.resources import Resources

Environment = Literal["dev", "prod"]
ENVIRONMENTS: tuple[Environment, ...] = get_args(Environment)
PoolKind = Literal["eks", "existing"]


@dataclass(frozen=True)
class ServiceDefaults:
    """A replicated platform service (NATS, etcd)."""

    replicas: int
    storage_size: str
    resources: Resources
    separate_nodes: bool  # one replica per node, required (prod) or only preferred (dev)


@dataclass(frozen=True)
class ObservabilityDefaults:
    persistence: bool
    managed_control_plane: bool  # scrapers of control-plane parts a managed control plane hides are off
    prometheus_retention: str
    prometheus_replicas: int
    prometheus_resources: Resources
    prometheus_size: str
    alertmanager_replicas: int
    tempo_retention: str
    tempo_resources: Resources
    tempo_size: str
    loki_retention: str
    loki_resources: Resources
    loki_size: str
    collector_replicas: int
    collector_resources: Resources


@dataclass(frozen=True)
class EnvironmentDefaults:
    name: Environment
    storage_class: str
    kubeconfig_path: str | None  # None: kubernetes.kubeconfigPath (or the secret kubeconfig) is required
    pool_kind: PoolKind
    keeps_data: bool  # volumes and their namespaces survive destroy, unless allowDataLoss
    nats: ServiceDefaults
    etcd: ServiceDefaults
    etcd_quota_backend: str
    operator_timeout_seconds: int
    graph_ready_timeout_minutes: int
    wants_pull_secret: bool  # warn when no ngcApiKey is set
    observability: ObservabilityDefaults
    # How a graph's frontend is reached when its endpoint is not set, on a stack with an EKS cluster
    # (`aws.clusterName`); elsewhere always `cluster`.
    endpoint_on_eks: EndpointKind = "cluster"
    load_balancer_controller_replicas: int = 1


DEFAULTS: Mapping[Environment, EnvironmentDefaults] = {
    # Any existing cluster (kind, minikube): small, single replicas, nothing kept.
    "dev": EnvironmentDefaults(
        name="dev", storage_class="standard", kubeconfig_path="~/.kube/config", pool_kind="existing",
        keeps_data=False,
        nats=ServiceDefaults(replicas=1, storage_size="2Gi", resources=Resources("100m", "256Mi"),
                             separate_nodes=False),
        etcd=ServiceDefaults(replicas=1, storage_size="2Gi", resources=Resources("100m", "512Mi"),
                             separate_nodes=False),
        etcd_quota_backend="1Gi", operator_timeout_seconds=600, graph_ready_timeout_minutes=20,
        wants_pull_secret=False,
        observability=ObservabilityDefaults(
            persistence=False, managed_control_plane=False, prometheus_retention="2d", prometheus_replicas=1,
            prometheus_resources=Resources("200m", "1Gi"), prometheus_size="20Gi", alertmanager_replicas=1,
            tempo_retention="24h", tempo_resources=Resources("100m", "512Mi"), tempo_size="10Gi",
            loki_retention="24h", loki_resources=Resources("100m", "512Mi"), loki_size="10Gi",
            collector_replicas=1, collector_resources=Resources("100m", "256Mi"))),
    # EKS: three-member quorums on separate nodes, data kept, longer retention, managed control plane.
    "prod": EnvironmentDefaults(
        name="prod", storage_class="gp3", kubeconfig_path=None, pool_kind="eks", keeps_data=True,
        nats=ServiceDefaults(replicas=3, storage_size="20Gi", resources=Resources("1", "2Gi"), separate_nodes=True),
        etcd=ServiceDefaults(replicas=3, storage_size="10Gi", resources=Resources("1", "2Gi"), separate_nodes=True),
        etcd_quota_backend="2Gi", operator_timeout_seconds=900, graph_ready_timeout_minutes=60,
        wants_pull_secret=True,
        observability=ObservabilityDefaults(
            persistence=True, managed_control_plane=True, prometheus_retention="15d", prometheus_replicas=2,
            prometheus_resources=Resources("1", "8Gi", "4"), prometheus_size="200Gi", alertmanager_replicas=2,
            tempo_retention="336h", tempo_resources=Resources("500m", "4Gi", "2"), tempo_size="100Gi",
            loki_retention="336h", loki_resources=Resources("500m", "4Gi", "2"), loki_size="100Gi",
            collector_replicas=2, collector_resources=Resources("500m", "1Gi", "2")),
        endpoint_on_eks="internal", load_balancer_controller_replicas=2),
}
