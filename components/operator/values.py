"""The dynamo-platform chart's settings and values, as pure functions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components.dynamo.releases import DynamoRelease
from components.dynamo.transport import TransportPlan
from components.dynamo.words import GangScheduling
from components.kit.charts import ChartRef
from components.kit.kube import secret_manifest
from components.kit.ref import Deferred, Ref
from components.kit.resources import Resources
from components.nodes.shape import PoolShape


@dataclass(frozen=True)
class OperatorSettings:
    release: DynamoRelease
    chart: ChartRef  # the release's chart, from the repository config names
    release_name: str
    image_tag: str | None
    gang_scheduling: GangScheduling  # auto: Grove + KAI when any graph spans nodes
    resources: Resources
    timeout_seconds: int


@dataclass(frozen=True)
class OperatorWiring:
    """Endpoints and names from the rest of the environment (plain or Outputs), as the stack's
    transport plan wires them: NATS only when a plane uses it, etcd only when discovery is etcd."""

    transport: TransportPlan
    nats_url: Ref | None
    etcd_url: Ref | None
    prometheus_url: Ref | None
    pull_secret: Ref | None
    # etcd's CA and client certificate (secretKeyRef entries), for an operator that reaches etcd
    etcd_env: Sequence[Mapping[str, Any]] = ()

    def __post_init__(self) -> None:
        if self.transport.uses_nats != (self.nats_url is not None):
            raise ValueError(f"NATS is {'' if self.transport.uses_nats else 'not '}in the transport plan "
                             f"({self.transport.describe()}): wire its URL exactly then")
        if self.transport.uses_etcd != (self.etcd_url is not None):
            raise ValueError(f"etcd is {'' if self.transport.uses_etcd else 'not '}in the transport plan "
                             f"({self.transport.describe()}): wire its endpoints exactly then")


def gang_scheduling_on(settings: OperatorSettings, any_multinode: bool) -> bool:
    return settings.gang_scheduling == "grove" or (settings.gang_scheduling == "auto" and any_multinode)


# KAI's stale-PodGroup grace period, as the 1.5 and later dynamo-platform charts require it with Grove.
STALENESS_KEY = "default-staleness-grace-period"
KAI_NO_STALENESS_EVICTION = "-1"


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
    """Values of the dynamo-platform chart (1.4 and later): the chart's own NATS and etcd stay off
    (ours are wired with `natsAddr` / `etcdAddr` when the transport plan uses them), Grove and the
    KAI scheduler are installed when a graph spans nodes, and the operator keeps off GPU nodes.
    Never the `nats.enabled`-style keys of 1.1, which the 1.2+ chart refuses."""
    gang = gang_scheduling_on(settings, any_multinode)
    manager: dict[str, Any] = {"resources": settings.resources.to_k8s()}
    if settings.image_tag:
        manager["image"] = {"tag": settings.image_tag}
    operator: dict[str, Any] = {
        "upgradeCRD": True,
        "discoveryBackend": wiring.transport.discovery,
        "controllerManager": {"affinity": off_gpu_nodes(gpu_pools), "manager": manager},
        # NIXL telemetry is scraped by each graph's own PodMonitor, of the workers that export it.
        "dynamo": {"metrics": {"podMonitors": {"enabled": pod_monitors, "nixlTelemetry": False}}},
    }
    if wiring.nats_url is not None:
        operator["natsAddr"] = wiring.nats_url
    if wiring.etcd_url is not None:
        operator["etcdAddr"] = wiring.etcd_url
    if wiring.etcd_env:
        # etcd accepts only clients with a certificate of the stack's CA: the operator gets the
        # client certificate the graphs get, by Secret reference (the values hold no key material).
        operator["env"] = [dict(entry) for entry in wiring.etcd_env]
    if wiring.prometheus_url is not None:
        operator["dynamo"]["metrics"]["prometheusEndpoint"] = wiring.prometheus_url
    if wiring.pull_secret is not None:
        operator["imagePullSecrets"] = [{"name": wiring.pull_secret}]
    # Grove's chart takes no placement values; KAI's take a global affinity (docs/decisions.md).
    kai: dict[str, Any] = {"global": {"affinity": off_gpu_nodes(gpu_pools)}}
    if gang and settings.release.kai_staleness_check:
        # Grove owns PodGroup termination: the chart refuses bundled KAI with Grove unless KAI's own
        # stale-PodGroup eviction is off, which it checks as the string "-1" (not a duration such as -1s).
        kai["scheduler"] = {"args": {STALENESS_KEY: KAI_NO_STALENESS_EVICTION}}
    return {
        "global": {
            "nats": {"install": False},
            "etcd": {"install": False},
            "grove": {"install": gang, "enabled": gang},
            "kai-scheduler": {"install": gang, "enabled": gang},
        },
        "dynamo-operator": operator,
        "kai-scheduler": kai,
    }


def values_keys(values: Mapping[str, Any], prefix: str = "") -> set[str]:
    """The dotted keys of a values tree, down to its leaves and to maps the chart takes whole
    (affinity, resources)."""
    out: set[str] = set()
    for key, value in values.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value and not path.endswith(("affinity", "resources")):
            out |= values_keys(value, path)
        else:
            out.add(path)
    return out


def dockerconfigjson_secret(name: str, namespace: Ref, registry: str, password: Deferred) -> dict[str, Any]:
    """An image pull Secret for NVIDIA's registry (user `$oauthtoken`, the NGC API key as password)."""
    import base64
    import json

    def config(key: str) -> str:
        auth = base64.b64encode(f"$oauthtoken:{key}".encode()).decode()
        return json.dumps({"auths": {registry: {"username": "$oauthtoken", "password": key, "auth": auth}}})

    return secret_manifest(name, namespace, {".dockerconfigjson": password.apply(config)}, component="image-pull",
                           kind="kubernetes.io/dockerconfigjson")
