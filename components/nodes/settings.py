"""Node pool settings and the shape a pool presents to graphs.

A pool's nodes are one of a closed set of kinds (`PoolNodes`): an EKS managed node group the stack
creates (`EksNodeGroup`, components/nodes/eks.py) or nodes that are already there (`ExistingNodes`).
Everything that differs by kind matches on `NodePoolSettings.nodes` and ends with `assert_never`,
so a new kind is one class here, and mypy names every place that must learn it (docs/contributing.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal, assert_never, get_args

from components.nodes.eks import (
    GPU_TAINT_KEY,
    POOL_LABEL,
    EksNodeGroup,
)
from components.nodes.shape import PoolShape

TaintEffect = Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]
EFFECTS: tuple[TaintEffect, ...] = get_args(TaintEffect)


@dataclass(frozen=True)
class Taint:
    """A taint the nodes of an existing pool carry; pods placed there get a matching toleration."""

    key: str
    effect: TaintEffect
    value: str | None = None

    def toleration(self) -> dict[str, str]:
        if self.value is None:
            return {"key": self.key, "operator": "Exists", "effect": self.effect}
        return {"key": self.key, "operator": "Equal", "value": self.value, "effect": self.effect}


GPU_TOLERATION = Taint(GPU_TAINT_KEY, "NoSchedule").toleration()


@dataclass(frozen=True)
class ExistingNodes:
    """Settings of a pool of kind ``existing``."""

    node_selector: Mapping[str, str]
    nodes: int
    taints: tuple[Taint, ...] = ()
    efa_interfaces: int = 0
    availability_zone: str | None = None
    install_driver: bool = False  # the GPU operator installs the NVIDIA driver on these nodes
    install_toolkit: bool = False  # ... and the NVIDIA container toolkit


# The kinds of nodes a pool may have.
PoolNodes = EksNodeGroup | ExistingNodes


@dataclass(frozen=True)
class NodePoolSettings:
    """One node pool: its GPUs and its nodes, of one kind (`PoolNodes`)."""

    name: str
    gpu_model: str  # "" for a CPU-only pool
    gpus_per_node: int
    gpu_memory_gib: int
    nodes: PoolNodes
    instance_type: str | None = None
    hourly_price_usd: float | None = None
    key: str = ""  # where the pool is configured, e.g. "nodePools[0]"
    huge_pages_2mi: str = "0"  # 2 MiB huge pages each node provides (a size)
    efa_card_gbps: float | None = None  # line rate of one EFA interface, when the instance type is known

    @property
    def on_aws(self) -> bool:
        """Whether the stack creates AWS resources for the pool (its AWS provider is then needed)."""
        match self.nodes:
            case EksNodeGroup():
                return True
            case ExistingNodes():
                return False
            case _:
                assert_never(self.nodes)

    @property
    def eks(self) -> EksNodeGroup | None:
        """The pool's EKS node group, for what only such pools have (subnets, instance types, AWS checks)."""
        return self.nodes if isinstance(self.nodes, EksNodeGroup) else None

    @property
    def kind(self) -> str:
        """The config word of the pool's kind (nodePools[].kind)."""
        match self.nodes:
            case EksNodeGroup():
                return "eks"
            case ExistingNodes():
                return "existing"
            case _:
                assert_never(self.nodes)

    @cached_property
    def shape(self) -> PoolShape:
        """The pool as graphs and the capacity plan see it, computed once."""
        return pool_shape(self)


def pool_shape(settings: NodePoolSettings) -> PoolShape:
    """What graphs and the capacity check know about the pool, from its settings alone."""
    common: dict[str, Any] = {
        "name": settings.name, "gpus_per_node": settings.gpus_per_node, "gpu_model": settings.gpu_model,
        "gpu_memory_gib": settings.gpu_memory_gib, "instance_type": settings.instance_type,
        "hourly_price_usd": settings.hourly_price_usd, "key": settings.key,
        "huge_pages_2mi": settings.huge_pages_2mi, "efa_card_gbps": settings.efa_card_gbps}
    match settings.nodes:
        case EksNodeGroup() as group:
            return PoolShape(**common, min_nodes=group.min_nodes, max_nodes=group.max_nodes, size_key="maxNodes",
                             node_selector={POOL_LABEL: settings.name}, tolerations=(GPU_TOLERATION,),
                             efa_interfaces=group.efa_interfaces, availability_zone=group.availability_zone)
        case ExistingNodes() as nodes:
            return PoolShape(**common, min_nodes=nodes.nodes, max_nodes=nodes.nodes, size_key="nodes",
                             node_selector=dict(nodes.node_selector),
                             tolerations=tuple(t.toleration() for t in nodes.taints),
                             efa_interfaces=nodes.efa_interfaces, availability_zone=nodes.availability_zone)
        case _:
            assert_never(settings.nodes)
