"""A 3-server NATS JetStream cluster of real processes, configured from the component's settings."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from components.kit.resources import Resources, Storage
from components.nats.settings import DYNAMO_MAX_PAYLOAD, PASSWORD_KEY, USERNAME_KEY, VERIFY_PASSWORD_ENV, NatsSettings
from stacks.cli import main
from tests.harness import ROOT
from tests.integration.conftest import find_binary
from tests.integration.servers import (
    NatsServer,
    Processes,
    etcd_members,
    etcd_version,
    nats_servers,
    start_etcd,
    start_nats,
    wait_for,
)

pytestmark = pytest.mark.integration

USER, PASSWORD = "dynamo", "kQzWmXvbTnRyLpHdJcGsFaUe"  # letters only, like the generated password
VERIFY_USER, VERIFY_PASSWORD = "verify", "pLmNoKiJuHyGtFrDeSwAqZxC"
SETTINGS = NatsSettings(replicas=3, max_payload=DYNAMO_MAX_PAYLOAD, storage=Storage("test", "1Gi"),
                        resources=Resources(cpu="100m", memory="256Mi", cpu_limit="100m"), retain_volumes=False,
                        separate_nodes=False)


def start(binary: str, processes: Processes, data: Path) -> list[NatsServer]:
    """The servers read their credentials from the environment, as the pods do from the Secret."""
    data.mkdir()
    found = nats_servers(SETTINGS, data)
    env = {**os.environ, PASSWORD_KEY: PASSWORD, VERIFY_PASSWORD_ENV: VERIFY_PASSWORD}
    start_nats(processes, binary, found, env=env, replicas=SETTINGS.replicas, user=VERIFY_USER,
               password=VERIFY_PASSWORD)
    return found


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """What verify reads: the variables of verify's own Secret (the same names Dynamo's pods get)."""
    monkeypatch.setenv(USERNAME_KEY, VERIFY_USER)
    monkeypatch.setenv(PASSWORD_KEY, VERIFY_PASSWORD)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[NatsServer]]:
    """One cluster for the tests that leave it intact."""
    binary = find_binary("nats-server")
    root = tmp_path_factory.mktemp("nats")
    (root / "logs").mkdir()
    processes = Processes(root / "logs")
    try:
        yield start(binary, processes, root / "data")
    finally:
        processes.stop_all()


@pytest.fixture
def own(nats_binary: str, processes: Processes, tmp_path: Path) -> list[NatsServer]:
    """A cluster for a test that kills a server."""
    return start(nats_binary, processes, tmp_path / "data")


def verify(url: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["verify", "--nats", url, "--nats-replicas", "3", "--max-payload", str(SETTINGS.max_payload)])
    return code, capsys.readouterr().out


async def quiet(_: Exception) -> None:
    """nats-py logs connection errors with a traceback by default; the tests assert on results."""


async def publish_r3(url: str, count: int) -> str:
    """Publish `count` messages to a new 3-replica stream; return the server leading it."""
    import nats
    from nats.js.api import StorageType

    client = await nats.connect(url, user=USER, password=PASSWORD, error_cb=quiet)
    try:
        js = client.jetstream()
        info = await js.add_stream(name="EVENTS", subjects=["namespace.test.events.>"], num_replicas=3,
                                   storage=StorageType.FILE)
        for i in range(count):
            await js.publish(f"namespace.test.events.{i}", f"event-{i}".encode())
        assert info.cluster is not None
        return str(info.cluster.leader)
    finally:
        await client.close()


async def read_all(url: str, count: int) -> list[bytes]:
    import nats

    client = await nats.connect(url, user=USER, password=PASSWORD, error_cb=quiet)
    try:
        js = client.jetstream(timeout=3)
        return [(await js.get_msg("EVENTS", seq)).data or b"" for seq in range(1, count + 1)]
    finally:
        await client.close()


def test_healthy_cluster(shared: list[NatsServer], capsys: pytest.CaptureFixture[str]) -> None:
    code, report = verify(shared[0].url, capsys)
    assert code == 0, report
    assert "3 servers, as configured" in report
    assert f"{DYNAMO_MAX_PAYLOAD} bytes" in report


def test_wrong_password_is_named(shared: list[NatsServer], capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_KEY, "wrong")
    code, report = verify(shared[0].url, capsys)
    assert code == 2
    assert "FAIL      authentication" in report
    assert "Authorization Violation" in report


def test_one_server_down_keeps_every_r3_message_and_is_degraded(
        own: list[NatsServer], processes: Processes, capsys: pytest.CaptureFixture[str]) -> None:
    count = 200
    leader = asyncio.run(publish_r3(own[0].url, count))
    processes.kill(leader)  # the stream's leader: the others must elect a new one
    survivor = next(s for s in own if s.name != leader)

    def readable() -> bool:
        try:
            return asyncio.run(read_all(survivor.url, 1)) == [b"event-0"]
        except Exception:  # not yet: the election is running
            return False

    wait_for("a new stream leader", readable, seconds=30)
    expected = [f"event-{i}".encode() for i in range(count)]

    def all_readable() -> bool:
        try:
            return asyncio.run(read_all(survivor.url, count)) == expected
        except Exception:  # a read that times out while the group settles is retried
            return False

    wait_for("every message published before the kill", all_readable, seconds=30)

    code, report = verify(survivor.url, capsys)
    assert code == 1, report
    assert "DEGRADED  cluster" in report
    assert "ok        write probe" in report
    assert "DEGRADED  streams" in report
    assert "EVENTS" in report  # the stream with a lost replica is named


def test_max_payload_boundary(shared: list[NatsServer]) -> None:
    import nats
    from nats.errors import MaxPayloadError

    limit = SETTINGS.max_payload

    async def exchange() -> tuple[int, str]:
        client = await nats.connect(shared[0].url, user=USER, password=PASSWORD, error_cb=quiet)
        try:
            assert client.max_payload == limit
            subscription = await client.subscribe("namespace.test.big")
            await client.publish("namespace.test.big", b"x" * (limit - 1))
            received = await subscription.next_msg(timeout=10)
            with pytest.raises(MaxPayloadError) as refused:
                await client.publish("namespace.test.big", b"x" * (limit + 1))
            return len(received.data), str(refused.value)
        finally:
            await client.close()

    size, error = asyncio.run(exchange())
    assert size == limit - 1
    assert "maximum payload" in error.lower()


def test_the_server_itself_refuses_an_oversized_message(shared: list[NatsServer]) -> None:
    """Not only the client library: the server enforces the configured limit."""
    host, port = shared[0].url.removeprefix("nats://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.recv(4096)  # INFO
        connect = f'CONNECT {{"user":"{USER}","pass":"{PASSWORD}","verbose":false,"pedantic":false}}\r\n'
        conn.sendall(connect.encode() + f"PUB namespace.test.big {SETTINGS.max_payload + 1}\r\n".encode())
        answer = b""
        while b"-ERR" not in answer:
            chunk = conn.recv(4096)
            if not chunk:
                break
            answer += chunk
    assert b"Maximum Payload Violation" in answer


def test_verify_end_to_end_on_full_clusters(shared: list[NatsServer], etcd_binary: str, processes: Processes,
                                            tmp_path: Path) -> None:
    """`python -m stacks verify` as a user runs it, against both full clusters: healthy, exit 0."""
    etcd = etcd_members(etcd_binary, etcd_version(etcd_binary), tmp_path / "etcd")
    start_etcd(processes, etcd)
    result = subprocess.run(
        [sys.executable, "-m", "stacks", "verify", "--nats", shared[1].url, "--nats-replicas", "3",
         *etcd.verify_flags(), "--etcd-members", "3"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, USERNAME_KEY: VERIFY_USER, PASSWORD_KEY: VERIFY_PASSWORD})
    assert result.returncode == 0, result.stdout + result.stderr
    titles = [line for line in result.stdout.splitlines() if line.startswith(("NATS ", "etcd "))]
    assert [t.rsplit(": ", 1)[1] for t in titles] == ["healthy", "healthy"]
    assert result.stdout.rstrip().endswith("result: healthy (exit 0)")


def test_each_server_is_tagged_with_its_pod_name(shared: list[NatsServer]) -> None:
    """server_tags from server_config: verify's fallback probe places a stream on one named server."""
    import nats
    from nats.js.api import Placement, StorageType

    async def place(tag: str) -> str | None:
        client = await nats.connect(shared[0].url, user=USER, password=PASSWORD, error_cb=quiet)
        try:
            js = client.jetstream()
            info = await js.add_stream(name=f"ON_{tag.replace('-', '_').upper()}", subjects=[f"on.{tag}"],
                                       storage=StorageType.FILE, placement=Placement(tags=[tag]))
            await js.delete_stream(info.config.name or "")
            return info.cluster.leader if info.cluster is not None else None
        finally:
            await client.close()

    for server in shared:
        assert asyncio.run(place(server.name)) == server.name


def test_the_tests_run_the_server_release_the_stack_deploys(nats_binary: str) -> None:
    from components.nats.settings import SERVER_IMAGE

    out = subprocess.run([nats_binary, "--version"], capture_output=True, text=True, timeout=10, check=True).stdout
    assert out.strip() == f"nats-server: v{SERVER_IMAGE['tag'].split('-')[0]}", nats_binary


def test_no_credentials_and_wrong_credentials_are_told_apart(shared: list[NatsServer],
                                                             capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(USERNAME_KEY)
    monkeypatch.delenv(PASSWORD_KEY)
    code, report = verify(shared[0].url, capsys)
    assert code == 2
    assert "refused without credentials" in report
    assert "none was given" in report
    monkeypatch.setenv(USERNAME_KEY, VERIFY_USER)
    monkeypatch.setenv(PASSWORD_KEY, "wrong-password")
    code, report = verify(shared[0].url, capsys)
    assert code == 2
    assert "the credentials given were refused" in report
    assert "wrong-password" not in report


async def _exchange(url: str, user: str, password: str, subject: str) -> list[str]:
    """Publish to `subject` and flush; the permission violations the server reported."""
    import nats

    seen: list[str] = []

    async def errors(error: Exception) -> None:
        seen.append(str(error))

    client = await nats.connect(url, user=user, password=password, error_cb=errors, allow_reconnect=False)
    try:
        await client.publish(subject, b"x")
        await client.flush(timeout=5)
        await asyncio.sleep(0.3)  # the server's -ERR arrives after the flush's PONG
    finally:
        await client.close()
    return [e for e in seen if "permissions violation" in e.lower()]


def test_each_client_may_use_only_its_subjects(shared: list[NatsServer]) -> None:
    """Dynamo's user: its namespace subjects and JetStream (KV included); nothing else. verify's user:
    its probe subjects, none of Dynamo's."""
    import nats

    url = shared[0].url
    assert asyncio.run(_exchange(url, USER, PASSWORD, "namespace.dynamo.component.backend.kv-events")) == []
    assert asyncio.run(_exchange(url, USER, PASSWORD, "forbidden.subject"))
    assert asyncio.run(_exchange(url, VERIFY_USER, VERIFY_PASSWORD, "_verify.probe")) == []
    assert asyncio.run(_exchange(url, VERIFY_USER, VERIFY_PASSWORD, "namespace.dynamo.component.backend.kv-events"))

    async def kv_round_trip() -> bytes:
        client = await nats.connect(url, user=USER, password=PASSWORD, error_cb=quiet)
        try:
            js = client.jetstream(timeout=5)
            bucket = await js.create_key_value(bucket="dynamo_test", replicas=1)
            # a new stream on another server of the cluster takes a moment to be known across its routes
            for _ in range(50):
                try:
                    await bucket.put("instance", b"up")
                    break
                except nats.js.errors.NoStreamResponseError:
                    await asyncio.sleep(0.2)
            value = (await bucket.get("instance")).value or b""
            await js.delete_key_value("dynamo_test")
            return value
        finally:
            await client.close()

    assert asyncio.run(kv_round_trip()) == b"up"
