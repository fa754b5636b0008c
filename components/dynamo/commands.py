"""The command lines of a graph's pods: each worker group's, from its backend's profile
(`components.dynamo.backends`), and the frontend's. Pure functions of the graph's settings.

Multi-node rank and address flags are not here: the Dynamo operator injects them into each pod of a
multi-node replica.
"""

from __future__ import annotations

from typing import Any

from components.dynamo.backends.base import Worker
from components.dynamo.spec import GraphSpec, WorkerGroupSpec

WORKDIR = "/workspace"


def publishes_kv_events(spec: GraphSpec, group: WorkerGroupSpec) -> bool:
    """Whether the group's workers are told to publish KV events: when the frontend routes by KV and
    the event plane carries them, the workers the router picks by cache overlap do (an aggregated
    graph's workers, a disaggregated graph's prefill workers), as upstream's *_router examples have
    it. A backend that publishes them without a flag needs no telling."""
    return (spec.frontend.router_mode == "kv" and spec.transport.kv_events and not spec.backend.kv_events_without_flag
            and group.role in ("worker", "prefill"))


def worker(spec: GraphSpec, group: WorkerGroupSpec, *, efa: bool = False) -> Worker:
    """What the group's backend makes its command line from. `efa`: the group runs on an EFA pool."""
    return Worker(
        role=group.role, model=spec.engine_model, served_model_name=spec.served_model_name,
        tensor_parallel=group.tensor_parallel, pipeline_parallel=group.pipeline_parallel,
        expert_parallel=group.expert_parallel, multinode=group.multinode, efa=efa,
        kv_events=publishes_kv_events(spec, group), kv_router=spec.frontend.router_mode == "kv",
        trust_remote_code=spec.trust_remote_code, load_format=spec.load_format,
        loader_concurrency=spec.loader_concurrency, engine_config=group.engine_config,
        release=spec.release.backend(spec.backend.name), extra_args=group.extra_args)


def worker_command(spec: GraphSpec) -> list[str]:
    return spec.backend.command()


def worker_args(spec: GraphSpec, group: WorkerGroupSpec, *, efa: bool = False) -> list[str]:
    """The worker's arguments: its backend's, then the group's extra ones from config."""
    return spec.backend.worker_args(worker(spec, group, efa=efa)) + list(group.extra_args)


def engine_config(spec: GraphSpec, group: WorkerGroupSpec, *, efa: bool = False) -> dict[str, Any] | None:
    """The engine configuration file the group's workers read, for a backend that reads one."""
    return spec.backend.engine_config(worker(spec, group, efa=efa))


def frontend_args(spec: GraphSpec) -> list[str]:
    """The frontend's HTTP port and router; a KV router with the event plane off routes on its own
    prediction of what each worker caches, and does not listen for KV events."""
    args = ["--http-port", str(spec.frontend.http_port), "--router-mode", spec.frontend.router_mode]
    if spec.frontend.router_mode == "kv" and not spec.transport.kv_events:
        args.append("--no-router-kv-events")
    return args
