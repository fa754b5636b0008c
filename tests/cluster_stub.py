"""A `ClusterView` held in memory, and stack configs the cluster preflight tests use."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from stacks.config.stack import StackConfig
from stacks.ops.cluster_view import (
    ClusterReadError,
    CrdInfo,
    NodeInfo,
    NodeTaint,
    ServerVersion,
    StorageClassInfo,
    WorkloadInfo,
)
from stacks.ops.report import Finding
from stacks.preflight.cluster import cluster_checks
from tests.harness import parse, servers_config, stack_config

T = TypeVar("T")
DEFAULT = {"storageclass.kubernetes.io/is-default-class": "true"}
GPU_TAINT = NodeTaint("nvidia.com/gpu", "NoSchedule", "true")  # what the eks node groups put on their nodes
WHERE = "context kind-dynamo of kubeconfig ~/.kube/config"


@dataclass
class StubCluster:
    """Answers each call from its fields; a call named in `refuse` raises `ClusterReadError` (403)."""

    server: ServerVersion = field(default_factory=lambda: ServerVersion("1", "33", "v1.33.5"))
    classes: list[StorageClassInfo] = field(
        default_factory=lambda: [StorageClassInfo("standard", "rancher.io/local-path", DEFAULT)])
    node_list: list[NodeInfo] = field(default_factory=list)
    daemons: list[WorkloadInfo] = field(default_factory=list)
    deploys: list[WorkloadInfo] = field(default_factory=list)
    crds: list[CrdInfo] = field(default_factory=list)
    secrets: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)
    # the VPC CNI's network policy controller is on (the stack's NetworkPolicies are enforced)
    config_maps: dict[tuple[str, str], dict[str, str]] = field(default_factory=lambda: {
        ("kube-system", "amazon-vpc-cni"): {"enable-network-policy-controller": "true"}})
    drivers: list[str] = field(default_factory=list)
    messages: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (namespace, label) -> messages
    refuse: set[str] = field(default_factory=set)
    calls: list[str] = field(default_factory=list)

    def _answer(self, call: str, value: T) -> T:
        self.calls.append(call)
        if call in self.refuse:
            raise ClusterReadError(f"cannot {call}: 403 Forbidden")
        return value

    def version(self) -> ServerVersion:
        return self._answer("version", self.server)

    def storage_classes(self) -> list[StorageClassInfo]:
        return list(self._answer("storage_classes", self.classes))

    def nodes(self) -> list[NodeInfo]:
        return list(self._answer("nodes", self.node_list))

    def daemon_sets(self) -> list[WorkloadInfo]:
        return list(self._answer("daemon_sets", self.daemons))

    def deployments(self) -> list[WorkloadInfo]:
        return list(self._answer("deployments", self.deploys))

    def custom_resource_definitions(self) -> list[CrdInfo]:
        return list(self._answer("custom_resource_definitions", self.crds))

    def secret_keys(self, namespace: str, name: str) -> frozenset[str] | None:
        return self._answer("secret_keys", self.secrets.get((namespace, name)))

    def config_map(self, namespace: str, name: str) -> dict[str, str] | None:
        return self._answer("config_map", self.config_maps.get((namespace, name)))

    def csi_drivers(self) -> list[str]:
        return list(self._answer("csi_drivers", self.drivers))

    def termination_messages(self, namespace: str, label: str) -> list[str]:
        return list(self._answer("termination_messages", self.messages.get((namespace, label), [])))


def gpu_node(name: str, gpus: int = 8, *, efa: int = 0, pool: dict[str, str] | None = None,
             labelled: bool = True, ready: bool = True, cordoned: bool = False,
             taints: tuple[NodeTaint, ...] = ()) -> NodeInfo:
    labels = dict(pool if pool is not None else {"gpu": "a100"})
    if labelled:
        labels["nvidia.com/gpu.present"] = "true"
    allocatable = {"cpu": "96", "memory": "1Ti"}
    if gpus:
        allocatable["nvidia.com/gpu"] = str(gpus)
    if efa:
        allocatable["vpc.amazonaws.com/efa"] = str(efa)
    return NodeInfo(name, labels, allocatable, ready=ready, unschedulable=cordoned, taints=taints)


def system_node(name: str, labels: dict[str, str] | None = None, *, ready: bool = True, cordoned: bool = False,
                taints: tuple[NodeTaint, ...] = ()) -> NodeInfo:
    """A CPU node without GPUs: where NATS and etcd run."""
    return NodeInfo(name, {"kubernetes.io/os": "linux", **(labels or {})}, {"cpu": "8", "memory": "32Gi"},
                    ready=ready, unschedulable=cordoned, taints=taints)


def existing_gpu_stack(pool: dict[str, Any] | None = None, *, replicas: int = 2, gpu_platform: bool = True,
                       **values: Any) -> StackConfig:
    """dev with one existing pool of 2 nodes x 8 A100 (selected by gpu=a100) and a vLLM graph of
    `replicas` single-node workers of 4 GPUs on it."""
    a100 = {"name": "a100", "kind": "existing", "nodeSelector": {"gpu": "a100"}, "gpusPerNode": 8,
            "gpuModel": "A100", "gpuMemoryGiB": 80, "nodes": 2} | (pool or {})
    graph = {"name": "llm", "backend": "vllm", "mode": "agg", "model": "Qwen/Qwen3-0.6B",
             "worker": {"pool": "a100", "replicas": replicas, "gpusPerNode": 4}}
    return parse(stack_config("dev") | {"nodePools": [a100], "graphs": [graph],
                                        "gpuPlatform": {"enabled": gpu_platform}} | values)


def dev() -> StackConfig:
    """dev with NATS and etcd deployed (`tests.harness.SERVERS`)."""
    return parse(servers_config("dev"))


# A model cache on a class the cluster must have (kind existing), instead of prod's FSx for Lustre.
EXISTING_CACHE = {"enabled": True, "kind": "existing", "storage": {"storageClass": "efs-sc", "size": "4Ti"}}


def prod(**values: Any) -> StackConfig:
    """prod with NATS and etcd deployed (`tests.harness.SERVERS`), and `values` over its config."""
    return parse(servers_config("prod") | values, "prod")


def prod_existing_cache() -> StackConfig:
    """prod with NATS and etcd, and its model cache on the cluster's class efs-sc (kind existing)."""
    return prod(modelCache=EXISTING_CACHE)


def run(config: StackConfig, stub: StubCluster) -> list[Finding]:
    """Every cluster check of `config` against `stub`."""
    return cluster_checks(config, lambda: stub, WHERE)


def named(results: list[Finding], name: str) -> list[Finding]:
    return [r for r in results if r.check == name]


def one(results: list[Finding], name: str) -> Finding:
    found = named(results, name)
    assert len(found) == 1, results
    return found[0]
