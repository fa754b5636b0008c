"""Cluster preflight of the node pools: their nodes, GPUs and EFA interfaces, and the device plugins
that advertise them. Pure functions of `stacks.ops.cluster_view` values and the stack's config.

- ``existing`` pools: enough Ready, schedulable nodes match the pool's node selector (``nodes`` in
  config); on GPU pools each carries ``nvidia.com/gpu.present=true`` or allocatable ``nvidia.com/gpu``,
  at least ``gpusPerNode`` of them, and together they cover the GPUs the capacity plan holds on the
  pool; on EFA pools each advertises ``efaInterfaces`` allocatable ``vpc.amazonaws.com/efa``.
- ``eks`` pools are created by `pulumi up`, and the AWS checks (``--aws``) cover what they need; when
  nodes of one already exist (labelled with its pool), they are checked per node the same way.
- A device plugin DaemonSet advertises each resource: the GPU operator's (or another NVIDIA device
  plugin) for GPU pools, the AWS EFA plugin for EFA pools. When the stack installs them (``gpuPlatform``)
  and none runs yet, that is expected before `pulumi up`, and nodes not yet advertising the resource
  are reported as such; a plugin someone else runs beside the stack's is a conflict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import assert_never

from components.dynamo.capacity import WorkerDemand
from components.nodes.eks import EksNodeGroup
from components.nodes.settings import ExistingNodes, NodePoolSettings
from components.nodes.shape import PoolShape
from stacks.ops.cluster_view import NodeInfo, WorkloadInfo, image_tag
from stacks.ops.report import Finding

GPU = "nvidia.com/gpu"
GPU_PRESENT_LABEL = "nvidia.com/gpu.present"
EFA = "vpc.amazonaws.com/efa"


@dataclass(frozen=True)
class DevicePlugin:
    name: str  # the check's name
    resource: str
    markers: tuple[str, ...]  # a DaemonSet whose name or an image contains one of these runs the plugin
    installed_as: str  # what the stack installs for it
    other: str  # what to install when the stack does not


NVIDIA_PLUGIN = DevicePlugin("gpu device plugin", GPU, ("nvidia-device-plugin", "k8s-device-plugin"),
                             "the GPU operator", "the NVIDIA GPU operator or device plugin")
EFA_PLUGIN = DevicePlugin("efa device plugin", EFA, ("aws-efa-k8s-device-plugin",),
                          "the EFA device plugin", "the aws-efa-k8s-device-plugin chart")


def plugin_daemon_sets(plugin: DevicePlugin, daemon_sets: Sequence[WorkloadInfo]) -> list[WorkloadInfo]:
    return [d for d in daemon_sets
            if any(marker in text for marker in plugin.markers for text in (d.name, *d.images))]


def _tags(workload: WorkloadInfo) -> str:
    tags = sorted({tag for tag in map(image_tag, workload.images) if tag})
    return f" (image {', '.join(tags)})" if tags else ""


def check_device_plugin(plugin: DevicePlugin, daemon_sets: Sequence[WorkloadInfo], *, installs_in: str | None,
                        pools: Sequence[str]) -> Finding:
    """`installs_in`: the namespace the stack installs the plugin in (``gpuPlatform``), None when it does
    not; `pools`: the pools that need the resource."""
    found = plugin_daemon_sets(plugin, daemon_sets)
    needed = (f"pools {', '.join(pools)} need" if len(pools) > 1 else f"pool {pools[0]} needs") + f" {plugin.resource}"
    if installs_in is not None:
        foreign = [d for d in found if d.namespace != installs_in]
        if foreign:
            return Finding.failed(
                plugin.name,
                f"{', '.join(d.ref + _tags(d) for d in foreign)} already runs one that this stack did not install; "
                f"{plugin.installed_as} this stack installs in {installs_in} runs another, and both would "
                f"advertise {plugin.resource}",
                "remove it (helm uninstall its release, or kubectl delete daemonset), or set "
                "dynamo-cluster:gpuPlatform.enabled to false and run the GPU platform yourself")
        if not found:
            return Finding.passed(
                plugin.name, f"none runs yet: {plugin.installed_as} comes with `pulumi up` (gpuPlatform, namespace "
                             f"{installs_in}); {needed}")
    elif not found:
        return Finding.failed(
            plugin.name, f"no DaemonSet runs a device plugin for {plugin.resource}, and gpuPlatform is off; {needed}",
            f"set dynamo-cluster:gpuPlatform.enabled to true (the stack installs {plugin.installed_as}), or "
            f"install {plugin.other}")
    lagging = [d for d in found if d.ready < d.desired]
    if lagging:
        d = lagging[0]
        return Finding.failed(
            plugin.name, ", ".join(f"{d.ref}: {d.ready} of {d.desired} pods ready" for d in lagging),
            f"see why: kubectl -n {d.namespace} describe daemonset {d.name}; kubectl -n {d.namespace} get pods")
    return Finding.passed(plugin.name, ", ".join(f"{d.ref} runs on {d.ready} nodes{_tags(d)}" for d in found))


def _selector(shape: PoolShape) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(shape.node_selector.items())) or "(every node)"


def _names(nodes: Sequence[NodeInfo], limit: int = 5) -> str:
    shown = ", ".join(n.name for n in nodes[:limit])
    return shown + (f" and {len(nodes) - limit} more" if len(nodes) > limit else "")


def held_gpus(shape: PoolShape, demands: Sequence[WorkerDemand]) -> tuple[int, str]:
    """GPUs the capacity plan holds on the pool, and by which worker groups."""
    parts = [(f"{d.graph} {d.group}", d.held_gpus(shape)) for d in demands
             if d.pool == shape.name and 0 < d.gpus_per_node <= shape.gpus_per_node]
    return sum(g for _, g in parts), ", ".join(f"{who} {g}" for who, g in parts)


def _declared(pool: NodePoolSettings) -> bool:
    """Whether the pool's nodes are declared in config (existing nodes, whose count, GPUs and EFA
    interfaces config states) rather than made by the stack (an EKS node group, which `pulumi up`
    creates from its launch template)."""
    match pool.nodes:
        case EksNodeGroup():
            return False
        case ExistingNodes():
            return True
        case _:
            assert_never(pool.nodes)


def _node_count(pool: NodePoolSettings, shape: PoolShape, matched: Sequence[NodeInfo],
                usable: Sequence[NodeInfo]) -> Finding:
    name, selector = f"pool {pool.name} nodes", _selector(shape)
    down = [n for n in matched if not n.ready]
    cordoned = [n for n in matched if n.ready and n.unschedulable]
    aside = "".join([f"; not Ready: {_names(down)}" if down else "",
                     f"; cordoned: {_names(cordoned)}" if cordoned else ""])
    match pool.nodes:
        case EksNodeGroup() as group:
            return Finding.passed(name, f"{len(usable)} ready nodes labelled {selector}{aside}; `pulumi up` sizes the "
                                        f"node group to {group.desired_nodes} (min {group.min_nodes}, max "
                                        f"{group.max_nodes})")
        case ExistingNodes() as existing:
            want = existing.nodes
            if len(usable) < want:
                return Finding.failed(
                    name, f"{len(usable)} Ready, schedulable nodes match {selector}, but {pool.key}.nodes is "
                          f"{want}{aside}",
                    f"label {want - len(usable)} more nodes (kubectl label node NODE {selector.replace(',', ' ')}), "
                    f"bring the listed ones back, or set {pool.key}.nodes to {len(usable)}")
            return Finding.passed(name, f"{len(usable)} ready nodes match {selector} ({pool.key}.nodes: "
                                        f"{want}){aside}")
        case _:
            assert_never(pool.nodes)


def _gpus(pool: NodePoolSettings, shape: PoolShape, usable: Sequence[NodeInfo], demands: Sequence[WorkerDemand],
          pending: bool) -> list[Finding]:
    name = f"pool {pool.name} allocatable GPUs"
    held, by_group = held_gpus(shape, demands)
    plan = f"the capacity plan holds {held}" + (f" ({by_group})" if by_group else "")
    if pending and all(n.count(GPU) == 0 for n in usable):
        return [Finding.passed(name, f"no node advertises {GPU} yet: the GPU operator this stack installs does "
                                         f"after `pulumi up`; run preflight again then ({plan})")]
    results: list[Finding] = []
    bare = [n for n in usable if n.count(GPU) == 0 and n.labels.get(GPU_PRESENT_LABEL) != "true"]
    if bare:
        results.append(Finding.failed(
            name, f"nodes {_names(bare)} match the pool's selector but show no GPU (no {GPU_PRESENT_LABEL}=true label, "
                  f"no allocatable {GPU})",
            f"select only GPU nodes with {pool.key}.nodeSelector, or get the device plugin running on them (its "
            f"DaemonSet's tolerations and node selector)"))
    bare_names = {n.name for n in bare}
    short = [n for n in usable if n.name not in bare_names and n.count(GPU) < shape.gpus_per_node]
    if short:
        counts = ", ".join(f"{n.name} {n.count(GPU)}" for n in short[:5])
        why = f"see why the device plugin advertises fewer: kubectl describe node {short[0].name}"
        results.append(Finding.failed(
            name, f"nodes advertise fewer allocatable {GPU} than the pool's {shape.gpus_per_node} per node: {counts}",
            f"set {pool.key}.gpusPerNode to what the nodes have, or {why}" if _declared(pool) else why))
    total = sum(n.count(GPU) for n in usable)
    if _declared(pool) and total < held:
        results.append(Finding.failed(
            name, f"{len(usable)} nodes advertise {total} allocatable {GPU}, but {plan}",
            f"add GPU nodes to the pool ({_selector(shape)}), or scale in or move worker groups placed on it"))
    if results:
        return results
    at_max = "" if _declared(pool) else f" at {shape.max_nodes} nodes"
    return [Finding.passed(name, f"{len(usable)} nodes advertise {total} allocatable {GPU}; {plan}{at_max}")]


def _efa(pool: NodePoolSettings, shape: PoolShape, usable: Sequence[NodeInfo], pending: bool) -> Finding:
    name, want = f"pool {pool.name} allocatable EFA", shape.efa_interfaces
    if pending and all(n.count(EFA) == 0 for n in usable):
        return Finding.passed(name, f"no node advertises {EFA} yet: the EFA device plugin this stack installs "
                                        f"does after `pulumi up`; run preflight again then")
    short = [n for n in usable if n.count(EFA) < want]
    if short:
        counts = ", ".join(f"{n.name} {n.count(EFA)}" for n in short[:5])
        declared = f"{pool.key}.efaInterfaces is {want}" if _declared(pool) else \
            f"the launch template attaches {want}"
        fix = (f"run the EFA device plugin on those nodes and launch them with their EFA interfaces, or set "
               f"{pool.key}.efaInterfaces to what they advertise") if _declared(pool) else \
            ("get the EFA device plugin running on those nodes; if it runs there, they were launched without the "
             "launch template's EFA interfaces: replace them")
        return Finding.failed(name, f"nodes advertise fewer allocatable {EFA} than {declared}: {counts}", fix)
    return Finding.passed(name, f"{len(usable)} nodes advertise at least {want} allocatable {EFA} each")


def check_pool(pool: NodePoolSettings, shape: PoolShape, nodes: Sequence[NodeInfo],
               demands: Sequence[WorkerDemand], *, gpus_pending: bool, efa_pending: bool) -> list[Finding]:
    """The pool's nodes, GPUs and EFA. `*_pending`: the stack installs the plugin and none runs yet."""
    matched = [n for n in nodes if n.matches(shape.node_selector)]
    usable = [n for n in matched if n.usable]
    if not _declared(pool) and not matched:
        return [Finding.passed(
            f"pool {pool.name} nodes", f"an eks node group this stack creates: its nodes ({_selector(shape)}) come "
                                       f"with `pulumi up`; `--aws` checks what it needs")]
    results = [_node_count(pool, shape, matched, usable)]
    if not usable:
        return results
    if shape.gpus_per_node > 0:
        results += _gpus(pool, shape, usable, demands, gpus_pending)
    if shape.has_efa:
        results.append(_efa(pool, shape, usable, efa_pending))
    return results


def node_checks(pools: Sequence[NodePoolSettings], shapes: dict[str, PoolShape], demands: Sequence[WorkerDemand],
                nodes: Sequence[NodeInfo], daemon_sets: Sequence[WorkloadInfo], *,
                gpu_platform_namespace: str | None) -> list[Finding]:
    """Every pool, then the device plugins its resources need."""
    plugins = []
    gpu_pools = [p.name for p in pools if p.gpus_per_node > 0]
    efa_pools = [p.name for p in pools if shapes[p.name].has_efa]
    if gpu_pools:
        plugins.append((NVIDIA_PLUGIN, gpu_pools))
    if efa_pools:
        plugins.append((EFA_PLUGIN, efa_pools))
    pending = {plugin.resource: gpu_platform_namespace is not None and not plugin_daemon_sets(plugin, daemon_sets)
               for plugin, _ in plugins}
    results: list[Finding] = []
    for pool in pools:
        results += check_pool(pool, shapes[pool.name], nodes, demands, gpus_pending=pending.get(GPU, False),
                              efa_pending=pending.get(EFA, False))
    for plugin, needing in plugins:
        results.append(check_device_plugin(plugin, daemon_sets, installs_in=gpu_platform_namespace, pools=needing))
    return results
