"""One Dynamo graph deployment: its DynamoGraphDeployment and, for TensorRT-LLM, the ConfigMap of
engine configurations its workers mount."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import pulumi

from components.dynamo.dgd import GraphWiring, dgd_manifest, disruption_budgets, engine_configmap
from components.dynamo.spec import GraphSpec
from components.kit.kube import KubeObject
from components.nodes.shape import PoolShape

TYPE = "dynamo-cluster:components:DynamoGraph"


class DynamoGraph(pulumi.ComponentResource):
    """Registers the graph after the operator's CRDs exist (`crds_ready`) and the node pools it runs
    on (`nodes_ready`), and waits, through the `pulumi.com/waitFor` annotation, until the operator
    reports it `successful`. On destroy it goes before the operator and the pools, because it
    depends on them."""

    name_output: pulumi.Output[str]

    def __init__(self, name: str, spec: GraphSpec, *, pools: Mapping[str, PoolShape], wiring: GraphWiring,
                 crds_ready: pulumi.Resource, opts: pulumi.ResourceOptions,
                 nodes_ready: Sequence[pulumi.Resource] = ()) -> None:
        super().__init__(TYPE, name, None, opts)
        self.spec = spec
        child = pulumi.ResourceOptions(parent=self)
        if spec.backend == "trtllm":
            configmap = KubeObject(f"{name}-engine-config",
                                   engine_configmap(spec, f"{spec.name}-engine-config", wiring.namespace), child)
            wiring = replace(wiring, engine_configmap=configmap.name)
        dgd = KubeObject(f"{name}-dgd", dgd_manifest(spec, pools, wiring),
                         pulumi.ResourceOptions(parent=self, depends_on=[crds_ready, *nodes_ready],
                                                custom_timeouts=pulumi.CustomTimeouts(
                                                    create=f"{spec.ready_timeout_minutes}m",
                                                    update=f"{spec.ready_timeout_minutes}m")))
        for budget in disruption_budgets(spec, wiring.namespace):
            KubeObject(f"{name}-pdb-{budget['metadata']['name']}", budget, child)
        self.name_output = dgd.name
        self.register_outputs({"name": self.name_output})
