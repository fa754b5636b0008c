"""`python -m stacks local` runs the dev stack's disaggregated mocker graph as real Dynamo processes
of its pinned release, serves through its KV router, and stops everything on Ctrl-C; a worker that
dies is reported, the rest runs on, and the run then exits 1."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from components.dynamo.releases import DEFAULT_VERSION
from stacks.local import state
from stacks.local.runtime import AIPERF
from stacks.ops.http import post
from tests.conformance.runtime import runtime_python

ROOT = Path(__file__).resolve().parents[2]


def _start(directory: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "stacks", "local", "--stack", "dev", "--state-dir", str(directory)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _serving(run: subprocess.Popen[str], directory: Path, timeout: float = 120) -> state.LocalRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if run.poll() is not None:
            raise AssertionError(f"stacks local exited {run.returncode}:\n{run.stderr.read() if run.stderr else ''}")
        try:
            return state.read(directory)
        except state.LocalStateError:
            time.sleep(0.25)
    raise AssertionError("stacks local did not serve in time")


def _started_by(directory: Path) -> dict[int, str]:
    """pid -> command line of every process whose command line or environment names the run's directory
    (the nats-server's store, the graphs' discovery directory and HOME are in it)."""
    out: dict[int, str] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            environ = (proc / "environ").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if str(directory) in cmdline or str(directory) in environ:
            out[int(proc.name)] = cmdline
    return out


@pytest.fixture
def local_dev(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], state.LocalRun, Path]]:
    runtime_python(DEFAULT_VERSION)
    run = _start(tmp_path)
    try:
        yield run, _serving(run, tmp_path), tmp_path
    finally:
        _stop(run, tmp_path)


def _stop(run: subprocess.Popen[str], directory: Path) -> None:
    """Ctrl-C, as a user stops a local run (it stops what it started); then whatever still runs for
    the run's directory is killed, so no test leaves a frontend, a mocker or a nats-server behind."""
    if run.poll() is None:
        os.killpg(run.pid, signal.SIGINT)
        try:
            run.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
    for pid in _started_by(directory):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def test_local_serves_the_dev_graph_and_stops_on_ctrl_c(
        local_dev: tuple[subprocess.Popen[str], state.LocalRun, Path]) -> None:
    run, served, directory = local_dev
    assert served.release == DEFAULT_VERSION
    (graph,) = served.graphs
    assert (graph.name, graph.model, graph.router_mode) == ("mocker", "Qwen/Qwen3-0.6B", "kv")
    assert [p.name for p in graph.processes] == ["frontend", "prefill", "decode"]
    status, body = post(f"{graph.url}/v1/chat/completions", {
        "model": graph.model, "messages": [{"role": "user", "content": "Hello"}], "max_tokens": 8})
    assert status == 200
    assert json.loads(body)["usage"]["completion_tokens"] == 8
    run.send_signal(signal.SIGINT)
    assert run.wait(timeout=30) == 0
    assert not (directory / state.STATE_FILE).exists()
    assert _started_by(directory) == {}  # every process it started is gone


def _verify(directory: Path) -> tuple[int, dict[str, Any]]:
    done = subprocess.run([sys.executable, "-m", "stacks", "verify", "--serve", "--local", "--state-dir",
                           str(directory), "--deadline", "10", "--json"], cwd=ROOT, capture_output=True, text=True,
                          check=False)
    report: dict[str, Any] = json.loads(done.stdout)
    return done.returncode, report


def _findings(report: dict[str, Any]) -> dict[str, dict[str, str]]:
    (section,) = report["sections"]
    return {f["check"]: f for f in section["findings"]}


def test_verify_serve_passes_against_the_local_run(
        local_dev: tuple[subprocess.Popen[str], state.LocalRun, Path]) -> None:
    _, _, directory = local_dev
    code, report = _verify(directory)
    assert code == 0, report
    found = _findings(report)
    assert list(found) == ["model listed", "unary chat completion", "streamed chat completion", "routed (kv)",
                           "prefill served", "decode served"]
    assert "time to first token" in found["streamed chat completion"]["detail"]


def test_a_dead_worker_is_reported_and_fails_verify(
        local_dev: tuple[subprocess.Popen[str], state.LocalRun, Path]) -> None:
    run, _, directory = local_dev
    started = _started_by(directory)
    assert any("dynamo.frontend" in cmd for cmd in started.values())
    decode = [pid for pid, cmd in started.items() if "dynamo.mocker" in cmd and "decode" in cmd]
    assert len(decode) == 1
    os.kill(decode[0], signal.SIGKILL)
    time.sleep(2)
    assert run.poll() is None  # the rest runs on, as a cluster's pods would
    assert (directory / state.STATE_FILE).exists()
    code, report = _verify(directory)  # and verify says the graph does not serve, and why
    assert code == 2
    decode_found = _findings(report)["decode served"]
    assert decode_found["status"] == "failed"
    assert decode_found["cause"] == "the worker's process is down"
    run.send_signal(signal.SIGINT)
    assert run.wait(timeout=30) == 1
    assert "graph mocker: decode exited" in (run.stderr.read() if run.stderr else "")
    assert not (directory / state.STATE_FILE).exists()


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_bench_against_the_local_run_writes_its_report_and_plots(
        local_dev: tuple[subprocess.Popen[str], state.LocalRun, Path], tmp_path: Path) -> None:
    runtime_python(AIPERF)
    _, _, directory = local_dev
    out = tmp_path / "bench"
    done = subprocess.run([sys.executable, "-m", "stacks", "bench", "--local", "--state-dir", str(directory),
                           "--concurrency", "1,2", "--requests", "4", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((out / "bench.json").read_text())
    assert [level["concurrency"] for level in report["levels"]] == [1, 2]
    for level in report["levels"]:
        assert level["requests"] == 4
        assert level["errors"] == 0
        assert 0 < level["ttft_p50_ms"] <= level["ttft_p95_ms"]
        assert level["output_tokens_per_s"] > 0
        assert level["meets_slo"] is True  # the mocker is far inside dev's SLO
    assert report["best_concurrency"] == 2
    assert report["throughput_per"] == "worker"  # a graph without GPUs
    table = (out / "bench.md").read_text()
    assert "| 1 | 4 | 0 |" in table
    assert "| 2 | 4 | 0 |" in table
    assert "A local run of the mocker" in table
    for plot in ("latency.png", "throughput.png"):
        width, height = _png_size(out / plot)
        assert width > 500
        assert height > 300
        # the image is drawn from the measured series: the AIPerf summaries it came from are kept beside it
        assert (out / "c1" / "profile_export_aiperf.json").is_file()


def test_the_in_cluster_jobs_script_measures_the_local_run(
        local_dev: tuple[subprocess.Popen[str], state.LocalRun, Path], tmp_path: Path) -> None:
    """What `bench --in-cluster` has its Job run (an image with AIPerf on its PATH), run here with the
    real AIPerf against the real frontend; its log reads back as the levels, as the Job's would."""
    from stacks.bench.aiperf import Workload
    from stacks.bench.job import JobSpec, read_levels, script
    from stacks.local.runtime import cache_root

    aiperf_python = runtime_python(AIPERF)
    _, run, _ = local_dev
    [served] = run.graphs
    spec = JobSpec(name="bench-test", namespace="dynamo", graph=served.name, levels=(1, 2), deadline_seconds=300,
                   image="an image with aiperf", workload=Workload(
                       url=served.url, model=served.model, tokenizer=str(cache_root() / "model"), input_tokens=64,
                       output_tokens=16, requests_per_level=3))
    env = {**os.environ, "PATH": f"{aiperf_python.parent}:{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-c", script(spec, "", work=str(tmp_path / "work"))], env=env, capture_output=True,
                          text=True, check=False, timeout=300)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    levels = read_levels(done.stdout, spec.levels)
    assert [level.concurrency for level in levels] == [1, 2]
    assert [level.requests for level in levels] == [3, 3]
    assert all(level.errors == 0 and level.ttft_p95_ms > 0 and level.output_tokens_per_s > 0 for level in levels)
