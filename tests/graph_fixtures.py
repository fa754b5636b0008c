"""Pools and graph settings built in tests, independent of the committed stacks."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from components.dynamo import commands
from components.dynamo.backends import backend as backend_named
from components.dynamo.backends.base import Backend
from components.dynamo.datapath import engine_command_line
from components.dynamo.releases import DEFAULT_RELEASE, DynamoRelease
from components.dynamo.spec import FrontendSpec, GraphSpec, WorkerGroupSpec
from components.dynamo.transport import UPSTREAM_DEFAULTS, TransportPlan
from components.dynamo.words import ROLES_BY_MODE, Mode, Role, RouterMode
from components.kit.resources import Resources
from components.nodes.settings import ExistingNodes, NodePoolSettings, Taint
from components.nodes.shape import PoolShape

GPU_TAINT = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}

POOLS = {
    "h100-efa": PoolShape(name="h100-efa", gpus_per_node=8, gpu_model="H100", gpu_memory_gib=80, min_nodes=0,
                          max_nodes=8, node_selector={"dynamo-cluster/pool": "h100-efa"}, tolerations=(GPU_TAINT,),
                          efa_interfaces=32, availability_zone="us-east-1a", instance_type="p5.48xlarge"),
    "h100": PoolShape(name="h100", gpus_per_node=8, gpu_model="H100", gpu_memory_gib=80, min_nodes=0, max_nodes=8,
                      node_selector={"dynamo-cluster/pool": "h100"}, tolerations=(GPU_TAINT,)),
    "l40s": PoolShape(name="l40s", gpus_per_node=4, gpu_model="L40S", gpu_memory_gib=48, min_nodes=0, max_nodes=4,
                      node_selector={"dynamo-cluster/pool": "l40s"}, tolerations=(GPU_TAINT,)),
    "cpu": PoolShape(name="cpu", gpus_per_node=0, gpu_model="", gpu_memory_gib=0, min_nodes=1, max_nodes=3,
                     node_selector={"kubernetes.io/os": "linux"}),
}


def group(role: Role, *, pool: str = "h100-efa", nodes: int = 1, gpus: int = 1, tp: int | None = None,
          extra: tuple[str, ...] = (), engine: dict[str, object] | None = None) -> WorkerGroupSpec:
    return WorkerGroupSpec(role=role, replicas=1, pool=pool, nodes=nodes, gpus_per_node=gpus,
                           tensor_parallel=tp if tp is not None else max(1, nodes * gpus), pipeline_parallel=1,
                           expert_parallel=1, extra_args=extra, env={}, resources=Resources("8", "64Gi"),
                           shared_memory="16Gi", engine_config=engine or {})


def graph(backend: str | Backend, *, mode: Mode = "disagg", nodes: int = 2, gpus: int = 4, tp: int | None = None,
          pool: str = "h100-efa", name: str | None = None, extra: tuple[str, ...] = (),
          router: RouterMode = "kv", release: DynamoRelease = DEFAULT_RELEASE,
          transport: TransportPlan = UPSTREAM_DEFAULTS) -> GraphSpec:
    roles = ROLES_BY_MODE[mode]
    profile = backend if isinstance(backend, Backend) else backend_named(backend)
    return GraphSpec(
        name=name or f"{profile.name}-{mode}", backend=profile, model="Qwen/Qwen3-0.6B",
        served_model_name="Qwen/Qwen3-0.6B", mode=mode, image=release.runtime_image(profile),
        frontend=FrontendSpec(replicas=1, router_mode=router, http_port=8000, resources=Resources("1", "2Gi")),
        groups=tuple(group(r, pool=pool, nodes=nodes, gpus=gpus, tp=tp, extra=extra) for r in roles),
        use_model_cache=True, use_hf_token=True, check_parallelism=True, ready_timeout_minutes=60,
        release=release, transport=transport)


def trtllm_engine_config(group: WorkerGroupSpec, *, efa: bool = False,
                         trust_remote_code: bool = False) -> dict[str, Any]:
    """The engine configuration TensorRT-LLM's profile writes for `group`."""
    spec = replace(graph("trtllm"), trust_remote_code=trust_remote_code, groups=(group,))
    config = commands.engine_config(spec, group, efa=efa)
    assert config is not None
    return config


def group_of(spec: GraphSpec, role: Role) -> WorkerGroupSpec:
    """The graph's worker group of `role`."""
    found = [g for g in spec.groups if g.role == role]
    if not found:
        raise KeyError(f"graph {spec.name} has no {role} group")
    return found[0]


def existing_pool(shape: PoolShape) -> NodePoolSettings:
    """Settings of an existing-nodes pool whose shape places pods as `shape` does."""
    taints = tuple(Taint(t["key"], t["effect"], t.get("value")) for t in shape.tolerations)  # type: ignore[arg-type]
    return NodePoolSettings(
        name=shape.name, gpu_model=shape.gpu_model, gpus_per_node=shape.gpus_per_node,
        gpu_memory_gib=shape.gpu_memory_gib, instance_type=shape.instance_type,
        nodes=ExistingNodes(node_selector=shape.node_selector, nodes=shape.max_nodes, taints=taints,
                               efa_interfaces=shape.efa_interfaces, availability_zone=shape.availability_zone))


def engine_args(container: dict[str, Any]) -> list[str]:
    """The arguments a worker container's engine gets (after `python3 -m <module>`), through the
    library-path wrapper of EFA workers."""
    argv = engine_command_line(list(container["command"]), list(container["args"]))
    assert argv[:2] == ["python3", "-m"], argv
    return argv[3:]
