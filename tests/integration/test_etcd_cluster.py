"""A 3-member etcd cluster of real processes, from the StatefulSet's command-line function, with TLS
and client-certificate auth on client and peer traffic as the StatefulSet runs it."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest

from components.etcd.flags import minor_version
from stacks.cli import main
from stacks.verify.etcd import EtcdError, Gateway
from tests.integration.servers import (
    EtcdCluster,
    Processes,
    etcd_has_leader,
    etcd_members,
    etcd_version,
    start_etcd,
    wait_for,
)

pytestmark = pytest.mark.integration


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def cluster(etcd_binary: str, processes: Processes, tmp_path: Path) -> EtcdCluster:
    found = etcd_members(etcd_binary, etcd_version(etcd_binary), tmp_path / "data")
    start_etcd(processes, found)
    return found


def verify(found: EtcdCluster, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["verify", *found.verify_flags(), "--etcd-members", "3"])
    return code, capsys.readouterr().out


def leader_name(found: EtcdCluster) -> str:
    api = found.gateway(timeout=5)
    status = api.call(found.members[0].client_url, "maintenance/status", {})
    listed = api.call(found.members[0].client_url, "cluster/member/list", {})["members"]
    return str(next(m["name"] for m in listed if str(m["ID"]) == status["leader"]))


def test_flags_of_another_minor_version_are_refused(etcd_binary: str, tmp_path: Path) -> None:
    """The local etcd rejects what the pinned image's version needs (or the reverse): the version
    switch in etcd_args is what makes both work."""
    local = minor_version(etcd_version(etcd_binary))
    other = "3.6" if local != "3.6" else "3.4"
    member = etcd_members(etcd_binary, other, tmp_path / "data", size=1).members[0]
    result = subprocess.run(member.argv, capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode != 0
    assert "flag provided but not defined" in result.stderr + result.stdout


def test_healthy_cluster(etcd_binary: str, processes: Processes, tmp_path: Path,
                         capsys: pytest.CaptureFixture[str]) -> None:
    found = cluster(etcd_binary, processes, tmp_path)
    code, report = verify(found, capsys)
    assert code == 0, report
    assert "3/3 healthy" in report
    assert "1 more may fail" in report


def test_one_member_down_serves_and_loses_nothing(etcd_binary: str, processes: Processes, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    found = cluster(etcd_binary, processes, tmp_path)
    members = found.members
    api = found.gateway()
    written = {f"/data/key-{i}": f"value-{i}" for i in range(25)}
    for key, value in written.items():
        api.call(members[0].client_url, "kv/put", {"key": b64(key), "value": b64(value)})

    victim = leader_name(found)  # the hardest member to lose: an election follows
    processes.kill(victim)
    survivors = [m for m in members if m.name != victim]
    wait_for("a new leader", lambda: all(etcd_has_leader(found, m) for m in survivors), seconds=20)

    code, report = verify(found, capsys)
    assert code == 1, report
    assert f"{victim} unreachable" in report
    assert "no further member may fail" in report
    assert "ok        write probe" in report
    for member in survivors:
        for key, value in written.items():
            kvs = api.call(member.client_url, "kv/range", {"key": b64(key)})["kvs"]
            assert base64.b64decode(kvs[0]["value"]).decode() == value


def test_two_members_down_is_quorum_loss(etcd_binary: str, processes: Processes, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    found = cluster(etcd_binary, processes, tmp_path)
    members = found.members
    processes.kill(members[1].name)
    processes.kill(members[2].name)
    code, report = verify(found, capsys)
    assert code == 2, report
    assert "quorum" in report
    assert "lost" in report
    assert f"down: {members[1].name}, {members[2].name}" in report
    # not attempted, or (when the survivor still names a killed leader) tried and refused
    assert "FAIL      write probe" in report


def test_a_leader_alive_behind_an_unreachable_url_is_degraded_not_quorum_lost(
        etcd_binary: str, processes: Processes, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The leader runs, but the URL verify was given for it answers nothing (a broken port-forward)."""
    from tests.integration.servers import free_ports

    found = cluster(etcd_binary, processes, tmp_path)
    leader = leader_name(found)
    urls = [f"https://127.0.0.1:{free_ports(1)[0]}" if m.name == leader else m.client_url for m in found.members]
    flags = found.verify_flags()
    flags[1] = ",".join(urls)
    code = main(["verify", *flags, "--etcd-members", "3"])
    report = capsys.readouterr().out
    assert code == 1, report
    assert "ok        quorum" in report
    assert "it leads" in report
    assert "ok        write probe" in report


def test_clients_without_the_stacks_certificate_are_refused(
        etcd_binary: str, processes: Processes, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Client-certificate auth: TLS alone is not enough, and plain HTTP is not served."""
    found = cluster(etcd_binary, processes, tmp_path)
    url = found.members[0].client_url
    with pytest.raises(EtcdError):
        Gateway(timeout=5).call(url, "maintenance/status", {})  # no client certificate, no CA
    with pytest.raises(EtcdError):
        Gateway(timeout=5).call(url.replace("https://", "http://"), "maintenance/status", {})
    assert found.gateway().call(url, "maintenance/status", {})["leader"] != "0"
    code = main(["verify", "--etcd", ",".join(m.client_url for m in found.members)])
    report = capsys.readouterr().out
    assert code == 2
    assert "FAIL      reachability" in report
