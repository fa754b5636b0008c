"""Graph and operator config: defaults, and bad graphs failing with clear messages."""

from typing import Any

import pytest

from components.dynamo.releases import DEFAULT_RELEASE
from components.dynamo.transport import TransportPlan
from stacks.config.aws import AwsConfig
from stacks.config.defaults import DEFAULTS, Environment
from stacks.config.dynamo import DynamoConfig, read_dynamo
from stacks.config.keys.sections import DECLARED
from stacks.config.model_cache import CacheConfig, read_model_cache
from stacks.config.reader import ConfigError, Node, Problems
from tests.graph_fixtures import POOLS, group_of


def cache_of(root: Node) -> CacheConfig:
    """The modelCache section, read as parse_config reads it before the graphs (no pools, no aws)."""
    return read_model_cache(root, retain=True, aws=AwsConfig(), aws_node=Node("aws", {}, root.problems), pools=(),
                            workloads_namespace="dynamo")


def read(values: dict[str, Any], environment: Environment = "prod", hf_token: bool = True) -> DynamoConfig:
    problems = Problems(environment=DEFAULTS[environment], declared=DECLARED)
    root = Node("", values, problems)
    config = read_dynamo(root, defaults=DEFAULTS[environment], cache=cache_of(root), pools=POOLS, hf_token=hf_token)
    problems.raise_if_any()
    return config


def problems_of(values: dict[str, Any], **kw: Any) -> list[str]:
    with pytest.raises(ConfigError) as error:
        read(values, **kw)
    return [str(p) for p in error.value.problems]


CACHE = {"modelCache": {"enabled": True, "storage": {"storageClass": "efs-sc"}}}
SGLANG: dict[str, Any] = {"name": "sglang", "backend": "sglang", "model": "Qwen/Qwen3-0.6B",
          "prefill": {"pool": "h100-efa", "nodes": 2, "gpusPerNode": 4},
          "decode": {"pool": "h100-efa", "nodes": 2, "gpusPerNode": 4}}


def test_defaults() -> None:
    config = read(CACHE | {"graphs": [SGLANG]})
    g = config.graphs[0]
    assert g.mode == "disagg"
    assert g.image == "nvcr.io/nvidia/ai-dynamo/sglang-runtime:1.4.2"
    assert g.served_model_name == "Qwen/Qwen3-0.6B"
    assert g.frontend.router_mode == "kv"
    assert group_of(g, "prefill").tensor_parallel == 8
    assert g.use_model_cache
    assert g.use_hf_token
    assert config.operator.chart.version == "1.4.2"
    assert config.release.api_version == "nvidia.com/v1beta1"
    assert config.transport == TransportPlan("kubernetes", "zmq", "tcp")
    assert config.model_cache is not None
    assert config.model_cache.storage.storage_class == "efs-sc"


def test_gpus_per_node_defaults_to_the_whole_node() -> None:
    graph = SGLANG | {"prefill": {"pool": "l40s"}, "decode": {"pool": "l40s"}}
    assert group_of(read(CACHE | {"graphs": [graph]}).graphs[0], "decode").gpus_per_node == 4


def test_unknown_backend() -> None:
    assert "dynamo-cluster:graphs[0].backend: is 'tgi'; allowed: one of vllm, sglang, trtllm, mocker" in \
        problems_of(CACHE | {"graphs": [SGLANG | {"backend": "tgi"}]})


def test_disagg_without_prefill() -> None:
    graph = {k: v for k, v in SGLANG.items() if k != "prefill"}
    assert ("dynamo-cluster:graphs[0].prefill: is required but not set; allowed: a worker group: disagg graphs "
            "have prefill and decode") in problems_of(CACHE | {"graphs": [graph]})


def test_agg_with_disagg_groups() -> None:
    found = problems_of(CACHE | {"graphs": [SGLANG | {"mode": "agg"}]})
    assert "dynamo-cluster:graphs[0].worker: is required but not set; allowed: a worker group: agg graphs have worker" \
        in found
    assert "dynamo-cluster:graphs[0].prefill: is set on a agg graph; allowed: only worker for mode agg" in found


def test_missing_pool() -> None:
    graph = SGLANG | {"decode": {"pool": "a100", "nodes": 2, "gpusPerNode": 4}}
    assert ("dynamo-cluster:graphs[0].decode.pool: is 'a100'; allowed: one of cpu, h100, h100-efa, l40s"
            in problems_of(CACHE | {"graphs": [graph]}))


def test_multinode_with_a_backend_that_cannot_span_nodes() -> None:
    graph = {"name": "mock", "backend": "mocker", "model": "m", "mode": "agg", "worker": {"pool": "cpu", "nodes": 2}}
    assert ("dynamo-cluster:graphs[0].worker.nodes: is 2, but the mocker backend cannot span nodes; allowed: 1 for "
            "mocker; vllm, sglang, trtllm can span nodes") in problems_of(CACHE | {"graphs": [graph]})


def test_mocker_asks_for_no_gpus() -> None:
    graph = {"name": "mock", "backend": "mocker", "model": "m", "mode": "agg", "worker": {"pool": "cpu",
                                                                                         "gpusPerNode": 1}}
    assert ("dynamo-cluster:graphs[0].worker.gpusPerNode: is 1; allowed: 0: the mocker simulates an engine on CPUs"
            in problems_of(CACHE | {"graphs": [graph]}))


def test_unpinned_image_and_duplicate_names() -> None:
    found = problems_of(CACHE | {"graphs": [SGLANG | {"image": "nvcr.io/nvidia/ai-dynamo/sglang-runtime:latest"},
                                            SGLANG]})
    assert any(p.startswith("dynamo-cluster:graphs[0].image: is 'nvcr.io/nvidia/ai-dynamo/sglang-runtime:latest'")
               for p in found)
    assert ("dynamo-cluster:graphs[1].name: is 'sglang', already used by graphs[0]; allowed: a name unique among "
            "the stack's graphs") in found


def test_engine_config_is_for_trtllm_only() -> None:
    found = problems_of(CACHE | {"graphs": [SGLANG | {"decode": SGLANG["decode"] | {"engineConfig": {"a": 1}}}]})
    assert any(p.startswith("dynamo-cluster:graphs[0].decode.engineConfig: is set") for p in found)


def test_model_cache_and_token_must_exist_when_a_graph_asks() -> None:
    found = problems_of({"graphs": [SGLANG | {"modelCache": True, "hfToken": True}]}, environment="dev",
                        hf_token=False)
    assert ("dynamo-cluster:graphs[0].modelCache: is true but the stack's modelCache is not enabled; allowed: "
            "false, or enable modelCache.enabled") in found
    assert any(p.startswith("dynamo-cluster:graphs[0].hfToken: is true but the stack has no hfToken") for p in found)


def test_model_cache_needs_a_read_write_many_class() -> None:
    assert ("dynamo-cluster:modelCache.storage.storageClass: is required when the model cache is enabled with kind "
            "existing; allowed: a StorageClass that provides ReadWriteMany volumes (EFS, FSx for Lustre, NFS), or kind "
            "fsx-lustre or efs, which provision the storage") in problems_of({"modelCache": {"enabled": True}})


def test_unknown_keys_in_a_worker_group() -> None:
    graph = SGLANG | {"decode": SGLANG["decode"] | {"gpus": 4}}
    assert any(p.startswith("dynamo-cluster:graphs[0].decode.gpus: unknown key (did you mean 'gpusPerNode'?)")
               for p in problems_of(CACHE | {"graphs": [graph]}))


def test_a_gpu_backend_on_a_cpu_only_pool() -> None:
    graph = {"name": "v", "backend": "vllm", "mode": "agg", "model": "m", "worker": {"pool": "cpu"}}
    assert ("dynamo-cluster:graphs[0].worker.pool: is 'cpu', a pool without GPUs, but the vllm backend needs GPUs; "
            "allowed: a pool with gpusPerNode > 0 (only the mocker runs on CPU-only pools)"
            in problems_of(CACHE | {"graphs": [graph]}))


def test_the_mocker_on_a_gpu_pool() -> None:
    graph = {"name": "m", "backend": "mocker", "mode": "agg", "model": "m", "worker": {"pool": "l40s"}}
    assert ("dynamo-cluster:graphs[0].worker.pool: is 'l40s', a GPU pool, but the mocker runs on CPUs; allowed: a "
            "pool without GPUs (GPU nodes are tainted for workloads that ask for GPUs)"
            in problems_of(CACHE | {"graphs": [graph]}))


def test_a_broken_pool_is_not_reported_again_by_its_graphs() -> None:
    problems = Problems(environment=DEFAULTS["prod"], declared=DECLARED)
    root = Node("", CACHE | {"graphs": [SGLANG | {"prefill": {"pool": "p5"}, "decode": {"pool": "p5"}}]}, problems)
    read_dynamo(root, defaults=DEFAULTS["prod"], cache=cache_of(root), pools=POOLS, hf_token=True, broken_pools={"p5"})
    assert problems.found == []


def test_no_pools_at_all() -> None:
    problems = Problems(environment=DEFAULTS["prod"], declared=DECLARED)
    root = Node("", {"graphs": [SGLANG]}, problems)
    read_dynamo(root, defaults=DEFAULTS["prod"], cache=cache_of(root), pools={}, hf_token=True)
    assert {str(p) for p in problems.found} == {
        f"dynamo-cluster:graphs[0].{role}.pool: is 'h100-efa'; allowed: a pool declared in nodePools (none is "
        "configured)" for role in ("prefill", "decode")}


# --- the release table, and what it limits -------------------------------------------------------


@pytest.mark.parametrize("version", ["1.1.0", "1.1.3", "1.4.0", "2.0.0"])
def test_a_release_without_an_entry_names_the_upgrade_guide(version: str) -> None:
    assert problems_of({"operator": {"version": version}}) == [
        f"dynamo-cluster:operator.version: is '{version}', a Dynamo release this project has no entry for; allowed: "
        "1.4.2 (the default) or 1.5.0 or 1.5.1 or 1.6.1; to move an install of another release (1.1 included) to "
        "one of these, follow docs/upgrade.md"]


def test_the_second_release_entry_moves_chart_and_images_together() -> None:
    config = read(CACHE | {"operator": {"version": "1.5.0"}, "graphs": [SGLANG]})
    assert (config.operator.chart.version, config.graphs[0].image) == (
        "1.5.0", "nvcr.io/nvidia/ai-dynamo/sglang-runtime:1.5.0")
    assert config.graphs[0].release.crd_storage_version == "v1beta1"


def named(name: str, multinode: bool) -> dict[str, Any]:
    nodes = 2 if multinode else 1
    return SGLANG | {"name": name, "prefill": {"pool": "h100-efa", "nodes": nodes, "gpusPerNode": 4},
                     "decode": {"pool": "h100-efa", "nodes": nodes, "gpusPerNode": 4}}


def test_the_grove_name_budget_refuses_the_shortest_over_long_name_and_takes_the_longest_legal_one() -> None:
    # multi-node: the graph's name, 'prefill' and its clique 'prefill-ldr' within 45: 45 - 7 - 11 = 27
    assert read(CACHE | {"graphs": [named("g" * 27, multinode=True)]}).graphs[0].name == "g" * 27
    assert problems_of(CACHE | {"graphs": [named("g" * 28, multinode=True)]}) == [
        f"dynamo-cluster:graphs[0].name: is '{'g' * 28}' (28 characters): on the Grove path the operator names "
        "pods after the graph and its longest clique, 'prefill-ldr' of the prefill component that spans nodes, "
        "within 45 characters; allowed: a name of at most 27 characters for this graph"]
    # single-node: the longest component name is 'frontend': 45 - 8 = 37
    assert read(CACHE | {"graphs": [named("g" * 37, multinode=False)]}).graphs[0].name == "g" * 37
    assert problems_of(CACHE | {"graphs": [named("g" * 38, multinode=False)]}) == [
        f"dynamo-cluster:graphs[0].name: is '{'g' * 38}' (38 characters): on the Grove path the operator names "
        "pods after the graph and its longest clique, 'frontend', within 45 characters; allowed: a name of at "
        "most 37 characters for this graph"]


def test_the_component_count_is_limited() -> None:
    limits = DEFAULT_RELEASE.limits
    many = [(f"c{i}", False) for i in range(26)]
    assert limits.problems("g", many) == [("has 26 components", "at most 25 per graph")]
    assert limits.problems("g", many[:25]) == []


def test_remote_code_is_trusted_only_when_a_graph_says_so() -> None:
    assert read(CACHE | {"graphs": [SGLANG]}).graphs[0].trust_remote_code is False
    assert read(CACHE | {"graphs": [SGLANG | {"trustRemoteCode": True}]}).graphs[0].trust_remote_code is True
    mocker = {"name": "m", "backend": "mocker", "model": "Qwen/Qwen3-0.6B", "trustRemoteCode": True,
              "prefill": {"pool": "cpu"}, "decode": {"pool": "cpu"}}
    assert ("dynamo-cluster:graphs[0].trustRemoteCode: is true for the mocker, which loads no model code; "
            "allowed: false") in problems_of({"graphs": [mocker]})


@pytest.mark.parametrize("tag", ["main", "nightly", "stable"])
def test_graph_images_with_a_moving_tag_are_refused(tag: str) -> None:
    graph = SGLANG | {"image": f"registry.example/sglang:{tag}", "efaImage": f"registry.example/sglang-efa:{tag}"}
    found = problems_of(CACHE | {"graphs": [graph]})
    for key in ("image", "efaImage"):
        assert any(p.startswith(f"dynamo-cluster:graphs[0].{key}: is 'registry.example/") and
                   f"uses the tag '{tag}', which moves to new builds" in p for p in found), (key, found)
