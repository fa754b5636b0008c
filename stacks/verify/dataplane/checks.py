"""The EFA guide's per-pod checks, as pure functions of what was read from each pod and the data
path the stack gave its group: pods ready, the NIXL backend instantiated, the LIBFABRIC plugin
executing, the engine's library path, NCCL's network, decode receiving KV from prefill.

Statuses (the report's: OK, DEGRADED = serving but not as planned or not yet proven, DOWN = the
data path is broken or nothing serves):

- DOWN: no ready pod in a role; ``Backend UCX was instantiated``; the plugin mapped only ``r--p``;
  NCCL on ``Socket``. Each of these is the guide's silent TCP fallback, or nothing to serve.
- DEGRADED: fewer pods ready than planned; a line not seen yet (the engines log them when they
  create agents and communicators, or while busy); the library path not the recipe's; 0% of the
  decode's prompt tokens from prefill; something that could not be read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from components.dynamo.backends.base import LIBFABRIC
from components.dynamo.datapath import EFA_LIBRARY_PATH
from components.dynamo.spec import GraphSpec
from stacks.ops.report import Finding, Status
from stacks.verify.dataplane import causes
from stacks.verify.dataplane.logs import AWS_LIBFABRIC, SOCKET, LogEvidence
from stacks.verify.dataplane.pods import Pod
from stacks.verify.dataplane.procfs import PLUGIN, ProcProbe
from stacks.verify.dataplane.targets import GroupPlan


@dataclass(frozen=True)
class PodEvidence:
    """What was read from one running pod; an error says why a part could not be."""

    pod: Pod
    logs: LogEvidence | None = None
    logs_error: str = ""
    probe: ProcProbe | None = None
    probe_error: str = ""


@dataclass(frozen=True)
class Outcome:
    """One pod's result of a check; pods with equal outcomes are reported together."""

    status: Status
    label: str
    cause: str = ""


def names(pods: Sequence[str]) -> str:
    shown = list(pods[:4]) if len(pods) <= 4 else [*pods[:3], f"{len(pods) - 3} more"]
    return ", ".join(shown)


def summarize(check: str, results: Sequence[tuple[str, Outcome]]) -> Finding:
    """One finding from per-pod outcomes: the worst status, every outcome with its pods (worst
    first), and the cause of the worst."""
    grouped: dict[Outcome, list[str]] = {}
    for pod, outcome in results:
        grouped.setdefault(outcome, []).append(pod)
    ordered = sorted(grouped.items(), key=lambda item: -int(item[0].status))
    total = len(results)
    detail = "; ".join(f"{o.label}: {len(p)} of {total} ({names(p)})" for o, p in ordered)
    worst = ordered[0][0]
    cause = next((o.cause for o, _ in ordered if o.status is worst.status and o.cause), "")
    return Finding(check, worst.status, detail, cause)


def pods_finding(role: str, expected: int, pods: Sequence[Pod], namespace: str, selector: str) -> Finding:
    """The role's pods: DOWN when none is ready, DEGRADED when fewer than planned are."""
    check = f"{role} pods"
    ready = [p.name for p in pods if p.running and p.ready]
    others = [f"{p.name} ({p.phase}{', terminating' if p.terminating else ''}"
              f"{', not ready' if p.phase == 'Running' and not p.ready else ''})"
              for p in pods if not (p.running and p.ready)]
    restarted = [f"{p.name} {p.restarts}x" for p in pods if p.restarts]
    parts = [f"{len(ready)} of {expected} ready"]
    if others:
        parts.append("not ready: " + names(others))
    if restarted:
        parts.append("restarted: " + names(restarted))
    detail = "; ".join(parts)
    if not ready:
        return Finding(check, Status.FAILED, detail if pods else f"no {role} pod (expected {expected})",
                       causes.pods_missing(namespace, selector))
    if len(ready) < expected:
        return Finding(check, Status.DEGRADED, detail, causes.pods_missing(namespace, selector))
    return Finding(check, Status.OK, detail)


def _unread(what: str, error: str) -> Outcome:
    return Outcome(Status.DEGRADED, f"{what} not read ({error})", causes.unreadable(what))


def backend_finding(spec: GraphSpec, group: GroupPlan, evidence: Sequence[PodEvidence], namespace: str) -> Finding:
    ucx = Outcome(Status.FAILED, "Backend UCX was instantiated", causes.backend_ucx(spec, group.group, namespace))
    good = Outcome(Status.OK, f"Backend {LIBFABRIC} was instantiated")
    unseen = Outcome(Status.DEGRADED, "neither line seen yet", causes.backend_unseen())
    results: list[tuple[str, Outcome]] = []
    for ev in evidence:
        if ev.logs is None:
            outcome = _unread("log", ev.logs_error)
        elif "UCX" in ev.logs.backends:
            outcome = ucx
        elif LIBFABRIC in ev.logs.backends:
            outcome = good
        else:
            outcome = unseen
        results.append((ev.pod.name, outcome))
    return summarize(f"{group.role} NIXL backend", results)


def plugin_finding(spec: GraphSpec, group: GroupPlan, evidence: Sequence[PodEvidence], namespace: str) -> Finding:
    results: list[tuple[str, Outcome]] = []
    for ev in evidence:
        probe = ev.probe
        if probe is None:
            outcome = _unread("/proc", ev.probe_error)
        elif probe.executing:
            outcome = Outcome(Status.OK, f"{PLUGIN} mapped r-xp (executing)")
        elif probe.mapped:
            outcome = Outcome(Status.FAILED, f"{PLUGIN} mapped r--p only (not executing)",
                              causes.plugin_not_executing(spec, group.group, namespace))
        else:
            outcome = Outcome(Status.DEGRADED, f"{PLUGIN} not loaded in any process", causes.plugin_not_loaded(spec))
        results.append((ev.pod.name, outcome))
    return summarize(f"{group.role} LIBFABRIC plugin", results)


def library_path_finding(group: GroupPlan, evidence: Sequence[PodEvidence]) -> Finding:
    """The engine's LD_LIBRARY_PATH starts with the guide's EFA directories (put there by the
    recipe's wrapper; a TensorRT-LLM worker across nodes runs unwrapped under mpirun, and its -efa
    image's own path starts with the first of them)."""
    wrapped = bool(group.path.library_path)
    prefix = list(group.path.library_path) if wrapped else list(EFA_LIBRARY_PATH[:1])
    wanted = ":".join(prefix)
    why = causes.library_path_wrong() if wrapped else (
        f"the image's own LD_LIBRARY_PATH does not start with {wanted}: not an -efa image")
    results: list[tuple[str, Outcome]] = []
    for ev in evidence:
        probe = ev.probe
        if probe is None:
            outcome = _unread("/proc", ev.probe_error)
        elif probe.environ is None:
            outcome = _unread(f"/proc/{probe.environ_pid}/environ", "permission denied or no such process")
        elif probe.library_path is None:
            outcome = Outcome(Status.DEGRADED, f"no LD_LIBRARY_PATH in process {probe.environ_pid}", why)
        elif probe.library_path.split(":")[:len(prefix)] == prefix:
            outcome = Outcome(Status.OK, f"starts with {wanted}" + ("" if wrapped else " (the image's own, unwrapped)"))
        else:
            head = ":".join(probe.library_path.split(":")[:len(prefix)])
            outcome = Outcome(Status.DEGRADED, f"starts with {head or '(empty)'}, not {wanted}", why)
        results.append((ev.pod.name, outcome))
    return summarize(f"{group.role} library path", results)


def nccl_finding(group: GroupPlan, evidence: Sequence[PodEvidence]) -> Finding:
    results: list[tuple[str, Outcome]] = []
    for ev in evidence:
        if ev.logs is None:
            outcome = _unread("log", ev.logs_error)
        elif SOCKET in ev.logs.networks:
            outcome = Outcome(Status.FAILED, "NCCL on NET/Socket (tensors over TCP)", causes.nccl_socket(group.group))
        elif AWS_LIBFABRIC in ev.logs.networks:
            outcome = Outcome(Status.OK, f"NCCL on NET/{AWS_LIBFABRIC}")
        elif ev.logs.networks:
            outcome = Outcome(Status.DEGRADED, f"NCCL on NET/{', NET/'.join(sorted(ev.logs.networks))}",
                              causes.nccl_socket(group.group))
        else:
            outcome = Outcome(Status.DEGRADED, "NCCL's network not seen", causes.nccl_unseen(group.group))
        results.append((ev.pod.name, outcome))
    return summarize(f"{group.role} NCCL network", results)


def decode_hits_finding(spec: GraphSpec, evidence: Sequence[PodEvidence]) -> Finding:
    """vLLM's decode workers report the share of prompt tokens whose KV came from prefill; a pod
    that never logs it (a worker pod of a multi-node replica: its leader logs) is not counted."""
    check = "decode KV from prefill"
    if not spec.backend.logs_decode_hits:
        return Finding(check, Status.OK, f"not measured: {spec.backend} has no documented decode-side log line or "
                                         "metric for KV received from prefill")
    results: list[tuple[str, Outcome]] = []
    for ev in evidence:
        if ev.logs is None:
            results.append((ev.pod.name, _unread("log", ev.logs_error)))
        elif ev.logs.external_hit_rate is not None:
            rate = ev.logs.external_hit_rate
            results.append((ev.pod.name, Outcome(Status.OK, f"External prefix cache hit rate {rate:.1f}%") if rate > 0
                            else Outcome(Status.DEGRADED, "External prefix cache hit rate 0.0%",
                                         causes.decode_no_hits())))
    if not any(o.status is Status.OK or "hit rate" in o.label for _, o in results):
        unseen = Outcome(Status.DEGRADED, "no External prefix cache hit rate line", causes.decode_unseen())
        seen = {pod for pod, _ in results}
        results += [(ev.pod.name, unseen) for ev in evidence if ev.pod.name not in seen]
    return summarize(check, results)
