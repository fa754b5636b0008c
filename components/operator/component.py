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

import pulumi

from components.nodes.shape import PoolShape
from components.operator.values import OperatorSettings, OperatorWiring, dockerconfigjson_secret, operator_values
from components.register.helm import helm_release
from components.register.kube import KubeObject
from components.register.monitoring import Monitoring

TYPE = "dynamo-cluster:components:DynamoOperator"


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
