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
   are not planned for anything else. A single-node replica is one pod and holds only the GPUs it
   asks; P.gpus_per_node // gpus_per_node such pods of one group fit on a node.
3. The group on its own fits the pool: its replicas need replicas x nodes_per_replica nodes
   (multi-node) or ceil(replicas / pods per node) nodes (single-node), at most P.max_nodes.
4. All groups together fit the pool, node by node (`pack`). Every multi-node replica of every graph
   placed on P takes its nodes whole. The single-node pods of all those graphs are then packed onto
   further nodes, first fit decreasing: largest pod first, each onto the first node already opened
   whose free GPUs hold it, else onto a new node (so the layout does not depend on config order). Pods that ask
   no GPUs (the CPU-only mocker) take no node here: the plan counts GPUs, not CPU or memory. The
   pool fits when the nodes taken, whole and packed, number at most P.max_nodes; otherwise that
   number is the pool size that fits. Pools are counted at their maximum size; min and desired
   nodes only say where a pool starts. First fit decreasing is a rule, not a search for the best
   layout: a plan it cannot lay out is reported even when a cleverer layout exists, and a plan it
   lays out is one the nodes can hold, not the placement the scheduler will choose. The default
   scheduler spreads pods, so where a pool's plan fits only for some creation orders (pods of
   different sizes past `guaranteed_gpus`, or single-node GPU pods beside multi-node replicas) the
   plan warns (`order_warnings`), naming the pool size that holds every order.
5. Parallelism: unless the group turns the check off, tensor_parallel x pipeline_parallel equals
   the GPUs one replica spans (nodes_per_replica x gpus_per_node). Groups that ask no GPUs (the
   CPU-only mocker) skip it.
6. The summary table (`capacity_table`) shows per graph the GPUs its groups hold (rule 2), and per
   pool the GPUs idle at maximum size: the GPUs of the P.max_nodes minus rule 4's nodes that the
   plan leaves empty, plus the GPUs its packed pods leave free on the nodes they share. That is
   P.max_gpus minus what the graphs hold. For a pool that does not fit, the table shows the nodes
   it needs instead.

A group that names a pool that does not exist is reported and counted nowhere; one that does not
fit per node (rule 1) is not packed either. A pool with a group that does not fit on its own
(rule 3) is not reported again by rule 4. Every violation is a `CapacityProblem` with the config
key of the worker group (or of the pool's size, for rule 4), what is wrong and what is allowed:
the same three fields as `stacks.config.reader.Problem`. A pool's size is `PoolShape.size_key`
under its key: ``maxNodes`` for an eks pool, ``nodes`` for existing nodes, in keys and fixes alike.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from components.dynamo.words import Role
from components.nodes.catalog import PRICE_REGION, PRICES_READ
from components.nodes.shape import PoolShape


@dataclass(frozen=True)
class WorkerDemand:
    """One worker group of one graph deployment, as the capacity plan sees it."""

    graph: str
    group: Role
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


def _size_key(pool: PoolShape) -> str:
    """The config key that sets the pool's size: ``nodePools[0].maxNodes``, ``nodePools[1].nodes``."""
    return f"{pool.key or 'nodePools'}.{pool.size_key}"


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
        f"at most {most} replicas of {d.group} on pool '{pool.name}', or more nodes in {_size_key(pool)}")


@dataclass(frozen=True)
class Packing:
    """How the worker groups placed on one pool fill its nodes (rule 4 of the module docstring)."""

    pool: PoolShape
    demands: tuple[WorkerDemand, ...]  # the groups counted on the pool, in config order
    whole_nodes: int  # nodes multi-node replicas hold whole
    free: tuple[int, ...]  # GPUs left free on each node the single-node pods were packed onto

    @property
    def nodes(self) -> int:
        """Nodes the plan needs on the pool."""
        return self.whole_nodes + len(self.free)

    @property
    def fits(self) -> bool:
        return self.nodes <= self.pool.max_nodes

    @property
    def held_gpus(self) -> int:
        return sum(d.held_gpus(self.pool) for d in self.demands)

    @property
    def idle_gpus(self) -> int | None:
        """GPUs idle at the pool's maximum size (rule 6); None when the plan does not fit."""
        if not self.fits:
            return None
        return sum(self.free) + (self.pool.max_nodes - self.nodes) * self.pool.gpus_per_node


def pack(pool: PoolShape, demands: Iterable[WorkerDemand]) -> Packing:
    """Lay out on `pool` the groups of `demands` placed on it that fit per node (rule 4)."""
    counted = tuple(d for d in demands if d.pool == pool.name and d.gpus_per_node <= pool.gpus_per_node)
    whole = sum(d.replicas * d.nodes_per_replica for d in counted if d.nodes_per_replica > 1)
    # first fit decreasing over the pods' sizes: the layout does not depend on the order of the groups
    pods = sorted((d.gpus_per_node for d in counted if d.nodes_per_replica == 1 and d.gpus_per_node > 0
                   for _ in range(d.replicas)), reverse=True)
    free: list[int] = []
    for gpus in pods:
        node = next((i for i, left in enumerate(free) if left >= gpus), None)
        if node is None:
            free.append(pool.gpus_per_node - gpus)
        else:
            free[node] -= gpus
    return Packing(pool, counted, whole, tuple(free))


def guaranteed_gpus(gpus_per_node: int, nodes: int, sizes: Sequence[int]) -> int:
    """The most GPUs single-node pods of `sizes` may request in all on `nodes` nodes so that every
    pod finds a node in ANY order of creation and placement (a spreading scheduler included).

    A pod of g GPUs finds no node only when every node has fewer than g free, that is when the other
    pods use at least nodes x (G - g + 1) GPUs. So requests up to nodes x (G - g + 1) + g - 1 always
    place, and the largest size binds. When every pod has the same size and it divides G, free GPUs
    are always a multiple of it, and the whole pool is guaranteed."""
    if not sizes or nodes <= 0:
        return 0
    largest = max(sizes)
    if len(set(sizes)) == 1 and gpus_per_node % largest == 0:
        return nodes * gpus_per_node
    return nodes * (gpus_per_node - largest + 1) + largest - 1


def order_warnings(pools: Mapping[str, PoolShape], demands: Sequence[WorkerDemand]) -> list[str]:
    """Pools whose plan fits only for some creation orders (rule 4 packs as a scheduler may not):
    GPU pods of different sizes that could fragment the nodes under a spreading scheduler, and
    single-node GPU pods sharing a pool with multi-node replicas, which need whole free nodes."""
    out: list[str] = []
    for name in sorted({d.pool for d in demands if d.pool in pools}):
        pool = pools[name]
        packing = pack(pool, demands)
        if not packing.fits:
            continue  # reported as a problem already
        single = [d for d in packing.demands if d.nodes_per_replica == 1 and d.gpus_per_node > 0]
        multi = [d for d in packing.demands if d.nodes_per_replica > 1]
        sizes = [d.gpus_per_node for d in single for _ in range(d.replicas)]
        if single and multi:
            out.append(f"pool '{name}': multi-node replicas ({', '.join(sorted({d.graph for d in multi}))}) need "
                       f"whole free nodes while single-node GPU pods ({', '.join(sorted({d.graph for d in single}))}) "
                       "may be spread over them first: whether all are placed depends on the order they are "
                       "created; give each its own pool")
            continue
        requested = sum(sizes)
        nodes = pool.max_nodes
        safe = guaranteed_gpus(pool.gpus_per_node, nodes, sizes)
        if requested > safe:
            largest = max(sizes)
            need = math.ceil((requested - largest + 1) / (pool.gpus_per_node - largest + 1))
            out.append(f"pool '{name}': its single-node pods of {', '.join(map(str, sorted(set(sizes))))} GPUs "
                       f"request {requested} of {nodes * pool.gpus_per_node} GPUs; the default scheduler spreads "
                       f"pods, so in some creation orders a {largest}-GPU pod finds no node with {largest} free "
                       f"GPUs and stays Pending (every order places at most {safe} GPUs of such pods here): put "
                       f"each size on a pool of its own, or give the pool {need} nodes ({pool.size_key})")
    return out


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _layout(d: WorkerDemand) -> str:
    if d.nodes_per_replica > 1:
        return f"{d.graph} {d.group} {d.replicas * d.nodes_per_replica} whole nodes"
    return f"{d.graph} {d.group} {_plural(d.replicas, 'pod')} of {_plural(d.gpus_per_node, 'GPU')}"


def _does_not_fit(packing: Packing) -> CapacityProblem:
    pool = packing.pool
    parts = ", ".join(_layout(d) for d in packing.demands if d.nodes_per_replica > 1 or d.gpus_per_node > 0)
    return CapacityProblem(
        _size_key(pool),
        f"pool '{pool.name}' has at most {pool.max_nodes} nodes of {pool.gpus_per_node} GPUs ({pool.max_gpus} GPUs); "
        f"the graphs placed on it need {packing.nodes} nodes and hold {packing.held_gpus} GPUs: {parts}",
        f"the graphs' pods on at most {pool.max_nodes} nodes of pool '{pool.name}': {pool.size_key} of at least "
        f"{packing.nodes}, or move or shrink a worker group")


def check_capacity(pools: Mapping[str, PoolShape], demands: Sequence[WorkerDemand]) -> list[CapacityProblem]:
    """Every way `demands` do not fit `pools` (pool name -> shape); empty when the plan fits."""
    problems: list[CapacityProblem] = []
    placed: set[str] = set()
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
        placed.add(pool.name)
    for name in sorted(placed - alone_failed):
        packing = pack(pools[name], demands)
        if not packing.fits:
            problems.append(_does_not_fit(packing))
    return problems


# -- the summary table ----------------------------------------------------------------------------
def _money(value: float) -> str:
    return f"${value:,.2f}"


def _gpus_cell(pool: PoolShape) -> str:
    if pool.gpus_per_node == 0:
        return "0 (CPU only)"
    return f"{pool.gpus_per_node} x {pool.gpu_model} ({pool.gpu_memory_gib} GiB)"


def _used_cell(packing: Packing) -> str:
    by_graph: dict[str, tuple[int, int]] = {}
    for d in packing.demands:
        held, asked = by_graph.get(d.graph, (0, 0))
        by_graph[d.graph] = (held + d.held_gpus(packing.pool), asked + d.requested_gpus)
    cells = [f"{graph} {held}" + (f" ({asked} asked)" if asked != held else "")
             for graph, (held, asked) in sorted(by_graph.items())]
    return ", ".join(cells) or "none"


def _idle_cell(packing: Packing) -> str:
    if packing.idle_gpus is None:
        return f"overcommitted: needs {packing.nodes} nodes, has {packing.pool.max_nodes}"
    return str(packing.idle_gpus)


def capacity_table(pools: Mapping[str, PoolShape], demands: Sequence[WorkerDemand]) -> list[str]:
    """Markdown lines for the plan's summary: one row per pool, then the totals and the rules."""
    if not pools:
        return ["No GPU node pools are configured."]
    lines = ["| pool | instance type | GPUs per node | nodes (min/max) | GPUs used by graph | GPUs idle at max "
             "| cost per hour at max |", "|---|---|---|---|---|---|---|"]
    total_cost, unpriced = 0.0, []
    for name in sorted(pools):
        pool = pools[name]
        packing = pack(pool, demands)
        cost = pool.hourly_cost_at_max
        if cost is None:
            unpriced.append(name)
        else:
            total_cost += cost
        lines.append(f"| {name} | {pool.instance_type or 'existing nodes'} | {_gpus_cell(pool)} | "
                     f"{pool.min_nodes}/{pool.max_nodes} | {_used_cell(packing)} | {_idle_cell(packing)} | "
                     f"{'n/a' if cost is None else _money(cost)} |")
    lines += ["", f"At maximum size the pools cost {_money(total_cost)} per hour on demand "
                  f"({PRICE_REGION} prices read {PRICES_READ}; components/nodes/catalog.py)"
                  + (f"; without a known price: {', '.join(unpriced)}." if unpriced else "."),
              "GPUs used count what each graph holds: a multi-node replica holds its nodes whole, a "
              "single-node replica the GPUs it asks. GPUs idle are those of the nodes the plan leaves empty "
              "plus those its pods leave free on the nodes they share (components/nodes/capacity.py)."]
    return lines
