"""kubectl against one kubeconfig and context: the one way the offline commands reach a cluster
(docs/decisions.md, "One way to reach the cluster: kubectl"). Reads as JSON (`get`, `version`),
creates and deletes objects, Secrets, logs, a command run in a container, port-forwards; each call
bounded by a timeout.

The CLI is looked up on PATH and its absence is an error that says what to do. The command runners
are parameters, so tests stub them; the tests of the reads also run the real kubectl against an
API server stand-in on loopback.
"""

from __future__ import annotations

import base64
import json
import queue
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any, Protocol

FORWARDING = re.compile(r"Forwarding from 127\.0\.0\.1:(\d+) ->")
# How kubectl says an object does not exist (the API server's 404 reason).
NOT_FOUND = "(NotFound)"
PORT_FORWARD_WAIT = 20.0

Which = Callable[[str], str | None]
Run = Callable[..., "subprocess.CompletedProcess[str]"]


class KubeError(Exception):
    """The cluster or the stack cannot be reached; the message says why and what to do."""


class Process(Protocol):
    pid: int
    stdout: IO[str] | None
    stderr: IO[str] | None

    def terminate(self) -> None: ...
    def wait(self, timeout: float | None = None) -> int: ...
    def poll(self) -> int | None: ...


Spawn = Callable[[Sequence[str]], Process]


def _spawn(argv: Sequence[str]) -> Process:
    return subprocess.Popen(list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def require(tool: str, which: Which, purpose: str, instead: str = "") -> str:
    """The path of `tool`, or a KubeError saying it is needed for `purpose` (and what to do `instead`)."""
    path = which(tool)
    if path is None:
        raise KubeError(f"`{tool}` is not on PATH; it is needed to {purpose}. Install it"
                        + (f", or {instead}" if instead else ""))
    return path


@dataclass(frozen=True)
class Kubectl:
    """kubectl against one kubeconfig and context: the stack's, never the user's current one by
    accident (`context` is None only for the stack's own inline kubeconfig, whose current context is
    the one the stack's provider uses too)."""

    context: str | None
    which: Which = shutil.which
    run: Run = subprocess.run
    spawn: Spawn = _spawn
    kubeconfig: str | None = None
    timeout: float = 30.0  # seconds, for each call of `pods`, `logs` and `exec` that gives none

    def base(self) -> list[str]:
        """The kubectl command line up to the subcommand: the binary, kubeconfig and context."""
        argv = [require("kubectl", self.which, "reach the cluster (port-forward, read a Secret)")]
        if self.kubeconfig:
            argv += ["--kubeconfig", self.kubeconfig]
        return [*argv, "--context", self.context] if self.context else argv

    def _output(self, args: Sequence[str], what: str, timeout: float | None, *, stdin: str | None = None,
                missing_ok: bool = False) -> str | None:
        """kubectl's standard output; a failure or no answer within `timeout` is a KubeError. With
        `missing_ok`, None when the API server says the object is not found."""
        limit = self.timeout if timeout is None else timeout
        try:
            result = self.run([*self.base(), *args], capture_output=True, text=True, errors="replace",
                              check=False, timeout=limit, input=stdin)
        except subprocess.TimeoutExpired:
            raise KubeError(f"{what}: kubectl did not answer in {limit:g} s") from None
        if result.returncode != 0:
            said = result.stderr.strip()
            if missing_ok and NOT_FOUND in said:
                return None
            raise KubeError(f"{what} failed: {said or f'exit {result.returncode}'}")
        return result.stdout

    def _text(self, args: Sequence[str], what: str, timeout: float | None) -> str:
        out = self._output(args, what, timeout)
        assert out is not None  # only missing_ok reads answer None
        return out

    def read(self, args: Sequence[str], what: str, *, timeout: float | None = None,
             missing_ok: bool = False) -> Any:
        """What `kubectl <args> -o json` prints, parsed; an answer that is not JSON is a KubeError.
        With `missing_ok`, None for an object that does not exist."""
        out = self._output([*args, "-o", "json"], what, timeout, missing_ok=missing_ok)
        if out is None:
            return None
        try:
            return json.loads(out)
        except ValueError:
            raise KubeError(f"{what}: kubectl did not print JSON") from None

    def get(self, resource: str, *, namespace: str | None = None, name: str | None = None,
            selector: str | None = None, timeout: float | None = None, missing_ok: bool = False) -> Any:
        """One object (`name`), or the items of a list: in `namespace`, else in every namespace
        (namespaced kinds) or cluster-wide. Lists are read in chunks, as kubectl does."""
        args = ["get", resource] + ([name] if name else [])
        args += ["-n", namespace] if namespace else ([] if name else ["--all-namespaces"])
        if selector:
            args += ["-l", selector]
        where = f"{resource} {name}" if name else resource
        answer = self.read(args, f"reading {where}" + (f" in {namespace}" if namespace else ""),
                           timeout=timeout, missing_ok=missing_ok)
        if answer is None or name:
            return answer
        items = answer.get("items") if isinstance(answer, Mapping) else None
        if not isinstance(items, list):
            raise KubeError(f"reading {where}: kubectl did not print a list")
        return items

    def server_version(self, *, timeout: float | None = None) -> Mapping[str, Any]:
        """The API server's version (`kubectl version -o json`'s serverVersion)."""
        answer = self.read(["version"], "reading the server version", timeout=timeout)
        server = answer.get("serverVersion") if isinstance(answer, Mapping) else None
        if not isinstance(server, Mapping):
            raise KubeError("reading the server version: kubectl printed no serverVersion")
        return server

    def create(self, manifest: Mapping[str, Any], *, timeout: float | None = None) -> None:
        """Create one object from its manifest (no client-side schema validation: the API server's)."""
        meta = manifest.get("metadata") or {}
        where = f"{manifest.get('kind')} {meta.get('namespace', '')}/{meta.get('name')}".replace(" /", " ")
        self._output(["create", "--validate=false", "-f", "-", "-o", "name"], f"creating {where}", timeout,
                     stdin=json.dumps(manifest))

    def delete(self, kind: str, name: str, namespace: str | None = None, *, timeout: float | None = None) -> None:
        """Delete an object and, in the background, what it owns (a Job's pods); one that does not
        exist is not an error."""
        args = ["delete", kind, name, "--ignore-not-found", "--wait=false", "--cascade=background"]
        if namespace:
            args += ["-n", namespace]
        self._output(args, f"deleting {kind} {namespace + '/' if namespace else ''}{name}", timeout)

    def pods(self, namespace: str, selector: str, *, timeout: float | None = None) -> list[dict[str, Any]]:
        """The pods matching a label selector, as the API returns them."""
        out = self._text(["-n", namespace, "get", "pods", "-l", selector, "-o", "json"],
                         f"listing pods {selector} in {namespace}", timeout)
        try:
            items: list[dict[str, Any]] = json.loads(out).get("items") or []
        except (ValueError, AttributeError):
            raise KubeError(f"listing pods {selector} in {namespace}: kubectl did not print a pod list") from None
        return items

    def logs(self, namespace: str, pod: str, container: str, *, tail: int | None = None,
             limit_bytes: int | None = None, timeout: float | None = None) -> str:
        """The current log of one container: its last `tail` lines, or its first `limit_bytes` bytes."""
        args = ["-n", namespace, "logs", pod, "-c", container]
        if tail is not None:
            args.append(f"--tail={tail}")
        if limit_bytes is not None:
            args.append(f"--limit-bytes={limit_bytes}")
        return self._text(args, f"reading the log of {namespace}/{pod}", timeout)

    def exec(self, namespace: str, pod: str, container: str, argv: Sequence[str], *,
             timeout: float | None = None) -> str:
        """The standard output of `argv` run in one container."""
        return self._text(["-n", namespace, "exec", pod, "-c", container, "--", *argv],
                          f"running {argv[0]} in {namespace}/{pod}", timeout)

    def secret(self, namespace: str, name: str) -> dict[str, str]:
        result = self.run([*self.base(), "-n", namespace, "get", "secret", name, "-o", "json"],
                          capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise KubeError(f"reading Secret {namespace}/{name} failed: {result.stderr.strip()}")
        data: Mapping[str, str] = json.loads(result.stdout).get("data") or {}
        return {key: base64.b64decode(value).decode() for key, value in data.items()}

    @contextmanager
    def port_forward(self, namespace: str, target: str, port: int, local_port: int = 0) -> Iterator[int]:
        """A local port (`local_port`, or one kubectl picks) forwarded to `target` (``svc/nats``,
        ``pod/etcd-0``); stopped on exit."""
        process = self.spawn([*self.base(), "-n", namespace, "port-forward", "--address", "127.0.0.1",
                              target, f"{local_port or ''}:{port}"])
        try:
            yield _forwarded_port(process, f"{namespace}/{target}")
        finally:
            process.terminate()
            process.wait(timeout=10)


def _forwarded_port(process: Process, what: str) -> int:
    """Read kubectl's output until it names the local port."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump(stream: IO[str] | None) -> None:
        for line in stream or ():
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, args=(process.stdout,), daemon=True).start()
    try:
        while True:
            line = lines.get(timeout=PORT_FORWARD_WAIT)
            if line is None:
                break
            match = FORWARDING.search(line)
            if match:
                return int(match.group(1))
    except queue.Empty:
        pass
    error = process.stderr.read() if process.stderr is not None and process.poll() is not None else ""
    raise KubeError(f"port-forward to {what} did not start: {error.strip() or 'no answer from kubectl'}")
