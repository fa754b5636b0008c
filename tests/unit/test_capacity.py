"""The GPU capacity plan: each rule of components/nodes/capacity.py with its exact message."""

from dataclasses import replace

import pytest

from components.dynamo.capacity import CapacityProblem, WorkerDemand, capacity_table, check_capacity
from components.dynamo.words import Role
from components.nodes.shape import PoolShape
from stacks.config.reader import ConfigError
from tests.harness import parse, stack_config


def pool(name: str = "h100", gpus: int = 8, max_nodes: int = 4, **extra: object) -> PoolShape:
    return PoolShape(name=name, gpus_per_node=gpus, gpu_model="H100", gpu_memory_gib=80, min_nodes=1,
                     max_nodes=max_nodes, key="nodePools[0]", **extra)  # type: ignore[arg-type]


def demand(graph: str = "llama", group: Role = "decode", pool_name: str = "h100", *, replicas: int = 1,
           nodes: int = 1, gpus: int = 8, tp: int | None = None, **extra: object) -> WorkerDemand:
    return WorkerDemand(graph=graph, group=group, key=f"graphs[0].{group}", pool=pool_name, replicas=replicas,
                        nodes_per_replica=nodes, gpus_per_node=gpus,
                        tensor_parallel=tp if tp is not None else nodes * gpus, **extra)  # type: ignore[arg-type]


def pools(*shapes: PoolShape) -> dict[str, PoolShape]:
    return {s.name: s for s in shapes}


def test_a_plan_that_fits_has_no_problems() -> None:
    demands = [demand(group="prefill", replicas=1, nodes=2, gpus=4), demand(group="decode", replicas=2, gpus=8)]
    assert check_capacity(pools(pool()), demands) == []


def test_overcommit_of_one_pool_by_one_worker_group() -> None:
    problems = check_capacity(pools(pool(max_nodes=4)), [demand(replicas=3, nodes=2, gpus=8)])
    assert problems == [CapacityProblem(
        "graphs[0].decode",
        "graph 'llama' places decode on pool 'h100' that has at most 4 nodes of 8 GPUs; its 3 replicas need 6 "
        "nodes (2 nodes each)",
        "at most 2 replicas of decode on pool 'h100', or more nodes in nodePools[0].maxNodes")]


def test_single_node_replicas_that_do_not_pack_count_per_node() -> None:
    # 5-GPU replicas: one per 8-GPU node, so 3 of them need 3 nodes although 15 GPUs < 16
    problems = check_capacity(pools(pool(max_nodes=2)), [demand(replicas=3, gpus=5)])
    assert [p.wrong for p in problems] == [
        "graph 'llama' places decode on pool 'h100' that has at most 2 nodes of 8 GPUs; its 3 replicas need 3 "
        "nodes (1 fit on a node)"]


def test_overcommit_across_graphs() -> None:
    demands = [demand(graph="llama", group="prefill", nodes=2, gpus=4),      # holds 2 whole nodes: 16
               demand(graph="llama", group="decode", replicas=2, gpus=8),    # 16
               demand(graph="qwen", group="worker", replicas=1, gpus=4)]     # 4
    problems = check_capacity(pools(pool(max_nodes=4)), demands)
    assert problems == [CapacityProblem(
        "nodePools[0].maxNodes",
        "pool 'h100' has at most 4 nodes of 8 GPUs (32 GPUs); the graphs placed on it need 5 nodes and hold 36 "
        "GPUs: llama prefill 2 whole nodes, llama decode 2 pods of 8 GPUs, qwen worker 1 pod of 4 GPUs",
        "the graphs' pods on at most 4 nodes of pool 'h100': maxNodes of at least 5, or move or shrink a worker "
        "group")]


def test_pods_of_different_groups_must_fit_the_gpus_left_on_each_node() -> None:
    # 8 GPUs in all and 8 asked, but the 3-GPU pods leave 1 GPU on each node: the 2-GPU pod fits nowhere
    demands = [demand(graph="a", group="worker", replicas=2, gpus=3),
               demand(graph="b", group="worker", replicas=1, gpus=2)]
    problems = check_capacity(pools(pool(gpus=4, max_nodes=2)), demands)
    assert problems == [CapacityProblem(
        "nodePools[0].maxNodes",
        "pool 'h100' has at most 2 nodes of 4 GPUs (8 GPUs); the graphs placed on it need 3 nodes and hold 8 GPUs: "
        "a worker 2 pods of 3 GPUs, b worker 1 pod of 2 GPUs",
        "the graphs' pods on at most 2 nodes of pool 'h100': maxNodes of at least 3, or move or shrink a worker "
        "group")]
    assert check_capacity(pools(pool(gpus=4, max_nodes=3)), demands) == []


def test_single_node_pods_are_packed_largest_first() -> None:
    # in config order (3, 3, 5, 5) first-fit needs 3 nodes; largest first puts a 5 and a 3 on each of 2
    demands = [demand(graph="small", group="worker", replicas=2, gpus=3),
               demand(graph="big", group="worker", replicas=2, gpus=5)]
    assert check_capacity(pools(pool(max_nodes=2)), demands) == []
    assert check_capacity(pools(pool(max_nodes=2)), [*demands, demand(graph="one", group="worker", gpus=1)]) != []


def test_multi_node_replicas_leave_their_nodes_to_no_one() -> None:
    # the prefill replica asks 4 GPUs on each of its 2 nodes; the 4 it leaves on each are not packed into
    demands = [demand(group="prefill", nodes=2, gpus=4), demand(group="decode", replicas=2, gpus=4)]
    assert check_capacity(pools(pool(max_nodes=3)), demands) == []
    problems = check_capacity(pools(pool(max_nodes=3)), [*demands, demand(graph="qwen", group="worker", gpus=1)])
    assert [p.wrong for p in problems] == [
        "pool 'h100' has at most 3 nodes of 8 GPUs (24 GPUs); the graphs placed on it need 4 nodes and hold 25 GPUs: "
        "llama prefill 2 whole nodes, llama decode 2 pods of 4 GPUs, qwen worker 1 pod of 1 GPU"]


def test_multi_node_replicas_hold_whole_nodes() -> None:
    vllm = demand(group="prefill", nodes=2, gpus=1)
    assert vllm.requested_gpus == 2
    assert vllm.held_gpus(pool()) == 16
    assert vllm.nodes_needed(pool()) == 2
    assert demand(replicas=3, gpus=2).held_gpus(pool()) == 6
    assert demand(replicas=5, gpus=2).nodes_needed(pool()) == 2


def test_per_node_fit() -> None:
    problems = check_capacity(pools(pool()), [demand(gpus=16, nodes=1)])
    assert problems == [CapacityProblem(
        "graphs[0].decode", "graph 'llama' places decode on pool 'h100' that has 8 GPUs per node; it asks 16",
        "at most 8 GPUs per node on pool 'h100', or a pool with more GPUs per node")]


def test_tensor_parallel_must_span_the_replica() -> None:
    problems = check_capacity(pools(pool()), [demand(nodes=2, gpus=2, tp=8)])
    assert problems == [CapacityProblem(
        "graphs[0].decode",
        "graph 'llama' decode: tensor parallel 8, but one replica spans 2 nodes x 2 GPUs = 4 GPUs",
        "tensor parallel x pipeline parallel = 4 for decode, or turn the parallelism check off for this graph")]
    with_pp = check_capacity(pools(pool()), [demand(nodes=2, gpus=4, tp=4, pipeline_parallel=3)])
    assert with_pp[0].wrong == ("graph 'llama' decode: tensor parallel 4 x pipeline parallel 3 = 12, but one "
                                "replica spans 2 nodes x 4 GPUs = 8 GPUs")
    assert check_capacity(pools(pool()), [demand(nodes=2, gpus=4, tp=4, pipeline_parallel=2)]) == []
    assert check_capacity(pools(pool()), [demand(nodes=2, gpus=2, tp=8, check_parallelism=False)]) == []


def test_unknown_pool() -> None:
    problems = check_capacity(pools(pool("h100"), pool("l40s")), [demand(pool_name="a100")])
    assert problems == [CapacityProblem(
        "graphs[0].decode", "graph 'llama' places decode on pool 'a100', which no node pool is named",
        "one of the nodePools names: h100, l40s")]
    assert check_capacity({}, [demand()])[0].allowed == "a pool named under nodePools (none is configured)"


def test_unknown_instance_type_is_a_config_error() -> None:
    values = stack_config("dev") | {"nodePools": [{"name": "gpu", "kind": "existing", "instanceType": "x9.huge",
                                                   "nodeSelector": {"a": "b"}, "nodes": 1}], "graphs": []}
    with pytest.raises(ConfigError) as error:
        parse(values)
    assert [str(p) for p in error.value.problems] == [
        "dynamo-cluster:nodePools[0].instanceType: is 'x9.huge', which the catalog does not know, and the pool does "
        "not give its GPU facts; allowed: one of g5.12xlarge, g5.16xlarge, g5.24xlarge, g5.2xlarge, g5.48xlarge, "
        "g5.4xlarge, g5.8xlarge, g5.xlarge, g6.12xlarge, g6.16xlarge, g6.24xlarge, g6.2xlarge, g6.48xlarge, "
        "g6.4xlarge, g6.8xlarge, g6.xlarge, g6e.12xlarge, g6e.16xlarge, g6e.24xlarge, g6e.2xlarge, g6e.48xlarge, "
        "g6e.4xlarge, g6e.8xlarge, g6e.xlarge, p4d.24xlarge, p4de.24xlarge, p5.48xlarge, p5e.48xlarge, "
        "p5en.48xlarge, p6-b200.48xlarge; or set gpusPerNode, gpuModel and gpuMemoryGiB for it"]
    values["nodePools"][0] |= {"gpusPerNode": 4, "gpuModel": "X9", "gpuMemoryGiB": 96}
    shape = parse(values).pool_shapes["gpu"]
    assert (shape.gpus_per_node, shape.gpu_model, shape.gpu_memory_gib) == (4, "X9", 96)


def existing_l4_stack(*workers: tuple[int, int]) -> dict[str, object]:
    """dev with two existing 4-GPU nodes and one vLLM graph per (replicas, GPUs per pod) worker."""
    pool_values = {"name": "l4", "kind": "existing", "nodeSelector": {"gpu": "l4"}, "nodes": 2, "gpusPerNode": 4,
                   "gpuModel": "L4", "gpuMemoryGiB": 24}
    graphs = [{"name": f"g{i}", "backend": "vllm", "mode": "agg", "model": "Qwen/Qwen3-0.6B",
               "worker": {"pool": "l4", "replicas": replicas, "gpusPerNode": gpus}}
              for i, (replicas, gpus) in enumerate(workers)]
    return stack_config("dev") | {"nodePools": [pool_values], "graphs": graphs}


def test_an_existing_pool_is_sized_by_its_nodes_key() -> None:
    # existing pools have no maxNodes (setting one is an error): their size is `nodes`
    assert parse(existing_l4_stack((2, 3))).pool_shapes["l4"].size_key == "nodes"
    assert parse(stack_config("prod"), "prod").pool_shapes["h100-efa"].size_key == "maxNodes"
    with pytest.raises(ConfigError) as error:
        parse(existing_l4_stack((2, 3), (1, 2)))
    assert [str(p) for p in error.value.problems] == [
        "dynamo-cluster:nodePools[0].nodes: pool 'l4' has at most 2 nodes of 4 GPUs (8 GPUs); the graphs placed on "
        "it need 3 nodes and hold 8 GPUs: g0 worker 2 pods of 3 GPUs, g1 worker 1 pod of 2 GPUs; allowed: the "
        "graphs' pods on at most 2 nodes of pool 'l4': nodes of at least 3, or move or shrink a worker group"]
    with pytest.raises(ConfigError) as error:
        parse(existing_l4_stack((3, 4)))
    assert [str(p) for p in error.value.problems] == [
        "dynamo-cluster:graphs[0].worker: graph 'g0' places worker on pool 'l4' that has at most 2 nodes of 4 "
        "GPUs; its 3 replicas need 3 nodes (1 fit on a node); allowed: at most 2 replicas of worker on pool 'l4', "
        "or more nodes in nodePools[0].nodes"]


def test_cpu_only_groups_fit_a_cpu_pool_and_skip_the_parallelism_check() -> None:
    cpu = pool("cpu", gpus=0, max_nodes=1)
    mocker = demand(pool_name="cpu", group="worker", replicas=2, gpus=0, tp=1)
    assert check_capacity(pools(cpu), [mocker]) == []
    assert check_capacity(pools(cpu), [demand(pool_name="cpu", gpus=1)])[0].wrong == \
        "graph 'llama' places decode on pool 'cpu' that has 0 GPUs per node; it asks 1"


def test_every_problem_is_reported() -> None:
    demands = [demand(pool_name="nope"), demand(graph="g2", gpus=16), demand(graph="g3", nodes=2, gpus=2, tp=3)]
    assert len(check_capacity(pools(pool()), demands)) == 3


def test_the_seed_pools_hold_the_seed_graphs() -> None:
    """The sizing examples/Pulumi.seed-multinode.yaml promises: vLLM and SGLang on h100-efa, TensorRT-LLM on
    h200-efa."""
    shapes = parse(stack_config("seed-multinode"), "seed-multinode").pool_shapes
    demands = [
        demand("vllm-disagg", "prefill", "h100-efa", nodes=2, gpus=1),
        demand("vllm-disagg", "decode", "h100-efa", nodes=2, gpus=1),
        demand("sglang-disagg", "prefill", "h100-efa", nodes=2, gpus=4),
        demand("sglang-disagg", "decode", "h100-efa", nodes=2, gpus=4),
        demand("trtllm-disagg", "prefill", "h200-efa", nodes=2, gpus=4),
        demand("trtllm-disagg", "decode", "h200-efa", nodes=2, gpus=4),
    ]
    assert check_capacity(shapes, demands) == []
    # and each pool keeps headroom for one more two-node replica
    extra = demand("spare", "worker", "h100-efa", nodes=2, gpus=8)
    assert check_capacity(shapes, [*demands, extra, replace(extra, pool="h200-efa")]) == []


def test_prod_is_sized_to_its_graphs_with_no_gpu_idle() -> None:
    """Pulumi.prod.yaml's pools hold exactly its three graphs at maximum size."""
    config = parse(stack_config("prod"), "prod")
    assert check_capacity(config.pool_shapes, config.worker_demands) == []
    table = capacity_table(config.pool_shapes, config.worker_demands)
    rows = {line.split(" | ")[0].lstrip("| "): line.split(" | ") for line in table[2:4]}
    assert {pool: row[5] for pool, row in rows.items()} == {"h100-efa": "0", "h200-efa": "0"}
    assert rows["h100-efa"][4] == "deepseek-r1 32, llama-405b 32"
    assert rows["h200-efa"][4] == "kimi-k2 32"


def test_capacity_table() -> None:
    shapes = pools(pool("h100", max_nodes=4, instance_type="p5.48xlarge", hourly_price_usd=55.04),
                   pool("cpu", gpus=0, max_nodes=1))
    demands = [demand(graph="llama", group="prefill", nodes=2, gpus=4), demand(graph="qwen", replicas=1, gpus=4)]
    lines = capacity_table(shapes, demands)
    assert lines[:4] == [
        "| pool | instance type | GPUs per node | nodes (min/max) | GPUs used by graph | GPUs idle at max "
        "| cost per hour at max |",
        "|---|---|---|---|---|---|---|",
        "| cpu | existing nodes | 0 (CPU only) | 1/1 | none | 0 | n/a |",
        "| h100 | p5.48xlarge | 8 x H100 (80 GiB) | 1/4 | llama 16 (8 asked), qwen 4 | 12 | $220.16 |",
    ]
    assert "pools cost $220.16 per hour on demand (us-east-1 prices read 2026-11-24" in lines[5]
    assert lines[5].endswith("without a known price: cpu.")
    assert capacity_table({}, []) == ["No GPU node pools are configured."]


def test_the_table_counts_what_the_packing_leaves_idle() -> None:
    # two 3-GPU pods on two of three 4-GPU nodes: 1 GPU free on each, and the empty node's 4
    row = capacity_table(pools(pool(gpus=4, max_nodes=3)), [demand(group="worker", replicas=2, gpus=3)])[2]
    assert "| 1/3 | llama 6 | 6 |" in row
    # the same pods and a 2-GPU one on two nodes: 8 GPUs for 8 asked, but the 2-GPU pod has no node
    two_nodes = pools(pool(gpus=4, max_nodes=2))
    row = capacity_table(two_nodes, [demand(graph="a", group="worker", replicas=2, gpus=3),
                                     demand(graph="b", group="worker", gpus=2)])[2]
    assert "| 1/2 | a 6, b 2 | overcommitted: needs 3 nodes, has 2 |" in row


def test_the_table_shows_an_overcommitted_pool() -> None:
    row = capacity_table(pools(pool(max_nodes=1)), [demand(replicas=2, gpus=8)])[2]
    assert "| llama 16 | overcommitted: needs 2 nodes, has 1 |" in row
