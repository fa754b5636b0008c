"""Readers for value types that several config sections share."""

from __future__ import annotations

from dataclasses import replace

from components.kit.charts import ChartRef
from components.kit.resources import Resources, Storage
from stacks.config.keys.common import ResourcesKeys, StorageKeys
from stacks.config.limits import DNS_SUBDOMAIN_TEXT, dns_subdomain_problem
from stacks.config.reader import Node
from stacks.config.schema import Key

# The largest CPU quantity a container asks for here: more cores than any node of the catalog has.
MAX_CPU = "1024"


def read_resources(parent: Node, keys: ResourcesKeys, default: Resources | None = None) -> Resources:
    """``resources: {cpu, memory, cpuLimit}``; unset fields keep their keys' defaults (`default` gives
    those the reader derives). Kubernetes refuses a CPU request above the limit, whether the limit was
    configured or is the default."""
    name = keys.cpu.parent.rsplit(".", 1)[-1]
    node = parent.child(name)
    cpu = node.read(keys.cpu, default.cpu if default is not None else None)
    memory = node.read(keys.memory, default.memory if default is not None else None)
    configured_limit = node.configured(keys.cpu_limit)
    default_limit = (default.cpu_limit if default is not None else None) or node.default_of(keys.cpu_limit)
    cpu_limit = configured_limit or default_limit
    fallback = Resources(cpu=cpu, memory=memory, cpu_limit=default_limit) if default is None else default
    for key, value in (("cpu", cpu), ("cpuLimit", cpu_limit)):
        if value is not None and cpu_millis(value) > cpu_millis(MAX_CPU):
            node.problem(key, f"is {value}, more CPUs than any node has", f"a CPU quantity of at most {MAX_CPU}")
            return fallback
    if cpu_limit is not None and cpu_millis(cpu_limit) < cpu_millis(cpu):
        if configured_limit is not None:
            node.problem("cpuLimit", f"is {cpu_limit}, below {name}.cpu {cpu}", f"a CPU quantity at least {name}.cpu")
        else:
            node.problem("cpu", f"is {cpu}, above the default {name}.cpuLimit {cpu_limit}",
                         f"at most {cpu_limit}, or set {name}.cpuLimit to at least {cpu}")
        cpu_limit = cpu
    node.close()
    return Resources(cpu=cpu, memory=memory, cpu_limit=cpu_limit)


def read_storage_class(node: Node, key: Key[str], default: str) -> str:
    """A StorageClass name: a DNS subdomain."""
    value = node.read(key, default)
    if value and value != default and (wrong := dns_subdomain_problem(value)) is not None:
        node.problem(key.name, wrong, DNS_SUBDOMAIN_TEXT)
        return default
    return value


def read_storage(parent: Node, keys: StorageKeys, default_class: str, default_size: str | None = None) -> Storage:
    """``storage: {storageClass, size}``; the class defaults to the stack's `storageClass`."""
    node = parent.child(keys.size.parent.rsplit(".", 1)[-1])
    storage = Storage(storage_class=read_storage_class(node, keys.storage_class, default_class),
                      size=node.read(keys.size, default_size))
    node.close()
    return storage


def cpu_millis(text: str) -> int:
    """Millicores in a CPU quantity (`_CPU` form)."""
    return int(text[:-1]) if text.endswith("m") else int(float(text) * 1000)



def read_chart_version(node: Node, key: Key[str], chart: ChartRef) -> ChartRef:
    """A chart pinned to the version at `key` (an exact version; the project's tested pin by default).
    Upgrades are a config change: `pulumi preview` then shows the release's version change."""
    return replace(chart, version=node.read(key, chart.version))
