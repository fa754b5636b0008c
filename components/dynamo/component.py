"""One Dynamo graph deployment: its DynamoGraphDeployment and, for TensorRT-LLM, the ConfigMap of
engine configurations its workers mount."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pulumi

from components.dynamo.datapath import exports_nixl_telemetry
from components.dynamo.dgd import (
    KIND,
    GraphWiring,
    dgd_manifest,
    disruption_budgets,
    engine_configmap,
    nixl_pod_monitor,
    worker_env_secret,
)
from components.dynamo.spec import GraphSpec
from components.kit.kube import type_token
from components.nodes.component import GpuNodePool
from components.register.kube import KubeObject
from components.register.monitoring import Monitoring

TYPE = "dynamo-cluster:components:DynamoGraph"


class DynamoGraph(pulumi.ComponentResource):
    """Registers the graph after the operator's CRDs exist (`crds_ready`) and the node pools it runs
    on (`pools`: its placement, tolerations and EFA requests come from their shapes), and waits,
    through the `pulumi.com/waitFor` annotation, until the operator reports it `successful`. On
    destroy it goes before the operator and the pools, because it depends on them. With
    `monitoring`, the NIXL telemetry of its workers is scraped by a PodMonitor of its own."""

    name_output: pulumi.Output[str]

    def __init__(self, name: str, spec: GraphSpec, *, pools: Sequence[GpuNodePool], wiring: GraphWiring,
                 crds_ready: pulumi.Resource, opts: pulumi.ResourceOptions,
                 monitoring: Monitoring | None = None) -> None:
        by_name = {pool.shape.name: pool for pool in pools}
        missing = sorted({g.pool for g in spec.groups} - set(by_name))
        if missing:
            raise ValueError(f"graph {spec.name}: runs on pools {', '.join(missing)}, which were not given")
        used = [by_name[name] for name in sorted({g.pool for g in spec.groups})]
        super().__init__(TYPE, name, None, opts)
        self.spec = spec
        child = pulumi.ResourceOptions(parent=self)
        shapes = {p.shape.name: p.shape for p in used}
        engine = engine_configmap(spec, shapes, f"{spec.name}-engine-config", wiring.namespace)
        if engine is not None:
            configmap = KubeObject(f"{name}-engine-config", engine, child)
            wiring = replace(wiring, engine_configmap=configmap.name)
        manifest = dgd_manifest(spec, shapes, wiring)
        # Env entries set as secrets live in a Secret per group, which the graph's pods reference.
        secrets = [KubeObject(f"{name}-{group.role}-env", worker_env_secret(spec, group, wiring.namespace), child)
                   for group in spec.groups if group.secret_env]
        # Earlier API versions of the same object: moving to this one is an update of the graph, not
        # a replacement (which would delete the serving graph before creating it again).
        aliases = [pulumi.Alias(type_=type_token(version, KIND)) for version in spec.release.earlier_api_versions]
        dgd = KubeObject(f"{name}-dgd", manifest,
                         pulumi.ResourceOptions(parent=self, depends_on=[crds_ready, *used, *secrets], aliases=aliases,
                                                custom_timeouts=pulumi.CustomTimeouts(
                                                    create=f"{spec.ready_timeout_minutes}m",
                                                    update=f"{spec.ready_timeout_minutes}m")))
        for budget in disruption_budgets(spec, wiring.namespace):
            KubeObject(f"{name}-pdb-{budget['metadata']['name']}", budget, child)
        if monitoring is not None and exports_nixl_telemetry(spec, shapes):
            KubeObject(f"{name}-nixl-podmonitor", nixl_pod_monitor(spec, wiring.namespace),
                       pulumi.ResourceOptions(parent=self, depends_on=[monitoring.crds_ready]))
        self.name_output = dgd.name
        self.register_outputs({"name": self.name_output})
