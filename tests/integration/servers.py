"""Real nats-server and etcd clusters on loopback, built from the settings the components deploy.

etcd members get their command line from `components.etcd.flags.etcd_command` (the
StatefulSet's function), for the version of the local binary, with TLS and client-certificate auth
on client and peer traffic (certificates from `tests.integration.certs`), as the StatefulSet runs
them. NATS servers get `server_config` and
`jetstream_limits` of `NatsSettings` (what the chart renders into nats.conf) plus what the chart
adds per pod: server name, ports, cluster routes, the store directory.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from components.etcd.flags import EtcdNode, EtcdPeer, EtcdTls, EtcdTuning, etcd_command
from components.nats.settings import NatsSettings
from components.nats.values import jetstream_limits, server_config
from stacks.verify.etcd import ClientTls, EtcdError, Gateway
from tests.integration.certs import TlsFiles, make_tls

STARTUP_SECONDS = 60.0


def free_ports(count: int) -> list[int]:
    """Ports nothing listens on right now (all held open together, so they are distinct)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def wait_for(what: str, ready: Callable[[], bool], seconds: float = STARTUP_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.3)
    raise AssertionError(f"{what} not ready after {seconds:.0f}s")


@dataclass
class Processes:
    """Every process a test starts, each with a log file; `stop_all` ends them by pid."""

    logs: Path
    running: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, argv: Sequence[str], env: Mapping[str, str] | None = None) -> None:
        with (self.logs / f"{name}.log").open("wb") as log:
            self.running[name] = subprocess.Popen(list(argv), stdout=log, stderr=subprocess.STDOUT,
                                                  env=dict(env) if env is not None else None,
                                                  start_new_session=True)

    def kill(self, name: str) -> None:
        """Kill one server abruptly (SIGKILL), as a crashed node would go."""
        process = self.running[name]
        process.kill()
        process.wait(timeout=10)

    def alive(self, name: str) -> bool:
        return self.running[name].poll() is None

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        for process in self.running.values():
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)


# -- etcd -----------------------------------------------------------------------------------------
def etcd_version(binary: str) -> str:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True, timeout=10).stdout
    match = re.search(r"etcd Version: (\S+)", out)
    assert match, out
    return match.group(1)


@dataclass(frozen=True)
class EtcdMember:
    name: str
    client_url: str
    argv: tuple[str, ...]


@dataclass(frozen=True)
class EtcdCluster:
    members: list[EtcdMember]
    tls: TlsFiles

    @property
    def client_tls(self) -> ClientTls:
        return ClientTls(str(self.tls.ca), str(self.tls.client_cert), str(self.tls.client_key))

    def gateway(self, timeout: float = 8) -> Gateway:
        return Gateway(timeout=timeout, tls=self.client_tls)

    def verify_flags(self) -> list[str]:
        """What `verify` needs to reach these members."""
        return ["--etcd", ",".join(m.client_url for m in self.members), "--etcd-cacert", str(self.tls.ca),
                "--etcd-cert", str(self.tls.client_cert), "--etcd-key", str(self.tls.client_key)]


TEST_TUNING = EtcdTuning(quota_backend_bytes=256 << 20, auto_compaction_retention="1h")


def etcd_members(binary: str, version: str, data: Path, size: int = 3) -> EtcdCluster:
    tls = make_tls(data / "tls")
    member_tls = EtcdTls(cert_file=str(tls.member_cert), key_file=str(tls.member_key), trusted_ca_file=str(tls.ca))
    ports = free_ports(3 * size)
    names = [f"etcd-{i}" for i in range(size)]
    peers = [EtcdPeer(name, f"https://127.0.0.1:{ports[3 * i + 1]}") for i, name in enumerate(names)]
    members = []
    for i, name in enumerate(names):
        client, peer = (f"https://127.0.0.1:{p}" for p in ports[3 * i:3 * i + 2])
        metrics = f"http://127.0.0.1:{ports[3 * i + 2]}"
        node = EtcdNode(name=name, data_dir=str(data / name), listen_client_urls=client, listen_peer_urls=peer,
                        listen_metrics_urls=metrics, advertise_client_urls=client, advertise_peer_url=peer)
        argv = etcd_command(node, peers, cluster_token=f"test-{ports[0]}", tuning=TEST_TUNING, version=version,
                            tls=member_tls, binary=binary)
        members.append(EtcdMember(name, client, tuple(argv)))
    return EtcdCluster(members, tls)


def etcd_has_leader(cluster: EtcdCluster, member: EtcdMember) -> bool:
    try:
        return str(cluster.gateway(timeout=2).call(member.client_url, "maintenance/status", {}).get(
            "leader", "0")) != "0"
    except EtcdError:
        return False


def start_etcd(processes: Processes, cluster: EtcdCluster) -> None:
    for member in cluster.members:
        processes.start(member.name, member.argv)
    for member in cluster.members:
        wait_for(f"etcd member {member.name}", lambda m=member: etcd_has_leader(cluster, m))  # type: ignore[misc]


# -- NATS -----------------------------------------------------------------------------------------
def render_nats_conf(config: Mapping[str, object]) -> str:
    """nats.conf from a dict, as the chart writes it: JSON, with ``"<< x >>"`` strings unquoted
    (variable references such as ``$NATS_AUTH_PASSWORD``)."""
    return re.sub(r'"<<\s*(.*?)\s*>>"', r"\1", json.dumps(config, indent=2, sort_keys=True))


@dataclass(frozen=True)
class NatsServer:
    name: str
    url: str
    config: Path


def nats_servers(settings: NatsSettings, data: Path) -> list[NatsServer]:
    ports = free_ports(2 * settings.replicas)
    routes = [f"nats://127.0.0.1:{ports[2 * i + 1]}" for i in range(settings.replicas)]
    servers = []
    for i in range(settings.replicas):
        name = f"nats-{i}"
        config: dict[str, object] = {
            **server_config(settings),
            "server_name": name,
            "host": "127.0.0.1",
            "port": ports[2 * i],
            "jetstream": {**jetstream_limits(settings), "store_dir": str(data / name)},
        }
        if settings.replicas > 1:
            config["cluster"] = {"name": "nats", "listen": f"127.0.0.1:{ports[2 * i + 1]}", "routes": routes,
                                 "no_advertise": True}
        path = data / f"{name}.conf"
        path.write_text(render_nats_conf(config))
        servers.append(NatsServer(name, f"nats://127.0.0.1:{ports[2 * i]}", path))
    return servers


async def quiet(_: Exception) -> None:
    """Connection errors while the servers start are expected; nats-py would log each one."""


def _placeable(url: str, user: str, password: str, replicas: int) -> bool:
    """True once a stream with `replicas` replicas can be created (the JetStream cluster is formed);
    as verify's user, which may create streams on `_verify.>` only."""
    import nats
    from nats.js.api import StorageType

    async def attempt() -> bool:
        try:
            client = await nats.connect(url, user=user, password=password, allow_reconnect=False,
                                        max_reconnect_attempts=1, reconnect_time_wait=0.1, connect_timeout=2,
                                        error_cb=quiet)
        except Exception:  # any failure means "not yet"
            return False
        try:
            js = client.jetstream(timeout=3)
            await js.add_stream(name="READY_CHECK", subjects=["_verify.ready"], num_replicas=replicas,
                                storage=StorageType.FILE)
            await js.delete_stream("READY_CHECK")
            return True
        except Exception:
            return False
        finally:
            await client.close()

    return asyncio.run(attempt())


def start_nats(processes: Processes, binary: str, servers: Sequence[NatsServer], *, env: Mapping[str, str],
               replicas: int, user: str, password: str) -> None:
    for server in servers:  # POD_NAME as the chart sets it: the server's tag
        processes.start(server.name, [binary, "-c", str(server.config)], {**env, "POD_NAME": server.name})
    wait_for("the NATS JetStream cluster", lambda: _placeable(servers[0].url, user, password, replicas))
