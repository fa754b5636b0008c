"""The Dynamo operator: NVIDIA's dynamo-platform chart, wired to our NATS, etcd and Prometheus.

The chart's bundled NATS and etcd are off; the operator gets our endpoints (`natsAddr`,
`etcdAddr`, `discoveryBackend`) and injects them into every pod of every graph (as NATS_SERVER and
ETCD_ENDPOINTS). The operator does not connect to NATS itself, so it gets no NATS credentials; the
graphs get them from the `nats-auth` Secret, never inside `natsAddr` (which would put the password
into Helm values and every pod's environment). It applies its own
CRDs from a pre-install/pre-upgrade hook (`upgradeCRD`), so the release being ready is what graphs
wait for (`crds_ready`). When a graph spans nodes, Grove (multi-node orchestration) and the KAI
scheduler (gang scheduling: all pods of a replica start together or not at all) are installed with
it. The operator itself never runs on GPU nodes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from components.common import Resources
from components.helm import ChartRef, helm_release
from components.kube import KubeObject, labels
from components.monitoring import Monitoring
from components.placement import PoolShape

TYPE = "dynamo-cluster:components:DynamoOperator"
GANG_SCHEDULING = ("auto", "grove", "none")


@dataclass(frozen=True)
class OperatorSettings:
    chart: ChartRef
    release_name: str
    image_tag: str | None
    gang_scheduling: str          # auto: Grove + KAI when any graph spans nodes
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


class DynamoOperator(pulumi.ComponentResource):
    """The dynamo-platform release. `crds_ready` is the handle graphs depend on."""

    crds_ready: pulumi.Resource
    release_name: pulumi.Output[str]
    namespace: pulumi.Output[str]

    def __init__(self, name: str, settings: OperatorSettings, *, namespace: pulumi.Input[str],
                 wiring: OperatorWiring, gpu_pools: Sequence[PoolShape], any_multinode: bool,
                 monitoring: Monitoring | None, opts: pulumi.ResourceOptions) -> None:
        super().__init__(TYPE, name, None, opts)
        values = operator_values(settings, wiring, gpu_pools=gpu_pools, any_multinode=any_multinode,
                                 pod_monitors=monitoring is not None)
        # The operator creates PodMonitors for graphs when observability is on: their CRDs first.
        after = [monitoring.crds_ready] if monitoring is not None else None
        release = helm_release(f"{name}-release", chart=settings.chart, release_name=settings.release_name,
                               namespace=namespace, values=values, timeout_seconds=settings.timeout_seconds,
                               opts=pulumi.ResourceOptions(parent=self, depends_on=after))
        self.crds_ready = release
        self.release_name = release.name.apply(str)
        self.namespace = release.namespace.apply(str)
        self.register_outputs({"releaseName": self.release_name, "namespace": self.namespace})


class PullSecret(pulumi.ComponentResource):
    """The same image pull Secret in each namespace that pulls from NVIDIA's registry."""

    names: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, *, secret_name: str, registry: str, password: pulumi.Output[str],
                 namespaces: Mapping[str, pulumi.Input[str]], opts: pulumi.ResourceOptions) -> None:
        super().__init__("dynamo-cluster:components:PullSecret", name, None, opts)
        self.names = {}
        for role, namespace in sorted(namespaces.items()):
            obj = KubeObject(f"{name}-{role}", dockerconfigjson_secret(secret_name, namespace, registry, password),
                             pulumi.ResourceOptions(parent=self))
            self.names[role] = obj.name
        self.register_outputs(dict(self.names))
