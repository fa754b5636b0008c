"""kubectl against the stack's kubeconfig and context, and the stack's outputs, with stubbed CLIs."""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from stacks.ops.kubectl import Kubectl, KubeError
from stacks.ops.outputs import read_outputs
from tests.dataplane_stub import ForwardProcess


def completed(stdout: str = "", code: int = 0, stderr: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.CompletedProcess([], code, stdout, stderr)


def which_only(*present: str) -> Any:
    return lambda tool: f"/bin/{tool}" if tool in present else None


def test_missing_kubectl_says_what_to_do() -> None:
    kubectl = Kubectl(context="ctx", which=which_only("pulumi"))
    with pytest.raises(KubeError, match="`kubectl` is not on PATH"):
        kubectl.secret("ns", "nats-auth")


def test_secret_values_are_decoded_and_the_context_is_explicit() -> None:
    calls: list[list[str]] = []

    def run(argv: list[str], **_kwargs: Any) -> subprocess.CompletedProcess[str]:
        calls.append(argv)
        data = {"NATS_AUTH_USERNAME": base64.b64encode(b"dynamo").decode(),
                "NATS_AUTH_PASSWORD": base64.b64encode(b"s3cret").decode()}
        return completed(json.dumps({"data": data}))

    kubectl = Kubectl(context="kind-dynamo", which=which_only("kubectl"), run=run, kubeconfig="/k")
    assert kubectl.secret("dynamo-system", "nats-auth") == {"NATS_AUTH_USERNAME": "dynamo",
                                                             "NATS_AUTH_PASSWORD": "s3cret"}
    assert calls[0][:5] == ["/bin/kubectl", "--kubeconfig", "/k", "--context", "kind-dynamo"]


def test_port_forward_yields_the_local_port_and_stops_kubectl() -> None:
    started: list[Sequence[str]] = []
    process = ForwardProcess("Forwarding from 127.0.0.1:43210 -> 4222\nForwarding from [::1]:43210 -> 4222\n")

    def spawn(argv: Sequence[str]) -> ForwardProcess:
        started.append(argv)
        return process

    kubectl = Kubectl(context="ctx", which=which_only("kubectl"), spawn=spawn)
    with kubectl.port_forward("dynamo-system", "svc/nats", 4222) as port:
        assert port == 43210
        assert process.poll() is None  # kubectl runs while the forward is in use
    assert process.terminated
    assert list(started[0]) == ["/bin/kubectl", "--context", "ctx", "-n", "dynamo-system", "port-forward",
                                "--address", "127.0.0.1", "svc/nats", ":4222"]


def test_port_forward_that_fails_reports_kubectls_error() -> None:
    process = ForwardProcess("", 'error: services "nats" not found', exited=True)
    kubectl = Kubectl(context="ctx", which=which_only("kubectl"), spawn=lambda _argv: process)
    with pytest.raises(KubeError) as error, kubectl.port_forward("ns", "svc/nats", 4222):
        pass
    assert 'services "nats" not found' in str(error.value)
    assert process.terminated


def test_a_fixed_local_port_is_asked_for() -> None:
    started: list[Sequence[str]] = []

    def spawn(argv: Sequence[str]) -> ForwardProcess:
        started.append(argv)
        return ForwardProcess("Forwarding from 127.0.0.1:3000 -> 3000\n")

    kubectl = Kubectl(context="ctx", which=which_only("kubectl"), spawn=spawn)
    with kubectl.port_forward("monitoring", "svc/grafana", 80, local_port=3000) as port:
        assert port == 3000
    assert list(started[0])[-2:] == ["svc/grafana", "3000:80"]


def test_outputs_are_any_stacks_and_a_missing_cli_says_what_to_do() -> None:
    def run(argv: list[str], **_kwargs: Any) -> subprocess.CompletedProcess[str]:
        assert argv == ["/bin/pulumi", "stack", "output", "--json", "--stack", "dev"]
        return completed(json.dumps({"environment": "dev"}))

    assert read_outputs("dev", Path("."), which=which_only("pulumi"), run=run) == {"environment": "dev"}
    with pytest.raises(KubeError) as error:
        read_outputs("dev", Path("."), which=which_only(), instead="do something else")
    assert str(error.value) == ("`pulumi` is not on PATH; it is needed to read the stack's outputs. Install it, "
                                "or do something else")
