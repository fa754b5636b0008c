"""Readers for value types that several config sections share."""

from __future__ import annotations

from dataclasses import replace

from components.kit.charts import ChartRef
from components.kit.resources import Resources, Storage
from stacks.config.limits import DNS_SUBDOMAIN_TEXT, dns_subdomain_problem
from stacks.config.reader import Node

_CPU = r"^([0-9]+(\.[0-9]+)?|[0-9]+m)$"
_CPU_TEXT = "a CPU quantity such as 2, 0.5 or 500m"


# The largest CPU quantity a container asks for here: more cores than any node of the catalog has.
MAX_CPU = "1024"


def read_resources(parent: Node, name: str, default: Resources) -> Resources:
    """``<name>: {cpu, memory, cpuLimit}``; unset fields keep the section's default. Kubernetes
    refuses a CPU request above the limit, whether the limit was configured or is the default."""
    node = parent.child(name)
    cpu = node.string("cpu", default.cpu, pattern=_CPU, pattern_text=_CPU_TEXT)
    memory = node.quantity("memory", default.memory)
    configured_limit = node.optional_string("cpuLimit", pattern=_CPU, pattern_text=_CPU_TEXT)
    cpu_limit = configured_limit or default.cpu_limit
    for key, value in (("cpu", cpu), ("cpuLimit", cpu_limit)):
        if value is not None and cpu_millis(value) > cpu_millis(MAX_CPU):
            node.problem(key, f"is {value}, more CPUs than any node has", f"a CPU quantity of at most {MAX_CPU}")
            return default
    if cpu_limit is not None and cpu_millis(cpu_limit) < cpu_millis(cpu):
        if configured_limit is not None:
            node.problem("cpuLimit", f"is {cpu_limit}, below {name}.cpu {cpu}", f"a CPU quantity at least {name}.cpu")
        else:
            node.problem("cpu", f"is {cpu}, above the default {name}.cpuLimit {cpu_limit}",
                         f"at most {cpu_limit}, or set {name}.cpuLimit to at least {cpu}")
        cpu_limit = cpu
    node.close()
    return Resources(cpu=cpu, memory=memory, cpu_limit=cpu_limit)


def read_storage_class(node: Node, name: str, default: str) -> str:
    """A StorageClass name: a DNS subdomain."""
    value = node.string(name, default, pattern_text=DNS_SUBDOMAIN_TEXT)
    if value and value != default and (wrong := dns_subdomain_problem(value)) is not None:
        node.problem(name, wrong, DNS_SUBDOMAIN_TEXT)
        return default
    return value


def read_storage(parent: Node, name: str, default_class: str, default_size: str,
                 minimum: str | None = None) -> Storage:
    """``<name>: {storageClass, size}``; the class defaults to the stack's `storageClass`."""
    node = parent.child(name)
    storage = Storage(
        storage_class=read_storage_class(node, "storageClass", default_class),
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
