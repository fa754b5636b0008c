"""`verify` for etcd: member health, leader, quorum, and a put/get/delete probe.

etcd serves its v3 API as JSON over HTTP (the gRPC gateway, ``/v3/...``) on the client port, so
plain http.client is enough: keys and values are base64, 64-bit integers are decimal strings. With
TLS and client-certificate auth (what the stack's etcd runs) the same calls go over HTTPS with the
stack's client certificate.

Every call has a deadline for the whole answer (a server that trickles bytes cannot hold verify), the
members are asked at once, and anything that is not etcd's JSON (an HTML page, a list, another
protocol on the port) is an `EtcdError` with what came back, never a traceback.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import queue
import ssl
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from stacks.ops.report import Finding, Status

PROBE_PREFIX = "/dynamo-cluster/verify/"
MEMBERS_DOWN = ("member pods are not running or not reachable: check `kubectl get pods` in the platform "
                "namespace, their volumes (PVCs) and the peer Service's DNS names; a member whose volume "
                "was lost must be removed and added again (docs/data-safety.md)")


class EtcdError(Exception):
    """An endpoint did not answer, or answered with an error."""


class EtcdApi(Protocol):
    def call(self, endpoint: str, path: str, body: dict[str, Any]) -> dict[str, Any]: ...


@dataclass(frozen=True)
class ClientTls:
    """PEM files of the CA that signed etcd's certificates and of a client certificate and key."""

    ca_file: str
    cert_file: str
    key_file: str

    def context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.ca_file)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


T = TypeVar("T")
# Registers how to abort work that runs past its deadline (closing its socket).
OnAbort = Callable[[Callable[[], None]], None]


def within(seconds: float, what: str, work: Callable[[OnAbort], T]) -> T:
    """`work(cancel)`'s result, or `EtcdError` once `seconds` pass. `work` runs in a daemon thread and
    registers how to abort it (closing its socket) through `cancel`, so nothing outlives the deadline."""
    results: queue.Queue[tuple[bool, Any]] = queue.Queue()
    aborts: list[Callable[[], None]] = []

    def run() -> None:
        try:
            results.put((True, work(aborts.append)))
        except BaseException as error:  # handed to the caller as it is
            results.put((False, error))

    threading.Thread(target=run, daemon=True).start()
    try:
        ok, value = results.get(timeout=seconds)
    except queue.Empty:
        for abort in aborts:
            with contextlib.suppress(OSError):
                abort()
        raise EtcdError(f"{what}: no complete answer within {seconds:g} s") from None
    if not ok:
        raise value
    result: T = value
    return result


def _answer_text(body: bytes) -> str:
    text = body[:80].decode(errors="replace").strip().replace("\r", " ").replace("\n", " ")
    return repr(text) if text else "nothing"


@dataclass(frozen=True)
class Gateway:
    """POSTs JSON to an endpoint's v3 gateway; `timeout` bounds each whole call."""

    timeout: float
    tls: ClientTls | None = None

    def call(self, endpoint: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        parts = urllib.parse.urlsplit(endpoint)
        try:
            port = parts.port
        except ValueError:
            raise EtcdError(f"{path}: {endpoint} has no valid port") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise EtcdError(f"{path}: {endpoint} is not an http:// or https:// URL")
        host = parts.hostname

        def post(cancel: OnAbort) -> tuple[int, bytes]:
            connection: http.client.HTTPConnection
            if parts.scheme == "https":
                context = self.tls.context() if self.tls is not None else ssl.create_default_context()
                connection = http.client.HTTPSConnection(host, port, timeout=self.timeout, context=context)
            else:
                connection = http.client.HTTPConnection(host, port, timeout=self.timeout)
            cancel(lambda: connection.sock.close() if connection.sock is not None else None)
            try:
                connection.request("POST", f"/v3/{path}", body=json.dumps(body),
                                   headers={"Content-Type": "application/json"})
                response = connection.getresponse()
                return response.status, response.read()
            finally:
                connection.close()

        try:
            status, raw = within(self.timeout, path, post)
        except ssl.SSLError as error:
            raise EtcdError(f"{path}: TLS handshake failed ({error.reason or error})") from None
        except (OSError, http.client.HTTPException) as error:
            text = str(error) or type(error).__name__
            if isinstance(error, http.client.BadStatusLine | http.client.LineTooLong):
                text = f"the answer is not HTTP ({_answer_text(str(error).encode())}): another protocol on this port"
            raise EtcdError(f"{path}: {text}") from None
        return _json_object(path, status, raw)


def _json_object(path: str, status: int, raw: bytes) -> dict[str, Any]:
    try:
        answer = json.loads(raw or b"{}")
    except ValueError:
        raise EtcdError(f"{path}: HTTP {status} with {_answer_text(raw)}, not etcd's JSON") from None
    if not isinstance(answer, dict):
        raise EtcdError(f"{path}: HTTP {status} with a JSON {type(answer).__name__}, not etcd's JSON object")
    if status >= 400:
        message = answer.get("message") or answer.get("error") or raw[:200].decode(errors="replace")
        raise EtcdError(f"{path}: HTTP {status}: {message}")
    return answer


def _field(answer: Mapping[str, Any], name: str, kind: type[T], path: str) -> T:
    """`answer[name]` when it has type `kind`; otherwise the answer is not etcd's."""
    value = answer.get(name)
    if not isinstance(value, kind):
        raise EtcdError(f"{path}: the answer has no {name} of the kind etcd sends")
    return value


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
    def leader(self) -> str:
        """The leader this member names ("0": none)."""
        return str((self.status or {}).get("leader", "0"))

    @property
    def healthy(self) -> bool:
        return self.status is not None and not self.status.get("errors") and self.leader != "0"


@dataclass
class _Survey:
    members: list[_Member] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # endpoint -> why it did not answer

    @property
    def answered(self) -> list[_Member]:
        return [m for m in self.members if m.status is not None]

    @property
    def leaders(self) -> set[str]:
        return {m.leader for m in self.answered if m.leader != "0"}

    def name_of(self, endpoint: str) -> str:
        """The member behind a failed endpoint: by its advertised client URLs, or, when one endpoint
        and one silent member are left unpaired (a port-forward's URL is not the advertised one), that one."""
        named = next((m.name for m in self.members if endpoint in m.client_urls), None)
        if named is not None:
            return named
        loose = [e for e in self.failed if not any(e in m.client_urls for m in self.members)]
        silent = [m for m in self.members if m.status is None and not set(m.client_urls) & set(self.failed)]
        if loose == [endpoint] and len(silent) == 1:
            return f"{silent[0].name} ({endpoint})"
        return endpoint


def _status(api: EtcdApi, endpoint: str) -> dict[str, Any]:
    status = api.call(endpoint, "maintenance/status", {})
    header = _field(status, "header", dict, "maintenance/status")
    if not isinstance(header.get("member_id"), str | int):
        raise EtcdError("maintenance/status: the answer names no member_id: not an etcd member")
    return status


def _member_list(api: EtcdApi, endpoint: str) -> list[dict[str, Any]]:
    listed = _field(api.call(endpoint, "cluster/member/list", {}), "members", list, "cluster/member/list")
    if not all(isinstance(m, dict) and isinstance(m.get("ID"), str | int) for m in listed):
        raise EtcdError("cluster/member/list: a member without an ID: not etcd's answer")
    return listed


def _survey(api: EtcdApi, endpoints: Sequence[str]) -> _Survey:
    """Every endpoint's status, asked at once; the membership from the first that lists it."""
    survey = _Survey()
    statuses: dict[str, dict[str, Any]] = {}
    with ThreadPoolExecutor(max_workers=max(1, len(endpoints))) as pool:
        asked = {endpoint: pool.submit(_status, api, endpoint) for endpoint in endpoints}
    for endpoint, future in asked.items():
        error = future.exception()
        if error is None:
            statuses[endpoint] = future.result()
        elif isinstance(error, EtcdError):
            survey.failed[endpoint] = str(error)
        else:
            raise error
    listed: list[dict[str, Any]] = []
    for endpoint in statuses:
        try:
            listed = _member_list(api, endpoint)
            break
        except EtcdError:
            continue
    by_id = {}
    for m in listed:
        urls = m.get("clientURLs")
        by_id[str(m["ID"])] = _Member(id=str(m["ID"]), name=str(m.get("name") or m["ID"]),
                                      client_urls=tuple(str(u) for u in urls) if isinstance(urls, list) else ())
    for endpoint, status in statuses.items():
        member_id = str(status["header"]["member_id"])
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
        if not isinstance(kvs, list) or not all(isinstance(kv, dict) for kv in kvs):
            raise EtcdError("kv/range: the answer's kvs is not etcd's list of key-values")
        read = base64.b64decode(str(kvs[0].get("value", ""))).decode(errors="replace") if kvs else None
        api.call(writer, "kv/deleterange", {"key": _b64(key)})
    except (EtcdError, ValueError) as error:
        return Finding("write probe", Status.FAILED, f"put/get/delete under {PROBE_PREFIX} failed: {error}",
                       "writes need a leader and a quorum; a NOSPACE alarm (database over etcd.quotaBackend) "
                       "refuses writes until compaction and defragmentation")
    if read != value:
        return Finding("write probe", Status.FAILED, f"wrote {key} through {writer} but read {read!r} through {reader}",
                       "members disagree: compare their revisions (etcdctl endpoint status)")
    through = "another member" if reader != writer else "the same member"
    return Finding("write probe", Status.OK, f"put, read back through {through} and deleted a key under {PROBE_PREFIX}")


def _alarms(api: EtcdApi, endpoint: str) -> list[str]:
    try:
        alarms = api.call(endpoint, "maintenance/alarm", {"action": "GET"}).get("alarms", [])
    except EtcdError:
        return []
    if not isinstance(alarms, list):
        return []
    return sorted({str(a.get("alarm")) for a in alarms if isinstance(a, dict) and a.get("alarm", "NONE") != "NONE"})


def _members_finding(survey: _Survey, unasked: list[_Member], leader_unreached: _Member | None) -> Finding:
    members, healthy = survey.members, [m for m in survey.answered if m.healthy]
    if len(healthy) == len(members):
        return Finding("members", Status.OK, f"{len(members)}/{len(members)} healthy: "
                       + ", ".join(m.name for m in members))
    problems = [f"{m.name}: {'; '.join(map(str, m.status.get('errors', []))) or 'no leader'}"
                for m in survey.answered if not m.healthy and m.status is not None]
    for endpoint, why in survey.failed.items():
        name = survey.name_of(endpoint)
        if leader_unreached is not None and name.split(" ")[0] == leader_unreached.name:
            problems.append(f"{name} unreachable from here ({why}), but it leads: the others follow it and "
                            "commit writes through it")
        else:
            problems.append(f"{name} unreachable ({why})")
    if not problems:
        return Finding("members", Status.OK, f"{len(healthy)} checked, healthy; not checked (no endpoint given): "
                       + ", ".join(m.name for m in unasked))
    serving = len(healthy) + (1 if leader_unreached is not None else 0)
    below_quorum = serving < len(members) // 2 + 1
    cause = MEMBERS_DOWN if leader_unreached is None else (
        "the leader serves its peers but not this client: check its client URL, the port-forward to it, and the "
        "NetworkPolicy; " + MEMBERS_DOWN)
    return Finding("members", Status.FAILED if below_quorum else Status.DEGRADED,
                   f"{len(healthy)}/{len(members)} answered healthy; " + "; ".join(problems), cause)


def _agreed_leader(survey: _Survey) -> str | None:
    """The one member every answering member names as leader (the members' own view of the cluster)."""
    leaders = survey.leaders
    return next(iter(leaders)) if len(leaders) == 1 else None


def check_etcd(endpoints: Sequence[str], *, api: EtcdApi, expected_members: int | None = None,
               settle_seconds: float = 10.0) -> list[Finding]:
    """Findings for the cluster behind `endpoints` (one per member to count spare failures).

    Quorum is judged from the members' own view: the leader they agree on, and whether a write
    commits. A leader whose URL does not answer from here while its followers still follow it (a
    write through them commits) is a degraded cluster, not a lost quorum."""
    deadline = time.monotonic() + settle_seconds
    survey = _survey(api, endpoints)

    def complete() -> bool:  # every member was asked (answered, or its endpoint failed)
        return bool(survey.failed) or all(m.status is not None for m in survey.members)

    def settled() -> bool:
        leader = _agreed_leader(survey)
        return leader is not None and any(m.id == leader for m in survey.answered)

    # Right after a leader fails the others need an election timeout to agree on a new one; wait
    # for that only while a majority answers at all.
    while (not settled() and len(survey.answered) > len(survey.members) // 2
           and time.monotonic() < deadline):
        time.sleep(0.5)
        survey = _survey(api, endpoints)

    if not survey.answered:
        detail = "; ".join(f"{e}: {why}" for e, why in survey.failed.items())
        return [Finding("reachability", Status.FAILED, f"no endpoint answered ({detail})",
                        "nothing listens at these addresses, or not etcd: check the URLs and ports, the "
                        "port-forward or Service, the member pods, and that the NetworkPolicy admits this "
                        "client's namespace")]

    total, need = len(survey.members), len(survey.members) // 2 + 1
    unasked = [] if complete() else [m for m in survey.members if m.status is None]
    healthy = [m for m in survey.answered if m.healthy]
    leader = _agreed_leader(survey)
    leader_member = next((m for m in survey.members if m.id == leader), None)
    unreached = leader_member if leader_member is not None and leader_member.status is None else None
    serving = [m.endpoint for m in healthy if m.endpoint is not None]
    probe: Finding | None = None
    if unreached is not None:
        # Followers keep naming a dead leader until their election timeout: only a write that commits
        # through them shows that the leader is alive.
        probe = _probe(api, serving) if serving and len(healthy) + 1 >= need else None
        if probe is None or probe.status is not Status.OK:
            unreached, leader = None, None
    findings = [_members_finding(survey, unasked, unreached)]
    if expected_members is not None and total != expected_members:
        findings.append(Finding("membership", Status.DEGRADED, f"{total} members; the stack configures "
                                f"{expected_members}", "etcd.replicas changed after bootstrap: membership changes "
                                "are manual (docs/data-safety.md)"))
    alive = len(healthy) + (1 if unreached is not None else 0)
    if leader is None or (not unasked and alive < need):
        down = [m.name for m in survey.members if m.status is None]
        findings.append(Finding("quorum", Status.FAILED,
                                f"lost: {len(healthy)} of {total} members healthy, {need} needed"
                                + ("" if leader else "; no leader") + (f"; down: {', '.join(down)}" if down else ""),
                                MEMBERS_DOWN))
        findings.append(Finding("write probe", Status.FAILED, "not attempted: without a quorum etcd refuses writes"
                                if probe is None else probe.detail))
        return findings

    name = next((m.name for m in survey.members if m.id == leader), leader)
    findings.append(Finding("leader", Status.OK, name + (" (its peers follow it; its URL does not answer from here)"
                                                         if unreached is not None else "")))
    if unasked:
        findings.append(Finding("quorum", Status.OK, "held (a leader is elected); give one endpoint per member "
                                "to count how many more may fail"))
    else:
        spare = alive - need
        findings.append(Finding("quorum", Status.OK, f"held: {alive} of {total} members healthy, {need} "
                                "needed; " + (f"{spare} more may fail" if spare else "no further member may fail")))
    alarms = _alarms(api, serving[0])
    if alarms:
        findings.append(Finding("alarms", Status.FAILED, ", ".join(alarms),
                                "NOSPACE: the database reached etcd.quotaBackend; compact, defragment, disarm"))
    findings.append(probe if probe is not None else _probe(api, serving))
    return findings
