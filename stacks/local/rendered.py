"""What the plan renders for each component of a graph, read from its DynamoGraphDeployment.

`plan_dgds` plans a stack file with `python -m stacks plan` (the plan is the source of truth: a
local run and the conformance suite run exactly what `pulumi up` would send) and returns its
DynamoGraphDeployments; `rendered` reads each component's main container: the command (through a
`/bin/sh -c '...; exec ...'` wrapper when the data path adds one), the arguments and the
environment (the graph's and the container's; a Secret reference stays a reference).
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


class LocalGraphError(Exception):
    """A graph cannot be run here, or did not start or serve: the message says which and why."""


@dataclass(frozen=True)
class Rendered:
    """One component's main container, as the plan rendered it."""

    graph: str
    namespace: str
    component: str  # frontend, worker, prefill, decode
    kind: str  # the component's type
    module: str  # the Python module the container runs
    args: tuple[str, ...]
    env: tuple[tuple[str, str | tuple[str, str]], ...]  # value, or (Secret name, key) of a secretKeyRef


def plan_dgds(stack_file: Path, out: Path, version: str | None = None) -> list[dict[str, Any]]:
    """The DynamoGraphDeployments of `stack_file` as `python -m stacks plan` renders them, with
    `operator.version` set to `version` when one is given."""
    out.mkdir(parents=True, exist_ok=True)
    source = stack_file
    if version is not None:
        config = yaml.safe_load(stack_file.read_text())
        operator = dict(config["config"].get("dynamo-cluster:operator") or {})
        operator["version"] = version
        config["config"]["dynamo-cluster:operator"] = operator
        source = out / stack_file.name
        source.write_text(yaml.safe_dump(config, sort_keys=False))
    plan = out / "plan"
    done = subprocess.run([sys.executable, "-m", "stacks", "plan", "--config", str(source), "--out", str(plan)],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise LocalGraphError(f"the plan of {stack_file.name} failed:\n{done.stderr.strip()}")
    return [yaml.safe_load(p.read_text()) for p in sorted(plan.glob("manifests/*/dynamographdeployment.*.yaml"))]


def _argv(container: Mapping[str, Any]) -> list[str]:
    """The container's command line, through a `/bin/sh -c '...; exec ...'` wrapper when there is one."""
    command = [*container.get("command", []), *container.get("args", [])]
    if command[:2] == ["/bin/sh", "-c"]:
        script = command[2]
        command = shlex.split(script[script.rindex("exec ") + len("exec "):])
    return command


def _env(entries: list[Mapping[str, Any]]) -> list[tuple[str, str | tuple[str, str]]]:
    out: list[tuple[str, str | tuple[str, str]]] = []
    for entry in entries:
        if "value" in entry:
            out.append((entry["name"], str(entry["value"])))
        elif "secretKeyRef" in entry.get("valueFrom", {}):
            ref = entry["valueFrom"]["secretKeyRef"]
            out.append((entry["name"], (ref["name"], ref["key"])))
        else:
            raise LocalGraphError(f"env {entry['name']}: a source this suite does not transpose: {entry}")
    return out


def rendered(dgd: Mapping[str, Any]) -> list[Rendered]:
    """Each component's main container of a DynamoGraphDeployment."""
    graph_env = _env(dgd["spec"].get("env", []))
    out = []
    for component in dgd["spec"]["components"]:
        container = component["podTemplate"]["spec"]["containers"][0]
        argv = _argv(container)
        if argv[:2] != ["python3", "-m"]:
            raise LocalGraphError(f"{component['name']}: not a `python3 -m` command: {argv}")
        out.append(Rendered(graph=dgd["metadata"]["name"], namespace=dgd["metadata"]["namespace"],
                            component=component["name"], kind=component["type"], module=argv[2],
                            args=tuple(argv[3:]), env=tuple(graph_env + _env(container.get("env", [])))))
    return out


def served_model(renders: list[Rendered]) -> str:
    """The name the workers register the model under (`--model-name` / `--served-model-name`)."""
    for r in renders:
        args = list(r.args)
        for flag in ("--model-name", "--served-model-name"):
            if flag in args:
                return args[args.index(flag) + 1]
    raise LocalGraphError("no worker names its served model")
