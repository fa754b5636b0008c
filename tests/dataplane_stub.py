"""A cluster for `verify --dataplane` tests: kubectl's answers canned at the process level (the real
`Kubectl` builds the argv, this stub answers it), port-forwards that lead to real HTTP servers on
loopback, and sample output in the tools' documented formats.

Sample lines (numbers, names and addresses are illustrative; the message formats are the tools'):

- NIXL: the message of ``logger.info("Backend %s was instantiated", backend)`` in ai-dynamo/nixl
  ``src/api/python/_api.py``; the prefix before it depends on the engine's log configuration.
- vLLM: ``LoggingStatLogger.log`` in ``vllm/v1/metrics/loggers.py``: ``Engine 000: `` then the parts
  ``Avg prompt throughput: %.1f tokens/s``, ``Avg generation throughput: %.1f tokens/s``, ``Running:
  %d reqs``, ``Waiting: %d reqs``, ``GPU KV cache usage: %.1f%%``, ``Prefix cache hit rate:
  %.1f%%``, ``External prefix cache hit rate: %.1f%%`` joined with ", ", after vLLM's
  ``LEVEL MM-DD HH:MM:SS [file:line]`` prefix.
- NCCL at NCCL_DEBUG=INFO: ``<host>:<pid>:<tid> [<cuda dev>] NCCL INFO `` then ``Using network %s``
  (``src/init.cc``) and ``Channel %02d/%d : %d[%d] -> %d[%d] [send] via NET/%s/%d%s`` (``src/transport/net.cc``).
- /proc/<pid>/maps lines: ``address perms offset dev inode path`` (proc(5)); the probe prefixes each
  with ``/proc/<pid>/maps:`` as ``grep -H`` does. The plugin's directory is illustrative.
- Metrics: Prometheus text exposition format 0.0.4; the Prometheus HTTP API's instant-vector JSON.
"""

from __future__ import annotations

import io
import json
import subprocess
import threading
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import IO, Any

from components.dynamo.datapath import EFA_LIBRARY_PATH
from stacks.verify.dataplane.procfs import PROBE

IMAGE_PATH = "/usr/local/nvidia/lib64:/usr/local/cuda/lib64"  # illustrative
EFA_PATH = ":".join([*EFA_LIBRARY_PATH, IMAGE_PATH])
PLUGIN_FILE = "/opt/nvidia/nvda_nixl/lib64/plugins/libplugin_LIBFABRIC.so"  # illustrative


def nixl_line(backend: str) -> str:
    return f"2026-09-01T10:00:01.512Z  INFO nixl._api: Backend {backend} was instantiated"


def vllm_stats(external: float | None) -> str:
    parts = ["Avg prompt throughput: 812.4 tokens/s", "Avg generation throughput: 95.0 tokens/s",
             "Running: 3 reqs", "Waiting: 0 reqs", "GPU KV cache usage: 4.1%", "Prefix cache hit rate: 0.0%"]
    if external is not None:
        parts.append(f"External prefix cache hit rate: {external:.1f}%")
    return "INFO 09-01 10:02:11 [loggers.py:127] Engine 000: " + ", ".join(parts)


def nccl_lines(network: str) -> str:
    return "\n".join([
        f"p5-node-1:311:311 [0] NCCL INFO Using network {network}",
        f"p5-node-1:311:402 [0] NCCL INFO Channel 00/0 : 0[0] -> 8[0] [send] via NET/{network}/0",
    ])


def startup_log(*lines: str) -> str:
    return "\n".join(["INFO 09-01 10:00:00 [api_server.py:1] starting the engine", *lines, ""])


def probe_output(*perms: str, pid: int = 57, library_path: str | None = EFA_PATH) -> str:
    """What the /proc probe prints: the plugin's mappings, then the environment of `pid`."""
    maps = [f"/proc/{pid}/maps:7f4c1a{i}00000-7f4c1a{i}40000 {p} {i * 0x4000:08x} 103:01 3342 {PLUGIN_FILE}"
            for i, p in enumerate(perms)]
    env = ["PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/home/dynamo"]
    if library_path is not None:
        env.append(f"LD_LIBRARY_PATH={library_path}")
    shown = pid if perms else 1
    return "\n".join([*maps, f"@@environ {shown}", "\0".join(env) + "\0"])


def pod(name: str, graph: str, role: str, *, phase: str = "Running", ready: bool = True, restarts: int = 0,
        env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A pod as ``kubectl get pods -o json`` lists it (the fields the check reads, and a few more)."""
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "dynamo",
                     "labels": {"dynamo-cluster/graph": graph, "dynamo-cluster/role": role}},
        "spec": {"containers": [{"name": "main", "image": "nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.4.2-efa",
                                 "env": [{"name": k, "value": v} for k, v in (env or {}).items()]}]},
        "status": {"phase": phase, "containerStatuses": [{"name": "main", "ready": ready,
                                                          "restartCount": restarts}]},
    }


def _labels(labels: Mapping[str, str]) -> str:
    return ",".join(f'{k}="{v}"' for k, v in labels.items())


def exposition(*families: tuple[str, str, Sequence[tuple[Mapping[str, str], float]]]) -> str:
    """A /metrics page of counters and gauges: (family name, type, [(labels, value)]); a counter's
    samples are named <family>_total."""
    lines: list[str] = []
    for name, kind, samples in families:
        lines += [f"# HELP {name} Illustrative help text.", f"# TYPE {name} {kind}"]
        sample = f"{name}_total" if kind == "counter" else name
        lines += [f"{sample}{{{_labels(labels)}}} {value!r}" for labels, value in samples]
    return "\n".join(lines) + "\n"


VLLM_LABELS = {"engine": "0", "model_name": "Qwen/Qwen3-0.6B"}
NIXL_LABELS = {"agent_name": "d4f1c2", "hostname": "llama-decode-0"}


def vllm_page(*, moved: float, transfers: float, failed: float = 0.0) -> str:
    """vLLM's NixlConnector series on the worker's system port: the bytes histogram (buckets
    2**(10+i) for i in 1, 3, ..., 23, as vLLM defines them; every transfer here falls in the last
    finite bucket) and the failed-transfers counter."""
    labels = _labels(VLLM_LABELS)
    buckets = [float(2 ** (10 + i)) for i in range(1, 25, 2)]
    lines = ["# HELP vllm:nixl_bytes_transferred Illustrative help text.",
             "# TYPE vllm:nixl_bytes_transferred histogram"]
    lines += [f'vllm:nixl_bytes_transferred_bucket{{{labels},le="{b!r}"}} {transfers if b == buckets[-1] else 0.0!r}'
              for b in buckets]
    lines += [f'vllm:nixl_bytes_transferred_bucket{{{labels},le="+Inf"}} {transfers!r}',
              f"vllm:nixl_bytes_transferred_sum{{{labels}}} {moved!r}",
              f"vllm:nixl_bytes_transferred_count{{{labels}}} {transfers!r}"]
    return "\n".join(lines) + "\n" + exposition(
        ("vllm:nixl_num_failed_transfers", "counter", [(VLLM_LABELS, failed)]),
        ("vllm:num_requests_running", "gauge", [(VLLM_LABELS, 3.0)]))


def nixl_page(*, sent: float, received: float) -> str:
    return exposition(("agent_tx_bytes", "counter", [(NIXL_LABELS, sent)]),
                      ("agent_rx_bytes", "counter", [(NIXL_LABELS, received)]))


def router_page(**by_status: float) -> str:
    """The KV router's counter on the frontend's HTTP port (the metrics catalog names it without
    a _total suffix), beside a frontend series."""
    lines = ["# HELP dynamo_component_kv_cache_events_applied Illustrative help text.",
             "# TYPE dynamo_component_kv_cache_events_applied counter"]
    lines += [f'dynamo_component_kv_cache_events_applied{{event_type="stored",status="{status}"}} {value!r}'
              for status, value in by_status.items()]
    return "\n".join(lines) + "\n" + exposition(("dynamo_frontend_requests", "counter", [({"model": "qwen"}, 12.0)]))


def vector(samples: Sequence[tuple[Mapping[str, str], float]]) -> dict[str, Any]:
    """A Prometheus HTTP API answer to an instant query."""
    return {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": dict(labels), "value": [1788256931.781, repr(float(value))]} for labels, value in samples]}}


class _Handler(BaseHTTPRequestHandler):
    server: MetricsServer

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        self.server.requests.append(self.path)
        if url.path == "/metrics" and self.server.pages:
            body, kind, code = self.server.next_page(), "text/plain; version=0.0.4", 200
        elif url.path == "/api/v1/query" and self.server.prometheus is not None:
            query = urllib.parse.parse_qs(url.query)["query"][0]
            self.server.queries.append(query)
            answer = self.server.prometheus(query)
            code = 400 if answer.get("status") == "error" else 200
            body, kind = json.dumps(answer), "application/json"
        else:
            body, kind, code = "404 page not found\n", "text/plain", 404
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        del format, args


class MetricsServer(ThreadingHTTPServer):
    """A real HTTP server on 127.0.0.1 (an ephemeral port): successive /metrics pages (the last one
    repeats), and/or Prometheus API answers computed from the query."""

    daemon_threads = True

    def __init__(self, pages: Sequence[str] = (),
                 prometheus: Callable[[str], dict[str, Any]] | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.pages = list(pages)
        self.prometheus = prometheus
        self.requests: list[str] = []
        self.queries: list[str] = []
        self._served = 0

    def next_page(self) -> str:
        page = self.pages[min(self._served, len(self.pages) - 1)]
        self._served += 1
        return page

    @property
    def port(self) -> int:
        return int(self.server_address[1])


@contextmanager
def serving(*servers: MetricsServer) -> Iterator[None]:
    threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


class ForwardProcess:
    """A `kubectl port-forward` process as `stacks.ops.kubectl.Kubectl` sees it: its first line names
    the local port; `exited` makes it one that stopped at once."""

    def __init__(self, out: str, err: str = "", exited: bool = False) -> None:
        self.pid = 4242
        self.stdout: IO[str] | None = io.StringIO(out)
        self.stderr: IO[str] | None = io.StringIO(err)
        self.exited = exited
        self.terminated = False

    def terminate(self) -> None:
        self.terminated = True

    def wait(self, timeout: float | None = None) -> int:
        del timeout
        return 0

    def poll(self) -> int | None:
        return 1 if self.exited or self.terminated else None


@dataclass
class FakeKube:
    """kubectl's answers: pods per graph, logs (head: --limit-bytes, tail: --tail) and /proc probe
    output per pod, and port-forward targets ("pod/<name>:<port>", "svc/<name>:<port>") -> the local
    port of a loopback server. Every call is recorded with its timeout."""

    pods: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    heads: dict[str, str] = field(default_factory=dict)
    tails: dict[str, str] = field(default_factory=dict)
    probes: dict[str, str] = field(default_factory=dict)
    forwards: dict[str, int] = field(default_factory=dict)
    fail: dict[str, str] = field(default_factory=dict)  # pod -> stderr of a failing logs/exec
    calls: list[tuple[list[str], float | None]] = field(default_factory=list)
    spawned: list[list[str]] = field(default_factory=list)

    def run(self, argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append((argv, kwargs.get("timeout")))
        args = argv[argv.index("-n") + 2:]
        verb = args[0]
        if verb == "get":
            graph = args[args.index("-l") + 1].split("=", 1)[1]
            return subprocess.CompletedProcess(argv, 0, json.dumps({"kind": "List", "items": self.pods.get(graph, [])}),
                                               "")
        name = args[1]
        if name in self.fail:
            return subprocess.CompletedProcess(argv, 1, "", self.fail[name])
        if verb == "logs":
            text = self.heads if any(a.startswith("--limit-bytes=") for a in args) else self.tails
            return subprocess.CompletedProcess(argv, 0, text.get(name, ""), "")
        if verb == "exec":
            assert tuple(args[args.index("--") + 1:]) == PROBE
            if name not in self.probes:
                return subprocess.CompletedProcess(argv, 126, "", "exec: no such pod in the stub")
            return subprocess.CompletedProcess(argv, 0, self.probes[name], "")
        raise AssertionError(f"unexpected kubectl call {argv}")

    def spawn(self, argv: Sequence[str]) -> ForwardProcess:
        self.spawned.append(list(argv))
        target, remote = argv[-2], argv[-1].lstrip(":")
        local = self.forwards.get(f"{target}:{remote}")
        if local is None:
            return ForwardProcess("", f'error: unable to forward port because pod is not running: "{target}"',
                                  exited=True)
        return ForwardProcess(f"Forwarding from 127.0.0.1:{local} -> {remote}\n")
