"""`verify --dataplane`'s pure parts: which graphs and groups are checked, the causes named from the
stack's own config, the per-pod and traffic checks on evidence built here, the run's time limit."""

from __future__ import annotations

import dataclasses
import subprocess
from typing import Any

import pytest

from components.dynamo.backends.vllm import VLLM
from components.dynamo.datapath import data_path
from stacks.ops.report import Status
from stacks.verify.dataplane import causes
from stacks.verify.dataplane.checks import (
    Outcome,
    PodEvidence,
    library_path_finding,
    nccl_finding,
    pods_finding,
    summarize,
)
from stacks.verify.dataplane.cluster import Deadline, OutOfTime
from stacks.verify.dataplane.logs import LogEvidence
from stacks.verify.dataplane.pods import Pod, parse_pod
from stacks.verify.dataplane.procfs import parse_probe
from stacks.verify.dataplane.readings import KV_EVENTS, Reading, Readings
from stacks.verify.dataplane.runner import Settings, check
from stacks.verify.dataplane.sources import PrometheusService, SourceError, _pod_regex
from stacks.verify.dataplane.targets import GraphPlan, GroupPlan, TargetError, graph_plans, select
from stacks.verify.dataplane.traffic import kv_events_finding, size, transfers_finding
from stacks.verify.discovery import Kubectl
from tests.dataplane_stub import FakeKube, nixl_line, pod, probe_output, startup_log
from tests.graph_fixtures import POOLS, graph

assert VLLM.transfer_metrics is not None
VLLM_METRICS = VLLM.transfer_metrics


def plan_of(spec: Any, deployed: bool = True) -> GraphPlan:
    return graph_plans([spec], POOLS, {spec.name: spec.name} if deployed else {}, "dynamo")[0]


def running(name: str, role: str = "decode", env: dict[str, str] | None = None) -> Pod:
    return Pod(name=name, role=role, phase="Running", ready=True, terminating=False, restarts=0, env=env or {})


# -- targets ---------------------------------------------------------------------------------------

def test_which_graphs_are_checked() -> None:
    efa, plain, agg = graph("vllm", gpus=1, nodes=1), graph("vllm", pool="h100", name="plain"), \
        graph("sglang", mode="agg", nodes=2, gpus=8, name="agg")
    assert plan_of(efa).skipped() == ""
    assert plan_of(efa, deployed=False).skipped().startswith("not deployed")
    assert plan_of(plain).skipped() == ("no EFA: pool h100 has no EFA interfaces: NIXL's default transport (UCX, "
                                        "over TCP between nodes) (not checked)")
    aggregated = plan_of(agg)
    assert aggregated.skipped() == ""  # EFA, for NCCL across nodes: no KV transfer to check
    assert aggregated.kv_groups == ()
    assert [g.role for g in aggregated.efa_groups] == ["worker"]
    assert plan_of(graph("vllm", nodes=2, gpus=8)).expected_pods == {"frontend": 1, "prefill": 2, "decode": 2}
    assert [g.name for g in select([efa, plain], "plain")] == ["plain"]
    with pytest.raises(TargetError) as error:
        select([efa, plain], "x")
    assert str(error.value) == "--graph x: the stack has no such graph (its graphs: vllm-disagg, plain)"


def test_kv_events_are_expected_only_where_the_router_listens() -> None:
    assert plan_of(graph("vllm", gpus=1, nodes=1)).expects_kv_events
    assert not plan_of(graph("vllm", gpus=1, nodes=1, router="round-robin")).expects_kv_events
    off = dataclasses.replace(graph("vllm", gpus=1, nodes=1),
                              transport=dataclasses.replace(graph("vllm").transport, event_plane="none"))
    assert not plan_of(off).expects_kv_events


def test_pods_read_from_kubectl_json() -> None:
    item = pod("llama-decode-0", "llama", "decode", phase="Running", ready=False, restarts=3,
               env={"DYN_SYSTEM_PORT": "9345"})
    item["metadata"]["deletionTimestamp"] = "2026-09-01T10:00:00Z"
    parsed = parse_pod(item)
    assert (parsed.name, parsed.role, parsed.ready, parsed.restarts, parsed.terminating) == (
        "llama-decode-0", "decode", False, 3, True)
    assert not parsed.running
    assert parsed.port("DYN_SYSTEM_PORT", 9090) == 9345
    assert parsed.port("NIXL_TELEMETRY_PROMETHEUS_PORT", 19090) == 19090
    assert parse_pod({}).phase == "Unknown"


# -- causes from the stack's own config ------------------------------------------------------------

def test_overrides_of_the_backend_switch_are_named() -> None:
    vllm = graph("vllm", gpus=1, nodes=1, extra=("--kv-transfer-config", '{"kv_connector":"NixlConnector"}'))
    assert causes.overrides(vllm, vllm.groups[0]) == [
        "the group's extraArgs pass a --kv-transfer-config of their own, after the recipe's, so it wins"]
    sglang = graph("sglang", gpus=1, nodes=1)
    group = dataclasses.replace(sglang.groups[0], env={"SGLANG_DISAGGREGATION_NIXL_BACKEND": "UCX"})
    assert causes.overrides(sglang, group) == [
        "the group's env sets SGLANG_DISAGGREGATION_NIXL_BACKEND=UCX instead of LIBFABRIC"]
    trtllm = graph("trtllm", gpus=1, nodes=1)
    group = dataclasses.replace(trtllm.groups[0], engine_config={"cache_transceiver_config": {"backend": "UCX"}})
    assert causes.overrides(trtllm, group) == [
        "the group's engineConfig sets cache_transceiver_config.backend to UCX, not NIXL"]
    assert causes.overrides(trtllm, trtllm.groups[0]) == []
    custom = dataclasses.replace(sglang, efa_image="registry.example.com/sglang:efa-1")
    assert causes.overrides(custom, custom.groups[0]) == [
        "the graph's own efaImage registry.example.com/sglang:efa-1 may lack the EFA installer or NIXL's "
        "LIBFABRIC plugin"]
    release_image = dataclasses.replace(sglang, efa_image=sglang.release.runtime_image(sglang.backend, efa=True))
    assert causes.overrides(release_image, release_image.groups[0]) == []  # the release's -efa image
    assert "SGLANG_DISAGGREGATION_NIXL_BACKEND=UCX" in causes.backend_ucx(
        sglang, dataclasses.replace(sglang.groups[0], env={"SGLANG_DISAGGREGATION_NIXL_BACKEND": "UCX"}), "dynamo")


def test_nccl_causes_name_the_groups_env() -> None:
    group = dataclasses.replace(graph("vllm").groups[0], env={"NCCL_DEBUG": "WARN"})
    plan = GroupPlan(group, data_path(graph("vllm"), group, POOLS["h100-efa"]))
    silent = nccl_finding(plan, [PodEvidence(running("p-0"), logs=LogEvidence())])
    assert silent.status is Status.DEGRADED
    assert "NCCL_DEBUG=WARN" in silent.cause
    forced = dataclasses.replace(group, env={"NCCL_NET": "Socket"})
    assert causes.nccl_socket(forced) == "the group's env sets NCCL_NET=Socket: remove it"


# -- per-pod checks --------------------------------------------------------------------------------

def test_summaries_put_the_worst_first_and_shorten_long_pod_lists() -> None:
    ok, bad = Outcome(Status.OK, "fine"), Outcome(Status.FAILED, "broken", "the cause")
    pods = [(f"p-{i}", ok) for i in range(6)] + [("q-0", bad)]
    finding = summarize("check", pods)
    assert finding.status is Status.FAILED
    assert finding.detail == "broken: 1 of 7 (q-0); fine: 6 of 7 (p-0, p-1, p-2, 3 more)"
    assert finding.cause == "the cause"


def test_pods_fewer_than_planned_are_degraded() -> None:
    pods = [running("d-0"), Pod("d-1", "decode", "Running", False, False, 2), Pod("d-2", "decode", "Pending", False,
                                                                                  False, 0)]
    finding = pods_finding("decode", 3, pods, "dynamo", "dynamo-cluster/graph=g")
    assert finding.status is Status.DEGRADED
    assert finding.detail == "1 of 3 ready; not ready: d-1 (Running, not ready), d-2 (Pending); restarted: d-1 2x"
    assert pods_finding("decode", 1, [running("d-0")], "dynamo", "s").status is Status.OK


def test_an_unwrapped_worker_keeps_the_images_own_library_path() -> None:
    """A TensorRT-LLM worker across nodes runs under mpirun, without the wrapper; its -efa image's own
    path starts with /opt/amazon/efa/lib."""
    spec = graph("trtllm", nodes=2, gpus=8)
    group = plan_of(spec).groups[0]
    assert group.path.library_path == ()
    good = PodEvidence(running("t-0"), probe=parse_probe(probe_output("r-xp", library_path="/opt/amazon/efa/lib:/x")))
    bad = PodEvidence(running("t-1"), probe=parse_probe(probe_output("r-xp", library_path="/usr/lib")))
    finding = library_path_finding(group, [good, bad])
    assert finding.status is Status.DEGRADED
    assert finding.detail == ("starts with /usr/lib, not /opt/amazon/efa/lib: 1 of 2 (t-1); starts with "
                              "/opt/amazon/efa/lib (the image's own, unwrapped): 1 of 2 (t-0)")
    assert finding.cause.endswith("not an -efa image")
    unset = PodEvidence(running("t-2"), probe=parse_probe(probe_output("r-xp", library_path=None)))
    assert library_path_finding(group, [unset]).detail == "no LD_LIBRARY_PATH in process 57: 1 of 1 (t-2)"


# -- traffic checks --------------------------------------------------------------------------------

def readings(values: dict[tuple[str, str, str], Reading], **unreachable: str) -> Readings:
    return Readings(source="test", window="15 s", values=values, unreachable=unreachable)


def test_transfers_before_but_not_during_the_window() -> None:
    plan = plan_of(graph("vllm", gpus=1, nodes=1))
    idle = readings({("d-0", VLLM_METRICS.bytes_sum, ""): Reading(3 * 2**20, 0),
                     ("d-0", VLLM_METRICS.transfers, ""): Reading(3, 0)})
    finding = transfers_finding(plan, ["d-0"], [], idle)
    assert finding.status is Status.DEGRADED
    assert finding.detail == "none over 15 s: vLLM NIXL: 3.0 MiB in 3 transfers, +0 B in 0 over 15 s [test]"
    assert "idle" in finding.cause
    unread = transfers_finding(plan, ["d-0"], [], readings({}, **{"d-0": "port 9090: refused"}))
    assert (unread.status, unread.detail) == (Status.DEGRADED, "not read: d-0 (port 9090: refused) [test]")


def test_router_events_that_are_only_refused() -> None:
    plan = plan_of(graph("vllm", gpus=1, nodes=1))
    refused = readings({("f-0", KV_EVENTS, "block_not_found"): Reading(7, 2)})
    finding = kv_events_finding(plan, ["f-0"], refused)
    assert finding.status is Status.DEGRADED
    assert finding.detail == "none applied, refused: block_not_found 7: 1 of 1 (f-0) [test]"
    assert "index applies none" in finding.cause


def test_sizes() -> None:
    assert [size(v) for v in (0, 1023, 1536, 5 * 2**30, 2**50)] == ["0 B", "1023 B", "1.5 KiB", "5.0 GiB",
                                                                      "1024.0 TiB"]


def test_prometheus_services_and_pod_regexes() -> None:
    assert PrometheusService.from_url("http://kps-prometheus.monitoring.svc.cluster.local:9090") == \
        PrometheusService("kps-prometheus", "monitoring", 9090)
    with pytest.raises(SourceError, match="does not name an in-cluster Service"):
        PrometheusService.from_url("https://prometheus.example.com")
    assert _pod_regex(["b-0", "a.x-1", "b-0"]) == "a\\\\.x-1|b-0"


# -- the run's time limit --------------------------------------------------------------------------

def test_the_deadline_caps_every_timeout() -> None:
    now = [100.0]
    deadline = Deadline(30.0, clock=lambda: now[0])
    assert deadline.cap(60.0) == 30.0
    now[0] = 120.0
    assert deadline.cap(5.0) == 5.0
    now[0] = 130.0
    with pytest.raises(OutOfTime, match="time limit of 30 s is spent"):
        deadline.cap(5.0)


def test_what_the_time_limit_leaves_unread_is_reported() -> None:
    """The clock moves 10 s with every kubectl call; the limit of 25 s runs out after the pod list
    and two logs, and the rest (the probes, the counters) is reported as not read."""
    fake = FakeKube()
    fake.pods["vllm-disagg"] = [pod("f-0", "vllm-disagg", "frontend"), pod("p-0", "vllm-disagg", "prefill"),
                                pod("d-0", "vllm-disagg", "decode")]
    fake.heads["p-0"] = startup_log(nixl_line("LIBFABRIC"))
    now = [0.0]

    def slow(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        now[0] += 10.0
        return fake.run(argv, **kwargs)

    cluster = Kubectl("ctx", which=lambda tool: f"/usr/bin/{tool}", run=slow, spawn=fake.spawn)
    plan = plan_of(graph("vllm", gpus=1, nodes=1))
    sections = check([plan], cluster, prometheus_url=None, fetch=lambda _url, _t: "", settings=Settings(0, 1.0),
                     deadline=Deadline(25.0, clock=lambda: now[0]))
    found = {f.check: f for f in sections[0].findings}
    assert found["prefill NIXL backend"].status is Status.OK
    assert "time limit of 25 s is spent" in found["prefill LIBFABRIC plugin"].detail
    assert "time limit of 25 s is spent" in found["decode NIXL backend"].detail
    assert found["KV transfers"].detail.startswith("not read: the run's time limit of 25 s is spent")
    assert len(fake.calls) == 3  # nothing asked after the limit


def test_no_transfer_series_at_all_asks_for_a_request() -> None:
    """NIXL's exporter, and Prometheus, have no series before the first transfer."""
    plan = plan_of(graph("vllm", gpus=1, nodes=1))
    finding = transfers_finding(plan, ["d-0"], ["d-0"], readings({}))
    assert (finding.status, finding.detail) == (
        Status.DEGRADED, "no transfers seen: send a request; no transfer series yet [test]")
