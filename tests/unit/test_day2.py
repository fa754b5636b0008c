"""Day-2 operations on the dependency graph: scaling is a config change guarded by the capacity
check; teardown follows the graph in reverse and keeps data in prod."""

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi.runtime import settings

from stacks.config.reader import ConfigError
from stacks.plan.mockrun import Registered, Registry, run_program
from stacks.program.command import main
from tests.harness import PROJECT, ROOT, plan_config, plan_servers, raw_config, reaches, servers_config

DGD = "kubernetes:nvidia.com/v1beta1:DynamoGraphDeployment"
# The seed graphs on pools with headroom, with NATS and etcd deployed (tests.harness.SERVERS).
STACK = "seed-multinode"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"


def graph_named(values: dict[str, Any], name: str) -> dict[str, Any]:
    return next(g for g in values["graphs"] if g["name"] == name)


def scaled_prod() -> dict[str, Any]:
    """The seed stack with SGLang's decode scaled out to two replicas and the h100-efa pool grown."""
    values = copy.deepcopy(servers_config(STACK))
    graph_named(values, "sglang-disagg")["decode"]["replicas"] = 2
    next(p for p in values["nodePools"] if p["name"] == "h100-efa")["maxNodes"] = 12
    return values


def inputs(registry: Registry) -> dict[str, str]:
    return {r.urn: json.dumps(r.inputs, sort_keys=True) for r in registry.resources}


def test_scaling_out_changes_only_the_graph_and_the_pool() -> None:
    before, after = plan_servers(STACK), plan_config(scaled_prod(), STACK)
    old, new = inputs(before), inputs(after)
    added = {after.by_urn()[u].name for u in set(new) - set(old)}
    changed = {after.by_urn()[u].name for u in set(new) & set(old) if new[u] != old[u]}
    assert set(old) - set(new) == set()
    # two decode replicas may now lose one at a time: a budget appears
    assert added == {"graph-sglang-disagg-pdb-sglang-disagg-decode"}
    assert changed == {"graph-sglang-disagg-dgd", "h100-efa-node-group"}
    dgd = next(r for r in after.of_type(DGD) if r.inputs["metadata"]["name"] == "sglang-disagg")
    [decode] = [c for c in dgd.inputs["spec"]["components"] if c["name"] == "decode"]
    assert decode["replicas"] == 2
    group = next(r for r in after.of_type(NODE_GROUP) if r.name == "h100-efa-node-group")
    assert group.inputs["scalingConfig"]["maxSize"] == 12
    # desired size is the autoscaler's after creation: later updates never fight it
    assert group.options["ignoreChanges"] == ["scalingConfig.desiredSize"]


def test_an_overcommitting_scale_out_fails_before_anything_is_registered() -> None:
    values = scaled_prod()
    graph_named(values, "sglang-disagg")["decode"]["replicas"] = 4  # 8 more nodes than h100-efa holds
    raw, secret_keys = raw_config(values)
    with pytest.raises(ConfigError) as error:
        run_program(main, project=PROJECT, stack=STACK, config=raw, secret_keys=secret_keys)
    assert [str(p) for p in error.value.problems] == [
        "dynamo-cluster:nodePools[0].maxNodes: pool 'h100-efa' has at most 12 nodes of 8 GPUs (96 GPUs); the "
        "graphs placed on it need 14 nodes and hold 112 GPUs: vllm-disagg prefill 2 whole nodes, vllm-disagg "
        "decode 2 whole nodes, sglang-disagg prefill 2 whole nodes, sglang-disagg decode 8 whole nodes; allowed: "
        "the graphs' pods on at most 12 nodes of pool 'h100-efa': maxNodes of at least 14, or move or shrink a "
        "worker group"]
    registered = settings.SETTINGS.monitor.registry.resources  # the monitor of that run
    assert [r.type for r in registered] == ["pulumi:pulumi:Stack"]


def test_an_overcommitting_plan_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    values = scaled_prod()
    graph_named(values, "sglang-disagg")["decode"]["replicas"] = 4
    stack = {"config": {f"dynamo-cluster:{k}": v for k, v in values.items()}}
    config = tmp_path / "Pulumi.overcommit.yaml"
    config.write_text(yaml.safe_dump(stack))
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "stacks", "plan", "--config", str(config), "--out", str(out)],
                            cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "h100-efa" in result.stderr
    assert not out.exists()


def one(registry: Registry, pred: Any) -> Registered:
    [found] = [r for r in registry.resources if pred(r)]
    return found


def test_destroy_removes_graphs_then_the_operator_then_the_infrastructure() -> None:
    registry = plan_servers(STACK)
    operator = one(registry, lambda r: r.inputs.get("chart") == "dynamo-platform")
    nats = one(registry, lambda r: r.inputs.get("chart") == "nats")
    etcd = one(registry, lambda r: r.inputs.get("kind") == "StatefulSet" and r.inputs["metadata"]["name"] == "etcd")
    platform_ns = one(registry, lambda r: r.name == "namespaces-platform")
    groups = registry.of_type(NODE_GROUP)
    # Pulumi deletes a resource only after everything that depends on it: the dependency graph
    # below is the teardown order read backwards.
    for dgd in registry.of_type(DGD):
        assert reaches(registry, dgd.urn, operator.urn)
        assert any(reaches(registry, dgd.urn, g.urn) for g in groups)
        assert not reaches(registry, operator.urn, dgd.urn)
    assert reaches(registry, operator.urn, nats.urn)
    assert reaches(registry, operator.urn, platform_ns.urn)
    assert not reaches(registry, nats.urn, operator.urn)
    assert not reaches(registry, etcd.urn, operator.urn)
    for g in groups:
        assert not reaches(registry, g.urn, operator.urn)


def test_prod_destroy_keeps_data_volumes_unless_data_loss_is_allowed() -> None:
    def kept(registry: Registry) -> dict[str, Any]:
        etcd = one(registry, lambda r: r.inputs.get("kind") == "StatefulSet")
        nats = one(registry, lambda r: r.inputs.get("chart") == "nats")
        cache = [r for r in registry.resources if r.inputs.get("kind") == "PersistentVolumeClaim"]
        return {
            "namespaces": {bool(r.options.get("retainOnDelete")) for r in registry.resources
                           if r.name.startswith("namespaces-")},
            "etcd": etcd.inputs["spec"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"],
            "nats": nats.inputs["values"]["statefulSet"]["merge"]["spec"]["persistentVolumeClaimRetentionPolicy"][
                "whenDeleted"],
            "cache": {bool(r.options.get("retainOnDelete")) for r in cache},
        }

    assert kept(plan_servers(STACK)) == {"namespaces": {True}, "etcd": "Retain", "nats": "Retain", "cache": {True}}
    assert kept(plan_config(servers_config(STACK) | {"allowDataLoss": True}, STACK)) == {
        "namespaces": {False}, "etcd": "Delete", "nats": "Delete", "cache": {False}}
