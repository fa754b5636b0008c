"""Readers for value types that several config sections share."""

from __future__ import annotations

from dataclasses import replace

from components.kit.charts import ChartRef
from components.kit.resources import Resources, Storage
from stacks.config.reader import Node

_CPU = r"^([0-9]+(\.[0-9]+)?|[0-9]+m)$"
_CPU_TEXT = "a CPU quantity such as 2, 0.5 or 500m"


def read_resources(parent: Node, name: str, default: Resources) -> Resources:
    """``<name>: {cpu, memory, cpuLimit}``; unset fields keep the section's default."""
    node = parent.child(name)
    cpu = node.string("cpu", default.cpu, pattern=_CPU, pattern_text=_CPU_TEXT)
    memory = node.quantity("memory", default.memory)
    cpu_limit = node.optional_string("cpuLimit", pattern=_CPU, pattern_text=_CPU_TEXT)
    node.close()
    return Resources(cpu=cpu, memory=memory, cpu_limit=cpu_limit or default.cpu_limit)


def read_storage(parent: Node, name: str, default_class: str, default_size: str,
                 minimum: str | None = None) -> Storage:
    """``<name>: {storageClass, size}``; the class defaults to the stack's `storageClass`."""
    node = parent.child(name)
    storage = Storage(
        storage_class=node.string("storageClass", default_class, pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$",
                                  pattern_text="a StorageClass name"),
        size=node.quantity("size", default_size, minimum=minimum),
    )
    node.close()
    return storage


def cpu_millis(text: str) -> int:
    """Millicores in a CPU quantity (`_CPU` form)."""
    return int(text[:-1]) if text.endswith("m") else int(float(text) * 1000)



_CHART_VERSION = r"^v?[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$"


def read_chart_version(node: Node, name: str, chart: ChartRef) -> ChartRef:
    """A chart pinned to the version at `name` (an exact version; the project's tested pin by default).
    Upgrades are a config change: `pulumi preview` then shows the release's version change."""
    version = node.string(name, chart.version, pattern=_CHART_VERSION,
                          pattern_text=f"an exact chart version such as {chart.version} (no ranges, no latest)")
    return replace(chart, version=version)
