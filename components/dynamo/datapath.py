"""The data path of a worker group: how its KV caches (and, across nodes, its tensors) travel, and
everything a pod needs for that to happen at line rate over EFA. Pure functions of the graph, the
group and the pool it runs on: the recipe is derived from the pool, never from a flag to remember.

Facts, from Dynamo's EFA guide (Dynamo 1.4, "EFA" under the EKS cloud-provider pages) unless noted:

- NIXL, which moves KV caches between prefill and decode workers, defaults to UCX, which over EFA
  lands on TCP (about 100 s time to first token instead of about 1 s, silently). The LIBFABRIC
  backend must be chosen, the way each backend takes it: vLLM in `--kv-transfer-config`
  (`kv_connector_extra_config.backends: ["LIBFABRIC"]`), SGLang with
  `SGLANG_DISAGGREGATION_NIXL_BACKEND`, TensorRT-LLM with `TRTLLM_NIXL_KVCACHE_BACKEND` (its engine
  configuration also names NIXL as the cache transceiver, since TensorRT-LLM's DEFAULT transceiver
  is not NIXL in every release: NVIDIA/TensorRT-LLM PR 9352 moved it to UCX).
- Required on every EFA worker: `FI_PROVIDER=efa`, `FI_EFA_USE_DEVICE_RDMA=1`,
  `FI_EFA_ENABLE_SHM_TRANSFER=0`, `FI_EFA_ENABLE_SHM=0`, and the EFA libraries first on the library
  path (`/opt/amazon/efa/lib`, `/opt/amazon/efa/lib64`, `/opt/aws-ofi-nccl/lib`, then the image's).
  Recommended: `FI_EFA_FORK_SAFE=0`, `FI_EFA_MR_MAX_CACHED_COUNT=524288`,
  `FI_EFA_MR_MAX_CACHED_SIZE=0`, and `FI_EFA_USE_HUGE_PAGE=1` with 5120Mi of `hugepages-2Mi` per pod
  where the nodes provide huge pages.
- `privileged: true` (IPC_LOCK alone is not enough for NIXL to register GPU memory with the NIC),
  `/dev/shm` of 80Gi, and the release's `-efa` runtime image (which carries the EFA installer).

Departures, each for a reason (docs/decisions.md):

- The library path cannot be an env entry: Kubernetes does not expand `${LD_LIBRARY_PATH}`, so the
  guide's value would replace the image's library path (and its CUDA and NIXL directories). The
  worker runs under `/bin/sh -c`, which puts the guide's directories ahead of the image's path and
  then execs the engine; that is the shell-wrapper form into which the operator injects its
  multi-node flags ("direct Python commands or shell wrappers", Dynamo's multinode deployment
  guide). A TensorRT-LLM worker that spans nodes keeps its plain command, which the operator wraps
  in mpirun (propagating the container's env to every rank: the multinode deployment guide), so it
  gets `LD_LIBRARY_PATH` as an env value written out in full, with no `${LD_LIBRARY_PATH}` left to
  expand: the guide's three EFA directories, then the image's (`Backend.efa_image_library_path`,
  whose sources the TensorRT-LLM profile cites). Neither the guide nor anything else we read says
  what the image's own LD_LIBRARY_PATH holds (the guide only appends it), so that value is not
  carried over; the directories listed are also in the image's ld.so.cache, where the loader looks
  after LD_LIBRARY_PATH. A group's `env` may set its own `LD_LIBRARY_PATH` (a custom `efaImage`
  with other directories).
- Multi-node tensor parallelism goes over NCCL and its EFA plugin (aws-ofi-nccl). AWS's aws-ofi-nccl
  environment notes (aws/aws-ofi-nccl, doc/efa-env-var.md) say current versions need no NCCL
  variables on p5; workers that span nodes get `NCCL_DEBUG=INFO` for the INIT and NET subsystems so
  the transport NCCL chose is in the log (`verify --dataplane` reads it).
- NIXL telemetry (`NIXL_TELEMETRY_*`, port 19090, which the operator declares as the worker port
  `nixl`; a PodMonitor of the graph scrapes it) is on for disaggregated workers whose pods run one
  NIXL agent (one GPU). Each tensor-parallel rank runs an agent in its own process, and NIXL up to
  1.4.0 fails to create an agent whose telemetry port another process holds (ai-dynamo/nixl, fixed
  after 1.4.0 by PR 1898): `nixlTelemetry: on` forces it for a NIXL with the fix.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field

from components.dynamo.backends.base import LIBFABRIC
from components.dynamo.spec import GraphSpec, WorkerGroupSpec
from components.dynamo.words import DISAGG_ROLES
from components.nodes.shape import PoolShape

NIXL_TELEMETRY_PORT = 19090
HUGE_PAGES_RESOURCE = "hugepages-2Mi"
HUGE_PAGES_PER_POD = "5120Mi"
HUGE_PAGES_PER_POD_BYTES = 5120 << 20
# /dev/shm of a worker on an EFA pool, as the guide sizes it.
EFA_SHARED_MEMORY = "80Gi"
# The guide's library path, in its order; the image's own path follows.
EFA_LIBRARY_PATH = ("/opt/amazon/efa/lib", "/opt/amazon/efa/lib64", "/opt/aws-ofi-nccl/lib")
_EFA_REQUIRED = {"FI_PROVIDER": "efa", "FI_EFA_USE_DEVICE_RDMA": "1", "FI_EFA_ENABLE_SHM_TRANSFER": "0",
                 "FI_EFA_ENABLE_SHM": "0"}
_EFA_TUNING = {"FI_EFA_FORK_SAFE": "0", "FI_EFA_MR_MAX_CACHED_COUNT": "524288", "FI_EFA_MR_MAX_CACHED_SIZE": "0"}
_NCCL_VISIBLE = {"NCCL_DEBUG": "INFO", "NCCL_DEBUG_SUBSYS": "INIT,NET"}


@dataclass(frozen=True)
class DataPath:
    """What one worker group's pods get for their data path, and how the plan describes it."""

    efa: bool  # the pool has EFA interfaces
    transfer: str  # how KV caches move: "NIXL over LIBFABRIC (EFA RDMA)", "NIXL over UCX", "none"
    rdma: bool
    reason: str  # why the KV transfer is not RDMA ("" when it is)
    image: str
    env: Mapping[str, str] = field(default_factory=dict)
    privileged: bool = False
    huge_pages: str | None = None  # hugepages-2Mi per pod
    library_path: tuple[str, ...] = ()  # put first on the library path by the command wrapper
    # (an unwrapped worker's LD_LIBRARY_PATH is in `env` instead: `unwrapped_library_path`)
    nixl_telemetry: bool = False
    telemetry_note: str = ""


def pods_per_node(group: WorkerGroupSpec, pool: PoolShape) -> int:
    """How many of the group's pods can share a node (multi-node replicas hold their nodes whole)."""
    if group.multinode or group.gpus_per_node == 0:
        return 1
    return max(1, pool.gpus_per_node // group.gpus_per_node)


def uses_huge_pages(group: WorkerGroupSpec, pool: PoolShape) -> bool:
    """Whether the pool's nodes provide the huge pages the group's pods would take."""
    return pool.has_efa and pool.huge_pages_bytes >= HUGE_PAGES_PER_POD_BYTES * pods_per_node(group, pool)


def wraps_command(spec: GraphSpec, group: WorkerGroupSpec) -> bool:
    """Whether the worker's command can run under the library-path wrapper: the operator injects its
    multi-node flags into a shell wrapper for most engines, but replaces the command of some (a
    TensorRT-LLM worker that spans nodes) with mpirun (`Backend.wraps_command`)."""
    return spec.backend.wraps_command(group.multinode)


def unwrapped_library_path(spec: GraphSpec) -> str:
    """LD_LIBRARY_PATH of an EFA worker that runs without the wrapper, written out in full: the
    guide's EFA directories, then the directories the backend's `-efa` image needs."""
    return ":".join((*EFA_LIBRARY_PATH, *spec.backend.efa_image_library_path))


def _telemetry(spec: GraphSpec, group: WorkerGroupSpec) -> tuple[bool, str]:
    if group.role not in DISAGG_ROLES or not spec.backend.moves_kv:
        return False, "no KV transfer (aggregated or simulated)"
    if spec.nixl_telemetry == "off":
        return False, "nixlTelemetry is off"
    if spec.nixl_telemetry == "on":
        return True, "nixlTelemetry is on"
    if group.gpus_per_node <= 1:
        return True, "one NIXL agent per pod"
    return False, (f"{group.gpus_per_node} NIXL agents per pod would share port {NIXL_TELEMETRY_PORT}, which "
                   "NIXL up to 1.4.0 makes fatal for all but one; nixlTelemetry: on for a NIXL with the fix")


def telemetry_env() -> dict[str, str]:
    return {"NIXL_TELEMETRY_ENABLE": "y", "NIXL_TELEMETRY_EXPORTER": "prometheus",
            "NIXL_TELEMETRY_PROMETHEUS_PORT": str(NIXL_TELEMETRY_PORT)}


def runs_on_efa(spec: GraphSpec, pools: Mapping[str, PoolShape]) -> bool:
    """Whether any of the graph's workers get the EFA recipe (and so run privileged)."""
    return spec.backend.gpus and any(g.pool in pools and pools[g.pool].has_efa for g in spec.groups)


def exports_nixl_telemetry(spec: GraphSpec, pools: Mapping[str, PoolShape]) -> bool:
    """Whether NIXL's own telemetry (agent_*_total on port 19090) is on for any of the graph's workers."""
    return any(g.pool in pools and data_path(spec, g, pools[g.pool]).nixl_telemetry for g in spec.groups)


def data_path(spec: GraphSpec, group: WorkerGroupSpec, pool: PoolShape) -> DataPath:
    """The data path of `group`'s pods on `pool`."""
    telemetry, note = _telemetry(spec, group)
    env: dict[str, str] = telemetry_env() if telemetry else {}
    disagg = group.role in DISAGG_ROLES and spec.backend.moves_kv
    if not (pool.has_efa and spec.backend.gpus):
        transfer = "NIXL over UCX" if disagg else "none"
        if not spec.backend.moves_kv:
            reason = "simulated engine: no KV transfer"
        elif not disagg:
            reason = "aggregated: no KV transfer"
        else:
            reason = f"pool {pool.name} has no EFA interfaces: NIXL's default transport (UCX, over TCP between nodes)"
        return DataPath(efa=False, transfer=transfer, rdma=False, reason=reason, image=spec.image, env=env,
                        nixl_telemetry=telemetry, telemetry_note=note)
    huge = uses_huge_pages(group, pool)
    env.update(_EFA_REQUIRED)
    env.update(_EFA_TUNING)
    env["FI_EFA_USE_HUGE_PAGE"] = "1" if huge else "0"
    if disagg:
        env.update(spec.backend.nixl_backend_env())
    if group.multinode:
        env.update(_NCCL_VISIBLE)
    wrapped = wraps_command(spec, group)
    if not wrapped:
        env["LD_LIBRARY_PATH"] = unwrapped_library_path(spec)
    return DataPath(
        efa=True, transfer=f"NIXL over {LIBFABRIC} (EFA RDMA)" if disagg else "none", rdma=disagg,
        reason="" if disagg else "aggregated: no KV transfer (tensors across nodes go over NCCL on EFA)",
        image=spec.efa_image or spec.release.runtime_image(spec.backend, efa=True), env=env, privileged=True,
        huge_pages=HUGE_PAGES_PER_POD if huge else None,
        library_path=EFA_LIBRARY_PATH if wrapped else (), nixl_telemetry=telemetry,
        telemetry_note=note)


def wrapped_command(command: list[str], args: list[str],
                    library_path: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """(command, args) of a container that first puts `library_path` ahead of the image's library
    path (the shell expands the image's value, which Kubernetes would not) and then execs the engine,
    which stays the container's main process. Every word of the engine's command line is quoted for
    the shell, so JSON arguments arrive as they were."""
    if not library_path:
        return command, args
    prefix = ":".join(library_path)
    script = (f'export LD_LIBRARY_PATH="{prefix}${{LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}}"; '
              f"exec {shlex.join([*command, *args])}")
    return ["/bin/sh", "-c"], [script]


_EXEC = "; exec "


def engine_command_line(command: list[str], args: list[str]) -> list[str]:
    """The engine's command line (program and arguments) of a worker container, seen through the
    library-path wrapper: what the shell execs."""
    if command == ["/bin/sh", "-c"] and len(args) == 1 and _EXEC in args[0]:
        return shlex.split(args[0].split(_EXEC, 1)[1])
    return [*command, *args]
