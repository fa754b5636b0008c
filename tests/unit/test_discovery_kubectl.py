"""The kubectl calls `verify --dataplane` adds to `discovery.Kubectl`: listing a graph's pods, reading
a container's log (its start or its end), running a command in a container; each bounded by a
timeout, each failure a DiscoveryError that says what failed. And `pulumi stack output`, bounded too."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from stacks.verify.discovery import DiscoveryError, Kubectl, stack_outputs


def test_kubectl_pods_logs_and_exec() -> None:
    calls: list[tuple[list[str], dict[str, Any]]] = []

    def run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        calls.append((argv, kwargs))
        out = json.dumps({"items": [{"metadata": {"name": "p"}}]}) if "get" in argv else "text"
        return subprocess.CompletedProcess(argv, 0, out, "")

    kubectl = Kubectl("ctx", which=lambda tool: f"/bin/{tool}", run=run, kubeconfig="/k", timeout=12.0)
    assert kubectl.pods("dynamo", "dynamo-cluster/graph=g") == [{"metadata": {"name": "p"}}]
    assert kubectl.logs("dynamo", "p", "main", limit_bytes=1024, timeout=3.0) == "text"
    assert kubectl.logs("dynamo", "p", "main", tail=50) == "text"
    assert kubectl.exec("dynamo", "p", "main", ["sh", "-c", "echo hi"]) == "text"
    base = ["/bin/kubectl", "--kubeconfig", "/k", "--context", "ctx", "-n", "dynamo"]
    assert [argv for argv, _ in calls] == [
        [*base, "get", "pods", "-l", "dynamo-cluster/graph=g", "-o", "json"],
        [*base, "logs", "p", "-c", "main", "--limit-bytes=1024"],
        [*base, "logs", "p", "-c", "main", "--tail=50"],
        [*base, "exec", "p", "-c", "main", "--", "sh", "-c", "echo hi"]]
    assert [kwargs["timeout"] for _, kwargs in calls] == [12.0, 3.0, 12.0, 12.0]
    assert {kwargs["errors"] for _, kwargs in calls} == {"replace"}  # a log is not always valid UTF-8


def test_kubectl_failures_say_what_failed() -> None:
    def hangs(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        raise subprocess.TimeoutExpired(argv, kwargs["timeout"])

    with pytest.raises(DiscoveryError, match="reading the log of dynamo/p: kubectl did not answer in 7 s"):
        Kubectl("ctx", which=lambda tool: tool, run=hangs).logs("dynamo", "p", "main", tail=1, timeout=7)

    def refuses(argv: list[str], **_kwargs: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(argv, 1, "", 'Error from server (NotFound): pods "p" not found\n')

    with pytest.raises(DiscoveryError, match='running sh in dynamo/p failed: Error from server \\(NotFound\\)'):
        Kubectl("ctx", which=lambda tool: tool, run=refuses).exec("dynamo", "p", "main", ["sh"])

    def garbage(argv: list[str], **_kwargs: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(argv, 0, "not json", "")

    with pytest.raises(DiscoveryError, match="did not print a pod list"):
        Kubectl("ctx", which=lambda tool: tool, run=garbage).pods("dynamo", "a=b")


def test_stack_outputs_that_do_not_come_in_time() -> None:
    def hangs(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        assert kwargs["timeout"] == 120.0
        raise subprocess.TimeoutExpired(argv, kwargs["timeout"])

    with pytest.raises(DiscoveryError, match="`pulumi stack output --stack prod` did not answer in 120 s"):
        stack_outputs("prod", Path("."), which=lambda tool: tool, run=hangs)
