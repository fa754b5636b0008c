"""A deployed stack's outputs, read with the Pulumi CLI (``pulumi stack output --json``)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from stacks.ops.kubectl import KubeError, Run, Which, require

# The Pulumi CLI reads the outputs from the stack's state backend (a file, a bucket, Pulumi Cloud).
STACK_OUTPUT_WAIT = 120.0


def read_outputs(stack: str, project_dir: Path, *, which: Which = shutil.which, run: Run = subprocess.run,
                 instead: str = "") -> dict[str, Any]:
    """The stack's outputs as JSON values; `instead` says what to do when the Pulumi CLI is missing."""
    pulumi = require("pulumi", which, "read the stack's outputs", instead)
    try:
        result = run([pulumi, "stack", "output", "--json", "--stack", stack], cwd=project_dir, capture_output=True,
                     text=True, check=False, timeout=STACK_OUTPUT_WAIT)
    except subprocess.TimeoutExpired:
        raise KubeError(f"`pulumi stack output --stack {stack}` did not answer in {STACK_OUTPUT_WAIT:g} s "
                        "(its state backend unreachable?)") from None
    if result.returncode != 0:
        raise KubeError(f"`pulumi stack output --stack {stack}` failed: {result.stderr.strip()}")
    try:
        outputs: dict[str, Any] = json.loads(result.stdout)
    except ValueError:
        raise KubeError(f"`pulumi stack output --stack {stack}` did not print JSON") from None
    return outputs
