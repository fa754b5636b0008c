"""The counters `verify --dataplane` reads, and what it read: each counter's total and how much it
rose over a window, per pod. Both sources (Prometheus, the pods' own /metrics) answer in this form.

The counters, and where they come from:

- NIXL telemetry (ai-dynamo/nixl's Prometheus exporter, NIXL 1.3.x as Dynamo 1.4.2 ships it), on
  the workers that export it (port 19090): ``agent_tx_bytes_total``, ``agent_rx_bytes_total``.
  That exporter has no error counter (``agent_errors_total`` came after NIXL 1.4.0).
- The engine's own transfer metrics, on the worker's system port (``DYN_SYSTEM_PORT``, 9090), for a
  backend whose profile says verify reads them (`TransferMetrics.verified`): vLLM's NixlConnector
  histogram ``vllm:nixl_bytes_transferred`` (``_sum`` bytes, ``_count`` transfers) and counter
  ``vllm:nixl_num_failed_transfers_total``, the series the EFA guide's ``nixl_bytes_transferred`` /
  ``nixl_num_failed_transfers`` grep finds (docs/decisions.md).
- Dynamo's KV router, on the frontend's HTTP port: ``dynamo_component_kv_cache_events_applied``
  by ``status`` (``ok``, or why the router's index refused an event).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from components.dynamo.backends.base import TransferMetrics

NIXL_TX = "agent_tx_bytes_total"
NIXL_RX = "agent_rx_bytes_total"
KV_EVENTS = "dynamo_component_kv_cache_events_applied"
# The operator's preset of the workers' system port, where engines publish their metrics.
SYSTEM_PORT_ENV, SYSTEM_PORT = "DYN_SYSTEM_PORT", 9090
NIXL_PORT_ENV = "NIXL_TELEMETRY_PROMETHEUS_PORT"


@dataclass(frozen=True)
class Metric:
    name: str
    by: str = ""  # one label whose values are kept apart (the KV events' status)


NIXL_METRICS = (Metric(NIXL_TX), Metric(NIXL_RX))
ROUTER_METRICS = (Metric(KV_EVENTS, by="status"),)


def engine_metrics(metrics: TransferMetrics) -> tuple[Metric, ...]:
    """An engine's transfer counters: bytes moved, transfers, and failures where it counts them."""
    return tuple(Metric(name) for name in (metrics.bytes_sum, metrics.transfers, metrics.failed) if name)


@dataclass(frozen=True)
class Want:
    """Counters to read from one pod, at `port` when read from the pod itself."""

    pod: str
    port: int
    metrics: tuple[Metric, ...]


@dataclass(frozen=True)
class Reading:
    total: float
    increase: float  # over the readings' window


@dataclass(frozen=True)
class Readings:
    source: str  # where the values come from, for the report
    window: str  # what `increase` spans
    values: Mapping[tuple[str, str, str], Reading] = field(default_factory=dict)  # (pod, metric, `by` value)
    unreachable: Mapping[str, str] = field(default_factory=dict)  # pod -> why it could not be read

    def by(self, pod: str, metric: str) -> dict[str, Reading]:
        return {label: r for (p, m, label), r in self.values.items() if p == pod and m == metric}

    def get(self, pod: str, metric: str) -> Reading | None:
        """The pod's counter (summed over its series), or None when it has no such series."""
        found = self.by(pod, metric).values()
        if not found:
            return None
        return Reading(sum(r.total for r in found), sum(r.increase for r in found))

    def over(self, pods: list[str], metric: str) -> Reading | None:
        """The counter summed over `pods`, or None when none of them has it."""
        found = [r for r in (self.get(p, metric) for p in pods) if r is not None]
        if not found:
            return None
        return Reading(sum(r.total for r in found), sum(r.increase for r in found))
