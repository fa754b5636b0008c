"""A rendered component as a process on this machine: only what a cluster provides changes.

Each change is a named step: what the Dynamo operator injects into every component (its documented
environment: dynamo-1.4 docs/fern/kubernetes/api-reference.md, "Environment Variables"), discovery
through files instead of the Kubernetes API, the values of the Secrets the pods read, the model the
cache would hold (a local directory), ports, and loopback addresses. The command line, the flags and
the rest of the environment stay as the plan rendered them.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from stacks.local.rendered import LocalGraphError, Rendered


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
    raise LocalGraphError("no free port between 20000 and 32000")


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
                raise LocalGraphError(f"{r.component}: env {name} reads Secret {value[0]} key {value[1]}, which the "
                                  "test does not provide")
            env[name] = site.secrets[value]
        else:
            env[name] = value
    if "OTEL_EXPORTER_OTLP_ENDPOINT" in env:  # the collector's Service: nothing listens there here
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://127.0.0.1:{free_port()}"
    env |= operator_env(r, site, system_port, http_port) | loopback_env(site)
    return Process(name=r.component, module=r.module, args=args, env=env, system_port=system_port,
                   http_port=http_port)
