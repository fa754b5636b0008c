"""`python -m stacks preflight --dataplane`, as a user runs it: arguments, exit statuses, ``--print``,
and a run (on the stub cluster) stopped by SIGTERM that still deletes what it created."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from stacks.cli import main
from stacks.ops.target import ClusterConnectError, ClusterTarget
from stacks.preflight.dataplane import command
from stacks.preflight.dataplane.arguments import DataplaneArgs
from stacks.preflight.dataplane.cluster import DataplaneCluster
from stacks.preflight.dataplane.signals import interrupts_deferred, interrupts_raise
from tests.harness import ROOT, report_checks, report_line, schema_problems
from tests.preflight_dataplane_stub import FakeClock, FakeDataplane, efa_node

IMAGE = "registry.example.com/nixlbench:0.10.1"


def preflight(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stacks", "preflight", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False, env=env)


# -- arguments -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("args", "error"), [
    (("--stack", "prod", "--dataplane"),
     "preflight: --dataplane needs --nixlbench-image for pools h100-efa, h200-efa: no nixlbench image is published; "
     "build one with NIXL's benchmark/nixlbench/contrib/build.sh (docs/operations.md, \"Data-path preflight\")\n"),
    (("--stack", "prod", "--nixlbench-image", IMAGE, "--timeout", "60"),
     "preflight: --nixlbench-image, --timeout go with --dataplane\n"),
    (("--stack", "prod", "--dataplane", "--aws", "--nixlbench-image", IMAGE),
     "preflight: --dataplane runs on its own: drop --aws, and run the read-only checks without --dataplane\n"),
    (("--stack", "prod", "--dataplane", "--nixlbench-image", "nixlbench:latest"),
     "preflight: --nixlbench-image 'nixlbench:latest' is not an image pinned by tag or digest "
     "(registry/repository:tag), never :latest\n"),
])
def test_bad_arguments_exit_2_with_a_message(args: tuple[str, ...], error: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["preflight", *args]) == 2
    assert capsys.readouterr() == ("", error)


def test_bad_arguments_exit_2_from_the_command_line() -> None:
    result = preflight("--stack", "prod", "--dataplane")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith("preflight: --dataplane needs --nixlbench-image for pools h100-efa, h200-efa")


def test_a_bad_number_is_refused_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["preflight", "--stack", "prod", "--dataplane", "--min-gbps", "0"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.endswith("error: argument --min-gbps: '0': give a bandwidth above 0 GB/s\n")


def test_an_invalid_stack_file_exits_2(tmp_path: Path) -> None:
    result = preflight("--config", str(tmp_path / "Pulumi.none.yaml"), "--dataplane", "--nixlbench-image", IMAGE)
    assert result.returncode == 2
    assert result.stderr.startswith("preflight: ")


def test_nothing_to_check_says_so_without_an_image_or_a_cluster(tmp_path: Path) -> None:
    # dev's kubeconfig does not exist here: any attempt to reach a cluster would fail the run
    result = preflight("--stack", "dev", "--dataplane", env={**os.environ, "HOME": str(tmp_path)})
    assert result.returncode == 0
    assert result.stdout.splitlines()[0] == "preflight dev --dataplane"
    assert report_line(result.stdout, "ok", "dataplane", "the stack has no EFA pool; nothing to check")
    assert result.stdout.endswith("1 check: 1 ok; result: passed (exit 0)\n")


def test_help_documents_the_data_path_mode() -> None:
    text = " ".join(preflight("--help").stdout.split()).replace("read- only", "read-only")
    assert "--dataplane prove each EFA pool's data path instead of the read-only checks" in text
    assert "It runs on its own, not with the read-only checks or --aws" in text
    assert "130 interrupted (after cleaning up)" in text


# -- --print ---------------------------------------------------------------------------------------
def test_print_writes_valid_objects_without_a_cluster(tmp_path: Path) -> None:
    result = preflight("--stack", "prod", "--dataplane", "--nixlbench-image", IMAGE, "--print",
                       env={**os.environ, "HOME": str(tmp_path), "KUBECONFIG": str(tmp_path / "none")})
    assert result.returncode == 0, result.stderr
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    assert len(docs) == 14
    assert schema_problems(docs, "1.33") == []
    text = json.dumps(docs)
    for needed in ("--backend LIBFABRIC", "--initiator_seg_type VRAM --target_seg_type VRAM", "podAntiAffinity",
                   "vpc.amazonaws.com/efa", '"privileged": true', '"dynamo-cluster/preflight": "dataplane"'):
        assert needed in text


def test_print_to_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "objects"
    assert main(["preflight", "--stack", "prod", "--dataplane", "--nixlbench-image", IMAGE, "--print", str(out)]) == 0
    assert capsys.readouterr().err == f"preflight: wrote 14 objects to {out}\n"
    assert len(list(out.glob("*.yaml"))) == 14


def test_print_in_process_never_connects() -> None:
    def refuse(_: ClusterTarget) -> DataplaneCluster:
        raise AssertionError("--print must not reach a cluster")

    args = DataplaneArgs(dataplane=True, nixlbench_image=IMAGE, print_to="-")
    assert command.run(ROOT, "prod", None, args, connect=refuse) == 0


# -- a run, in process, on the stub cluster --------------------------------------------------------
def prod_cluster() -> FakeDataplane:
    return FakeDataplane(node_list=[*(efa_node(f"h100-{i}") for i in range(8)),
                                    *(efa_node(f"h200-{i}", "h200-efa", efa=16) for i in range(4))])


def test_a_run_on_prod_reports_every_pool(capsys: pytest.CaptureFixture[str]) -> None:
    from tests import preflight_dataplane_samples as samples
    from tests.preflight_dataplane_stub import FakePod

    stub = prod_cluster()
    h200_log = samples.sanity_log({"fi_info": (samples.fi_info(16), 0), "gpus": (samples.gpus_csv(
        name="NVIDIA H200", memory="143771 MiB"), 0)})
    stub.behaviour["sanity"] = lambda job, _node: FakePod(log=h200_log if "h200" in job["metadata"]["name"]
                                                          else samples.sanity_log())
    args = DataplaneArgs(dataplane=True, nixlbench_image=IMAGE)
    code = command.run(ROOT, "prod", None, args, connect=lambda _: stub, read_secret=lambda _: "",
                       clock=FakeClock().clock(), run_id="abc123")
    out, err = capsys.readouterr()
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0] == "preflight prod --dataplane"
    checks = report_checks(out)
    assert checks[0][0] == "ok"
    assert report_line(out, "ok", "dataplane pools",
                       "checks h100-efa (p5.48xlarge, 2 images), h200-efa (p5en.48xlarge, 1 image)")
    assert sum(1 for _, rest in checks if rest.startswith("dataplane h100-efa h100-")) == 16  # 8 nodes x 2 images
    assert sum(1 for _, rest in checks if rest.startswith("dataplane h200-efa h200-")) == 4
    assert report_line(out, "ok", "dataplane h200-efa nixlbench",
                       "42.5 GB/s at 64 MiB blocks between h200-0 and h200-1")
    # pools, 2 x nodes, 20 sanity, 2 x nixlbench, cleanup
    assert lines[-1] == "26 checks: 26 ok; result: passed (exit 0)"
    assert "preflight: creating namespace dynamo-preflight-abc123\n" in err
    assert stub.everything_deleted()


def test_a_failed_check_exits_1_and_an_interrupt_130(capsys: pytest.CaptureFixture[str]) -> None:
    args = DataplaneArgs(dataplane=True, nixlbench_image=IMAGE)
    failing = FakeDataplane(node_list=[efa_node("h100-0")])
    assert command.run(ROOT, "prod", None, args, connect=lambda _: failing, clock=FakeClock().clock()) == 1
    interrupted = prod_cluster()
    interrupted.raises["pods"] = KeyboardInterrupt("SIGINT")
    assert command.run(ROOT, "prod", None, args, connect=lambda _: interrupted, clock=FakeClock().clock()) == 130
    assert interrupted.everything_deleted()
    assert report_line(capsys.readouterr().out, "FAIL", "dataplane", "interrupted (SIGINT) before the checks finished")


def test_a_cluster_that_cannot_be_reached_is_a_failed_check(capsys: pytest.CaptureFixture[str]) -> None:
    def unreachable(_: ClusterTarget) -> DataplaneCluster:
        raise ClusterConnectError("kubeconfig ~/.kube/config does not exist")

    args = DataplaneArgs(dataplane=True, nixlbench_image=IMAGE)
    assert command.run(ROOT, "prod", None, args, connect=unreachable) == 1
    assert report_line(capsys.readouterr().out, "FAIL", "kubernetes api", "kubeconfig ~/.kube/config does not exist")


# -- signals ---------------------------------------------------------------------------------------
def test_sigterm_raises_keyboard_interrupt_and_the_handlers_come_back() -> None:
    before = signal.getsignal(signal.SIGTERM)
    raised: list[str] = []
    with interrupts_raise():
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(1000):  # the handler runs between bytecodes
                pass
        except KeyboardInterrupt as interrupt:
            raised.append(str(interrupt))
    assert raised == ["SIGTERM"]
    assert signal.getsignal(signal.SIGTERM) is before


def test_signals_are_ignored_while_cleaning_up(capsys: pytest.CaptureFixture[str]) -> None:
    with interrupts_deferred():
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(1000):
            pass
    assert capsys.readouterr().err == "preflight: SIGINT ignored while the run cleans up\n"


_SLOW_RUN = textwrap.dedent("""
    import json, sys, time
    from stacks.preflight.dataplane import command
    from stacks.preflight.dataplane.arguments import DataplaneArgs
    from tests.preflight_dataplane_stub import FakeDataplane, efa_node

    class Slow(FakeDataplane):
        def pods(self, namespace, labels):
            print("waiting", file=sys.stderr, flush=True)
            time.sleep(60)
            return super().pods(namespace, labels)

    stub = Slow(node_list=[efa_node(f"h100-{i}") for i in range(2)])
    code = command.run(command.Path("."), "prod", None,
                       DataplaneArgs(dataplane=True, nixlbench_image="registry.example.com/nixlbench:0.10.1"),
                       connect=lambda _: stub)
    print(json.dumps({"code": code, "deleted": stub.deleted}))
""")


def test_sigterm_mid_run_deletes_everything_and_exits_130() -> None:
    process = subprocess.Popen([sys.executable, "-c", _SLOW_RUN], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    try:
        for line in process.stderr:
            if line == "waiting\n":
                break
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    report, outcome = out.rsplit("\n", 2)[0], json.loads(out.splitlines()[-1])
    assert outcome["code"] == 130, err
    assert outcome["deleted"][-1] == ["Namespace", "dynamo-preflight-" + outcome["deleted"][-1][1][-6:], None]
    assert {kind for kind, _, _ in outcome["deleted"]} == {"Namespace", "Service", "Pod", "Job"}
    assert report_line(report, "FAIL", "dataplane", "interrupted (SIGTERM) before the checks finished")
    assert report_line(report, "ok", "dataplane cleanup", "deleted namespace dynamo-preflight-")
