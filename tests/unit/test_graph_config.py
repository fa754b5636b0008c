"""Graph and operator config: defaults, and bad graphs failing with clear messages."""

from typing import Any

import pytest

from stacks.config.defaults import DEFAULTS, Environment
from stacks.config.dynamo import DynamoConfig, read_dynamo
from stacks.config.reader import ConfigError, Node, Problems
from tests.graph_fixtures import POOLS, group_of


def read(values: dict[str, Any], environment: Environment = "prod", hf_token: bool = True) -> DynamoConfig:
    problems = Problems()
    root = Node("", values, problems)
    config = read_dynamo(root, defaults=DEFAULTS[environment], retain=True, pools=POOLS, hf_token=hf_token)
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
    assert g.image == "nvcr.io/nvidia/ai-dynamo/sglang-runtime:1.1.0"
    assert g.served_model_name == "Qwen/Qwen3-0.6B"
    assert g.frontend.router_mode == "kv"
    assert group_of(g, "prefill").tensor_parallel == 8
    assert g.use_model_cache
    assert g.use_hf_token
    assert config.operator.chart.version == "1.1.0"
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
    assert ("dynamo-cluster:graphs[0].decode.pool: is 'a100'; allowed: one of cpu, h100-efa, l40s"
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
    assert ("dynamo-cluster:modelCache.storage.storageClass: is required when the model cache is enabled; allowed: "
            "a StorageClass that provides ReadWriteMany volumes (EFS, FSx for Lustre, NFS)") in \
        problems_of({"modelCache": {"enabled": True}})


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
    problems = Problems()
    read_dynamo(Node("", CACHE | {"graphs": [SGLANG | {"prefill": {"pool": "p5"}, "decode": {"pool": "p5"}}]},
                     problems),
                defaults=DEFAULTS["prod"], retain=True, pools=POOLS, hf_token=True, broken_pools={"p5"})
    assert problems.found == []


def test_no_pools_at_all() -> None:
    problems = Problems()
    read_dynamo(Node("", {"graphs": [SGLANG]}, problems), defaults=DEFAULTS["prod"], retain=True, pools={},
                hf_token=True)
    assert {str(p) for p in problems.found} == {
        f"dynamo-cluster:graphs[0].{role}.pool: is 'h100-efa'; allowed: a pool declared in nodePools (none is "
        "configured)" for role in ("prefill", "decode")}
