"""The ``gpuPlatform`` section: whether and where the GPU operator (and EFA plugin) are installed.

On by default exactly when some node pool has GPUs, so a CPU-only dev stack gets none of it. The
driver and toolkit switches come from the pools (``existing`` pools that ask for them).
"""

from __future__ import annotations

from collections.abc import Sequence

from components.gpu_platform.values import GpuPlatformSettings
from components.kit.charts import EFA_DEVICE_PLUGIN, GPU_OPERATOR
from components.namespaces.manifests import NamespaceNames
from components.nodes.settings import ExistingNodes, NodePoolSettings
from stacks.config.common import read_chart_version
from stacks.config.keys import gpu_platform as keys
from stacks.config.limits import namespace_problem
from stacks.config.reader import Node

SECTION = "gpuPlatform"


def read_gpu_platform(root: Node, pools: Sequence[NodePoolSettings],
                      namespaces: NamespaceNames) -> GpuPlatformSettings | None:
    node = root.child(SECTION)
    has_gpus = any(p.gpus_per_node > 0 for p in pools)
    enabled = node.read(keys.ENABLED, has_gpus)
    namespace = node.read(keys.NAMESPACE)
    interval = node.read(keys.SCRAPE_INTERVAL)
    gpu_operator = read_chart_version(node, keys.GPU_OPERATOR_VERSION, GPU_OPERATOR)
    efa_plugin = read_chart_version(node, keys.EFA_PLUGIN_VERSION, EFA_DEVICE_PLUGIN)
    node.close()
    if enabled and not has_gpus:
        node.problem("enabled", "is true, but no node pool has GPUs", "false, or a node pool with gpusPerNode > 0")
    if (wrong := namespace_problem(namespace)) is not None:
        node.problem("namespace", wrong, "a namespace of its own, e.g. gpu-operator")
    elif namespace in (namespaces.platform, namespaces.monitoring, namespaces.workloads):
        node.problem("namespace", f"is {namespace!r}, a namespace this stack already uses for something else",
                     "a namespace of its own, e.g. gpu-operator")
    if not enabled:
        return None
    existing = [p.nodes for p in pools if isinstance(p.nodes, ExistingNodes) and p.gpus_per_node > 0]
    return GpuPlatformSettings(
        namespace=namespace,
        install_driver=any(e.install_driver for e in existing),
        install_toolkit=any(e.install_toolkit for e in existing),
        scrape_interval=interval,
        gpu_operator_chart=gpu_operator,
        efa_plugin_chart=efa_plugin,
    )
