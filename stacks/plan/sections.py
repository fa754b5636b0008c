"""The summary's sections about Dynamo: the release the stack deploys, its transport plan (which
servers it runs, and why) and each graph's data path, as pure functions of the config."""

from __future__ import annotations

from components.dynamo.backends import publishes_kv_events
from components.dynamo.datapath import data_path
from components.dynamo.dgd import efa_per_pod
from stacks.config import StackConfig


def release_lines(config: StackConfig) -> list[str]:
    release = config.dynamo.release
    operator = config.dynamo.operator
    return [
        f"- Dynamo {release.version}: chart {operator.chart.name} {operator.chart.version} from "
        f"{operator.chart.repository}, graphs as `{release.api_version}` DynamoGraphDeployments (the CRD stores "
        f"{release.crd_storage_version}), bundled Grove {release.grove_version} and KAI scheduler "
        f"{release.kai_version} (installed when a graph spans nodes).",
        f"- Runtime images `{release.image_tag}` (`{release.efa_image_tag}` on EFA pools) of "
        f"`{release.runtime_image('vllm').rsplit('/', 1)[0]}`"
        + ("" if release.artifacts_confirmed else "; not read from a published artifact list (see Warnings)") + ".",
    ]


def transport_lines(config: StackConfig) -> list[str]:
    plan = config.transport
    nats, etcd = config.nats, config.etcd
    lines = [
        f"- Discovery **{plan.discovery}**, event plane **{plan.event_plane}**, request plane "
        f"**{plan.request_plane}** (`dynamo.*`).",
        "- NATS JetStream: " + (
            f"deployed, {nats.replicas} server{'s' if nats.replicas > 1 else ''}, because {plan.nats_reason()}"
            if nats is not None and plan.uses_nats else
            f"deployed (nats.enabled) but wired to nothing: {plan.nats_reason()}" if nats is not None else
            f"not deployed: {plan.nats_reason()}") + ".",
        "- etcd: " + (
            f"deployed, {etcd.replicas} member{'s' if etcd.replicas > 1 else ''}, because {plan.etcd_reason()}"
            if etcd is not None and plan.uses_etcd else
            f"deployed (etcd.enabled) but wired to nothing: {plan.etcd_reason()}" if etcd is not None else
            f"not deployed: {plan.etcd_reason()}") + ".",
    ]
    for graph in config.dynamo.graphs:
        publishers = [g.role for g in graph.groups if publishes_kv_events(graph, g)]
        if graph.frontend.router_mode != "kv":
            routing = f"routes {graph.frontend.router_mode}; no KV events"
        elif not plan.kv_events:
            routing = "routes by KV prediction (`--no-router-kv-events`): the event plane carries no KV events"
        elif publishers:
            routing = f"routes by KV events that its {' and '.join(publishers)} workers publish over {plan.event_plane}"
        else:
            routing = f"routes by KV events the {graph.backend} workers emit without a flag"
        lines.append(f"- Graph `{graph.name}` {routing}.")
    return lines


def data_path_lines(config: StackConfig) -> list[str]:
    """Per graph and worker group: how KV caches move, whether over RDMA (and why not), the image,
    and what the EFA recipe gives the pods."""
    graphs = config.dynamo.graphs
    if not graphs:
        return ["No graphs."]
    shapes = config.pool_shapes
    lines: list[str] = []
    for graph in graphs:
        lines.append(f"- Graph `{graph.name}` ({graph.backend}, {graph.mode}):")
        for group in graph.groups:
            pool = shapes.get(group.pool)
            if pool is None:
                continue
            path = data_path(graph, group, pool)
            rdma = "RDMA" if path.rdma else f"no RDMA: {path.reason}"
            parts = [f"{path.transfer}, {rdma}", f"image `{path.image}`"]
            if path.efa:
                efa = efa_per_pod(group, pool)
                parts.append(f"{efa} EFA interface{'s' if efa != 1 else ''} per pod, privileged, "
                             f"/dev/shm {group.shared_memory}, huge pages "
                             + (f"{path.huge_pages} per pod" if path.huge_pages else
                                f"off (pool {pool.name} provides {pool.huge_pages_2mi} per node)"))
                if group.multinode:
                    parts.append("tensors across nodes over NCCL on EFA (aws-ofi-nccl), NCCL transport logged")
            if group.role in ("prefill", "decode") and graph.backend != "mocker":
                parts.append(f"NIXL telemetry {'on' if path.nixl_telemetry else 'off'} ({path.telemetry_note})")
            lines.append(f"  - {group.role} on `{pool.name}`: " + "; ".join(parts) + ".")
    return lines
