"""`python -m stacks verify`: targets from flags or stack outputs, the report and its exit status."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from stacks.cli import main
from stacks.ops import cluster
from stacks.verify import cli as verify_cli
from stacks.verify import command as verify
from tests.harness import ROOT
from tests.integration.servers import free_ports
from tests.outputs_sample import prod_outputs

OUTPUTS: dict[str, Any] = prod_outputs().to_dict()


@dataclass
class FakeKubectl:
    context: str | None
    kubeconfig: str | None = None
    forwards: list[str] = field(default_factory=list)
    open: int = 0

    def secret(self, namespace: str, name: str) -> dict[str, str]:
        if (namespace, name) == ("dynamo-system", "etcd-client-tls"):
            return {"ETCD_AUTH_CA": "ca-pem", "ETCD_AUTH_CLIENT_CERT": "cert-pem", "ETCD_AUTH_CLIENT_KEY": "key-pem"}
        assert (namespace, name) == ("dynamo-system", "nats-verify-auth")
        return {"NATS_AUTH_USERNAME": "verify", "NATS_AUTH_PASSWORD": "from-secret"}

    @contextmanager
    def port_forward(self, namespace: str, target: str, port: int) -> Iterator[int]:
        self.forwards.append(f"{namespace}/{target}:{port}")
        self.open += 1
        try:
            yield 40000 + len(self.forwards)
        finally:
            self.open -= 1


def options(*argv: str) -> verify.VerifyOptions:
    parser = argparse.ArgumentParser()
    verify_cli.add_arguments(parser, ROOT)
    return verify.VerifyOptions.from_args(parser.parse_args(list(argv)))


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> list[FakeKubectl]:
    made: list[FakeKubectl] = []

    def kubectl(context: str | None, kubeconfig: str | None = None) -> FakeKubectl:
        made.append(FakeKubectl(context, kubeconfig))
        return made[-1]

    monkeypatch.setattr(verify, "stack_outputs", lambda _stack, _project_dir: OUTPUTS)
    monkeypatch.setattr(verify, "Kubectl", kubectl)
    monkeypatch.delenv("NATS_AUTH_USERNAME", raising=False)
    monkeypatch.delenv("NATS_AUTH_PASSWORD", raising=False)
    return made


def test_stack_mode_forwards_every_member_and_reads_the_secret(stack: list[FakeKubectl]) -> None:
    with ExitStack() as forwards:
        plan = verify.targets(options("--stack", "prod"), forwards)
        kubectl = stack[0]
        # the stack's own kubeconfig file and context, as its provider uses them
        assert kubectl.context == "arn:aws:eks:us-east-1:111122223333:cluster/dynamo-prod"
        assert kubectl.kubeconfig == str(Path("~/.kube/config").expanduser())
        assert kubectl.open == 4
    assert kubectl.open == 0  # every port-forward is stopped
    assert kubectl.forwards == ["dynamo-system/svc/nats:4222", "dynamo-system/pod/etcd-0:2379",
                                "dynamo-system/pod/etcd-1:2379", "dynamo-system/pod/etcd-2:2379"]
    assert plan.nats is not None
    assert (plan.nats.url, plan.nats.user, plan.nats.password) == ("nats://127.0.0.1:40001", "verify", "from-secret")
    assert (plan.nats.replicas, plan.nats.max_payload) == (3, 15 * 2**20)
    assert plan.etcd == ["https://127.0.0.1:40002", "https://127.0.0.1:40003", "https://127.0.0.1:40004"]
    assert plan.etcd_members == 3


def test_flags_override_the_stack(stack: list[FakeKubectl], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NATS_AUTH_USERNAME", "me")
    monkeypatch.setenv("MY_PASSWORD", "from-env")
    with ExitStack() as forwards:
        plan = verify.targets(options("--stack", "prod", "--nats", "nats://10.0.0.1:4222", "--etcd", "http://e:2379",
                                "--nats-password-env", "MY_PASSWORD", "--nats-replicas", "5"), forwards)
    assert plan.nats is not None
    assert (plan.nats.url, plan.nats.user, plan.nats.password, plan.nats.replicas) == (
        "nats://10.0.0.1:4222", "me", "from-env", 5)
    assert plan.etcd == ["http://e:2379"]
    assert not stack  # nothing needed kubectl


@pytest.mark.usefixtures("stack")
def test_a_stack_without_etcd_or_nats_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    kubernetes = {**OUTPUTS, "etcd": None, "dynamo": {**OUTPUTS["dynamo"], "discovery": "kubernetes"}}
    monkeypatch.setattr(verify, "stack_outputs", lambda _stack, _project_dir: kubernetes)
    with ExitStack() as forwards:
        plan = verify.targets(options("--stack", "dev"), forwards)
    assert plan.etcd is None
    assert [n.note for n in plan.notes] == [
        "not deployed (transport plan: discovery kubernetes, event plane nats, request plane tcp)"]
    defaults = {**kubernetes, "nats": None, "dynamo": {**kubernetes["dynamo"], "eventPlane": "zmq"}}
    monkeypatch.setattr(verify, "stack_outputs", lambda _stack, _project_dir: defaults)
    with ExitStack() as forwards:
        plan = verify.targets(options("--stack", "dev"), forwards)
    assert (plan.nats, plan.etcd) == (None, None)
    assert [n.note for n in plan.notes] == [
        "not deployed (transport plan: discovery kubernetes, event plane zmq, request plane tcp; no plane uses NATS)",
        "not deployed (transport plan: discovery kubernetes, event plane zmq, request plane tcp)"]


def test_an_inline_kubeconfig_is_decrypted_into_a_file_only_while_verify_runs(
        stack: list[FakeKubectl], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: dynamo-cluster\nruntime: python\n")
    (tmp_path / "Pulumi.ci.yaml").write_text("config:\n  dynamo-cluster:environment: prod\n"
                                             "  dynamo-cluster:kubeconfig:\n    secure: v1:AAAA\n")
    monkeypatch.setattr(cluster, "pulumi_secret_reader", lambda *_: lambda key: f"kubeconfig text of {key}")
    with ExitStack() as forwards:
        verify.targets(options("--stack", "ci", "--project-dir", str(tmp_path)), forwards)
        kubectl = stack[0]
        assert kubectl.context is None  # the stack's own kubeconfig: its current context is the provider's
        assert kubectl.kubeconfig is not None
        assert Path(kubectl.kubeconfig).read_text() == "kubeconfig text of dynamo-cluster:kubeconfig"
    assert not Path(kubectl.kubeconfig).exists()


def test_flags_choose_another_cluster_only_with_a_context(stack: list[FakeKubectl],
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    with ExitStack() as forwards:
        verify.targets(options("--stack", "prod", "--kube-context", "other", "--kubeconfig", "/k"), forwards)
    assert (stack[0].context, stack[0].kubeconfig) == ("other", "/k")
    assert main(["verify", "--stack", "prod", "--kubeconfig", "/k"]) == 2
    assert "--kubeconfig needs --kube-context" in capsys.readouterr().err


def test_bad_invocations_exit_2_with_a_reason(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify"]) == 2
    assert "nothing to check" in capsys.readouterr().err
    assert main(["verify", "--nats", "http://127.0.0.1:4222"]) == 2
    assert "--nats: expected nats://... URLs" in capsys.readouterr().err
    assert main(["verify", "--etcd", "127.0.0.1:2379"]) == 2
    assert "--etcd: expected http://... or https://... URLs" in capsys.readouterr().err


def test_unreachable_servers_are_down_and_named(capsys: pytest.CaptureFixture[str]) -> None:
    nats_port, etcd_port = free_ports(2)
    code = main(["verify", "--nats", f"nats://127.0.0.1:{nats_port}", "--etcd", f"http://127.0.0.1:{etcd_port}",
                 "--timeout", "2"])
    report = capsys.readouterr().out
    assert code == 2
    assert "FAIL      reachability" in report
    assert f"no server at nats://127.0.0.1:{nats_port}" in report
    assert "likely cause: nothing answers at this address" in report
    assert "result: not serving (exit 2)" in report


def test_help_documents_the_command() -> None:
    result = subprocess.run([sys.executable, "-m", "stacks", "verify", "--help"], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    for word in ("--stack", "--nats", "--etcd", "--nats-password-env", "exit status", "degraded"):
        assert word in result.stdout


def test_the_pulumi_cli_is_required_for_stack_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no pulumi, no kubectl
    assert main(["verify", "--stack", "prod"]) == 2
    assert "`pulumi` is not on PATH" in capsys.readouterr().err


@pytest.mark.usefixtures("stack")
def test_stack_mode_reaches_etcd_over_tls_with_the_stacks_client_certificate() -> None:
    with ExitStack() as forwards:
        found = verify.targets(options("--stack", "prod"), forwards)
        assert found.etcd is not None
        assert all(url.startswith("https://127.0.0.1:") for url in found.etcd)
        assert found.etcd_tls is not None
        files = [found.etcd_tls.ca_file, found.etcd_tls.cert_file, found.etcd_tls.key_file]
        assert [Path(f).read_text() for f in files] == ["ca-pem", "cert-pem", "key-pem"]
        assert all(Path(f).stat().st_mode & 0o077 == 0 for f in files)  # only the user may read them
    assert not any(Path(f).exists() for f in files)  # gone once verify ends
