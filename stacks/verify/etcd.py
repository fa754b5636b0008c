"""`verify` for etcd: member health, leader, quorum, and a put/get/delete probe.

etcd serves its v3 API as JSON over HTTP (the gRPC gateway, ``/v3/...``) on the client port, so
plain urllib is enough: keys and values are base64, 64-bit integers are decimal strings.
"""

from __future__ import annotations

import base64
import contextlib
import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from stacks.verify.report import Finding, Status

PROBE_PREFIX = "/dynamo-cluster/verify/"
MEMBERS_DOWN = ("member pods are not running or not reachable: check `kubectl get pods` in the platform "
                "namespace, their volumes (PVCs) and the peer Service's DNS names; a member whose volume "
                "was lost must be removed and added again (docs/data-safety.md)")


class EtcdError(Exception):
    """An endpoint did not answer, or answered with an error."""


class EtcdApi(Protocol):
    def call(self, endpoint: str, path: str, body: dict[str, Any]) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Gateway:
    """POSTs JSON to an endpoint's v3 gateway."""

    timeout: float

    def call(self, endpoint: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(f"{endpoint.rstrip('/')}/v3/{path}", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer: dict[str, Any] = json.loads(response.read() or b"{}")
                return answer
        except urllib.error.HTTPError as error:
            text = error.read().decode(errors="replace")
            with contextlib.suppress(ValueError):
                text = json.loads(text).get("message", text)
            raise EtcdError(f"{path}: {text}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise EtcdError(f"{path}: {reason}") from None


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@dataclass
class _Member:
    id: str
    name: str
    client_urls: tuple[str, ...] = ()
    status: dict[str, Any] | None = None
    endpoint: str | None = None

    @property
    def healthy(self) -> bool:
        return self.status is not None and not self.status.get("errors") and self.status.get("leader", "0") != "0"


@dataclass
class _Survey:
    members: list[_Member] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # endpoint -> why it did not answer

    @property
    def answered(self) -> list[_Member]:
        return [m for m in self.members if m.status is not None]

    @property
    def leaders(self) -> set[str]:
        return {str(m.status["leader"]) for m in self.answered
                if m.status is not None and m.status.get("leader", "0") != "0"}

    def name_of(self, endpoint: str) -> str:
        return next((m.name for m in self.members if endpoint in m.client_urls), endpoint)


def _survey(api: EtcdApi, endpoints: Sequence[str]) -> _Survey:
    statuses: dict[str, dict[str, Any]] = {}
    survey = _Survey()
    for endpoint in endpoints:
        try:
            statuses[endpoint] = api.call(endpoint, "maintenance/status", {})
        except EtcdError as error:
            survey.failed[endpoint] = str(error)
    listed: list[dict[str, Any]] = []
    for endpoint in statuses:
        try:
            listed = api.call(endpoint, "cluster/member/list", {}).get("members", [])
            break
        except EtcdError:
            continue
    by_id = {str(m["ID"]): _Member(id=str(m["ID"]), name=str(m.get("name") or m["ID"]),
                                   client_urls=tuple(m.get("clientURLs", []))) for m in listed}
    for endpoint, status in statuses.items():
        member_id = str(status.get("header", {}).get("member_id", ""))
        member = by_id.setdefault(member_id, _Member(id=member_id, name=member_id))
        member.status, member.endpoint = status, endpoint
    survey.members = sorted(by_id.values(), key=lambda m: m.name)
    return survey


def _probe(api: EtcdApi, endpoints: Sequence[str]) -> Finding:
    key = f"{PROBE_PREFIX}{uuid.uuid4().hex}"
    value = uuid.uuid4().hex
    writer, reader = endpoints[0], endpoints[-1]
    try:
        api.call(writer, "kv/put", {"key": _b64(key), "value": _b64(value)})
        kvs = api.call(reader, "kv/range", {"key": _b64(key)}).get("kvs", [])
        read = base64.b64decode(kvs[0]["value"]).decode() if kvs else None
        api.call(writer, "kv/deleterange", {"key": _b64(key)})
    except EtcdError as error:
        return Finding("write probe", Status.DOWN, f"put/get/delete under {PROBE_PREFIX} failed: {error}",
                       "writes need a leader and a quorum; a NOSPACE alarm (database over etcd.quotaBackend) "
                       "refuses writes until compaction and defragmentation")
    if read != value:
        return Finding("write probe", Status.DOWN, f"wrote {key} through {writer} but read {read!r} through {reader}",
                       "members disagree: compare their revisions (etcdctl endpoint status)")
    through = "another member" if reader != writer else "the same member"
    return Finding("write probe", Status.OK, f"put, read back through {through} and deleted a key under {PROBE_PREFIX}")


def _alarms(api: EtcdApi, endpoint: str) -> list[str]:
    try:
        answer = api.call(endpoint, "maintenance/alarm", {"action": "GET"})
    except EtcdError:
        return []
    return sorted({str(a.get("alarm")) for a in answer.get("alarms", []) if a.get("alarm", "NONE") != "NONE"})


def _members_finding(survey: _Survey, unasked: list[_Member]) -> Finding:
    members, healthy = survey.members, [m for m in survey.answered if m.healthy]
    if len(healthy) == len(members):
        return Finding("members", Status.OK, f"{len(members)}/{len(members)} healthy: "
                       + ", ".join(m.name for m in members))
    problems = [f"{m.name}: {'; '.join(m.status.get('errors', [])) or 'no leader'}"
                for m in survey.answered if not m.healthy and m.status is not None]
    problems += [f"{survey.name_of(e)} unreachable ({why})" for e, why in survey.failed.items()]
    if not problems:
        return Finding("members", Status.OK, f"{len(healthy)} checked, healthy; not checked (no endpoint given): "
                       + ", ".join(m.name for m in unasked))
    below_quorum = len(healthy) < len(members) // 2 + 1
    return Finding("members", Status.DOWN if below_quorum else Status.DEGRADED,
                   f"{len(healthy)}/{len(members)} healthy; " + "; ".join(problems), MEMBERS_DOWN)


def _leader(survey: _Survey, complete: bool) -> str | None:
    """The member every answering member names as leader. With an endpoint for every member, the
    leader must itself answer: followers keep naming a dead leader until their election timeout."""
    leaders = survey.leaders
    if len(leaders) != 1:
        return None
    leader = next(iter(leaders))
    if complete and not any(m.id == leader and m.healthy for m in survey.answered):
        return None
    return leader


def check_etcd(endpoints: Sequence[str], *, api: EtcdApi, expected_members: int | None = None,
               settle_seconds: float = 10.0) -> list[Finding]:
    """Findings for the cluster behind `endpoints` (one per member to count spare failures)."""
    deadline = time.monotonic() + settle_seconds
    survey = _survey(api, endpoints)

    def complete() -> bool:  # every member was asked (answered, or its endpoint failed)
        return bool(survey.failed) or all(m.status is not None for m in survey.members)

    # Right after a leader fails the others need an election timeout to agree on a new one; wait
    # for that only while a majority answers at all.
    while (_leader(survey, complete()) is None and len(survey.answered) > len(survey.members) // 2
           and time.monotonic() < deadline):
        time.sleep(0.5)
        survey = _survey(api, endpoints)

    if not survey.answered:
        detail = "; ".join(f"{e}: {why}" for e, why in survey.failed.items())
        return [Finding("reachability", Status.DOWN, f"no endpoint answered ({detail})",
                        "nothing listens at these addresses: check the port-forward or Service, the member pods, "
                        "and that the NetworkPolicy admits this client's namespace")]

    total, need = len(survey.members), len(survey.members) // 2 + 1
    unasked = [] if complete() else [m for m in survey.members if m.status is None]
    healthy = [m for m in survey.answered if m.healthy]
    findings = [_members_finding(survey, unasked)]
    if expected_members is not None and total != expected_members:
        findings.append(Finding("membership", Status.DEGRADED, f"{total} members; the stack configures "
                                f"{expected_members}", "etcd.replicas changed after bootstrap: membership changes "
                                "are manual (docs/data-safety.md)"))
    leader = _leader(survey, complete())
    if leader is None or (not unasked and len(healthy) < need):
        down = [m.name for m in survey.members if m.status is None]
        findings.append(Finding("quorum", Status.DOWN,
                                f"lost: {len(healthy)} of {total} members healthy, {need} needed"
                                + ("" if leader else "; no leader") + (f"; down: {', '.join(down)}" if down else ""),
                                MEMBERS_DOWN))
        findings.append(Finding("write probe", Status.DOWN, "not attempted: without a quorum etcd refuses writes"))
        return findings

    findings.append(Finding("leader", Status.OK, next((m.name for m in survey.members if m.id == leader), leader)))
    if unasked:
        findings.append(Finding("quorum", Status.OK, "held (a leader is elected); give one endpoint per member "
                                "to count how many more may fail"))
    else:
        spare = len(healthy) - need
        findings.append(Finding("quorum", Status.OK, f"held: {len(healthy)} of {total} members healthy, {need} "
                                "needed; " + (f"{spare} more may fail" if spare else "no further member may fail")))
    serving = [m.endpoint for m in healthy if m.endpoint is not None]
    alarms = _alarms(api, serving[0])
    if alarms:
        findings.append(Finding("alarms", Status.DOWN, ", ".join(alarms),
                                "NOSPACE: the database reached etcd.quotaBackend; compact, defragment, disarm"))
    findings.append(_probe(api, serving))
    return findings
