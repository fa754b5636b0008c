"""`python -m stacks verify --stack efa --dataplane` end to end: the stack's config from a stack file,
its outputs from a stubbed Pulumi CLI, kubectl stubbed at the process level (the real `Kubectl`
builds every argv), and the counters served by real HTTP servers on loopback, reached through the
stubbed port-forwards: Prometheus's HTTP API, or the pods' own /metrics pages."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import promql_parser
import pytest

from stacks.cli import main
from stacks.outputs import StackOutputs
from stacks.verify import command as verify
from stacks.verify.discovery import Kubectl
from tests.dataplane_stub import (
    EFA_PATH,
    FakeKube,
    MetricsServer,
    nccl_lines,
    nixl_line,
    nixl_page,
    pod,
    probe_output,
    router_page,
    serving,
    startup_log,
    vector,
    vllm_page,
    vllm_stats,
)
from tests.outputs_sample import prod_outputs

STACK_FILE = """\
config:
  dynamo-cluster:environment: dev
  dynamo-cluster:kubernetes:
    kubeconfigPath: /nonexistent/kubeconfig
    context: efa-test
  dynamo-cluster:nodePools:
    - name: efa
      kind: existing
      nodeSelector: {dynamo-cluster/pool: efa}
      nodes: 8
      gpusPerNode: 8
      gpuModel: H100
      gpuMemoryGiB: 80
      efaInterfaces: 32
    - name: cpu
      kind: existing
      nodeSelector: {kubernetes.io/os: linux}
      gpusPerNode: 0
      nodes: 1
  dynamo-cluster:dynamo:
    discovery: kubernetes
    eventPlane: zmq
    requestPlane: tcp
  dynamo-cluster:graphs:
    # one GPU a pod: NIXL telemetry on, KV router with events over ZMQ
    - name: llama
      backend: vllm
      model: Qwen/Qwen3-0.6B
      prefill: {pool: efa, gpusPerNode: 1}
      decode: {pool: efa, gpusPerNode: 1}
    # two nodes a replica: NCCL across nodes, telemetry off (8 NIXL agents a pod)
    - name: kimi
      backend: sglang
      model: Qwen/Qwen3-0.6B
      prefill: {pool: efa, nodes: 2, gpusPerNode: 8, tensorParallel: 16}
      decode: {pool: efa, nodes: 2, gpusPerNode: 8, tensorParallel: 16}
    - name: mocker
      backend: mocker
      mode: disagg
      model: Qwen/Qwen3-0.6B
      prefill: {pool: cpu}
      decode: {pool: cpu}
"""
GIB = float(1 << 30)
LLAMA_PODS = ("llama-frontend-0", "llama-prefill-0", "llama-decode-0")
KIMI_WORKERS = ("kimi-prefill-0", "kimi-prefill-1", "kimi-decode-0", "kimi-decode-1")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "Pulumi.yaml").write_text("name: dynamo-cluster\nruntime: python\n")
    (tmp_path / "Pulumi.efa.yaml").write_text(STACK_FILE)
    return tmp_path


def outputs(*, prometheus: bool) -> dict[str, Any]:
    base = prod_outputs()
    dynamo = dataclasses.replace(base.dynamo, discovery="kubernetes", event_plane="zmq",
                                 graphs={"llama": "llama", "kimi": "kimi", "mocker": "mocker"})
    deployed: StackOutputs[str] = dataclasses.replace(
        base, nats=None, etcd=None, dynamo=dynamo, observability=base.observability if prometheus else None)
    return deployed.to_dict()


@pytest.fixture
def kube(monkeypatch: pytest.MonkeyPatch) -> FakeKube:
    fake = FakeKube()

    def kubectl(context: str | None, kubeconfig: str | None = None) -> Kubectl:
        assert (context, kubeconfig) == ("efa-test", "/nonexistent/kubeconfig")  # the stack's own
        return Kubectl(context, which=lambda tool: f"/usr/bin/{tool}", run=fake.run, spawn=fake.spawn,
                       kubeconfig=kubeconfig)

    monkeypatch.setattr(verify, "Kubectl", kubectl)
    monkeypatch.setattr(verify, "stack_outputs", lambda _stack, _dir: outputs(prometheus=False))
    return fake


def healthy_llama(kube: FakeKube) -> None:
    """Pods ready, LIBFABRIC in both workers' logs, the plugin executing, the wrapper's library path,
    decode receiving everything from prefill."""
    kube.pods["llama"] = [pod("llama-frontend-0", "llama", "frontend"), pod("llama-prefill-0", "llama", "prefill"),
                          pod("llama-decode-0", "llama", "decode")]
    for worker in ("llama-prefill-0", "llama-decode-0"):
        kube.heads[worker] = startup_log(nixl_line("LIBFABRIC"))
        kube.probes[worker] = probe_output("r--p", "r-xp", "r--p")
    kube.tails["llama-prefill-0"] = vllm_stats(None)
    kube.tails["llama-decode-0"] = vllm_stats(100.0)


def healthy_kimi(kube: FakeKube) -> None:
    kube.pods["kimi"] = [pod("kimi-frontend-0", "kimi", "frontend")]
    kube.pods["kimi"] += [pod(name, "kimi", name.split("-")[1]) for name in KIMI_WORKERS]
    for worker in KIMI_WORKERS:
        kube.heads[worker] = startup_log(nixl_line("LIBFABRIC"), nccl_lines("AWS Libfabric"))
        kube.probes[worker] = probe_output("r--p", "r-xp")


def pods_serving(kube: FakeKube, servers: dict[str, MetricsServer]) -> None:
    """Port-forwards to each pod's port lead to its loopback server ("<pod>:<port>" -> server)."""
    for target, server in servers.items():
        kube.forwards[f"pod/{target}"] = server.port


def llama_pages(*, before: float, after: float, failed: tuple[float, float] = (0.0, 0.0),
                events: float = 120.0) -> dict[str, MetricsServer]:
    """The llama pods' /metrics, read twice: vLLM's and NIXL's counters from `before` to `after` GiB."""
    servers: dict[str, MetricsServer] = {}
    for worker in ("llama-prefill-0", "llama-decode-0"):
        servers[f"{worker}:9090"] = MetricsServer([
            vllm_page(moved=before * GIB, transfers=before * 4, failed=failed[0]),
            vllm_page(moved=after * GIB, transfers=after * 4, failed=failed[1])])
        servers[f"{worker}:19090"] = MetricsServer([nixl_page(sent=before * GIB, received=before * GIB),
                                                    nixl_page(sent=after * GIB, received=after * GIB)])
    servers["llama-frontend-0:8000"] = MetricsServer([router_page(ok=events, parent_block_not_found=2.0)])
    return servers


def run(capsys: pytest.CaptureFixture[str], project: Path, *flags: str) -> tuple[int, str]:
    code = main(["verify", "--stack", "efa", "--project-dir", str(project), "--dataplane", "--sample-seconds", "0",
                 *flags])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def finding(report: str, graph: str, check: str) -> tuple[str, str, str]:
    """(status, detail, likely cause) of one finding in the report's section of `graph`."""
    lines = report.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"graph {graph} ") or line.startswith(graph))
    for i in range(start + 1, len(lines)):
        if not lines[i].startswith("  "):
            break
        match = re.match(r"^  (ok|DEGRADED|FAIL)\s+(.*)$", lines[i])
        if match and match.group(2).startswith(check + "  "):
            cause = lines[i + 1].strip() if i + 1 < len(lines) and "likely cause:" in lines[i + 1] else ""
            return match.group(1), match.group(2)[len(check):].strip(), cause.removeprefix("likely cause: ")
    raise AssertionError(f"no finding {check!r} for {graph} in:\n{report}")


def statuses(report: str, graph: str) -> dict[str, str]:
    lines = report.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"graph {graph} "))
    out: dict[str, str] = {}
    for line in lines[start + 1:]:
        if not line.startswith("  "):
            break
        match = re.match(r"^  (ok|DEGRADED|FAIL)\s+(.+?)  ", line)
        if match:
            out[match.group(2).strip()] = match.group(1)
    return out


@pytest.fixture
def servers() -> Iterator[ExitStack]:
    with ExitStack() as stack:
        yield stack


def start(stack: ExitStack, servers: dict[str, MetricsServer]) -> dict[str, MetricsServer]:
    stack.enter_context(serving(*servers.values()))
    return servers


# -- healthy ---------------------------------------------------------------------------------------

def test_a_healthy_efa_graph_read_from_the_pods(kube: FakeKube, project: Path, servers: ExitStack,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    healthy_llama(kube)
    healthy_kimi(kube)
    pods_serving(kube, start(servers, llama_pages(before=1.0, after=1.5)))
    kube.forwards["pod/kimi-frontend-0:8000"] = start(servers, {"f": MetricsServer([router_page(ok=30.0)])})["f"].port
    code, report = run(capsys, project)
    assert code == 0, report
    assert statuses(report, "llama") == {
        "frontend pods": "ok", "prefill pods": "ok", "decode pods": "ok",
        "prefill NIXL backend": "ok", "prefill LIBFABRIC plugin": "ok", "prefill library path": "ok",
        "decode NIXL backend": "ok", "decode LIBFABRIC plugin": "ok", "decode library path": "ok",
        "KV transfers": "ok", "failed transfers": "ok", "router KV events": "ok", "decode KV from prefill": "ok"}
    assert finding(report, "llama", "prefill NIXL backend")[1] == (
        "Backend LIBFABRIC was instantiated: 1 of 1 (llama-prefill-0)")
    assert finding(report, "llama", "decode LIBFABRIC plugin")[1] == (
        "libplugin_LIBFABRIC mapped r-xp (executing): 1 of 1 (llama-decode-0)")
    assert finding(report, "llama", "decode library path")[1].startswith(
        "starts with /opt/amazon/efa/lib:/opt/amazon/efa/lib64:/opt/aws-ofi-nccl/lib: 1 of 1")
    # both workers' vLLM counters and NIXL agents, read twice: 2 x 1.5 GiB, rising by 2 x 0.5 GiB
    assert finding(report, "llama", "KV transfers")[1] == (
        "vLLM NIXL: 3.0 GiB in 12 transfers, +1.0 GiB in 4 over 0 s; NIXL agents: sent 3.0 GiB (+1.0 GiB), "
        "received 3.0 GiB (+1.0 GiB) over 0 s [the pods' own /metrics]")
    assert finding(report, "llama", "failed transfers")[1] == (
        "0 (vllm:nixl_num_failed_transfers_total) [the pods' own /metrics]")
    assert finding(report, "llama", "decode KV from prefill")[1] == (
        "External prefix cache hit rate 100.0%: 1 of 1 (llama-decode-0)")
    assert finding(report, "llama", "router KV events")[1].startswith(
        "120 applied (status ok), +0 over 0 s, refused: parent_block_not_found 2: 1 of 1 (llama-frontend-0)")
    # SGLang across two nodes: NCCL on aws-ofi-nccl; no NIXL telemetry with eight agents a pod
    kimi = statuses(report, "kimi")
    assert kimi["prefill NCCL network"] == kimi["decode NCCL network"] == "ok"
    assert finding(report, "kimi", "decode NCCL network")[1] == (
        "NCCL on NET/AWS Libfabric: 2 of 2 (kimi-decode-0, kimi-decode-1)")
    assert finding(report, "kimi", "KV transfers")[1].startswith(
        "not measured: no NIXL telemetry on these workers (8 NIXL")
    assert finding(report, "kimi", "failed transfers")[1].startswith("not measured: NIXL 1.3.x's telemetry exporter")
    assert finding(report, "kimi", "decode KV from prefill")[1].startswith("not measured: sglang has no documented")
    assert ("graph mocker (mocker disagg, namespace dynamo): no EFA: simulated engine: no KV transfer (not checked)"
            in report)
    assert report.rstrip().endswith("result: healthy (exit 0)")
    # every kubectl call was bounded, and every port-forward stopped
    assert kube.calls
    assert all(timeout is not None and 0 < timeout <= 60 for _, timeout in kube.calls)
    assert {tuple(argv[:5]) for argv, _ in kube.calls} == {
        ("/usr/bin/kubectl", "--kubeconfig", "/nonexistent/kubeconfig", "--context", "efa-test")}


def test_a_healthy_graph_read_through_prometheus(kube: FakeKube, project: Path, servers: ExitStack,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    healthy_llama(kube)
    monkeypatch.setattr(verify, "stack_outputs", lambda _stack, _dir: outputs(prometheus=True))
    totals = {"vllm:nixl_bytes_transferred_sum": 2 * GIB, "vllm:nixl_bytes_transferred_count": 8.0,
              "vllm:nixl_num_failed_transfers_total": 0.0, "agent_tx_bytes_total": GIB, "agent_rx_bytes_total": GIB}

    def answer(query: str) -> dict[str, Any]:
        promql_parser.parse(query)  # every query is valid PromQL
        assert 'namespace="dynamo"' in query
        rising = query.count("increase(") == 1 and "[5m]" in query
        if "dynamo_component_kv_cache_events_applied" in query:
            assert query.startswith("sum by (pod, status) (")
            assert 'pod=~"llama-frontend-0"' in query
            return vector([({"pod": "llama-frontend-0", "status": "ok"}, 40.0 if rising else 500.0)])
        name = next(n for n in totals if n in query)
        assert 'pod=~"llama-decode-0|llama-prefill-0"' in query
        return vector([({"pod": "llama-decode-0"}, totals[name] / (4 if rising else 1))])

    prometheus = start(servers, {"p": MetricsServer(prometheus=answer)})["p"]
    kube.forwards["svc/kps-prometheus:9090"] = prometheus.port
    code, report = run(capsys, project, "--graph", "llama")
    assert code == 0, report
    assert set(statuses(report, "llama").values()) == {"ok"}
    assert finding(report, "llama", "KV transfers")[1] == (
        "vLLM NIXL: 2.0 GiB in 8 transfers, +512.0 MiB in 2 over the last 5m; NIXL agents: sent 1.0 GiB "
        "(+256.0 MiB), received 1.0 GiB (+256.0 MiB) over the last 5m [Prometheus svc/kps-prometheus in monitoring]")
    assert finding(report, "llama", "router KV events")[1].startswith("500 applied (status ok), +40 over the last 5m")
    assert len(prometheus.queries) == 12  # 6 counters: a total and an increase each
    assert not [argv for argv in kube.spawned if argv[-2].startswith("pod/")]  # no pod read directly
    assert "kimi" not in report
    assert "mocker" not in report


# -- the guide's failures --------------------------------------------------------------------------

def test_ucx_instantiated_is_the_silent_tcp_fallback(kube: FakeKube, project: Path, servers: ExitStack,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    healthy_llama(kube)
    kube.heads["llama-prefill-0"] = startup_log(nixl_line("UCX"))
    pods_serving(kube, start(servers, llama_pages(before=1.0, after=1.5)))
    code, report = run(capsys, project, "--graph", "llama")
    assert code == 2
    status, detail, cause = finding(report, "llama", "prefill NIXL backend")
    assert (status, detail) == ("FAIL", "Backend UCX was instantiated: 1 of 1 (llama-prefill-0)")
    assert "about 100 s to first token" in cause
    assert "-efa image" in cause
    assert finding(report, "llama", "decode NIXL backend")[0] == "ok"


def test_a_backend_line_not_seen_yet_is_degraded(kube: FakeKube, project: Path, servers: ExitStack,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    healthy_llama(kube)
    kube.heads["llama-decode-0"] = startup_log()
    pods_serving(kube, start(servers, llama_pages(before=1.0, after=1.5)))
    code, report = run(capsys, project, "--graph", "llama")
    assert code == 1
    status, detail, cause = finding(report, "llama", "decode NIXL backend")
    assert (status, detail) == ("DEGRADED", "neither line seen yet: 1 of 1 (llama-decode-0)")
    assert "send a request" in cause


def test_a_plugin_mapped_but_not_executing_is_down(kube: FakeKube, project: Path, servers: ExitStack,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    healthy_llama(kube)
    kube.probes["llama-decode-0"] = probe_output("r--p", "r--p")
    pods_serving(kube, start(servers, llama_pages(before=1.0, after=1.5)))
    code, report = run(capsys, project, "--graph", "llama")
    assert code == 2
    status, detail, cause = finding(report, "llama", "decode LIBFABRIC plugin")
    assert (status, detail) == ("FAIL", "libplugin_LIBFABRIC mapped r--p only (not executing): 1 of 1 (llama-decode-0)")
    assert "another NIXL backend moves the KV cache" in cause
    assert finding(report, "llama", "prefill LIBFABRIC plugin")[0] == "ok"


def test_a_library_path_without_the_wrapper_is_degraded(kube: FakeKube, project: Path, servers: ExitStack,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    healthy_llama(kube)
    kube.probes["llama-prefill-0"] = probe_output("r-xp", library_path="/usr/local/cuda/lib64:" + EFA_PATH)
    pods_serving(kube, start(servers, llama_pages(before=1.0, after=1.5)))
    code, report = run(capsys, project, "--graph", "llama")
    assert code == 1
    status, detail, cause = finding(report, "llama", "prefill library path")
    assert status == "DEGRADED"
    assert detail.startswith("starts with /usr/local/cuda/lib64:/opt/amazon/efa/lib:/opt/amazon/efa/lib64, not "
                             "/opt/amazon/efa/lib:/opt/amazon/efa/lib64:/opt/aws-ofi-nccl/lib")
    assert "wrapper" in cause


def test_failed_transfers_are_degraded_and_down_when_nothing_moves(kube: FakeKube, project: Path,
                                                                   servers: ExitStack,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    healthy_llama(kube)
    pods_serving(kube, start(servers, llama_pages(before=1.0, after=1.5, failed=(1.0, 3.0))))
    code, report = run(capsys, project, "--graph", "llama")
    assert code == 1
    status, detail, cause = finding(report, "llama", "failed transfers")
    assert status == "DEGRADED"
    assert detail == ("6 failed, +4 over 0 s (vllm:nixl_num_failed_transfers_total) in llama-prefill-0, "
                      "llama-decode-0 [the pods' own /metrics]")
    assert "security group" in cause


def test_failures_rising_while_no_byte_moves_is_down(kube: FakeKube, project: Path, servers: ExitStack,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    healthy_llama(kube)
    pods_serving(kube, start(servers, llama_pages(before=1.0, after=1.0, failed=(0.0, 5.0))))
    code, report = run(capsys, project, "--graph", "llama")
    assert code == 2
    status, detail, _ = finding(report, "llama", "failed transfers")
    assert status == "FAIL"
    assert detail.endswith("; no byte moved meanwhile")
    assert finding(report, "llama", "KV transfers")[0] == "DEGRADED"  # moved before, not while sampled


def test_no_transfers_yet_asks_for_a_request(kube: FakeKube, project: Path, servers: ExitStack,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """Before the first transfer vLLM's byte histogram is still empty and NIXL exports no series."""
    healthy_llama(kube)
    kube.tails["llama-decode-0"] = vllm_stats(None)
    pages = llama_pages(before=0.0, after=0.0)
    for worker in ("llama-prefill-0", "llama-decode-0"):
        pages[f"{worker}:19090"] = MetricsServer(["# no NIXL series before the first transfer\n"])
    pods_serving(kube, start(servers, pages))
    code, report = run(capsys, project, "--graph", "llama")
    assert code == 1
    status, detail, cause = finding(report, "llama", "KV transfers")
    assert status == "DEGRADED"
    assert detail.startswith("no transfers seen: send a request; vLLM NIXL: 0 B in 0 transfers, +0 B in 0")
    assert "send a request through the frontend" in cause
    assert finding(report, "llama", "decode KV from prefill")[:2] == (
        "DEGRADED", "no External prefix cache hit rate line: 1 of 1 (llama-decode-0)")


def test_decode_without_kv_from_prefill_is_degraded(kube: FakeKube, project: Path, servers: ExitStack,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    healthy_llama(kube)
    kube.tails["llama-decode-0"] = "\n".join([vllm_stats(100.0), vllm_stats(0.0)])  # the latest counts
    pods_serving(kube, start(servers, llama_pages(before=1.0, after=1.5)))
    code, report = run(capsys, project, "--graph", "llama")
    assert code == 1
    status, detail, cause = finding(report, "llama", "decode KV from prefill")
    assert (status, detail) == ("DEGRADED", "External prefix cache hit rate 0.0%: 1 of 1 (llama-decode-0)")
    assert "skip prefill" in cause


def test_a_router_without_kv_events_is_degraded(kube: FakeKube, project: Path, servers: ExitStack,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    healthy_llama(kube)
    pages = llama_pages(before=1.0, after=1.5)
    pages["llama-frontend-0:8000"] = MetricsServer([router_page()])  # the frontend's page, without the counter
    pods_serving(kube, start(servers, pages))
    code, report = run(capsys, project, "--graph", "llama")
    assert code == 1
    status, detail, cause = finding(report, "llama", "router KV events")
    assert (status, detail) == ("DEGRADED", "no dynamo_component_kv_cache_events_applied with status ok: 1 of 1 "
                                            "(llama-frontend-0) [the pods' own /metrics]")
    assert "--kv-events-config" in cause
    assert "ZMQ event plane" in cause


def test_nccl_over_sockets_is_down(kube: FakeKube, project: Path, servers: ExitStack,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    healthy_kimi(kube)
    kube.heads["kimi-decode-1"] = startup_log(nixl_line("LIBFABRIC"), nccl_lines("Socket"))
    kube.forwards["pod/kimi-frontend-0:8000"] = start(servers, {"f": MetricsServer([router_page(ok=3.0)])})["f"].port
    code, report = run(capsys, project, "--graph", "kimi")
    assert code == 2
    status, detail, cause = finding(report, "kimi", "decode NCCL network")
    assert status == "FAIL"
    assert detail == ("NCCL on NET/Socket (tensors over TCP): 1 of 2 (kimi-decode-1); NCCL on NET/AWS Libfabric: "
                      "1 of 2 (kimi-decode-0)")
    assert "aws-ofi-nccl" in cause
    assert finding(report, "kimi", "prefill NCCL network")[0] == "ok"


def test_pods_missing_or_not_running_are_down(kube: FakeKube, project: Path, servers: ExitStack,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    healthy_llama(kube)
    kube.pods["llama"][2] = pod("llama-decode-0", "llama", "decode", phase="Pending", ready=False)
    kube.pods["kimi"] = []
    pages = llama_pages(before=1.0, after=1.5)
    del pages["llama-decode-0:9090"], pages["llama-decode-0:19090"]
    pods_serving(kube, start(servers, pages))
    code, report = run(capsys, project)
    assert code == 2
    status, detail, cause = finding(report, "llama", "decode pods")
    assert (status, detail) == ("FAIL", "0 of 1 ready; not ready: llama-decode-0 (Pending)")
    assert "kubectl -n dynamo get pods -l dynamo-cluster/graph=llama" in cause
    assert "decode NIXL backend" not in statuses(report, "llama")  # nothing to read in a pending pod
    assert finding(report, "kimi", "prefill pods")[:2] == ("FAIL", "no prefill pod (expected 2)")
    assert not [argv for argv, _ in kube.calls if "llama-decode-0" in argv]


def test_an_unreachable_prometheus_falls_back_to_the_pods(kube: FakeKube, project: Path, servers: ExitStack,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    healthy_llama(kube)
    monkeypatch.setattr(verify, "stack_outputs", lambda _stack, _dir: outputs(prometheus=True))
    pods_serving(kube, start(servers, llama_pages(before=1.0, after=1.5)))  # no forward to svc/kps-prometheus
    code, report = run(capsys, project, "--graph", "llama")
    assert code == 1  # the data path is healthy; the observability stack is not
    status, detail, _ = finding(report, "Prometheus http://kps-prometheus.monitoring.svc.cluster.local:9090",
                                "reachable")
    assert status == "DEGRADED"
    assert "port-forward to monitoring/svc/kps-prometheus did not start" in detail
    assert detail.endswith("the pods' own /metrics were read instead")
    assert set(statuses(report, "llama").values()) == {"ok"}
    assert finding(report, "llama", "KV transfers")[1].endswith("[the pods' own /metrics]")


def test_a_prometheus_that_refuses_queries_falls_back_too(kube: FakeKube, project: Path, servers: ExitStack,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    healthy_llama(kube)
    monkeypatch.setattr(verify, "stack_outputs", lambda _stack, _dir: outputs(prometheus=True))
    refusing = MetricsServer(prometheus=lambda _q: {"status": "error", "errorType": "bad_data",
                                                    "error": "illustrative parse error"})
    kube.forwards["svc/kps-prometheus:9090"] = start(servers, {"p": refusing})["p"].port
    pods_serving(kube, start(servers, llama_pages(before=1.0, after=1.5)))
    code, report = run(capsys, project, "--graph", "llama")
    assert code == 1
    detail = finding(report, "Prometheus http://kps-prometheus.monitoring.svc.cluster.local:9090", "reachable")[1]
    assert "HTTP 400 Bad Request: bad_data: illustrative parse error" in detail
    assert finding(report, "llama", "KV transfers")[0] == "ok"


def test_a_pod_whose_metrics_cannot_be_read_is_named(kube: FakeKube, project: Path, servers: ExitStack,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    healthy_llama(kube)
    pages = llama_pages(before=1.0, after=1.5)
    del pages["llama-prefill-0:19090"]  # its NIXL exporter does not answer
    pods_serving(kube, start(servers, pages))
    code, report = run(capsys, project, "--graph", "llama")
    assert code == 1
    status, detail, _ = finding(report, "llama", "KV transfers")
    assert status == "DEGRADED"
    assert "not read: llama-prefill-0 (port-forward to dynamo/pod/llama-prefill-0 did not start" in detail


def test_logs_and_probes_that_fail_are_reported_not_raised(kube: FakeKube, project: Path, servers: ExitStack,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    healthy_llama(kube)
    kube.fail["llama-prefill-0"] = 'Error from server (Forbidden): pods "llama-prefill-0" is forbidden'
    pods_serving(kube, start(servers, llama_pages(before=1.0, after=1.5)))
    code, report = run(capsys, project, "--graph", "llama")
    assert code == 1
    status, detail, _ = finding(report, "llama", "prefill NIXL backend")
    assert status == "DEGRADED"
    assert "log not read (reading the log of dynamo/llama-prefill-0 failed" in detail
    assert finding(report, "llama", "prefill LIBFABRIC plugin")[1].startswith("/proc not read (running sh in")


# -- the command line ------------------------------------------------------------------------------

@pytest.mark.usefixtures("kube")
def test_command_line_mistakes_exit_2_with_a_reason(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--dataplane"]) == 2
    assert "--dataplane needs --stack NAME" in capsys.readouterr().err
    assert main(["verify", "--stack", "efa", "--graph", "llama"]) == 2
    assert "--graph: only with --dataplane" in capsys.readouterr().err
    assert main(["verify", "--stack", "efa", "--dataplane", "--etcd", "http://e:2379"]) == 2
    assert "--dataplane checks the graphs' data path only" in capsys.readouterr().err
    code, report = run(capsys, project, "--graph", "nope")
    assert code == 2
    assert "verify: --graph nope: the stack has no such graph (its graphs: llama, kimi, mocker)" in report
    code, report = run(capsys, project.parent / "elsewhere")
    assert code == 2
    assert "verify: cannot read the config of stack efa" in report
    for bad in (["--sample-seconds", "-1"], ["--dataplane-timeout", "0"], ["--sample-seconds", "soon"]):
        with pytest.raises(SystemExit) as exit_:
            main(["verify", "--stack", "efa", "--dataplane", *bad])
        assert exit_.value.code == 2
        assert f"argument {bad[0]}" in capsys.readouterr().err


def test_outputs_of_another_version_exit_2(kube: FakeKube, project: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(verify, "stack_outputs", lambda _stack, _dir: {"nats": None})
    code, report = run(capsys, project)
    assert code == 2
    assert "are not those this version of dynamo-cluster writes" in report
    assert not kube.calls


def test_a_graph_that_is_not_deployed_is_noted(kube: FakeKube, project: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    undeployed = outputs(prometheus=False)
    undeployed["dynamo"]["graphs"] = {}
    monkeypatch.setattr(verify, "stack_outputs", lambda _stack, _dir: undeployed)
    code, report = run(capsys, project, "--graph", "llama")
    assert code == 0
    assert "graph llama (vllm disagg, namespace dynamo): not deployed (the stack's outputs do not list it" in report
    assert not kube.calls  # nothing to ask the cluster
