"""The data-path preflight run, driven through a stub cluster: each way a data path can fail is
reported with its fix, and whatever happens, every object the run created is deleted, the namespace
last."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pytest

from components.nodes.shape import PoolShape
from stacks.ops.report import Finding
from stacks.preflight.dataplane import checks, manifests
from stacks.preflight.dataplane.cluster import DataplaneError
from stacks.preflight.dataplane.manifests import Run
from stacks.preflight.dataplane.runner import DataplaneReport, Runner
from stacks.preflight.dataplane.targets import Targets, pool_target
from tests import preflight_dataplane_samples as samples
from tests.graph_fixtures import POOLS, graph
from tests.preflight_dataplane_stub import FakeClock, FakeDataplane, FakePod, efa_node, unschedulable

P5 = replace(POOLS["h100-efa"], efa_card_gbps=100.0, huge_pages_2mi="40Gi", key="nodePools[0]", min_nodes=2)
RUN = Run("abc123", "registry.example.com/nixlbench:0.10.1", 1200)


def targets(pool: PoolShape = P5, backend: str = "vllm", **graph_args: Any) -> Targets:
    spec = graph(backend, pool=pool.name, **graph_args)
    return Targets((pool_target(pool, [(spec, g) for g in spec.groups]),), ())


def run(stub: FakeDataplane, target: Targets | None = None, clock: FakeClock | None = None) -> DataplaneReport:
    return Runner(stub, target or targets(), RUN, clock=(clock or FakeClock()).clock()).run()


def by_name(report: DataplaneReport) -> dict[str, Finding]:
    return {r.check: r for r in report.results}


def failed(report: DataplaneReport) -> list[Finding]:
    return [r for r in report.results if not r.ok]


def sanity_on(node: str, log: str) -> dict[str, Any]:
    """Behaviour: the sanity pod on `node` prints `log`, the others the healthy sample."""
    def end(_job: Mapping[str, Any], where: str) -> FakePod:
        return FakePod(log=log if where == node else samples.sanity_log())
    return {manifests.SANITY: end}


def bench(log: str = "", *, initiator: FakePod | None = None) -> dict[str, Any]:
    """Behaviour: the initiator's pod ends as `initiator` (or succeeds printing `log`)."""
    def end(job: Mapping[str, Any], _node: str) -> FakePod:
        if job["metadata"]["name"].endswith("-0"):
            return initiator or FakePod(log=log)
        return FakePod(log=samples.TARGET_LOG)
    return {manifests.BENCH: end}


def sweep(best: float) -> str:
    return samples.nixlbench_log(((4096, 0.2), (16 << 20, best * 0.8), (64 << 20, best)))


# -- a healthy pool --------------------------------------------------------------------------------
def test_a_healthy_pool_passes_and_everything_is_deleted() -> None:
    stub = FakeDataplane()
    report = run(stub)
    assert failed(report) == []
    assert report.interrupted is None
    results = by_name(report)
    assert results["dataplane h100-efa nodes"].detail == \
        "4 Ready nodes match dynamo-cluster/pool=h100-efa"
    assert results["dataplane h100-efa node-a"].detail == (
        "8 x NVIDIA H100 80GB HBM3 (81559 MiB); driver 580.82.07, CUDA 13.0; /dev/shm 80.0 GiB; "
        "32 EFA devices (fi_info: rdmap0s0-rdm, ...); huge pages 20480 pages of 2048 kB (40.0 GiB); "
        "library path starts with /opt/amazon/efa/lib")
    assert results["dataplane h100-efa nixlbench"].detail == (
        "42.5 GB/s at 64 MiB blocks between node-a and node-b (GB/s by block size: 16 MiB 38.4, 32 MiB 41.0, "
        "64 MiB 42.5); needs 25 GB/s (50% of the line rate of 4 EFA interfaces x 100 Gbps = 50 GB/s)")
    assert results["dataplane cleanup"].detail == \
        "deleted namespace dynamo-preflight-abc123 and the 10 objects the run created in it"
    assert stub.kinds_created() == [
        ("Namespace", "dynamo-preflight-abc123"), ("Service", "etcd"), ("Pod", "etcd"),
        *(("Job", f"h100-efa-sanity-{i}") for i in range(4)),
        ("Job", "h100-efa-image-check-0"), ("Job", "h100-efa-image-check-1"),
        ("Job", "h100-efa-nixlbench-0"), ("Job", "h100-efa-nixlbench-1")]
    assert stub.everything_deleted()
    assert stub.deleted[-1] == ("Namespace", "dynamo-preflight-abc123", None)


def test_the_benchmark_runs_on_the_first_two_nodes_that_passed() -> None:
    stub = FakeDataplane(behaviour=sanity_on("node-a", samples.sanity_log({"fi_info": (samples.FI_INFO_NONE, 1)})))
    report = run(stub)
    bench_nodes = [m["metadata"]["annotations"][manifests.NODE_ANNOTATION] for m in stub.created
                   if m["metadata"]["name"].startswith("h100-efa-nixlbench")]
    assert bench_nodes == ["node-b", "node-c"]
    assert "between node-b and node-c" in by_name(report)["dataplane h100-efa nixlbench"].detail


def test_not_ready_and_cordoned_nodes_are_left_out() -> None:
    nodes = [efa_node("node-a"), efa_node("node-b", ready=False), replace(efa_node("node-c"), unschedulable=True),
             efa_node("node-d"), efa_node("other", pool="h200-efa")]
    stub = FakeDataplane(node_list=nodes)
    report = run(stub)
    result = by_name(report)["dataplane h100-efa nodes"]
    assert not result.ok
    assert result.detail == ("2 Ready nodes match dynamo-cluster/pool=h100-efa; cordoned, not checked: node-c; "
                              "not Ready, not checked: node-b")
    sanity = [m for m in stub.created if m["metadata"]["labels"].get(manifests.STEP_LABEL) == manifests.SANITY]
    assert [m["metadata"]["annotations"][manifests.NODE_ANNOTATION] for m in sanity] == ["node-a", "node-d"]
    assert by_name(report)["dataplane h100-efa nixlbench"].ok


def test_no_ready_node_creates_nothing() -> None:
    stub = FakeDataplane(node_list=[efa_node("node-a", pool="elsewhere")])
    report = run(stub)
    assert stub.created == []
    assert stub.deleted == []
    assert [r.check for r in failed(report)] == ["dataplane h100-efa nodes"]
    assert failed(report)[0].detail == "no Ready, schedulable node matches dynamo-cluster/pool=h100-efa"


# -- the benchmark's failures ----------------------------------------------------------------------
def test_bandwidth_under_the_threshold_fails_with_its_fix() -> None:
    stub = FakeDataplane(behaviour=bench(sweep(18.0)))
    result = by_name(run(stub))["dataplane h100-efa nixlbench"]
    assert not result.ok
    assert result.detail.startswith("18.0 GB/s at 64 MiB blocks between node-a and node-b")
    assert result.detail.endswith("needs 25 GB/s (50% of the line rate of 4 EFA interfaces x 100 Gbps = 50 GB/s)")
    assert result.fix == checks.BELOW_FIX
    assert stub.everything_deleted()


def test_a_ucx_like_rate_is_called_a_fallback() -> None:
    """Dynamo's EFA guide: 1-5 GB/s is a transfer staged through host memory, not GPU-direct EFA."""
    result = by_name(run(FakeDataplane(behaviour=bench(sweep(1.4)))))["dataplane h100-efa nixlbench"]
    assert not result.ok
    assert "1.4 GB/s" in result.detail
    assert result.detail.endswith(": a TCP-like rate")
    assert result.fix == checks.FALLBACK_FIX


def test_only_blocks_of_16_mib_or_more_count() -> None:
    log = samples.nixlbench_log(((1 << 20, 60.0), (8 << 20, 55.0), (16 << 20, 12.0), (64 << 20, 20.0)))
    result = by_name(run(FakeDataplane(behaviour=bench(log))))["dataplane h100-efa nixlbench"]
    assert not result.ok
    assert result.detail.startswith("20.0 GB/s at 64 MiB blocks")


def test_an_image_without_nixlbench_is_found_before_the_benchmark() -> None:
    missing = FakePod(phase="Failed", exit_code=127, log="nixlbench: not found on PATH=/usr/bin:/bin\n", reason="Error")
    stub = FakeDataplane(behaviour={manifests.PULL: lambda _job, _node: missing})
    result = by_name(run(stub))["dataplane h100-efa nixlbench"]
    assert not result.ok
    assert result.detail.startswith("the image has no nixlbench (the image check exited 127")
    assert result.fix == checks.NIXLBENCH_MISSING_FIX
    assert not any(name.startswith("h100-efa-nixlbench") for _, name in stub.kinds_created())
    assert stub.everything_deleted()


def test_a_benchmark_pod_that_cannot_exec_nixlbench_says_so() -> None:
    """`exec nixlbench` in a POSIX shell without it: "not found", exit 127 (POSIX.1, "Command Search
    and Execution"; the wording is dash's)."""
    pod = FakePod(phase="Failed", exit_code=127, log="/bin/sh: 1: exec: nixlbench: not found\n", reason="Error")
    result = by_name(run(FakeDataplane(behaviour=bench(initiator=pod))))["dataplane h100-efa nixlbench"]
    assert result.fix == checks.NIXLBENCH_MISSING_FIX


def test_memory_registration_failure_gets_the_guides_fix() -> None:
    """Dynamo's EFA guide names the failure (fi_mr_reg returning EFAULT); the log lines here are
    illustrative, their exact wording is not documented."""
    pod = FakePod(phase="Failed", exit_code=1, reason="Error",
                  log="libfabric:42:efa:mr:efa_mr_reg_impl(): Unable to register MR: Bad address\n"
                      "fi_mr_reg failed: -14\n")
    result = by_name(run(FakeDataplane(behaviour=bench(initiator=pod))))["dataplane h100-efa nixlbench"]
    assert not result.ok
    assert result.fix == checks.FI_MR_REG_FIX
    assert "failed registering memory with EFA (exit 1)" in result.detail


def test_a_run_without_a_table_fails() -> None:
    """An illustrative log without the results table."""
    result = by_name(run(FakeDataplane(behaviour=bench("barrier timed out\n"))))["dataplane h100-efa nixlbench"]
    assert not result.ok
    assert result.detail.startswith("nixlbench between node-a and node-b printed no results table: barrier timed out")


def test_a_table_is_judged_even_when_the_other_pod_does_not_end() -> None:
    def end(job: Mapping[str, Any], _node: str) -> FakePod:
        if job["metadata"]["name"].endswith("-0"):
            return FakePod(log=samples.nixlbench_log())
        return FakePod(phase="Running", exit_code=None, log=samples.TARGET_LOG)

    result = by_name(run(FakeDataplane(behaviour={manifests.BENCH: end})))["dataplane h100-efa nixlbench"]
    assert result.ok
    assert "; the other pod, on node-b, did not end well: not finished after 1200 s: Running;" in result.detail


def test_unschedulable_benchmark_pods_time_out_with_the_schedulers_reason() -> None:
    clock = FakeClock()
    stub = FakeDataplane(behaviour={manifests.BENCH: lambda _job, _node: unschedulable()})
    result = by_name(run(stub, clock=clock))["dataplane h100-efa nixlbench"]
    assert not result.ok
    assert result.detail == ("nixlbench pod not finished after 1200 s: Pending (Unschedulable: 0/10 nodes are "
                              "available: 10 Insufficient vpc.amazonaws.com/efa.)")
    assert result.fix.startswith("each benchmark pod needs one free GPU and 4 free EFA interfaces, 5120Mi of "
                                 "hugepages-2Mi on its node")
    assert clock.now_s == 1200
    assert max(clock.slept) == 5.0
    assert stub.everything_deleted()


def test_an_image_that_cannot_be_pulled_is_not_waited_for() -> None:
    clock = FakeClock()
    backoff = FakePod(phase="Pending", exit_code=None, reason="ImagePullBackOff",
                      message='Back-off pulling image "registry.example.com/nixlbench:0.10.1"')
    stub = FakeDataplane(behaviour={manifests.PULL: lambda _job, _node: backoff})
    result = by_name(run(stub, clock=clock))["dataplane h100-efa nixlbench"]
    assert result.detail.startswith("nixlbench image pull pod cannot start: Pending (ImagePullBackOff: ")
    assert result.fix == checks.IMAGE_PULL_FIX
    assert clock.now_s == 0


def test_an_etcd_that_never_gets_ready_stops_the_benchmark() -> None:
    clock = FakeClock()
    stub = FakeDataplane(etcd=FakePod(phase="Pending", exit_code=None, reason="ContainerCreating"))
    result = by_name(run(stub, clock=clock))["dataplane h100-efa nixlbench"]
    assert result.detail == ("not run: the benchmark's etcd pod is not ready: not finished after 1200 s: Pending "
                              "(ContainerCreating)")
    assert not any(name.startswith("h100-efa-nixlbench") for _, name in stub.kinds_created())


def test_without_a_known_line_rate_the_bandwidth_is_reported_not_judged() -> None:
    pool = replace(P5, efa_card_gbps=None)
    result = by_name(run(FakeDataplane(behaviour=bench(sweep(3.0))), targets(pool)))["dataplane h100-efa nixlbench"]
    assert result.ok
    assert result.detail.endswith("no threshold: the line rate of the pool's EFA interfaces is unknown (set the "
                                   "pool's instanceType, or pass --min-gbps)")


# -- the sanity pass's failures --------------------------------------------------------------------
def failure_on_b(log: str) -> list[Finding]:
    report = run(FakeDataplane(behaviour=sanity_on("node-b", log)))
    return [r for r in failed(report) if r.check != "dataplane h100-efa nixlbench"]


def test_a_missing_gpu_fails_the_node() -> None:
    [result] = failure_on_b(samples.sanity_log({"gpus": (samples.gpus_csv(7), 0)}))
    assert result.check == "dataplane h100-efa node-b gpus"
    assert result.detail == "nvidia-smi lists 7 GPUs (NVIDIA H100 80GB HBM3 (81559 MiB)); the pool has 8 per node"
    assert result.fix == checks.GPU_COUNT_FIX


def test_a_driver_that_does_not_answer_fails_the_node() -> None:
    [result] = failure_on_b(samples.sanity_log({"gpus": (samples.NVML_FAILURE, 255),
                                                "nvidia-smi": (samples.NVML_FAILURE, 255)}))
    assert result.detail == f"nvidia-smi failed (exit 255): {samples.NVML_FAILURE}"
    assert result.fix == checks.DRIVER_FIX


@pytest.mark.parametrize("no_efa", [samples.FI_INFO_NONE, "No providers found"])
def test_no_efa_device_fails_the_node(no_efa: str) -> None:
    [result] = failure_on_b(samples.sanity_log({"fi_info": (no_efa, 1)}))
    assert result.check == "dataplane h100-efa node-b efa"
    assert result.detail == f"fi_info finds no EFA device (exit 1: {no_efa})"
    assert result.fix == checks.EFA_FIX


def test_fewer_efa_devices_than_requested_fails_the_node() -> None:
    [result] = failure_on_b(samples.sanity_log({"fi_info": (samples.fi_info(16), 0)}))
    assert result.detail == "fi_info finds 16 EFA RDM domains; the pod was given 32 EFA interfaces"


def test_an_image_without_fi_info_is_named() -> None:
    [result] = failure_on_b(samples.sanity_log({"fi_info": ("/bin/sh: 4: /opt/amazon/efa/bin/fi_info: not found",
                                                            127)}))
    assert result.fix == checks.IMAGE_EFA_FIX


def test_missing_huge_pages_fail_the_node() -> None:
    [result] = failure_on_b(samples.sanity_log({"hugepages": (samples.meminfo(0), 0)}))
    assert result.check == "dataplane h100-efa node-b huge pages"
    assert result.detail == ("the node has 0 pages of 2048 kB (0.0 GiB); nodePools[0].hugePages2Mi declares 40Gi")
    assert "launch template" in result.fix


def test_huge_pages_a_pool_does_not_declare_are_reported_only() -> None:
    pool = replace(P5, huge_pages_2mi="0")
    no_pages = samples.sanity_log({"hugepages": (samples.meminfo(0), 0)})
    report = run(FakeDataplane(behaviour=sanity_on("node-b", no_pages)), targets(pool))
    assert failed(report) == []
    message = by_name(report)["dataplane h100-efa node-b"].detail
    assert "none declared; the node has 0 pages of 2048 kB (0.0 GiB)" in message


def test_a_small_dev_shm_fails_the_node() -> None:
    [result] = failure_on_b(samples.sanity_log({"shm": (samples.df_shm(8 << 20), 0)}))
    assert result.check == "dataplane h100-efa node-b shm"
    assert result.detail == "/dev/shm is 8.0 GiB; the pod asked for 80Gi"


def test_a_failed_check_keeps_the_others_on_one_line() -> None:
    small = samples.sanity_log({"shm": (samples.df_shm(1 << 20), 0)})
    report = run(FakeDataplane(behaviour=sanity_on("node-b", small)))
    passed = by_name(report)["dataplane h100-efa node-b"]
    assert passed.ok
    assert "/dev/shm" not in passed.detail
    assert "32 EFA devices" in passed.detail


def test_the_library_path_matters_where_no_wrapper_sets_it() -> None:
    """TensorRT-LLM workers that span nodes start without the shell wrapper."""
    log = samples.sanity_log({"library-path": ("/usr/local/cuda/lib64", 0)})
    wrapped = run(FakeDataplane(behaviour=sanity_on("node-b", log)))
    assert failed(wrapped) == []
    bare = run(FakeDataplane(behaviour=sanity_on("node-b", log)), targets(backend="trtllm", nodes=2, gpus=8))
    [result] = [r for r in failed(bare) if r.check.endswith("library path")]
    assert result.detail.startswith("the image's library path starts with /usr/local/cuda/lib64, not "
                                     "/opt/amazon/efa/lib")
    assert result.fix == checks.LIBRARY_FIX


def test_a_script_cut_short_fails_the_node() -> None:
    results = failure_on_b(samples.sanity_log(finished=False, drop=("library-path",)))
    assert [r.check for r in results] == ["dataplane h100-efa node-b script"]


def test_a_sanity_pod_that_cannot_be_scheduled_times_out() -> None:
    clock = FakeClock()
    stub = FakeDataplane(behaviour={manifests.SANITY: lambda _job, node: unschedulable(
        "0/4 nodes are available: 1 Insufficient nvidia.com/gpu.") if node == "node-d" else
        FakePod(log=samples.sanity_log())})
    report = run(stub, clock=clock)
    result = by_name(report)["dataplane h100-efa node-d"]
    assert result.detail == ("sanity pod not finished after 1200 s: Pending (Unschedulable: 0/4 nodes are available: "
                              "1 Insufficient nvidia.com/gpu.)")
    assert "takes the node whole (8 GPUs, 32 EFA interfaces)" in result.fix
    assert by_name(report)["dataplane h100-efa nixlbench"].ok
    assert stub.everything_deleted()


def test_too_few_good_nodes_skip_the_benchmark() -> None:
    bad = samples.sanity_log({"fi_info": (samples.FI_INFO_NONE, 1)})
    stub = FakeDataplane(node_list=[efa_node("node-a"), efa_node("node-b")], behaviour=sanity_on("node-b", bad))
    result = by_name(run(stub))["dataplane h100-efa nixlbench"]
    assert result.detail == "not run: it needs two nodes that passed the sanity pass; passed: node-a"
    assert not any(m["kind"] == "Job" and "image-check" in m["metadata"]["name"] for m in stub.created)


# -- cleanup, whatever happens ---------------------------------------------------------------------
def test_an_unexpected_error_mid_run_still_deletes_everything() -> None:
    stub = FakeDataplane(raises={"logs": RuntimeError("boom")})
    with pytest.raises(RuntimeError, match="boom"):
        run(stub)
    assert stub.everything_deleted()


@pytest.mark.parametrize("where", ["create:Job", "pods", "logs"])
def test_an_interrupt_mid_run_deletes_everything(where: str) -> None:
    stub = FakeDataplane(raises={where: KeyboardInterrupt("SIGTERM")})
    report = run(stub)
    assert report.interrupted == "SIGTERM"
    assert by_name(report)["dataplane"].detail == "interrupted (SIGTERM) before the checks finished"
    assert by_name(report)["dataplane cleanup"].ok
    assert stub.everything_deleted()


def test_ctrl_c_is_named_sigint() -> None:
    assert run(FakeDataplane(raises={"pods": KeyboardInterrupt()})).interrupted == "SIGINT"


def test_a_refused_request_is_reported_and_cleaned_up() -> None:
    refusal = DataplaneError('cannot create Job dynamo-preflight-abc123/h100-efa-sanity-0: 403 Forbidden: admission '
                             'webhook "policy" denied the request: privileged containers are not allowed')
    stub = FakeDataplane(raises={"create:Job": refusal})
    report = run(stub)
    result = by_name(report)["dataplane"]
    assert result.detail == f"stopped: {refusal}"
    assert "dynamo-cluster/preflight=dataplane" in result.fix
    assert stub.everything_deleted()


def test_a_cleanup_that_fails_says_how_to_finish_it() -> None:
    stub = FakeDataplane(raises={"delete:Job": DataplaneError("cannot delete Job x: 503 Service Unavailable")})
    result = by_name(run(stub))["dataplane cleanup"]
    assert not result.ok
    assert result.fix.startswith("delete it yourself: kubectl delete namespace dynamo-preflight-abc123")
    assert stub.calls[-1] == "delete:Namespace"  # the namespace is still asked to go, and last


def test_the_shield_is_held_while_cleaning_up() -> None:
    held: list[str] = []

    class Shield:
        def __enter__(self) -> None:
            held.append("in")

        def __exit__(self, *_: object) -> None:
            held.append("out")

    stub = FakeDataplane()
    Runner(stub, targets(), RUN, clock=FakeClock().clock(), shield=Shield).run()
    assert held == ["in", "out"]


def test_a_sanity_pod_that_could_not_run_its_script_says_how_it_ended() -> None:
    """An image without /bin/sh: the container never starts (reason and message illustrative)."""
    no_shell = FakePod(phase="Failed", exit_code=128, reason="StartError",
                       message='exec: "/bin/sh": stat /bin/sh: no such file or directory')
    stub = FakeDataplane(behaviour={manifests.SANITY: lambda _job, node: no_shell if node == "node-c" else
                                    FakePod(log=samples.sanity_log())})
    results = [r for r in failed(run(stub)) if r.check.startswith("dataplane h100-efa node-c")]
    assert [(r.check, r.detail) for r in results] == [
        ("dataplane h100-efa node-c pod", 'the sanity pod ended Failed (StartError: exec: "/bin/sh": stat /bin/sh: '
                                          "no such file or directory), exit 128"),
        ("dataplane h100-efa node-c script", "the sanity script printed nothing it could read: (no output)")]
