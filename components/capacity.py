"""The GPU capacity plan: do the graphs' worker groups fit the node pools they name?

Pure functions of plain values (`PoolShape`s from config and `WorkerDemand`s from the graph
deployments), so a plan that cannot fit fails at config time, before anything is created.

How capacity is counted
-----------------------
A worker group (`WorkerDemand`) runs `replicas` copies of one model instance. Each replica spans
`nodes_per_replica` nodes with one pod per node, and each pod asks `gpus_per_node` GPUs. On the pool
P the group names, with P.gpus_per_node GPUs on each of at most P.max_nodes nodes:

1. Per-node fit: gpus_per_node <= P.gpus_per_node, since a pod cannot span nodes.
2. What a replica holds. A multi-node replica (nodes_per_replica > 1) holds its nodes whole:
   nodes_per_replica x P.gpus_per_node GPUs, whatever it asks per node. Its pods sit on distinct
   nodes and form one tensor-parallel group across the network; the GPUs they leave on those nodes
   are not planned for anything else. A single-node replica holds only the GPUs it asks, and
   P.gpus_per_node // gpus_per_node such replicas pack onto one node.
3. The group on its own fits the pool: its replicas need replicas x nodes_per_replica nodes
   (multi-node) or ceil(replicas / replicas per node) nodes (single-node), at most P.max_nodes.
4. GPU sum per pool: the GPUs held by every group of every graph placed on P add up to at most
   P.gpus_per_node x P.max_nodes. Pools are counted at their maximum size; min and desired nodes
   only say where a pool starts.
5. Parallelism: unless the group turns the check off, tensor_parallel x pipeline_parallel equals
   the GPUs one replica spans (nodes_per_replica x gpus_per_node). Groups that ask no GPUs (the
   CPU-only mocker) skip it.

A group that names a pool that does not exist is reported and counted nowhere; one that does not
fit per node (rule 1) is not counted in the sum either. Every violation is a `CapacityProblem`
with the config key of the worker group (or of the pool, for the sum), what is wrong and what is
allowed: the same three fields as `stacks.config.reader.Problem`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from components.catalog import PRICE_REGION, PRICES_READ
from components.placement import PoolShape

GROUPS = ("worker", "prefill", "decode")


@dataclass(frozen=True)
class WorkerDemand:
    """One worker group of one graph deployment, as the capacity plan sees it."""

    graph: str
    group: str  # one of GROUPS
    key: str  # config key of the worker group, e.g. "graphs[0].decode"
    pool: str
    replicas: int
    nodes_per_replica: int
    gpus_per_node: int
    tensor_parallel: int = 1
    pipeline_parallel: int = 1
    check_parallelism: bool = True

    @property
    def gpus_per_replica(self) -> int:
        return self.nodes_per_replica * self.gpus_per_node

    @property
    def requested_gpus(self) -> int:
        """GPUs the group's pods ask for in all."""
        return self.replicas * self.gpus_per_replica

    def held_gpus(self, pool: PoolShape) -> int:
        """GPUs the group holds on `pool` (rule 2 of the module docstring)."""
        if self.nodes_per_replica > 1:
            return self.replicas * self.nodes_per_replica * pool.gpus_per_node
        return self.replicas * self.gpus_per_node

    def nodes_needed(self, pool: PoolShape) -> int:
        """Nodes the group needs on `pool` on its own (rule 3); assumes it fits per node."""
        if self.nodes_per_replica > 1:
            return self.replicas * self.nodes_per_replica
        if self.gpus_per_node == 0:
            return 0
        return math.ceil(self.replicas / (pool.gpus_per_node // self.gpus_per_node))


@dataclass(frozen=True)
class CapacityProblem:
    """A violation: the config key, what is wrong, what is allowed (a `Problem`'s fields)."""

    key: str
    wrong: str
    allowed: str


def _where(d: WorkerDemand, pool: PoolShape) -> str:
    return f"graph '{d.graph}' places {d.group} on pool '{pool.name}'"


def _pool_key(pool: PoolShape) -> str:
    return pool.key or "nodePools"


def _parallelism(d: WorkerDemand) -> CapacityProblem | None:
    spans = d.gpus_per_replica
    asked = d.tensor_parallel * d.pipeline_parallel
    if not d.check_parallelism or spans in (0, asked):
        return None
    if d.pipeline_parallel == 1:
        parallel = f"tensor parallel {d.tensor_parallel}"
    else:
        parallel = f"tensor parallel {d.tensor_parallel} x pipeline parallel {d.pipeline_parallel} = {asked}"
    return CapacityProblem(
        d.key,
        f"graph '{d.graph}' {d.group}: {parallel}, but one replica spans {d.nodes_per_replica} nodes x "
        f"{d.gpus_per_node} GPUs = {spans} GPUs",
        f"tensor parallel x pipeline parallel = {spans} for {d.group}, or turn the parallelism check off "
        f"for this graph")


def _fits_alone(d: WorkerDemand, pool: PoolShape) -> CapacityProblem | None:
    need = d.nodes_needed(pool)
    if need <= pool.max_nodes:
        return None
    if d.nodes_per_replica > 1:
        how, most = f"{d.nodes_per_replica} nodes each", pool.max_nodes // d.nodes_per_replica
    else:
        per_node = pool.gpus_per_node // d.gpus_per_node
        how, most = f"{per_node} fit on a node", pool.max_nodes * per_node
    return CapacityProblem(
        d.key,
        f"{_where(d, pool)} that has at most {pool.max_nodes} nodes of {pool.gpus_per_node} GPUs; its "
        f"{d.replicas} replicas need {need} nodes ({how})",
        f"at most {most} replicas of {d.group} on pool '{pool.name}', or more nodes in "
        f"{_pool_key(pool)}.maxNodes")


def check_capacity(pools: Mapping[str, PoolShape], demands: Sequence[WorkerDemand]) -> list[CapacityProblem]:
    """Every way `demands` do not fit `pools` (pool name -> shape); empty when the plan fits."""
    problems: list[CapacityProblem] = []
    held: dict[str, list[tuple[WorkerDemand, int]]] = {}
    alone_failed: set[str] = set()
    for d in demands:
        mismatch = _parallelism(d)
        if mismatch is not None:
            problems.append(mismatch)
        pool = pools.get(d.pool)
        if pool is None:
            names = ", ".join(sorted(pools))
            problems.append(CapacityProblem(
                d.key, f"graph '{d.graph}' places {d.group} on pool '{d.pool}', which no node pool is named",
                f"one of the nodePools names: {names}" if names else "a pool named under nodePools (none is "
                                                                     "configured)"))
            continue
        if d.gpus_per_node > pool.gpus_per_node:
            problems.append(CapacityProblem(
                d.key, f"{_where(d, pool)} that has {pool.gpus_per_node} GPUs per node; it asks {d.gpus_per_node}",
                f"at most {pool.gpus_per_node} GPUs per node on pool '{pool.name}', or a pool with more GPUs "
                f"per node"))
            continue
        alone = _fits_alone(d, pool)
        if alone is not None:
            problems.append(alone)
            alone_failed.add(pool.name)
        held.setdefault(pool.name, []).append((d, d.held_gpus(pool)))
    for name, entries in sorted(held.items()):
        pool = pools[name]
        total = sum(gpus for _, gpus in entries)
        if total <= pool.max_gpus or name in alone_failed:
            continue
        parts = ", ".join(f"{d.graph} {d.group} {gpus}" for d, gpus in entries)
        problems.append(CapacityProblem(
            f"{_pool_key(pool)}.maxNodes",
            f"pool '{name}' has {pool.max_gpus} GPUs at most ({pool.max_nodes} nodes x {pool.gpus_per_node}); "
            f"the graphs placed on it hold {total}: {parts}",
            f"at most {pool.max_gpus} GPUs held on pool '{name}': maxNodes of at least "
            f"{math.ceil(total / pool.gpus_per_node)}, or move or shrink a worker group"))
    return problems


# -- the summary table ----------------------------------------------------------------------------
def _money(value: float) -> str:
    return f"${value:,.2f}"


def _gpus_cell(pool: PoolShape) -> str:
    if pool.gpus_per_node == 0:
        return "0 (CPU only)"
    return f"{pool.gpus_per_node} x {pool.gpu_model} ({pool.gpu_memory_gib} GiB)"


def _used_cell(pool: PoolShape, demands: Iterable[WorkerDemand]) -> tuple[str, int]:
    by_graph: dict[str, tuple[int, int]] = {}
    for d in demands:
        if d.pool != pool.name or d.gpus_per_node > pool.gpus_per_node:
            continue
        held, asked = by_graph.get(d.graph, (0, 0))
        by_graph[d.graph] = (held + d.held_gpus(pool), asked + d.requested_gpus)
    cells = [f"{graph} {held}" + (f" ({asked} asked)" if asked != held else "")
             for graph, (held, asked) in sorted(by_graph.items())]
    return (", ".join(cells) or "none"), sum(held for held, _ in by_graph.values())


def capacity_table(pools: Mapping[str, PoolShape], demands: Sequence[WorkerDemand]) -> list[str]:
    """Markdown lines for the plan's summary: one row per pool, then the totals and the rules."""
    if not pools:
        return ["No GPU node pools are configured."]
    lines = ["| pool | instance type | GPUs per node | nodes (min/max) | GPUs used by graph | GPUs idle at max "
             "| cost per hour at max |", "|---|---|---|---|---|---|---|"]
    total_cost, unpriced = 0.0, []
    for name in sorted(pools):
        pool = pools[name]
        used, held = _used_cell(pool, demands)
        idle = pool.max_gpus - held
        cost = pool.hourly_cost_at_max
        if cost is None:
            unpriced.append(name)
        else:
            total_cost += cost
        lines.append(f"| {name} | {pool.instance_type or 'existing nodes'} | {_gpus_cell(pool)} | "
                     f"{pool.min_nodes}/{pool.max_nodes} | {used} | "
                     f"{idle if idle >= 0 else f'{idle} (overcommitted)'} | "
                     f"{'n/a' if cost is None else _money(cost)} |")
    lines += ["", f"At maximum size the pools cost {_money(total_cost)} per hour on demand "
                  f"({PRICE_REGION} prices read {PRICES_READ}; components/catalog.py)"
                  + (f"; without a known price: {', '.join(unpriced)}." if unpriced else "."),
              "GPUs used count what each graph holds: a multi-node replica holds its nodes whole, a "
              "single-node replica the GPUs it asks (components/capacity.py)."]
    return lines
