"""One Dynamo graph deployment: its DynamoGraphDeployment and, for TensorRT-LLM, the ConfigMap of
engine configurations its workers mount; and its endpoint's objects (an Ingress or an HTTPRoute, and
the NetworkPolicy that admits only them) when the frontend is reached beyond its ClusterIP Service."""

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
from components.ingress.routes import Frontend, http_route, ingress, network_policy
from components.ingress.settings import ClusterOnly, ControllerSettings, GatewayRoute, LoadBalancer
from components.kit.kube import type_token
from components.kit.netpol import ScrapeSource
from components.kit.ref import Ref
from components.nodes.component import GpuNodePool
from components.register.kube import KubeObject
from components.register.monitoring import Monitoring

TYPE = "dynamo-cluster:components:DynamoGraph"


class DynamoGraph(pulumi.ComponentResource):
    """Registers the graph after the operator's CRDs exist (`crds_ready`) and the node pools it runs
    on (`pools`: its placement, tolerations and EFA requests come from their shapes), and waits,
    through the `pulumi.com/waitFor` annotation, until the operator reports it `successful`. On
    destroy it goes before the operator and the pools, because it depends on them. With
    `monitoring`, the NIXL telemetry of its workers is scraped by a PodMonitor of its own.

    A load balancer endpoint needs `load_balancer` (the controller's settings) and, when the stack
    installs the controller, `controller_ready`: its Ingress is created once the controller (and its
    admission webhook) runs, and deleted before it, so the controller removes the load balancer."""

    name_output: pulumi.Output[str]
    load_balancer_hostname: pulumi.Output[str] | None

    def __init__(self, name: str, spec: GraphSpec, *, pools: Sequence[GpuNodePool], wiring: GraphWiring,
                 crds_ready: pulumi.Resource, opts: pulumi.ResourceOptions,
                 monitoring: Monitoring | None = None, load_balancer: ControllerSettings | None = None,
                 controller_ready: pulumi.Resource | None = None) -> None:
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
        self.load_balancer_hostname = self._endpoint(name, spec, wiring.namespace, dgd=dgd, monitoring=monitoring,
                                                     load_balancer=load_balancer, controller_ready=controller_ready)
        self.name_output = dgd.name
        self.register_outputs({"name": self.name_output})

    def _endpoint(self, name: str, spec: GraphSpec, namespace: Ref, *, dgd: KubeObject,
                  monitoring: Monitoring | None, load_balancer: ControllerSettings | None,
                  controller_ready: pulumi.Resource | None) -> pulumi.Output[str] | None:
        """The endpoint's objects; the load balancer's DNS name when there is one."""
        endpoint = spec.endpoint
        if isinstance(endpoint, ClusterOnly):
            return None
        frontend = Frontend(graph=spec.name, namespace=namespace, service=spec.frontend_service,
                            port=spec.frontend.http_port)
        scrapers = None if monitoring is None else ScrapeSource(monitoring.namespace, monitoring.prometheus_pod_labels)
        KubeObject(f"{name}-frontend-netpol", network_policy(frontend, endpoint, load_balancer, scrapers),
                   pulumi.ResourceOptions(parent=self))
        after = [dgd, *([controller_ready] if controller_ready is not None else [])]
        match endpoint:
            case LoadBalancer():
                if load_balancer is None:
                    raise ValueError(f"graph {spec.name}: a load balancer endpoint without the controller's settings")
                route = KubeObject(f"{name}-ingress", ingress(frontend, endpoint, load_balancer),
                                   pulumi.ResourceOptions(parent=self, depends_on=after), outputs=("status",))
                return route.output("status").apply(_balancer_name)
            case GatewayRoute():
                KubeObject(f"{name}-httproute", http_route(frontend, endpoint),
                           pulumi.ResourceOptions(parent=self, depends_on=after))
                return None


def _balancer_name(status: object) -> str:
    """The load balancer's DNS name from an Ingress status ("" until the controller has made it)."""
    if not isinstance(status, dict):
        return ""
    entries = (status.get("loadBalancer") or {}).get("ingress") or []
    first = entries[0] if entries and isinstance(entries[0], dict) else {}
    return str(first.get("hostname") or first.get("ip") or "")
