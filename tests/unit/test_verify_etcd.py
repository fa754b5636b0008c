"""verify's etcd checks against a scripted cluster: health, leader, quorum arithmetic, the probe."""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from stacks.ops.report import Finding, Status
from stacks.verify.etcd import PROBE_PREFIX, EtcdError, check_etcd


@dataclass
class FakeEtcd:
    """Members a, b, c at http://a ... ; `down` refuse connections; `leader` is what the others say."""

    names: tuple[str, ...] = ("a", "b", "c")
    leader: str | None = "a"
    down: set[str] = field(default_factory=set)  # not reachable from verify
    dead: set[str] = field(default_factory=set)  # not running at all (down for its peers too)
    errors: dict[str, list[str]] = field(default_factory=dict)
    alarms: list[str] = field(default_factory=list)
    reachable_by_peers: set[str] = field(default_factory=set)  # of `down`: still running, only verify cannot reach
    store: dict[str, str] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    def endpoints(self) -> list[str]:
        return [f"http://{n}" for n in self.names]

    def call(self, endpoint: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        name = endpoint.removeprefix("http://")
        self.calls.append(f"{name} {path}")
        if name in self.down:
            raise EtcdError(f"{path}: connection refused")
        if path == "maintenance/status":
            status: dict[str, Any] = {"header": {"member_id": name}}
            if self.leader is not None and not self.errors.get(name):
                status["leader"] = self.leader
            if self.errors.get(name):
                status["errors"] = self.errors[name]
            return status
        if path == "cluster/member/list":
            return {"members": [{"ID": n, "name": n, "clientURLs": [f"http://{n}"]} for n in self.names]}
        if path == "maintenance/alarm":
            return {"alarms": [{"alarm": a} for a in self.alarms]}
        key = base64.b64decode(body["key"]).decode()
        running = [n for n in self.names if n not in self.dead | (self.down - self.reachable_by_peers)]
        if path == "kv/put" and (self.leader is None or self.leader not in running
                                 or len(running) < len(self.names) // 2 + 1):
            raise EtcdError("kv/put: etcdserver: request timed out")
        if path == "kv/put":
            self.store[key] = base64.b64decode(body["value"]).decode()
            return {}
        if path == "kv/range":
            found = self.store.get(key)
            return {"kvs": [{"value": base64.b64encode(found.encode()).decode()}]} if found is not None else {}
        if path == "kv/deleterange":
            self.store.pop(key, None)
            return {}
        raise AssertionError(path)


def check(fake: FakeEtcd, endpoints: list[str] | None = None, **kwargs: Any) -> dict[str, Finding]:
    findings = check_etcd(endpoints or fake.endpoints(), api=fake, settle_seconds=kwargs.pop("settle", 0.0),
                          **kwargs)
    return {f.check: f for f in findings}


def test_healthy_cluster() -> None:
    fake = FakeEtcd()
    found = check(fake)
    assert {f.status for f in found.values()} == {Status.OK}
    assert found["members"].detail == "3/3 healthy: a, b, c"
    assert found["leader"].detail == "a"
    assert found["quorum"].detail == "held: 3 of 3 members healthy, 2 needed; 1 more may fail"
    assert "read back through another member" in found["write probe"].detail
    assert fake.store == {}  # the probe cleaned up
    assert any(c.endswith("kv/put") for c in fake.calls)


def test_one_member_down_is_degraded_but_writes() -> None:
    found = check(FakeEtcd(down={"c"}))
    assert found["members"].status is Status.DEGRADED
    assert "c unreachable" in found["members"].detail
    assert found["quorum"].status is Status.OK
    assert "no further member may fail" in found["quorum"].detail
    assert found["write probe"].status is Status.OK


def test_two_members_down_is_quorum_loss_without_waiting_or_writing() -> None:
    fake = FakeEtcd(down={"b", "c"}, leader=None, errors={"a": ["etcdserver: no leader"]})
    start = time.monotonic()
    found = check(fake, settle=5.0)
    assert time.monotonic() - start < 1.0  # a minority answers: no point waiting for an election
    assert found["quorum"].status is Status.FAILED
    assert found["quorum"].detail == "lost: 0 of 3 members healthy, 2 needed; no leader; down: b, c"
    assert found["write probe"].detail.startswith("not attempted")
    assert not any(c.endswith("kv/put") for c in fake.calls)


def test_a_dead_leader_named_by_a_lone_survivor_is_no_leader() -> None:
    # right after the kill the survivor still names the old leader
    found = check(FakeEtcd(down={"a", "b"}, leader="a"))
    assert found["quorum"].status is Status.FAILED
    assert "leader" not in found


def test_waits_for_an_election_while_a_majority_answers() -> None:
    fake = FakeEtcd(down={"a"}, leader="a")
    original = fake.call
    surveys = 0

    def electing(endpoint: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        nonlocal surveys
        if path == "maintenance/status" and endpoint == "http://b":
            surveys += 1
            if surveys == 3:
                fake.leader = "b"
        return original(endpoint, path, body)

    fake.call = electing  # type: ignore[method-assign]
    found = check(fake, settle=5.0)
    assert found["leader"].detail == "b"
    assert found["write probe"].status is Status.OK


def test_one_endpoint_for_a_bigger_cluster() -> None:
    found = check(FakeEtcd(), endpoints=["http://a"])
    assert found["members"].status is Status.OK
    assert "not checked (no endpoint given): b, c" in found["members"].detail
    assert found["quorum"].detail.startswith("held (a leader is elected)")
    assert "the same member" in found["write probe"].detail


def test_nospace_alarm_and_membership_mismatch() -> None:
    found = check(FakeEtcd(alarms=["NOSPACE"]), expected_members=5)
    assert found["alarms"].status is Status.FAILED
    assert "quotaBackend" in found["alarms"].cause
    assert found["membership"].status is Status.DEGRADED
    assert found["membership"].detail == "3 members; the stack configures 5"


def test_nothing_answers() -> None:
    found = check(FakeEtcd(down={"a", "b", "c"}))
    assert list(found) == ["reachability"]
    assert found["reachability"].status is Status.FAILED
    assert "http://a: maintenance/status: connection refused" in found["reachability"].detail


def test_probe_keys_live_under_the_reserved_prefix() -> None:
    fake = FakeEtcd()
    seen: list[str] = []
    original = fake.call

    def spy(endpoint: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        if path.startswith("kv/"):
            seen.append(base64.b64decode(body["key"]).decode())
        return original(endpoint, path, body)

    fake.call = spy  # type: ignore[method-assign]
    check(fake)
    assert seen
    assert all(key.startswith(PROBE_PREFIX) for key in seen)


def test_a_leader_alive_but_unreachable_from_here_is_degraded_not_quorum_lost() -> None:
    """Its followers name it and commit writes through it: the members' own view decides."""
    fake = FakeEtcd(down={"a"}, reachable_by_peers={"a"}, leader="a")
    found = check(fake)
    assert found["quorum"].status is Status.OK, found
    assert found["quorum"].detail == "held: 3 of 3 members healthy, 2 needed; 1 more may fail"
    assert found["members"].status is Status.DEGRADED
    assert "a unreachable from here" in found["members"].detail
    assert "leads" in found["members"].detail
    assert found["leader"].detail.startswith("a (its peers follow it")
    assert found["write probe"].status is Status.OK
    assert max(f.status for f in found.values()) is Status.DEGRADED


def test_a_dead_leader_still_named_is_not_taken_for_alive() -> None:
    found = check(FakeEtcd(down={"a"}, leader="a"))  # really gone: writes through the others fail
    assert found["quorum"].status is Status.FAILED
    assert "no leader" in found["quorum"].detail


@dataclass
class Garbage:
    """Endpoints that answer something that is not etcd's JSON."""

    answer: Any

    def call(self, endpoint: str, path: str, body: dict[str, Any]) -> dict[str, Any]:  # noqa: ARG002
        result: dict[str, Any] = self.answer
        return result


@pytest.mark.parametrize("answer", [{}, {"header": []}, {"header": {"member_id": None}}, {"header": "x"}])
def test_answers_that_are_not_etcd_are_findings(answer: Any) -> None:
    found = check_etcd(["http://a"], api=Garbage(answer), settle_seconds=0)
    assert [f.check for f in found] == ["reachability"]
    assert found[0].status is Status.FAILED
    assert "etcd" in found[0].detail.split("(", 1)[1]
