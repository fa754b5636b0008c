"""What `verify --dataplane` checks in each graph: its worker groups and their data paths, from the
stack's config (the same pure `data_path` the DGD builder uses) and the stack's outputs (which
graphs are deployed, in which namespace). Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from components.dynamo.datapath import DataPath, data_path
from components.dynamo.spec import FRONTEND, GraphSpec, WorkerGroupSpec
from components.nodes.shape import PoolShape


class TargetError(ValueError):
    """The command line names something the stack does not have."""


@dataclass(frozen=True)
class GroupPlan:
    group: WorkerGroupSpec
    path: DataPath

    @property
    def role(self) -> str:
        return self.group.role

    @property
    def expected_pods(self) -> int:
        return self.group.replicas * self.group.nodes


@dataclass(frozen=True)
class GraphPlan:
    spec: GraphSpec
    namespace: str
    groups: tuple[GroupPlan, ...]
    deployed: bool

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def efa_groups(self) -> tuple[GroupPlan, ...]:
        return tuple(g for g in self.groups if g.path.efa)

    @property
    def kv_groups(self) -> tuple[GroupPlan, ...]:
        """The groups whose KV caches NIXL moves over LIBFABRIC (disaggregated, on EFA)."""
        return tuple(g for g in self.groups if g.path.rdma)

    @property
    def expects_kv_events(self) -> bool:
        """The frontend routes by KV and the transport plan carries the workers' KV events to it."""
        return self.spec.frontend.router_mode == "kv" and self.spec.transport.kv_events

    @property
    def expected_pods(self) -> dict[str, int]:
        """role -> pods the graph should run (a multi-node replica is one pod per node)."""
        out = {FRONTEND: self.spec.frontend.replicas}
        out.update({g.role: g.expected_pods for g in self.groups})
        return out

    def skipped(self) -> str:
        """Why the graph is not checked ("" when it is)."""
        if not self.deployed:
            return "not deployed (the stack's outputs do not list it: run `pulumi up`)"
        if not self.efa_groups:
            reasons = dict.fromkeys(g.path.reason for g in self.groups)
            return "no EFA: " + "; ".join(r for r in reasons if r) + " (not checked)"
        return ""


def select(graphs: Sequence[GraphSpec], only: str | None) -> list[GraphSpec]:
    """The graphs to check: all, or the one `--graph` names."""
    if only is None:
        return list(graphs)
    chosen = [g for g in graphs if g.name == only]
    if not chosen:
        names = ", ".join(g.name for g in graphs) or "none"
        raise TargetError(f"--graph {only}: the stack has no such graph (its graphs: {names})")
    return chosen


def graph_plans(graphs: Sequence[GraphSpec], pools: Mapping[str, PoolShape], deployed: Mapping[str, str],
                namespace: str) -> list[GraphPlan]:
    """One plan per graph, in config order."""
    return [GraphPlan(spec=spec, namespace=namespace, deployed=spec.name in deployed,
                      groups=tuple(GroupPlan(g, data_path(spec, g, pools[g.pool])) for g in spec.groups))
            for spec in graphs]
