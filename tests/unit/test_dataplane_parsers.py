"""The pure parsers of `verify --dataplane`: log lines, metrics pages and Prometheus answers, and the
/proc probe (also run for real, against a process that has a library of the plugin's name loaded).
Sample lines follow the formats tests/dataplane_stub.py cites; their numbers are illustrative."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stacks.ops.metrics import MetricsError, Sample, parse_exposition, parse_query_answer, total
from stacks.verify.dataplane.logs import LogEvidence, backends_instantiated, latest_external_hit_rate, nccl_networks
from stacks.verify.dataplane.procfs import PROBE, ProbeError, parse_environ, parse_probe
from tests.dataplane_stub import nccl_lines, nixl_line, probe_output, vector, vllm_stats


def test_backends_in_order_without_repeats() -> None:
    log = "\n".join([nixl_line("UCX"), "INFO unrelated line", nixl_line("LIBFABRIC"), nixl_line("UCX")])
    assert backends_instantiated(log) == ("UCX", "LIBFABRIC")
    assert backends_instantiated("Backend was instantiated\n") == ()
    # a JSONL log carries the message as a field
    structured = json.dumps({"time": "2026-09-01T10:00:01Z", "level": "INFO", "target": "nixl._api",
                             "message": "Backend LIBFABRIC was instantiated"})
    assert backends_instantiated(structured) == ("LIBFABRIC",)


def test_the_latest_external_hit_rate_counts() -> None:
    assert latest_external_hit_rate("\n".join([vllm_stats(100.0), vllm_stats(37.5)])) == 37.5
    assert latest_external_hit_rate(vllm_stats(None)) is None  # before the connector reported a query
    # "Prefix cache hit rate" (the engine's own cache) is not the external one
    assert latest_external_hit_rate("Engine 000: Prefix cache hit rate: 90.0%") is None


def test_nccl_networks_from_both_line_kinds() -> None:
    assert nccl_networks(nccl_lines("AWS Libfabric")) == frozenset({"AWS Libfabric"})
    assert nccl_networks(nccl_lines("Socket")) == frozenset({"Socket"})
    only_channel = "node-1:311:402 [3] NCCL INFO Channel 02/1 : 3[3] -> 11[3] [receive] via NET/AWS Libfabric/3/GDRDMA"
    assert nccl_networks(only_channel) == frozenset({"AWS Libfabric"})
    assert nccl_networks("node-1:311:311 [0] NCCL INFO Bootstrap : Using eth0:10.0.0.1<0>") == frozenset()
    assert nccl_networks('{"log": "node-1:1:1 [0] NCCL INFO Using network Socket"}') == frozenset({"Socket"})


def test_log_evidence_reads_the_tail_first_for_the_latest_rate() -> None:
    evidence = LogEvidence.parse(head="\n".join([nixl_line("LIBFABRIC"), vllm_stats(0.0)]), tail=vllm_stats(88.0))
    assert evidence == LogEvidence(backends=("LIBFABRIC",), external_hit_rate=88.0)
    assert LogEvidence.parse(head=vllm_stats(12.5), tail="no stats line here").external_hit_rate == 12.5


def test_exposition_pages() -> None:
    page = "\n".join([
        "# HELP vllm:nixl_num_failed_transfers Number of failed NIXL KV Cache transfers.",
        "# TYPE vllm:nixl_num_failed_transfers counter",
        'vllm:nixl_num_failed_transfers_total{engine="0",model_name="Qwen/Qwen3-0.6B"} 2.0',
        'escaped{path="C:\\\\dir",quote="say \\"hi\\"",nl="a\\nb",} 1 1788256931781',
        "no_labels 3e9",
        'gauge_nan{a="b"} NaN',
        'vllm:nixl_bytes_transferred_bucket{le="+Inf"} +Inf',
        "empty_labels{} -1",
        "",
    ])
    samples = parse_exposition(page)
    assert samples[0] == Sample("vllm:nixl_num_failed_transfers_total",
                                {"engine": "0", "model_name": "Qwen/Qwen3-0.6B"}, 2.0)
    assert samples[1] == Sample("escaped", {"path": "C:\\dir", "quote": 'say "hi"', "nl": "a\nb"}, 1.0)
    assert samples[2] == Sample("no_labels", {}, 3e9)
    assert samples[4].value == float("inf")
    assert samples[5] == Sample("empty_labels", {}, -1.0)
    assert total(samples, "gauge_nan") == 0.0  # a NaN sample counts as nothing
    assert total(samples, "vllm:nixl_num_failed_transfers_total", engine="0") == 2.0
    assert total(samples, "vllm:nixl_num_failed_transfers_total", engine="1") is None
    assert total(samples, "absent") is None


@pytest.mark.parametrize("line", ["not a sample", 'x{a="b" 1', 'x{a=b} 1', "x 1 2 3", "x one", '{a="b"} 1'])
def test_exposition_lines_the_format_does_not_allow(line: str) -> None:
    with pytest.raises(MetricsError):
        parse_exposition(line)


def test_query_answers() -> None:
    answer = vector([({"pod": "llama-decode-0", "status": "ok"}, 40.0), ({"__name__": "up", "pod": "p"}, 1.0)])
    assert parse_query_answer(json.dumps(answer)) == [Sample("", {"pod": "llama-decode-0", "status": "ok"}, 40.0),
                                                      Sample("up", {"pod": "p"}, 1.0)]
    error = {"status": "error", "errorType": "bad_data", "error": "1:5: parse error: unexpected <EOF>"}
    with pytest.raises(MetricsError, match="bad_data: 1:5: parse error"):
        parse_query_answer(json.dumps(error))
    matrix = {"status": "success", "data": {"resultType": "matrix", "result": []}}
    with pytest.raises(MetricsError, match="not an instant vector"):
        parse_query_answer(json.dumps(matrix))
    with pytest.raises(MetricsError, match="not JSON"):
        parse_query_answer("<html>502 Bad Gateway</html>")
    broken = {"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}, "value": [1.0]}]}}
    with pytest.raises(MetricsError, match="a result the API does not give"):
        parse_query_answer(json.dumps(broken))


def test_probe_output() -> None:
    probe = parse_probe(probe_output("r--p", "r-xp", pid=57))
    assert probe.executing == (57,)
    assert probe.mapped == (57,)
    assert probe.library_path == "/opt/amazon/efa/lib:/opt/amazon/efa/lib64:/opt/aws-ofi-nccl/lib:" \
                                 "/usr/local/nvidia/lib64:/usr/local/cuda/lib64"
    opened = parse_probe(probe_output("r--p", "r--p"))
    assert (opened.executing, opened.mapped) == ((), (57,))
    nothing = parse_probe(probe_output())
    assert (nothing.mapped, nothing.environ_pid) == ((), 1)
    deleted = parse_probe("/proc/9/maps:7f00-7f10 r-xp 00001000 00:2a 77 /opt/p/libplugin_LIBFABRIC.so (deleted)\n"
                          "@@environ 9\n@@unreadable\n")
    assert deleted.executing == (9,)
    assert deleted.environ is None
    with pytest.raises(ProbeError, match="no environment marker"):
        parse_probe("sh: 1: grep: not found\n")
    with pytest.raises(ProbeError, match="not a maps line"):
        parse_probe("garbage\n@@environ 1\n")
    assert parse_environ("A=1\0B=x=y\0\0NOVALUE\0") == {"A": "1", "B": "x=y"}


@pytest.mark.skipif(not Path("/proc/self/maps").exists() or shutil.which("sh") is None, reason="needs Linux /proc")
def test_the_probe_script_reads_a_live_process(tmp_path: Path) -> None:
    """PROBE run by a real sh over the real /proc: a process that has loaded a shared object named
    like the plugin (a copy of one of Python's own extension modules) shows its code mapped r-xp,
    and the probe reads that process's library path."""
    import _bisect

    plugin = tmp_path / "libplugin_LIBFABRIC.so"
    shutil.copy(str(_bisect.__file__), plugin)
    code = f"import ctypes, sys, time; ctypes.CDLL({str(plugin)!r}); print('loaded', flush=True); time.sleep(30)"
    env = {**os.environ, "LD_LIBRARY_PATH": "/opt/amazon/efa/lib:/opt/example"}
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "loaded"
        out = subprocess.run(list(PROBE), capture_output=True, text=True, timeout=30, check=True).stdout
        probe = parse_probe(out)
        assert child.pid in probe.executing
        assert {m.path for m in probe.mappings if m.pid == child.pid} == {str(plugin)}
        assert probe.environ_pid == child.pid
        assert probe.library_path == "/opt/amazon/efa/lib:/opt/example"
    finally:
        child.kill()
        child.wait()
