"""The objects of one data-path preflight run, as pure functions returning manifests (plain dicts).

- a Namespace ``dynamo-preflight-<run id>``, labelled as the preflight's (``dynamo-cluster/preflight:
  dataplane``, the run id) with Pod Security ``privileged`` (its pods are privileged, as EFA
  workers are: `components.namespaces.component.pod_security_labels`). Deleting it deletes the rest.
- a single-member etcd (the image the project pins, `components.etcd.manifests.IMAGE`) as a Pod and
  a ClusterIP Service ``etcd``, through which the two nixlbench pods of each pool find each other.
- per pool and node, a sanity Job pinned to the node (node affinity on ``metadata.name``) that takes
  all of its GPUs and EFA interfaces and runs `script.sanity_script` in a worker image;
- per pool, two image-check Jobs and two nixlbench Jobs on two distinct nodes: pinned to the nodes,
  and kept apart by a required pod anti-affinity on ``kubernetes.io/hostname`` as well. A benchmark
  pod is privileged with IPC_LOCK, and asks for one GPU, the EFA interfaces a one-GPU worker gets,
  huge pages where the pool has them, and a memory-backed /dev/shm.

Every Job has ``backoffLimit: 0`` (a crash is a result, never retried) and an
``activeDeadlineSeconds`` past the runner's own wait, and the etcd pod one past the whole run, so a
run killed before it could clean up leaves nothing running for long.
"""

from __future__ import annotations

import hashlib
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from components.dynamo.datapath import HUGE_PAGES_RESOURCE
from components.dynamo.dgd import EFA_RESOURCE, GPU_RESOURCE, efa_security_context
from components.etcd import settings as etcd
from components.etcd.flags import EtcdNode, EtcdPeer, EtcdTuning, etcd_args
from components.kit.spread import anti_affinity
from components.namespaces.manifests import pod_security_labels
from stacks.preflight.dataplane.script import PULL_SCRIPT, sanity_script
from stacks.preflight.dataplane.targets import PoolTarget

PREFLIGHT_LABEL = "dynamo-cluster/preflight"
PREFLIGHT_VALUE = "dataplane"
RUN_LABEL = "dynamo-cluster/preflight-run"
STEP_LABEL = "dynamo-cluster/preflight-step"
POOL_LABEL = "dynamo-cluster/preflight-pool"
JOB_LABEL = "dynamo-cluster/preflight-job"
NODE_ANNOTATION = "dynamo-cluster/preflight-node"
IMAGE_ANNOTATION = "dynamo-cluster/preflight-image"
SANITY, PULL, BENCH, ETCD = "sanity", "image-check", "nixlbench", "etcd"
ETCD_NAME = "etcd"
SANITY_CONTAINER, PULL_CONTAINER, BENCH_CONTAINER = "sanity", "image-check", "nixlbench"
# Seconds a Job may run past the runner's wait before Kubernetes stops it, and the etcd pod past
# every wait of a run.
DEADLINE_GRACE_S = 120
LIBFABRIC = "LIBFABRIC"
VRAM = "VRAM"
# nixlbench's block-size sweep (its defaults, written out so the run does not depend on them).
START_BLOCK_BYTES = 4 << 10
MAX_BLOCK_BYTES = 64 << 20
_NAME_BUDGET = 63  # a Job's name is a label value of its pods (job-name)


@dataclass(frozen=True)
class Run:
    """One run: its id (six hex digits), the nixlbench image, how long each wait may take."""

    run_id: str
    nixlbench_image: str
    timeout_s: int

    @property
    def namespace(self) -> str:
        return f"dynamo-preflight-{self.run_id}"

    @property
    def job_deadline_s(self) -> int:
        return self.timeout_s + DEADLINE_GRACE_S

    @property
    def run_deadline_s(self) -> int:
        """The longest a run can take: its four waits (sanity, image check, etcd, benchmark)."""
        return 4 * self.timeout_s + DEADLINE_GRACE_S

    def benchmark_group(self, pool: str) -> str:
        return f"{pool}-{self.run_id}"


def _short(name: str, suffix: str) -> str:
    """`name` + `suffix` within the name budget: a long `name` is cut and keeps a hash of itself."""
    if len(name) + len(suffix) <= _NAME_BUDGET:
        return name + suffix
    digest = hashlib.sha1(name.encode()).hexdigest()[:6]
    return f"{name[:_NAME_BUDGET - len(suffix) - 7].rstrip('-')}-{digest}{suffix}"


def sanity_job_name(pool: str, node_index: int, image_index: int, images: int) -> str:
    return _short(pool, f"-sanity-{node_index}" + (f"-{image_index}" if images > 1 else ""))


def pull_job_name(pool: str, index: int) -> str:
    return _short(pool, f"-image-check-{index}")


def bench_job_name(pool: str, index: int) -> str:
    return _short(pool, f"-nixlbench-{index}")


def run_labels(run: Run, step: str | None = None, pool: str | None = None) -> dict[str, str]:
    out = {"app.kubernetes.io/part-of": "dynamo-cluster", "app.kubernetes.io/managed-by": "dynamo-cluster-preflight",
           PREFLIGHT_LABEL: PREFLIGHT_VALUE, RUN_LABEL: run.run_id}
    if step is not None:
        out[STEP_LABEL] = step
    if pool is not None:
        out[POOL_LABEL] = pool
    return out


def namespace(run: Run) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": run.namespace, "labels": {**run_labels(run), **pod_security_labels("privileged")}}}


# -- etcd ------------------------------------------------------------------------------------------
def etcd_client_url() -> str:
    """What the nixlbench pods are given: the Service's short name, in their own namespace."""
    return f"http://{ETCD_NAME}:{etcd.CLIENT_PORT}"


def etcd_pod(run: Run) -> dict[str, Any]:
    peer = EtcdPeer(ETCD_NAME, "http://127.0.0.1:2380")
    node = EtcdNode(name=ETCD_NAME, data_dir="/var/lib/etcd/data",
                    listen_client_urls=f"http://0.0.0.0:{etcd.CLIENT_PORT}",
                    listen_peer_urls=peer.peer_url, listen_metrics_urls=f"http://0.0.0.0:{etcd.METRICS_PORT}",
                    advertise_client_urls=etcd_client_url(), advertise_peer_url=peer.peer_url)
    tuning = EtcdTuning(quota_backend_bytes=256 << 20, auto_compaction_retention="1h")
    labels = run_labels(run, ETCD)
    probe = {"httpGet": {"path": "/readyz", "port": etcd.METRICS_PORT, "scheme": "HTTP"}, "periodSeconds": 2,
             "failureThreshold": 3, "timeoutSeconds": 2}
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": ETCD_NAME, "namespace": run.namespace, "labels": labels},
        "spec": {
            "restartPolicy": "Never",
            "activeDeadlineSeconds": run.run_deadline_s,
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "terminationGracePeriodSeconds": 5,
            "securityContext": {"runAsNonRoot": True, "runAsUser": etcd.USER_ID, "runAsGroup": etcd.USER_ID,
                                "fsGroup": etcd.USER_ID, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{
                "name": ETCD,
                "image": etcd.IMAGE,
                "imagePullPolicy": "IfNotPresent",
                "command": ["etcd"],
                "args": etcd_args(node, [peer], cluster_token=run.namespace, tuning=tuning,
                                  version=etcd.IMAGE.rsplit(":", 1)[1]),
                "ports": [{"name": "client", "containerPort": etcd.CLIENT_PORT, "protocol": "TCP"}],
                "readinessProbe": probe,
                "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}},
                "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                    "capabilities": {"drop": ["ALL"]}},
                "volumeMounts": [{"name": "data", "mountPath": "/var/lib/etcd"}],
            }],
            "volumes": [{"name": "data", "emptyDir": {}}],
        },
    }


def etcd_service(run: Run) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": ETCD_NAME, "namespace": run.namespace, "labels": run_labels(run, ETCD)},
        "spec": {"type": "ClusterIP", "selector": run_labels(run, ETCD),
                 "ports": [{"name": "client", "port": etcd.CLIENT_PORT, "targetPort": "client", "protocol": "TCP"}]},
    }


# -- Jobs ------------------------------------------------------------------------------------------
def _on_node(node: str) -> dict[str, Any]:
    """Node affinity to exactly `node` (by name, as the DaemonSet controller places pods)."""
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]}}}


def _job(run: Run, target: PoolTarget, *, name: str, step: str, node: str, pod_spec: dict[str, Any],
         annotations: Mapping[str, str] | None = None) -> dict[str, Any]:
    labels = run_labels(run, step, target.name)
    spec = {
        "restartPolicy": "Never",
        "nodeSelector": dict(target.pool.node_selector),
        "tolerations": [dict(t) for t in target.pool.tolerations],
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": 5,
        **pod_spec,
    }
    spec["affinity"] = {**_on_node(node), **spec.get("affinity", {})}
    if not spec["nodeSelector"]:
        del spec["nodeSelector"]
    if not spec["tolerations"]:
        del spec["tolerations"]
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "namespace": run.namespace, "labels": labels,
                     "annotations": {NODE_ANNOTATION: node, **(annotations or {})}},
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": run.job_deadline_s,
            "template": {"metadata": {"labels": {**labels, JOB_LABEL: name}}, "spec": spec},
        },
    }


def _shm_volume(target: PoolTarget) -> dict[str, Any]:
    return {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": target.shared_memory}}


_SHM_MOUNT = {"name": "shm", "mountPath": "/dev/shm"}


def sanity_job(run: Run, target: PoolTarget, node: str, node_index: int, image_index: int) -> dict[str, Any]:
    """The node taken whole (every GPU and EFA interface), the script run in the workers' image."""
    image = target.images[image_index]
    pool = target.pool
    container = {
        "name": SANITY_CONTAINER,
        "image": image.image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["/bin/sh", "-c"],
        "args": [sanity_script()],
        # No memory limit: /dev/shm is then as big as its sizeLimit.
        "resources": {"requests": {"cpu": "1", "memory": "1Gi", EFA_RESOURCE: str(pool.efa_interfaces)},
                      "limits": {GPU_RESOURCE: str(pool.gpus_per_node), EFA_RESOURCE: str(pool.efa_interfaces)}},
        "securityContext": efa_security_context(),
        "volumeMounts": [_SHM_MOUNT],
    }
    name = sanity_job_name(target.name, node_index, image_index, len(target.images))
    return _job(run, target, name=name, step=SANITY, node=node,
                pod_spec={"containers": [container], "volumes": [_shm_volume(target)]},
                annotations={IMAGE_ANNOTATION: image.image})


def pull_job(run: Run, target: PoolTarget, node: str, index: int) -> dict[str, Any]:
    """Pulls the nixlbench image onto a benchmark node and checks that it holds nixlbench."""
    container = {
        "name": PULL_CONTAINER,
        "image": run.nixlbench_image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["/bin/sh", "-c"],
        "args": [PULL_SCRIPT],
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
    }
    return _job(run, target, name=pull_job_name(target.name, index), step=PULL, node=node,
                pod_spec={"containers": [container]})


def nixlbench_command(run: Run, target: PoolTarget) -> list[str]:
    return ["nixlbench", "--etcd_endpoints", etcd_client_url(), "--backend", LIBFABRIC,
            "--initiator_seg_type", VRAM, "--target_seg_type", VRAM,
            "--start_block_size", str(START_BLOCK_BYTES), "--max_block_size", str(MAX_BLOCK_BYTES),
            "--benchmark_group", run.benchmark_group(target.name)]


def bench_job(run: Run, target: PoolTarget, node: str, index: int) -> dict[str, Any]:
    """One of the pool's two nixlbench pods (nixlbench makes the first to register the initiator)."""
    requests: dict[str, str] = {"cpu": "4", "memory": "16Gi", EFA_RESOURCE: str(target.bench_efa)}
    limits: dict[str, str] = {GPU_RESOURCE: "1", EFA_RESOURCE: str(target.bench_efa)}
    if target.bench_huge_pages:
        # Huge pages are not overcommitted: the request equals the limit.
        requests[HUGE_PAGES_RESOURCE] = limits[HUGE_PAGES_RESOURCE] = target.bench_huge_pages
    container = {
        "name": BENCH_CONTAINER,
        "image": run.nixlbench_image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["/bin/sh", "-c"],
        "args": ["exec " + shlex.join(nixlbench_command(run, target))],
        "env": [{"name": k, "value": v} for k, v in sorted(target.bench_env.items())],
        "resources": {"requests": requests, "limits": limits},
        "securityContext": efa_security_context(),
        "volumeMounts": [_SHM_MOUNT],
    }
    apart = anti_affinity({RUN_LABEL: run.run_id, STEP_LABEL: BENCH, POOL_LABEL: target.name}, required=True)
    return _job(run, target, name=bench_job_name(target.name, index), step=BENCH, node=node,
                pod_spec={"containers": [container], "volumes": [_shm_volume(target)], "affinity": apart})
