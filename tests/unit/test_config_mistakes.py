"""Config mistakes that used to slip through: repeated YAML keys, keys in a misspelt namespace or
the default providers' namespaces, a stack named for one environment set to the other, and plan
warnings that reached only summary.md."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from stacks.config.reader import ConfigError
from stacks.config.stack import parse_config
from stacks.config.stackfile import StackFileError, read_stack_file
from tests.harness import ROOT, parse, raw_config, stack_config


def test_repeated_keys_are_refused_with_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text("config:\n  dynamo-cluster:dynamo:\n    discovery: kubernetes\n    eventPlane: nats\n"
                    "    discovery: etcd\n  dynamo-cluster:storageClass: standard\n")
    with pytest.raises(StackFileError) as refused:
        read_stack_file(ROOT, "dev", path)
    assert str(refused.value) == (f"{path}: line 5: key 'discovery' repeats the one at line 3 (YAML would keep the "
                                  "last one only; remove one)")
    path.write_text("config:\n  dynamo-cluster:dynamo:\n    discovery: etcd\n  dynamo-cluster:dynamo: {}\n")
    with pytest.raises(StackFileError, match="line 4: key 'dynamo-cluster:dynamo' repeats the one at line 2"):
        read_stack_file(ROOT, "dev", path)


def test_committed_stack_files_have_no_repeated_keys() -> None:
    for path in [ROOT / "Pulumi.dev.yaml", ROOT / "Pulumi.prod.yaml", *sorted((ROOT / "examples").glob("*.yaml"))]:
        read_stack_file(ROOT, path.stem.removeprefix("Pulumi."), path)


def _foreign(extra: dict[str, str]) -> dict[str, str]:
    raw, secrets = raw_config(stack_config("dev"))
    with pytest.raises(ConfigError) as refused:
        parse_config({**raw, **extra}, secrets, "dev")
    return {p.key: f"{p.wrong} / {p.allowed}" for p in refused.value.problems}


def test_a_misspelt_namespace_and_the_default_providers_keys_are_refused_in_full() -> None:
    problems = _foreign({"dynamocluster:graphs": "[]", "dynamo_cluster:storageClass": "x", "aws:region": "us-east-1",
                         "kubernetes:context": "kind-dynamo", "pulumi:template": "python", "random:anything": "x"})
    assert problems["dynamocluster:graphs"] == ("is in namespace 'dynamocluster', which nothing reads / did you mean "
                                                "dynamo-cluster:graphs?")
    assert "did you mean dynamo-cluster:storageClass?" in problems["dynamo_cluster:storageClass"]
    assert problems["aws:region"].endswith("/ dynamo-cluster:aws.region")
    assert "does not use" in problems["kubernetes:context"]
    assert "pulumi:template" not in problems
    assert "random:anything" not in problems
    with pytest.raises(ConfigError, match=r"(?m)^  aws:region: is the default aws provider's key"):
        parse_config({**raw_config(stack_config("dev"))[0], "aws:region": "us-east-1"}, set(), "dev")


def test_a_stack_named_for_one_environment_cannot_take_the_other_without_saying_so() -> None:
    values = stack_config("prod") | {"environment": "dev"}
    with pytest.raises(ConfigError) as refused:
        parse(values, "prod")
    [problem] = [p for p in refused.value.problems if p.key == "environment"]
    assert "is dev on the stack named prod" in problem.wrong
    assert "environmentOverride: true" in problem.allowed
    dev_values = stack_config("dev") | {"environment": "prod"}
    with pytest.raises(ConfigError, match="is prod on the stack named dev"):
        parse(dev_values, "dev")
    assert parse(stack_config("dev") | {"environment": "dev"}, "staging").environment == "dev"
    overridden = parse(values | {"environmentOverride": True}, "prod")
    assert (overridden.environment, overridden.retain_data) == ("dev", False)


def test_plan_prints_its_warnings_and_strict_refuses_them(tmp_path: Path) -> None:
    def plan(*flags: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "stacks", "plan", "--stack", "prod", "--out", str(tmp_path / "p"),
                               *flags], cwd=ROOT, capture_output=True, text=True, check=False, timeout=300)

    lenient = plan()
    assert lenient.returncode == 0
    assert "plan: warning: no hfToken" in lenient.stderr
    strict = plan("--strict")
    assert strict.returncode == 3
    assert "warning(s) and --strict" in strict.stderr
    assert (tmp_path / "p" / "summary.md").is_file()


def test_worker_requests_beyond_a_node_of_the_pool_are_refused() -> None:
    from components.nodes.allocatable import allocatable, reserved_mebibytes, reserved_millicores

    # the EKS AMI's CPU ranges: 6% of the first core, 1% of the second, 0.5% of the next two, 0.25% after
    assert [reserved_millicores(n) for n in (1, 2, 4, 8, 192)] == [60, 70, 80, 90, 550]
    assert reserved_mebibytes() == 255 + 11 * 250 + 100
    p5 = allocatable("p5.48xlarge")
    assert p5 is not None
    assert (p5.millicores, p5.mebibytes) == (192_000 - 550, 2048 * 1024 - 3105)
    assert allocatable("no-such.type") is None
    values = stack_config("prod")
    values["graphs"][0]["prefill"]["resources"] = {"cpu": "400", "memory": "2100Gi"}
    with pytest.raises(ConfigError) as refused:
        parse(values, "prod")
    problems = {p.key: p for p in refused.value.problems}
    assert "more than a p5.48xlarge node of pool 'h100-efa' leaves to pods (about 191450m)" in problems[
        "graphs[0].prefill.resources.cpu"].wrong
    assert problems["graphs[0].prefill.resources.memory"].allowed == "at most 2044Gi"
    values["graphs"][0]["prefill"]["resources"] = {"cpu": "191", "memory": "2040Gi"}
    parse(values, "prod")  # just inside


def test_an_fsx_stack_is_not_held_to_efs_rules_and_is_warned_of_pools_in_other_zones() -> None:
    from stacks.config.rules import model_cache_warnings

    values = stack_config("prod")
    h200 = values["nodePools"][1]
    h200["subnetIds"] = ["subnet-0a1b2c3d4e5f60002"]  # another subnet, same zone: fine for FSx
    config = parse(values, "prod")
    assert not [w for w in config.warnings() if "other zones" in w]
    h200.update({"availabilityZone": "us-east-1b"})
    config = parse(values, "prod")
    [warning] = [w for w in model_cache_warnings(config.dynamo.model_cache, config.dynamo.graphs, config.pool_shapes)
                 if "other zones" in w]
    assert "is in us-east-1a, but graphs load from it in other zones: kimi-k2 (h200-efa: us-east-1b)" in warning


def test_mixed_pod_sizes_are_warned_unless_every_creation_order_places_them() -> None:
    from components.dynamo.capacity import WorkerDemand, guaranteed_gpus, order_warnings
    from components.nodes.shape import PoolShape

    # 4 nodes of 4 GPUs: 12 one-GPU pods and 2 two-GPU pods (the efs-cache example before its fifth node)
    assert guaranteed_gpus(4, 4, [1] * 12 + [2] * 2) == 13
    assert guaranteed_gpus(4, 5, [1] * 12 + [2] * 2) == 16
    assert guaranteed_gpus(8, 2, [2] * 8) == 16  # one size that divides the node: any order fills it
    pool = PoolShape(name="l40s", gpus_per_node=4, gpu_model="L40S", gpu_memory_gib=44, min_nodes=4, max_nodes=4)

    def demands(two_gpu_replicas: int) -> list[WorkerDemand]:
        return [WorkerDemand(graph="chat", group="worker", key="graphs[0].worker", pool="l40s", replicas=12,
                             nodes_per_replica=1, gpus_per_node=1),
                WorkerDemand(graph="tuned", group="worker", key="graphs[1].worker", pool="l40s",
                             replicas=two_gpu_replicas, nodes_per_replica=1, gpus_per_node=2)]

    [warning] = order_warnings({"l40s": pool}, demands(2))
    assert "a 2-GPU pod finds no node with 2 free GPUs" in warning
    assert "give the pool 5 nodes (maxNodes)" in warning
    assert order_warnings({"l40s": pool}, demands(0)) == []  # one size: every order fits
    five = PoolShape(name="l40s", gpus_per_node=4, gpu_model="L40S", gpu_memory_gib=44, min_nodes=4, max_nodes=5)
    assert order_warnings({"l40s": five}, demands(2)) == []
    assert not [w for w in parse(stack_config("efs-cache"), "efs-cache").warnings() if "finds no node" in w]


def test_models_downloaded_at_a_moving_revision_are_warned_and_a_commit_is_not() -> None:
    values = stack_config("prod")
    [warning] = [w for w in parse(values, "prod").warnings() if "moving revision" in w]
    assert "deepseek-ai/DeepSeek-R1 (main)" in warning
    for graph in values["graphs"]:
        graph["modelRevision"] = "0123456789abcdef0123456789abcdef01234567"
    assert not [w for w in parse(values, "prod").warnings() if "moving revision" in w]
