"""The DynamoGraphDeployment of a graph, as a pure function of its settings and the pools it runs on.

The manifest is a `nvidia.com/v1beta1` DynamoGraphDeployment: `spec.components[]`, one `frontend`
component and one per worker group (`worker` for agg, `prefill` and `decode` for disagg), each with
its `type`, `replicas`, `multinode.nodeCount` when a replica spans nodes, `sharedMemorySize`, and a
`podTemplate` whose container `main` carries the backend's command line, env, resources (GPU and
EFA as extended resources) and volumes. Placement derives from the pool: node selector,
tolerations, EFA device requests, and on EFA pools an anti-affinity that keeps a graph's prefill and
decode pods off each other's nodes (each gets its node's EFA bandwidth to itself). What the stack's
transport plan implies (the planes, the discovery backend) is set here too, from `spec.transport`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components.dynamo import commands, datapath
from components.dynamo.backends.base import ENGINE_CONFIG_DIR, engine_config_file
from components.dynamo.spec import FRONTEND, GraphSpec, WorkerGroupSpec
from components.dynamo.transport import DISCOVERY_ANNOTATION
from components.dynamo.words import DISAGG_ROLES, Role
from components.kit.kube import secret_env_var, secret_manifest
from components.kit.ref import Ref
from components.kit.spread import anti_affinity
from components.nodes.shape import PoolShape
from components.storage.downloads import ModelRef, model_ref, wait_init_container

KIND = "DynamoGraphDeployment"
GPU_RESOURCE = "nvidia.com/gpu"
EFA_RESOURCE = "vpc.amazonaws.com/efa"
GRAPH_LABEL = "dynamo-cluster/graph"
ROLE_LABEL = "dynamo-cluster/role"
# On pods whose NIXL agents export telemetry: what the graph's NIXL PodMonitor selects.
NIXL_TELEMETRY_LABEL = "dynamo-cluster/nixl-telemetry"
# The worker port the operator declares for NIXL telemetry (19090).
NIXL_PORT_NAME = "nixl"
# The container the operator fills in with its defaults (the CRD requires one named so).
MAIN_CONTAINER = "main"
MODEL_CACHE_VOLUME = "model-cache"
ENGINE_CONFIG_VOLUME = "engine-config"
# The operator learns the runtime's version from a semantic-version image tag; any other tag (a
# suffixed one such as `1.4.2-efa` included, which semver would read as a pre-release of 1.4.2)
# comes with runtimeVersionOverride.
_PLAIN_VERSION_TAG = re.compile(r"^[vV]?\d+\.\d+\.\d+$")



@dataclass(frozen=True)
class GraphWiring:
    """What the rest of the environment hands a graph. Names may be Outputs, so that the graph
    depends on the objects they name."""

    namespace: Ref
    env: Sequence[Mapping[str, Any]] = ()           # graph-wide env (NATS credentials, tracing)
    hf_token_secret: Ref | None = None
    pull_secret: Ref | None = None
    model_cache_claim: Ref | None = None
    model_cache_path: str = "/models"
    engine_configmap: Ref | None = None  # TensorRT-LLM engine configuration
    # How long a pod waits for its model's download Job (`model_download`); None: models are not
    # downloaded by a Job, and pods neither wait nor are kept offline.
    model_wait_seconds: int | None = None


def pod_labels(spec: GraphSpec, role: str) -> dict[str, str]:
    return {GRAPH_LABEL: spec.name, ROLE_LABEL: role}


def efa_per_pod(group: WorkerGroupSpec, pool: PoolShape) -> int:
    """EFA interfaces a pod asks for: its share of the node's interfaces, by GPUs."""
    if not pool.has_efa or pool.gpus_per_node == 0:
        return 0
    return max(1, pool.efa_interfaces * group.gpus_per_node // pool.gpus_per_node)


def image_tag(image: str) -> str | None:
    """The tag of an image reference, or None (a digest, or no tag)."""
    if "@" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[1] if ":" in last else None


def worker_env_secret_name(spec: GraphSpec, group: WorkerGroupSpec) -> str:
    """The Secret that holds a worker group's env entries set as secrets."""
    return f"{spec.name}-{group.role}-env"


def worker_env_secret(spec: GraphSpec, group: WorkerGroupSpec, namespace: Ref) -> dict[str, Any]:
    """The Secret of a group's secret env entries, each value an `Output.secret` (the plan shows
    `[secret]`, the state keeps it encrypted)."""
    return secret_manifest(worker_env_secret_name(spec, group), namespace,
                           {name: value.value for name, value in sorted(group.secret_env.items())},
                           labels_=pod_labels(spec, group.role))


def efa_security_context() -> dict[str, Any]:
    """The security context of a worker on an EFA pool, as Dynamo's EFA guide requires it: NIXL
    registers GPU memory with the EFA NIC, which IPC_LOCK alone does not allow."""
    return {"privileged": True, "capabilities": {"add": ["IPC_LOCK"]}}


def _worker_resources(group: WorkerGroupSpec, pool: PoolShape, path: datapath.DataPath) -> dict[str, Any]:
    out = group.resources.to_k8s()
    requests: dict[str, Any] = dict(out["requests"])
    limits: dict[str, Any] = dict(out["limits"])
    if group.gpus_per_node:
        limits[GPU_RESOURCE] = str(group.gpus_per_node)
    efa = efa_per_pod(group, pool) if path.efa else 0
    if efa:
        requests[EFA_RESOURCE] = str(efa)
        limits[EFA_RESOURCE] = str(efa)
    if path.huge_pages:
        # Huge pages are not overcommitted: the request equals the limit.
        requests[datapath.HUGE_PAGES_RESOURCE] = path.huge_pages
        limits[datapath.HUGE_PAGES_RESOURCE] = path.huge_pages
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


def _main_container(spec: GraphSpec, wiring: GraphWiring, *, image: str, command: list[str], args: list[str],
                    env: Mapping[str, str], resources: dict[str, Any],
                    mounts: list[dict[str, Any]]) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": MAIN_CONTAINER,
        "image": image,
        "workingDir": commands.WORKDIR,
        "command": command,
        "args": args,
        "env": _env_list(env),
        "resources": resources,
    }
    if spec.use_hf_token and wiring.hf_token_secret is not None:
        container["envFrom"] = [{"secretRef": {"name": wiring.hf_token_secret}}]
    if mounts:
        container["volumeMounts"] = mounts
    return container


def waits_for(spec: GraphSpec, wiring: GraphWiring) -> ModelRef | None:
    """The model a graph's pods wait for in the cache (its download Job's), or None."""
    if wiring.model_wait_seconds is None or wiring.model_cache_claim is None:
        return None
    return model_ref(spec)


def _pod_template(spec: GraphSpec, wiring: GraphWiring, role: str, container: dict[str, Any], *,
                  pool: PoolShape | None = None, grace: int | None = None, affinity: dict[str, Any] | None = None,
                  volumes: list[dict[str, Any]] | None = None, telemetry: bool = False) -> dict[str, Any]:
    pod: dict[str, Any] = {}
    ref = waits_for(spec, wiring)
    if ref is not None and wiring.model_wait_seconds is not None:
        # Pods start their engine once the model's download Job has put the model in the cache.
        pod["initContainers"] = [wait_init_container(ref, image=container["image"], mount_path=wiring.model_cache_path,
                                                     volume=MODEL_CACHE_VOLUME, wait_seconds=wiring.model_wait_seconds)]
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
    pod["containers"] = [container]
    labels = pod_labels(spec, role)
    if telemetry:
        labels[NIXL_TELEMETRY_LABEL] = "true"
    return {"metadata": {"labels": labels}, "spec": pod}


def _cache_volume(spec: GraphSpec, wiring: GraphWiring) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(volumes, mounts) of the shared model cache, when the graph uses it."""
    if not spec.use_model_cache or wiring.model_cache_claim is None:
        return [], []
    return ([{"name": MODEL_CACHE_VOLUME, "persistentVolumeClaim": {"claimName": wiring.model_cache_claim}}],
            [{"name": MODEL_CACHE_VOLUME, "mountPath": wiring.model_cache_path}])


def _component(spec: GraphSpec, name: str, kind: str, replicas: int, pod_template: dict[str, Any], *,
               image: str) -> dict[str, Any]:
    component: dict[str, Any] = {"name": name, "type": kind, "replicas": replicas, "podTemplate": pod_template}
    tag = image_tag(image)
    if tag is None or not _PLAIN_VERSION_TAG.match(tag):
        component["runtimeVersionOverride"] = spec.release.version
    return component


def frontend_component(spec: GraphSpec, wiring: GraphWiring) -> dict[str, Any]:
    volumes, mounts = _cache_volume(spec, wiring)
    container = _main_container(spec, wiring, image=spec.image, command=["python3", "-m", "dynamo.frontend"],
                                args=commands.frontend_args(spec), env={"OTEL_SERVICE_NAME": f"{spec.name}-frontend"},
                                resources=spec.frontend.resources.to_k8s(), mounts=mounts)
    return _component(spec, FRONTEND, "frontend", spec.frontend.replicas,
                      _pod_template(spec, wiring, FRONTEND, container, volumes=volumes), image=spec.image)


def worker_component(spec: GraphSpec, group: WorkerGroupSpec, pool: PoolShape, wiring: GraphWiring) -> dict[str, Any]:
    """A worker group's component. Its data path comes from its pool (`datapath.data_path`): on an
    EFA pool the EFA image, the LIBFABRIC switches, the FI_* settings, the library path, huge pages
    and the privileged security context; elsewhere none of it."""
    path = datapath.data_path(spec, group, pool)
    volumes, mounts = _cache_volume(spec, wiring)
    if wiring.engine_configmap is not None:
        mounts.append({"name": ENGINE_CONFIG_VOLUME, "mountPath": ENGINE_CONFIG_DIR, "readOnly": True})
        volumes.append({"name": ENGINE_CONFIG_VOLUME, "configMap": {"name": wiring.engine_configmap}})
    worker = commands.worker(spec, group, efa=path.efa)
    command, args = datapath.wrapped_command(commands.worker_command(spec),
                                             commands.worker_args(spec, group, efa=path.efa), path.library_path)
    # The group's own env comes last: a key set there replaces the data path's and the engine's.
    env = {"OTEL_SERVICE_NAME": f"{spec.name}-{group.role}", **spec.backend.worker_env(worker), **path.env,
           **group.env}
    for name in group.secret_env:  # a secret entry replaces a plain one of the same name
        env.pop(name, None)
    container = _main_container(spec, wiring, image=path.image, command=command, args=args, env=env,
                                resources=_worker_resources(group, pool, path), mounts=mounts)
    container["env"] += [secret_env_var(name, worker_env_secret_name(spec, group)) for name in sorted(group.secret_env)]
    if path.privileged:
        container["securityContext"] = efa_security_context()
    component = _component(spec, group.role, group.role, group.replicas, _pod_template(
        spec, wiring, group.role, container, pool=pool, grace=group.termination_grace_seconds,
        affinity=_apart_from_other_role(spec, group, pool), volumes=volumes, telemetry=path.nixl_telemetry),
        image=path.image)
    if group.multinode:
        component["multinode"] = {"nodeCount": group.nodes}
    component["sharedMemorySize"] = group.shared_memory
    return component


def graph_env(spec: GraphSpec, wiring: GraphWiring) -> list[Any]:
    """Environment every pod of the graph gets: what the environment hands over, the planes of the
    transport plan, and what the backend needs. What a pool needs (EFA) is the workers' own env."""
    env: list[Any] = list(wiring.env)
    plain: dict[str, str] = dict(spec.transport.runtime_env())
    if spec.use_model_cache and wiring.model_cache_claim is not None:
        plain["HF_HOME"] = wiring.model_cache_path
    if waits_for(spec, wiring) is not None:
        # The model is in the cache before any pod starts (its download Job): engines load it from
        # there and never ask the Hub, so a missing file fails at once instead of downloading.
        plain["HF_HUB_OFFLINE"] = "1"
    plain.update(spec.backend.graph_env())
    return env + _env_list(plain)


def dgd_manifest(spec: GraphSpec, pools: Mapping[str, PoolShape], wiring: GraphWiring) -> dict[str, Any]:
    """The DynamoGraphDeployment; the operator reports it ready with `status.state: successful`."""
    components = [frontend_component(spec, wiring)]
    components += [worker_component(spec, group, pools[group.pool], wiring) for group in spec.groups]
    body: dict[str, Any] = {}
    if spec.backend.framework is not None:
        body["backendFramework"] = spec.backend.framework
    body["env"] = graph_env(spec, wiring)
    body["components"] = components
    annotations = {
        # pulumi-kubernetes waits for this before it calls the graph created or updated (for as long
        # as the resource's custom timeouts allow: model download and load).
        "pulumi.com/waitFor": "jsonpath={.status.state}=successful",
    }
    if spec.transport.uses_etcd:
        annotations[DISCOVERY_ANNOTATION] = "etcd"
    return {
        "apiVersion": spec.release.api_version,
        "kind": KIND,
        "metadata": {"name": spec.name, "namespace": wiring.namespace, "labels": {GRAPH_LABEL: spec.name},
                     "annotations": annotations},
        "spec": body,
    }


def engine_configmap(spec: GraphSpec, pools: Mapping[str, PoolShape], name: str,
                     namespace: Ref) -> dict[str, Any] | None:
    """The per-role engine configuration files of a backend that reads one (TensorRT-LLM), one key per
    worker group; None for the others."""
    import yaml

    configs = {g.role: commands.engine_config(spec, g, efa=datapath.data_path(spec, g, pools[g.pool]).efa)
               for g in spec.groups}
    data = {engine_config_file(role): yaml.safe_dump(config, sort_keys=True)
            for role, config in configs.items() if config is not None}
    if not data:
        return None
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace, "labels": {GRAPH_LABEL: spec.name}},
            "data": data}


def nixl_pod_monitor(spec: GraphSpec, namespace: Ref) -> dict[str, Any]:
    """A PodMonitor for the NIXL telemetry of the graph's workers that export it (their pods carry
    NIXL_TELEMETRY_LABEL), on the `nixl` port the operator declares on every worker. Only those pods:
    a worker without the exporter would be a target that is always down."""
    return {
        "apiVersion": "monitoring.coreos.com/v1", "kind": "PodMonitor",
        "metadata": {"name": f"{spec.name}-nixl", "namespace": namespace, "labels": {GRAPH_LABEL: spec.name}},
        "spec": {
            "selector": {"matchLabels": {GRAPH_LABEL: spec.name, NIXL_TELEMETRY_LABEL: "true"}},
            "podMetricsEndpoints": [{"port": NIXL_PORT_NAME, "path": "/metrics"}],
        },
    }


def disruption_budgets(spec: GraphSpec, namespace: Ref) -> list[dict[str, Any]]:
    """PodDisruptionBudgets that let node drains and scale-ins take one replica at a time.

    A multi-node replica is one engine over several pods: losing any pod loses the replica, so a
    group may lose at most one replica's pods (`maxUnavailable: nodes`). A group of one replica gets
    no budget: one that kept it would block every drain, and one that did not would protect nothing.
    """
    groups: list[tuple[str, int, int]] = [(FRONTEND, spec.frontend.replicas, 1)]
    groups += [(g.role, g.replicas, g.nodes) for g in spec.groups]
    return [{
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": f"{spec.name}-{role}", "namespace": namespace,
                     "labels": {GRAPH_LABEL: spec.name, ROLE_LABEL: role}},
        "spec": {"maxUnavailable": pods_per_replica, "selector": {"matchLabels": pod_labels(spec, role)}},
    } for role, replicas, pods_per_replica in groups if replicas > 1]
