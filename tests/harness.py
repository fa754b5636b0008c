"""Running the program, or one component, under Pulumi mocks, and checking what it would send.

`plan_config` runs the whole program for a config given as a dict (keys without the
``dynamo-cluster:`` prefix); `run_resources` runs any function that registers resources. Both give
a `Registry` of what was registered, with inputs, parents, dependencies and providers. Each run
gets a fresh event loop and fresh mocks.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

from stacks.config.reader import NAMESPACE
from stacks.config.stack import StackConfig, parse_config
from stacks.config.stackfile import placeholder, read_stack_file
from stacks.plan.artifacts import is_manifest
from stacks.plan.mockrun import Registered, Registry, run_program

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "dynamo-cluster"


EXAMPLES = ROOT / "examples"


def example_stacks() -> list[str]:
    """The names of the example stack files (examples/Pulumi.<name>.yaml)."""
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in EXAMPLES.glob("Pulumi.*.yaml"))


def stack_config(stack: str) -> dict[str, Any]:
    """A committed stack file's config (Pulumi.<stack>.yaml, or examples/Pulumi.<stack>.yaml) as a
    dict of decoded values, keys without the namespace."""
    example = EXAMPLES / f"Pulumi.{stack}.yaml"
    sf = read_stack_file(ROOT, stack, example if example.exists() else None)
    out: dict[str, Any] = {}
    for key, value in sf.config.items():
        short = key.split(":", 1)[1]
        out[short] = json.loads(value) if value[:1] in "{[" else value
    return out


def raw_config(values: Mapping[str, Any], secrets: Iterable[str] = ()) -> tuple[dict[str, str], set[str]]:
    """Values as the Pulumi CLI passes them: strings, JSON for structured ones; `secrets` keys are
    marked secret and given a placeholder value."""
    raw: dict[str, str] = {}
    for key, value in values.items():
        full = f"{NAMESPACE}:{key}"
        if isinstance(value, bool):
            raw[full] = "true" if value else "false"
        elif isinstance(value, dict | list):
            raw[full] = json.dumps(value)
        else:
            raw[full] = str(value)
    secret_keys = set()
    for key in secrets:
        full = f"{NAMESPACE}:{key}"
        raw[full] = placeholder(full)
        secret_keys.add(full)
    return raw, secret_keys


def parse(values: Mapping[str, Any], stack: str = "dev", secrets: Iterable[str] = ()) -> StackConfig:
    raw, secret_keys = raw_config(values, secrets)
    return parse_config(raw, secret_keys, stack)


def plan_config(values: Mapping[str, Any], stack: str = "dev", secrets: Iterable[str] = ()) -> Registry:
    """Run the whole program for `values` under mocks."""
    from stacks.program.command import main

    raw, secret_keys = raw_config(values, secrets)
    config = parse_config(raw, secret_keys, stack)
    return run_program(lambda: main(config), project=PROJECT, stack=stack, config=raw,
                       secret_keys=secret_keys)


def plan_stack(stack: str) -> Registry:
    """Run the program for a committed stack file (dev, prod, or an example)."""
    return plan_config(stack_config(stack), stack, secrets=())


# A transport plan that deploys both of the platform's servers: events over NATS, discovery on etcd.
SERVERS = {"discovery": "etcd", "eventPlane": "nats"}


def servers_config(stack: str) -> dict[str, Any]:
    """A committed stack's config with the transport plan of `SERVERS` (NATS and etcd deployed)."""
    values = stack_config(stack)
    values["dynamo"] = {**values.get("dynamo", {}), **SERVERS}
    values.setdefault("etcd", {})
    return values


def plan_servers(stack: str) -> Registry:
    """Run the program for a committed stack with NATS and etcd deployed (`servers_config`)."""
    return plan_config(servers_config(stack), stack)


def run_resources(fn: Callable[[], object], stack: str = "test") -> Registry:
    """Run `fn` (which registers resources) under mocks."""
    return run_program(fn, project=PROJECT, stack=stack)


def manifests(registry: Registry) -> list[dict[str, Any]]:
    return [dict(r.inputs) for r in registry.resources if is_manifest(r)]


def schema_problems(docs: Iterable[Mapping[str, Any]], k8s_version: str) -> list[str]:
    """Every built-in object validated against the Kubernetes OpenAPI schema of `k8s_version`,
    strictly (unknown fields are errors); custom resources are skipped."""
    problems = []
    for doc in docs:
        try:
            kubernetes_validate.validate(dict(doc), k8s_version, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            continue
        except kubernetes_validate.ValidationError as error:
            where = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
            problems.append(f"{where}: {'.'.join(str(p) for p in error.path)}: {error.message}")
    return problems


def by_kind(registry: Registry, kind: str) -> list[Registered]:
    return [r for r in registry.resources if is_manifest(r) and r.inputs.get("kind") == kind]


def text_of(registry: Registry) -> str:
    """Everything registered, as one text, for asserting what must never appear."""
    return yaml.safe_dump([{"inputs": dict(r.inputs), "name": r.name} for r in registry.resources]) + \
        json.dumps(registry.stack_outputs)


def named(registry: Registry, name: str) -> Registered:
    """The one resource registered under `name`."""
    found = [r for r in registry.resources if r.name == name]
    if len(found) != 1:
        raise KeyError(f"{len(found)} resources named {name!r}")
    return found[0]


def children(registry: Registry, urn: str) -> list[Registered]:
    return [r for r in registry.resources if r.parent == urn]


def reaches(registry: Registry, start: str, target: str) -> bool:
    """Whether `start` depends on `target`, directly or through other resources."""
    index, seen, todo = registry.by_urn(), set(), [start]
    while todo:
        urn = todo.pop()
        if urn == target:
            return True
        if urn in seen or urn not in index:
            continue
        seen.add(urn)
        todo.extend(index[urn].dependencies)
    return False


def report_line(text: str, label: str, check: str, detail: str = "") -> bool:
    """Whether a report (`stacks.ops.report.Report.text`) has a finding line with `label` (ok, DEGRADED,
    FAIL), `check` and a detail that starts with `detail`."""
    import re

    pattern = rf"^  {re.escape(label)} +{re.escape(check)} +{re.escape(detail)}"
    return re.search(pattern, text, re.MULTILINE) is not None


def report_checks(text: str) -> list[tuple[str, str]]:
    """(label, the start of the rest) of every finding line of a report, in order."""
    import re

    return [(m.group(1), m.group(2)) for m in re.finditer(r"^  (ok|DEGRADED|FAIL) +(.*)$", text, re.MULTILINE)]
