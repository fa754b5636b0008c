"""Every committed stack file (dev, prod, examples/) plans on every Dynamo release of the table, and
what it would send validates against the Kubernetes schemas."""

import pytest

from components.dynamo.releases import RELEASES
from tests.harness import example_stacks, manifests, plan_config, schema_problems, stack_config

STACKS = ["dev", "prod", *example_stacks()]


def test_the_examples_are_there() -> None:
    assert example_stacks() == ["dynamo-1-5", "efs-cache", "etcd-discovery", "seed-multinode"]


@pytest.mark.parametrize("version", sorted(RELEASES))
@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_plans_on_every_release(stack: str, version: str) -> None:
    values = stack_config(stack)
    values["operator"] = {**values.get("operator", {}), "version": version}
    registry = plan_config(values, stack)
    docs = manifests(registry)
    assert schema_problems(docs, "1.33") == []
    graphs = [d for d in docs if d["kind"] == "DynamoGraphDeployment"]
    assert graphs
    assert {d["apiVersion"] for d in graphs} == {"nvidia.com/v1beta1"}
    [operator] = [r for r in registry.resources if r.inputs.get("chart") == "dynamo-platform"]
    assert operator.inputs["version"] == version
