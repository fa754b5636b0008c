"""Helm values never hold a null: Helm deletes a null key from the chart's defaults, and a chart
template that reads the deleted default then fails to render (tempo 2.2.4's `tempo.udp` helper on
`tempo.receivers.jaeger: null`). This holds for every release of every stack the project plans."""

from __future__ import annotations

from typing import Any

import pytest

from stacks.plan.artifacts import releases
from stacks.plan.mockrun import Registry
from tests.harness import example_stacks, plan_config, plan_servers, plan_stack, servers_config


def null_paths(value: Any, path: str = "") -> list[str]:
    """The key paths under `value` whose value is None."""
    if value is None:
        return [path or "<root>"]
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in null_paths(item, f"{path}.{key}" if path else str(key))]
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in null_paths(item, f"{path}[{i}]")]
    return []


def test_null_paths_finds_nested_nulls() -> None:
    assert null_paths({"tempo": {"receivers": {"jaeger": None, "otlp": {}}}, "list": [1, None]}) == [
        "tempo.receivers.jaeger", "list[1]"]


def registry_of(stack: str) -> Registry:
    if stack.endswith("+servers"):
        return plan_servers(stack.removesuffix("+servers"))
    if stack == "prod+no-persistence":
        return plan_config(servers_config("prod") | {"observability": {"persistence": False}}, "prod")
    return plan_stack(stack)


@pytest.mark.parametrize("stack", ["dev", "prod", *example_stacks(), "dev+servers", "prod+servers",
                                   "prod+no-persistence"])
def test_no_release_of_any_stack_sets_a_null_value(stack: str) -> None:
    planned = releases(registry_of(stack))
    assert planned, "the stack has Helm releases"
    nulls = {f"{r['namespace']}/{r['name']}": null_paths(r["values"]) for r in planned}
    assert {name: paths for name, paths in nulls.items() if paths} == {}
