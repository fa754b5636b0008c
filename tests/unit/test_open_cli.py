"""`python -m stacks open`: the Service comes from the stack's outputs, the cluster from its config, and
the Grafana password is pointed to, never read. kubectl and the Pulumi CLI are stubs (no cluster here)."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from components.kit.secret import SecretValue
from stacks.cli import main
from stacks.open import cli as open_cli
from stacks.open import command as open_command
from stacks.open.command import OpenError, OpenOptions, Runners, Service, service_of
from stacks.ops.kubectl import Kubectl, KubeError
from stacks.ops.target import ClusterTarget
from stacks.outputs import StackOutputs
from tests.harness import ROOT
from tests.outputs_sample import prod_outputs

OUTPUTS: dict[str, Any] = prod_outputs().to_dict()
FILE_TARGET = ClusterTarget(context="kind-dynamo", kubeconfig_path="~/.kube/config")


@dataclass
class FakeKubectl:
    context: str | None
    kubeconfig: str | None = None
    forwards: list[tuple[str, str, int, int]] = field(default_factory=list)
    open: int = 0

    def secret(self, namespace: str, name: str) -> dict[str, str]:
        raise AssertionError(f"open read Secret {namespace}/{name}: it must only say where the password is")

    @contextmanager
    def port_forward(self, namespace: str, target: str, port: int, local_port: int = 0) -> Iterator[int]:
        self.forwards.append((namespace, target, port, local_port))
        self.open += 1
        try:
            yield local_port or 43210
        finally:
            self.open -= 1


@dataclass
class World:
    """What `open` talks to, recorded."""

    outputs: dict[str, Any] = field(default_factory=lambda: OUTPUTS)
    target: ClusterTarget = FILE_TARGET
    made: list[FakeKubectl] = field(default_factory=list)
    waited: list[int] = field(default_factory=list)

    def runners(self) -> Runners:
        def kubectl(context: str | None, kubeconfig: str | None = None) -> FakeKubectl:
            self.made.append(FakeKubectl(context, kubeconfig))
            return self.made[-1]

        def wait() -> None:
            self.waited.append(self.made[-1].open)  # the forward is up while the command waits

        return Runners(outputs=lambda _stack, _dir: self.outputs, cluster=lambda _dir, _stack: self.target,
                       kubectl=kubectl, wait=wait)  # type: ignore[arg-type]


def options(*argv: str) -> OpenOptions:
    parser = argparse.ArgumentParser()
    open_cli.add_arguments(parser, ROOT)
    return OpenOptions.from_args(parser.parse_args(list(argv)))


def test_grafana_is_forwarded_and_the_password_is_pointed_to(capsys: pytest.CaptureFixture[str]) -> None:
    world = World()
    assert open_command.run(options("grafana", "--stack", "prod"), world.runners()) == 0
    [kubectl] = world.made
    # the stack's own kubeconfig and context
    assert (kubectl.context, kubectl.kubeconfig) == ("kind-dynamo", str(Path("~/.kube/config").expanduser()))
    assert kubectl.forwards == [("monitoring", "svc/grafana", 80, 0)]
    assert world.waited == [1]
    assert kubectl.open == 0  # stopped on the way out
    out = capsys.readouterr().out
    assert "grafana of stack prod: http://127.0.0.1:43210/" in out
    assert "Secret monitoring/grafana-admin (keys admin-user and admin-password)" in out
    assert ("kubectl --kubeconfig ~/.kube/config --context kind-dynamo -n monitoring get secret grafana-admin "
            "-o jsonpath='{.data.admin-password}' | base64 -d") in out


def test_prometheus_and_alertmanager_on_a_chosen_port(capsys: pytest.CaptureFixture[str]) -> None:
    world = World()
    assert open_command.run(options("prometheus", "--stack", "prod", "--port", "9090"), world.runners()) == 0
    assert world.made[0].forwards == [("monitoring", "svc/kps-prometheus", 9090, 9090)]
    assert "prometheus of stack prod: http://127.0.0.1:9090/" in capsys.readouterr().out
    assert open_command.run(options("alertmanager", "--stack", "prod"), world.runners()) == 0
    assert world.made[1].forwards == [("monitoring", "svc/kps-alertmanager", 9093, 0)]
    assert "login: none" in capsys.readouterr().out


def test_a_graph_frontend_is_forwarded_with_a_first_request(capsys: pytest.CaptureFixture[str]) -> None:
    world = World()
    assert open_command.run(options("frontend", "--stack", "prod"), world.runners()) == 0
    assert world.made[0].forwards == [("dynamo", "svc/vllm-disagg-frontend", 8000, 0)]
    out = capsys.readouterr().out
    assert "frontend of stack prod: http://127.0.0.1:43210/" in out
    assert ("curl -s http://127.0.0.1:43210/v1/chat/completions -H 'content-type: application/json' -d "
            "'{\"model\": \"meta-llama/Llama-3.1-8B-Instruct\", \"messages\": [{\"role\": \"user\", "
            "\"content\": \"Hello\"}], \"max_tokens\": 16}'") in out
    assert open_command.run(options("frontend", "--stack", "prod", "--graph", "other"), world.runners()) == 2
    assert "--graph other: stack prod has no such graph (its frontends: vllm-disagg)" in capsys.readouterr().err


def test_outputs_of_an_earlier_version_read_as_no_frontends() -> None:
    older = {**OUTPUTS, "dynamo": {k: v for k, v in OUTPUTS["dynamo"].items() if k != "frontends"}}
    assert StackOutputs.from_dict(older).dynamo.frontends == {}


def test_a_secret_kubeconfig_is_written_only_while_the_forward_runs(capsys: pytest.CaptureFixture[str]) -> None:
    world = World(target=ClusterTarget(context=None, kubeconfig=SecretValue("kubeconfig", "apiVersion: v1\n")))
    assert open_command.run(options("grafana", "--stack", "ci"), world.runners()) == 0
    path = world.made[0].kubeconfig
    assert path is not None
    assert not Path(path).exists()
    out = capsys.readouterr().out
    assert "apiVersion" not in out
    assert "kubectl --kubeconfig <the stack's secret kubeconfig" in out


def test_nothing_to_open_exits_2_with_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    without = {k: v for k, v in OUTPUTS.items() if k != "observability"}
    assert open_command.run(options("grafana", "--stack", "prod"), World(outputs=without).runners()) == 2
    assert "stack prod runs no observability stack" in capsys.readouterr().err
    no_am = {**OUTPUTS, "observability": {**OUTPUTS["observability"], "alertmanagerUrl": None}}
    assert open_command.run(options("alertmanager", "--stack", "prod"), World(outputs=no_am).runners()) == 2
    assert "runs no Alertmanager" in capsys.readouterr().err
    old = {**OUTPUTS, "observability": {k: v for k, v in OUTPUTS["observability"].items() if k != "lokiUrl"}}
    assert open_command.run(options("grafana", "--stack", "prod"), World(outputs=old).runners()) == 2
    assert "run `pulumi up` with this version first" in capsys.readouterr().err


def test_unreachable_clusters_and_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    world = World()
    def no_kubectl(**_: Any) -> Kubectl:
        raise KubeError("`kubectl` is not on PATH")

    runners = dataclasses.replace(world.runners(), kubectl=no_kubectl)
    assert open_command.run(options("grafana", "--stack", "prod"), runners) == 2
    assert "open: `kubectl` is not on PATH" in capsys.readouterr().err
    assert main(["open", "grafana", "--port", "70000"]) == 2
    assert "--port 70000" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["open", "tempo"])
    monkeypatch.setattr(open_command, "run", lambda opts, *_: 7 if opts.stack == "dev" else 0)
    assert main(["open", "grafana"]) == 7  # the default stack is dev


def test_in_cluster_urls_name_their_service() -> None:
    assert service_of("http://grafana.monitoring.svc.cluster.local:80") == Service("monitoring", "grafana", 80)
    assert service_of("http://kps-prometheus.obs.svc.example.org:9090") == Service("obs", "kps-prometheus", 9090)
    for bad in ("http://grafana:80", "http://grafana.monitoring.svc.cluster.local", "grafana"):
        with pytest.raises(OpenError):
            service_of(bad)


def test_help_says_what_it_prints(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["open", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "grafana,prometheus,alertmanager" in text
    assert "the password itself is never read or printed" in text
