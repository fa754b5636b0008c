"""The EFA guide's transfer checks, and the router's KV events, as pure functions of the counters
read (`Readings`):

- KV transfers: bytes rising over the window (OK); moved before but not during the window, or
  never (DEGRADED: an idle graph proves nothing; send a request). A pod whose counters could not be
  read makes it DEGRADED at least.
- Failed transfers (vLLM's counter; NIXL 1.3.x's exporter has none): 0 (OK); some (DEGRADED);
  failures rising while no byte moves (DOWN: KV never arrives).
- Router KV events (a frontend routing by KV, with an event plane that carries them): events
  applied with status ``ok`` on every frontend (OK); none, or only refused ones (DEGRADED: the
  router still routes, on stale knowledge).
"""

from __future__ import annotations

from collections.abc import Sequence

from components.dynamo.backends.base import TransferMetrics
from stacks.ops.report import Finding, Status
from stacks.verify.dataplane import causes
from stacks.verify.dataplane.checks import Outcome, names, summarize
from stacks.verify.dataplane.readings import (
    KV_EVENTS,
    NIXL_RX,
    NIXL_TX,
    Reading,
    Readings,
)
from stacks.verify.dataplane.targets import GraphPlan


def size(count: float) -> str:
    """Bytes for people: 1.5 GiB, 12.0 MiB, 512 B."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _count(value: float) -> str:
    return f"{value:.0f}"


def _unreachable(readings: Readings, pods: Sequence[str]) -> list[str]:
    return [f"{p} ({readings.unreachable[p]})" for p in pods if p in readings.unreachable]


def _suffix(readings: Readings) -> str:
    return f" [{readings.source}]"


def verified_metrics(plan: GraphPlan) -> TransferMetrics | None:
    """The engine's own transfer metrics, where verify reads them (`TransferMetrics.verified`)."""
    metrics = plan.spec.backend.transfer_metrics
    return metrics if metrics is not None and metrics.verified else None


def transfers_finding(plan: GraphPlan, engine_pods: Sequence[str], nixl_pods: Sequence[str],
                      readings: Readings) -> Finding:
    """`engine_pods`: the workers whose engine's transfer metrics verify reads (`verified_metrics`)."""
    check = "KV transfers"
    if not engine_pods and not nixl_pods:
        notes = "; ".join(dict.fromkeys(g.path.telemetry_note for g in plan.kv_groups))
        return Finding(check, Status.OK, f"not measured: no NIXL telemetry on these workers ({notes}), and "
                                         f"{plan.spec.backend.name} publishes no transfer counter the guide names")
    parts: list[str] = []
    rising = earlier = False
    metrics = verified_metrics(plan)
    engine_bytes = None if metrics is None else readings.over(list(engine_pods), metrics.bytes_sum)
    engine_count = None if metrics is None else readings.over(list(engine_pods), metrics.transfers)
    if engine_bytes is not None or engine_count is not None:
        moved = engine_bytes or Reading(0, 0)
        count = engine_count or Reading(0, 0)
        parts.append(f"{plan.spec.backend.title} NIXL: {size(moved.total)} in {_count(count.total)} transfers, "
                     f"+{size(moved.increase)} in {_count(count.increase)} over {readings.window}")
        rising |= moved.increase > 0 or count.increase > 0
        earlier |= moved.total > 0 or count.total > 0
    sent, received = readings.over(list(nixl_pods), NIXL_TX), readings.over(list(nixl_pods), NIXL_RX)
    if sent is not None or received is not None:
        tx, rx = sent or Reading(0, 0), received or Reading(0, 0)
        parts.append(f"NIXL agents: sent {size(tx.total)} (+{size(tx.increase)}), received {size(rx.total)} "
                     f"(+{size(rx.increase)}) over {readings.window}")
        rising |= tx.increase > 0 or rx.increase > 0
        earlier |= tx.total > 0 or rx.total > 0
    measured = bool(parts)
    missing = _unreachable(readings, list(dict.fromkeys([*engine_pods, *nixl_pods])))
    if missing:
        parts.append("not read: " + names(missing))
    elif not measured:
        parts.append("no transfer series yet")
    detail = "; ".join(parts) + _suffix(readings)
    if rising:
        if missing:
            return Finding(check, Status.DEGRADED, detail, causes.unreadable("the counters of some pods"))
        return Finding(check, Status.OK, detail)
    if earlier:
        return Finding(check, Status.DEGRADED, f"none over {readings.window}: " + detail, causes.transfers_idle())
    if missing and not measured:
        return Finding(check, Status.DEGRADED, detail, causes.unreadable("the transfer counters"))
    return Finding(check, Status.DEGRADED, "no transfers seen: send a request; " + detail, causes.transfers_none())


def failures_finding(plan: GraphPlan, engine_pods: Sequence[str], readings: Readings) -> Finding:
    check = "failed transfers"
    metrics = verified_metrics(plan)
    failed_name = None if metrics is None else metrics.failed
    if not engine_pods or failed_name is None:
        return Finding(check, Status.OK, f"not measured: NIXL 1.3.x's telemetry exporter has no error counter, and "
                                         f"{plan.spec.backend.name} publishes none the guide names")
    failed = readings.over(list(engine_pods), failed_name)
    if failed is None:
        missing = _unreachable(readings, engine_pods)
        if missing:
            return Finding(check, Status.DEGRADED, "not read: " + names(missing) + _suffix(readings),
                           causes.unreadable(failed_name))
        return Finding(check, Status.OK, f"none reported (no {failed_name} series yet){_suffix(readings)}")
    if failed.total <= 0:
        return Finding(check, Status.OK, f"0 ({failed_name}){_suffix(readings)}")
    pods = [p for p in engine_pods if (readings.get(p, failed_name) or Reading(0, 0)).total > 0]
    moved = readings.over(list(engine_pods), metrics.bytes_sum) if metrics is not None else None
    moved = moved or Reading(0, 0)
    detail = (f"{_count(failed.total)} failed, +{_count(failed.increase)} over {readings.window} "
              f"({failed_name}) in {names(pods)}{_suffix(readings)}")
    if failed.increase > 0 and moved.increase <= 0:
        return Finding(check, Status.FAILED, detail + "; no byte moved meanwhile",
                       causes.transfers_failed(plan.namespace))
    return Finding(check, Status.DEGRADED, detail, causes.transfers_failed(plan.namespace))


def kv_events_finding(plan: GraphPlan, frontends: Sequence[str], readings: Readings) -> Finding:
    results: list[tuple[str, Outcome]] = []
    for pod in frontends:
        statuses = readings.by(pod, KV_EVENTS)
        ok = statuses.get("ok")
        refused = {s: r.total for s, r in statuses.items() if s != "ok" and r.total > 0}
        others = (", refused: " + ", ".join(f"{s} {_count(n)}" for s, n in sorted(refused.items()))) if refused else ""
        if pod in readings.unreachable:
            outcome = Outcome(Status.DEGRADED, f"metrics not read ({readings.unreachable[pod]})",
                              causes.unreadable("the frontend's metrics"))
        elif ok is not None and ok.total > 0:
            outcome = Outcome(Status.OK, f"{_count(ok.total)} applied (status ok), +{_count(ok.increase)} over "
                                         f"{readings.window}{others}")
        elif refused:
            outcome = Outcome(Status.DEGRADED, f"none applied{others}", causes.kv_events_rejected())
        else:
            outcome = Outcome(Status.DEGRADED, f"no {KV_EVENTS} with status ok", causes.kv_events_absent(plan.spec))
        results.append((pod, outcome))
    finding = summarize("router KV events", results)
    return Finding(finding.check, finding.status, finding.detail + _suffix(readings), finding.cause)
