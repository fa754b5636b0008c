"""The DynamoGraphDeployment of a graph, as a pure function of its settings and the pools it runs on.

The manifest matches the `nvidia.com/v1alpha1` DynamoGraphDeployment CRD: a `Frontend` service
and one worker service per group (`worker` for agg, `prefill` and `decode` for disagg), each with
its `componentType`/`subComponentType`, `multinode.nodeCount` when a replica spans nodes, GPU
limits per pod, the backend's command line, and placement derived from the pool: node selector,
tolerations, EFA device requests, and on EFA pools an anti-affinity that keeps a graph's prefill
and decode pods off each other's nodes (each gets its node's EFA bandwidth to itself).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from components.dynamo import backends
from components.dynamo.spec import GraphSpec, WorkerGroupSpec
from components.dynamo.words import DISAGG_ROLES, Role
from components.kit.spread import anti_affinity
from components.nodes.shape import PoolShape

API_VERSION = "nvidia.com/v1alpha1"
KIND = "DynamoGraphDeployment"
EFA_RESOURCE = "vpc.amazonaws.com/efa"
GRAPH_LABEL = "dynamo-cluster/graph"
ROLE_LABEL = "dynamo-cluster/role"
FRONTEND = "Frontend"


@dataclass(frozen=True)
class GraphWiring:
    """What the rest of the environment hands a graph. Names may be Outputs, so that the graph
    depends on the objects they name."""

    namespace: pulumi.Input[str]
    env: Sequence[Mapping[str, Any]] = ()           # graph-wide env (NATS credentials, tracing)
    hf_token_secret: pulumi.Input[str] | None = None
    pull_secret: pulumi.Input[str] | None = None
    model_cache_claim: pulumi.Input[str] | None = None
    model_cache_path: str = "/models"
    engine_configmap: pulumi.Input[str] | None = None  # TensorRT-LLM engine configuration


def service_name(group: WorkerGroupSpec) -> str:
    return group.role


def pod_labels(spec: GraphSpec, role: str) -> dict[str, str]:
    return {GRAPH_LABEL: spec.name, ROLE_LABEL: role}


def efa_per_pod(group: WorkerGroupSpec, pool: PoolShape) -> int:
    """EFA interfaces a pod asks for: its share of the node's interfaces, by GPUs."""
    if not pool.has_efa or pool.gpus_per_node == 0:
        return 0
    return max(1, pool.efa_interfaces * group.gpus_per_node // pool.gpus_per_node)


def _resources(group: WorkerGroupSpec, pool: PoolShape) -> dict[str, Any]:
    base = group.resources.to_k8s()
    requests: dict[str, Any] = dict(base["requests"])
    limits: dict[str, Any] = dict(base["limits"])
    if group.gpus_per_node:
        limits["gpu"] = str(group.gpus_per_node)
    efa = efa_per_pod(group, pool)
    if efa:
        requests["custom"] = {EFA_RESOURCE: str(efa)}
        limits["custom"] = {EFA_RESOURCE: str(efa)}
    return {"requests": requests, "limits": limits}


def _apart_from_other_role(spec: GraphSpec, group: WorkerGroupSpec, pool: PoolShape) -> dict[str, Any] | None:
    """On EFA pools, a graph's prefill and decode pods never share a node: each gets its node's EFA
    bandwidth to itself."""
    if not pool.has_efa or group.role not in DISAGG_ROLES:
        return None
    other: Role = "decode" if group.role == "prefill" else "prefill"
    return anti_affinity(pod_labels(spec, other), required=True)


def _env_list(env: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"name": k, "value": v} for k, v in sorted(env.items())]


def _pod_spec(wiring: GraphWiring, container: dict[str, Any], *, pool: PoolShape | None = None,
              grace: int | None = None, affinity: dict[str, Any] | None = None,
              volumes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    pod: dict[str, Any] = {}
    if pool is not None:
        if pool.node_selector:
            pod["nodeSelector"] = dict(pool.node_selector)
        if pool.tolerations:
            pod["tolerations"] = [dict(t) for t in pool.tolerations]
    if affinity:
        pod["affinity"] = affinity
    if grace is not None:
        pod["terminationGracePeriodSeconds"] = grace
    if wiring.pull_secret is not None:
        pod["imagePullSecrets"] = [{"name": wiring.pull_secret}]
    if volumes:
        pod["volumes"] = volumes
    pod["mainContainer"] = container
    return pod


def _common(spec: GraphSpec, wiring: GraphWiring, role: str) -> dict[str, Any]:
    service: dict[str, Any] = {}
    if spec.use_hf_token and wiring.hf_token_secret is not None:
        service["envFromSecret"] = wiring.hf_token_secret
    if spec.use_model_cache and wiring.model_cache_claim is not None:
        service["volumeMounts"] = [{"name": wiring.model_cache_claim, "mountPoint": wiring.model_cache_path}]
    service["extraPodMetadata"] = {"labels": pod_labels(spec, role)}
    return service


def frontend_service(spec: GraphSpec, wiring: GraphWiring) -> dict[str, Any]:
    container = {
        "image": spec.image,
        "workingDir": backends.WORKDIR,
        "command": ["python3", "-m", "dynamo.frontend"],
        "args": backends.frontend_args(spec),
        "env": _env_list({"OTEL_SERVICE_NAME": f"{spec.name}-frontend"}),
    }
    return {
        "componentType": "frontend",
        "replicas": spec.frontend.replicas,
        **_common(spec, wiring, "frontend"),
        "resources": spec.frontend.resources.to_k8s(),
        "extraPodSpec": _pod_spec(wiring, container),
    }


def worker_service(spec: GraphSpec, group: WorkerGroupSpec, pool: PoolShape, wiring: GraphWiring) -> dict[str, Any]:
    container: dict[str, Any] = {
        "image": spec.image,
        "workingDir": backends.WORKDIR,
        "command": backends.worker_command(spec),
        "args": backends.worker_args(spec, group),
        "env": _env_list({"OTEL_SERVICE_NAME": f"{spec.name}-{group.role}", **group.env}),
    }
    volumes = None
    if spec.backend == "trtllm" and wiring.engine_configmap is not None:
        container["volumeMounts"] = [{"name": "engine-config", "mountPath": backends.TRTLLM_CONFIG_DIR,
                                      "readOnly": True}]
        volumes = [{"name": "engine-config", "configMap": {"name": wiring.engine_configmap}}]
    service: dict[str, Any] = {
        "componentType": "worker",
        "replicas": group.replicas,
        **_common(spec, wiring, group.role),
        "resources": _resources(group, pool),
        "sharedMemory": {"size": group.shared_memory},
        "extraPodSpec": _pod_spec(wiring, container, pool=pool, grace=group.termination_grace_seconds,
                                  affinity=_apart_from_other_role(spec, group, pool), volumes=volumes),
    }
    if group.role in DISAGG_ROLES:
        service["subComponentType"] = group.role
    if group.multinode:
        service["multinode"] = {"nodeCount": group.nodes}
    return service


def graph_env(spec: GraphSpec, wiring: GraphWiring, pools: Mapping[str, PoolShape]) -> list[Any]:
    """Environment every pod of the graph gets."""
    env: list[Any] = list(wiring.env)
    plain: dict[str, str] = {}
    if spec.use_model_cache and wiring.model_cache_claim is not None:
        plain["HF_HOME"] = wiring.model_cache_path
    if spec.backend == "trtllm":
        # TensorRT-LLM launches multi-GPU engines with MPI, which refuses to run as root by default.
        plain["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        plain["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
    if any(pools[g.pool].has_efa for g in spec.groups):
        # NIXL and NCCL reach EFA through libfabric.
        plain["FI_PROVIDER"] = "efa"
        plain["FI_EFA_USE_DEVICE_RDMA"] = "1"
    return env + _env_list(plain)


def dgd_manifest(spec: GraphSpec, pools: Mapping[str, PoolShape], wiring: GraphWiring) -> dict[str, Any]:
    """The DynamoGraphDeployment; the operator reports it ready with `status.state: successful`."""
    services: dict[str, Any] = {FRONTEND: frontend_service(spec, wiring)}
    for group in spec.groups:
        services[service_name(group)] = worker_service(spec, group, pools[group.pool], wiring)
    body: dict[str, Any] = {"services": services}
    if spec.backend != "mocker":
        body["backendFramework"] = spec.backend
    env = graph_env(spec, wiring, pools)
    if env:
        body["envs"] = env
    if spec.use_model_cache and wiring.model_cache_claim is not None:
        body["pvcs"] = [{"name": wiring.model_cache_claim, "create": False}]
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {
            "name": spec.name,
            "namespace": wiring.namespace,
            "labels": {GRAPH_LABEL: spec.name},
            # pulumi-kubernetes waits for this before it calls the graph created or updated (for
            # as long as the resource's custom timeouts allow: model download and load).
            "annotations": {"pulumi.com/waitFor": "jsonpath={.status.state}=successful"},
        },
        "spec": body,
    }


def engine_configmap(spec: GraphSpec, name: str, namespace: pulumi.Input[str]) -> dict[str, Any]:
    """TensorRT-LLM's per-role engine configuration files, one key per worker group."""
    import yaml

    data = {backends.trtllm_config_file(g): yaml.safe_dump(backends.trtllm_engine_config(g), sort_keys=True)
            for g in spec.groups}
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace, "labels": {GRAPH_LABEL: spec.name}},
            "data": data}


def disruption_budgets(spec: GraphSpec, namespace: pulumi.Input[str]) -> list[dict[str, Any]]:
    """PodDisruptionBudgets that let node drains and scale-ins take one replica at a time.

    A multi-node replica is one engine over several pods: losing any pod loses the replica, so a
    group may lose at most one replica's pods (`maxUnavailable: nodes`). A group of one replica gets
    no budget: one that kept it would block every drain, and one that did not would protect nothing.
    """
    groups: list[tuple[str, int, int]] = [("frontend", spec.frontend.replicas, 1)]
    groups += [(g.role, g.replicas, g.nodes) for g in spec.groups]
    return [{
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": f"{spec.name}-{role}", "namespace": namespace,
                     "labels": {GRAPH_LABEL: spec.name, ROLE_LABEL: role}},
        "spec": {"maxUnavailable": pods_per_replica, "selector": {"matchLabels": pod_labels(spec, role)}},
    } for role, replicas, pods_per_replica in groups if replicas > 1]
