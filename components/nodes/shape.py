"""The shape of a GPU node pool, as the graphs and the capacity check see it.

`GpuNodePool` (components/nodes/pools.py) exposes one as `.shape`. Everything here is known from
config at plan time, so pure builders (DGD specs, the capacity plan) can use it directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from components.kit.quantity import quantity_bytes


@dataclass(frozen=True)
class PoolShape:
    name: str
    gpus_per_node: int
    gpu_model: str
    gpu_memory_gib: int
    min_nodes: int
    max_nodes: int
    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: tuple[Mapping[str, str], ...] = ()
    efa_interfaces: int = 0
    availability_zone: str | None = None
    instance_type: str | None = None
    hourly_price_usd: float | None = None
    # Where the pool is configured (``nodePools[1]``), so messages name the key to change.
    key: str = ""
    # The key under `key` that sets `max_nodes`: ``maxNodes`` for eks pools, ``nodes`` for existing
    # ones (which have no maxNodes), so messages and fixes name the key the pool's kind has.
    size_key: str = "maxNodes"
    # 2 MiB huge pages each node provides (a size; "0": none), for EFA's libfabric buffers.
    huge_pages_2mi: str = "0"
    # The line rate of one EFA interface in Gbps (the instance type's network card), when known.
    efa_card_gbps: float | None = None

    @property
    def huge_pages_bytes(self) -> int:
        return quantity_bytes(self.huge_pages_2mi)

    @property
    def has_efa(self) -> bool:
        return self.efa_interfaces > 0

    @property
    def max_gpus(self) -> int:
        return self.gpus_per_node * self.max_nodes

    @property
    def hourly_cost_at_max(self) -> float | None:
        """On-demand cost of the pool at its largest size, when the price is known."""
        return None if self.hourly_price_usd is None else self.hourly_price_usd * self.max_nodes
