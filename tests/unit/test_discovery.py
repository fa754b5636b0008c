"""Finding endpoints from a stack's outputs, with a stubbed Pulumi CLI (kubectl: test_kubectl.py)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from stacks.verify.discovery import DiscoveryError, stack_outputs


def completed(stdout: str = "", code: int = 0, stderr: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.CompletedProcess([], code, stdout, stderr)


def which_only(*present: str) -> Any:
    return lambda tool: f"/bin/{tool}" if tool in present else None


def test_missing_pulumi_cli_says_what_to_do() -> None:
    with pytest.raises(DiscoveryError) as error:
        stack_outputs("prod", Path("."), which=which_only("kubectl"))
    assert "`pulumi` is not on PATH" in str(error.value)
    assert "--nats URL --etcd URL" in str(error.value)


def test_stack_outputs_are_read_with_the_pulumi_cli() -> None:
    calls: list[list[str]] = []

    def run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        calls.append(argv)
        assert kwargs["cwd"] == Path("/project")
        return completed(json.dumps({"nats": {"service": "nats"}, "etcd": None}))

    assert stack_outputs("prod", Path("/project"), which=which_only("pulumi"), run=run)["nats"] == {"service": "nats"}
    assert calls == [["/bin/pulumi", "stack", "output", "--json", "--stack", "prod"]]


def test_stack_output_failures() -> None:
    def failing(*_args: Any, **_kwargs: Any) -> subprocess.CompletedProcess[str]:
        return completed(code=255, stderr="error: no stack named 'prod' found")

    with pytest.raises(DiscoveryError, match="no stack named 'prod' found"):
        stack_outputs("prod", Path("."), which=which_only("pulumi"), run=failing)

    def empty(*_args: Any, **_kwargs: Any) -> subprocess.CompletedProcess[str]:
        return completed("{}")

    with pytest.raises(DiscoveryError, match="run `pulumi up` first"):
        stack_outputs("prod", Path("."), which=which_only("pulumi"), run=empty)
