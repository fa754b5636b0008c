"""The dynamo-platform chart's settings and values, as pure functions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from components.dynamo.words import GangScheduling
from components.kit.charts import ChartRef
from components.kit.kube import labels
from components.kit.resources import Resources
from components.nodes.shape import PoolShape


@dataclass(frozen=True)
class OperatorSettings:
    chart: ChartRef
    release_name: str
    image_tag: str | None
    gang_scheduling: GangScheduling  # auto: Grove + KAI when any graph spans nodes
    resources: Resources
    timeout_seconds: int


@dataclass(frozen=True)
class OperatorWiring:
    """Endpoints and names from the rest of the environment (plain or Outputs)."""

    nats_url: pulumi.Input[str]
    etcd_url: pulumi.Input[str] | None            # None: Kubernetes-native discovery
    prometheus_url: pulumi.Input[str] | None
    pull_secret: pulumi.Input[str] | None


def gang_scheduling_on(settings: OperatorSettings, any_multinode: bool) -> bool:
    return settings.gang_scheduling == "grove" or (settings.gang_scheduling == "auto" and any_multinode)


def off_gpu_nodes(gpu_pools: Sequence[PoolShape]) -> dict[str, Any]:
    """Node affinity that keeps a pod off every GPU node: off nodes the GPU operator labelled, and
    off each GPU pool's own nodes."""
    expressions: list[dict[str, Any]] = [{"key": "nvidia.com/gpu.present", "operator": "DoesNotExist"}]
    for pool in sorted(gpu_pools, key=lambda p: p.name):
        for key, value in sorted(pool.node_selector.items()):
            expressions.append({"key": key, "operator": "NotIn", "values": [value]})
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": expressions}]}}}


def operator_values(settings: OperatorSettings, wiring: OperatorWiring, *, gpu_pools: Sequence[PoolShape],
                    any_multinode: bool, pod_monitors: bool) -> dict[str, Any]:
    """Values of the dynamo-platform chart."""
    gang = gang_scheduling_on(settings, any_multinode)
    manager: dict[str, Any] = {"resources": settings.resources.to_k8s()}
    if settings.image_tag:
        manager["image"] = {"tag": settings.image_tag}
    operator: dict[str, Any] = {
        "upgradeCRD": True,
        "natsAddr": wiring.nats_url,
        "discoveryBackend": "etcd" if wiring.etcd_url is not None else "kubernetes",
        "controllerManager": {"affinity": off_gpu_nodes(gpu_pools), "manager": manager},
        "dynamo": {"metrics": {"podMonitors": {"enabled": pod_monitors}}},
    }
    if wiring.etcd_url is not None:
        operator["etcdAddr"] = wiring.etcd_url
    if wiring.prometheus_url is not None:
        operator["dynamo"]["metrics"]["prometheusEndpoint"] = wiring.prometheus_url
    if wiring.pull_secret is not None:
        operator["imagePullSecrets"] = [{"name": wiring.pull_secret}]
    return {
        "global": {
            "etcd": {"install": False},
            "grove": {"install": gang, "enabled": gang},
            "kai-scheduler": {"install": gang, "enabled": gang},
        },
        "nats": {"enabled": False},
        "dynamo-operator": operator,
        "grove": {"affinity": off_gpu_nodes(gpu_pools)},
        "kai-scheduler": {"global": {"affinity": off_gpu_nodes(gpu_pools)}},
    }


def dockerconfigjson_secret(name: str, namespace: pulumi.Input[str], registry: str,
                            password: pulumi.Output[str]) -> dict[str, Any]:
    """An image pull Secret for NVIDIA's registry (user `$oauthtoken`, the NGC API key as password)."""
    import base64
    import json

    def config(key: str) -> str:
        auth = base64.b64encode(f"$oauthtoken:{key}".encode()).decode()
        return json.dumps({"auths": {registry: {"username": "$oauthtoken", "password": key, "auth": auth}}})

    return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
            "metadata": {"name": name, "namespace": namespace, "labels": labels(name, "image-pull")},
            "stringData": {".dockerconfigjson": password.apply(config)}}
