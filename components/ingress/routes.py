"""The objects a graph's endpoint adds next to the operator's frontend Service: an Ingress for an
ALB, or an HTTPRoute on a named Gateway, and the NetworkPolicy that keeps everything else out.

The frontend pods are selected by the labels the Dynamo operator gives every pod of a graph's
frontend component (``nvidia.com/dynamo-graph-deployment-name`` and
``nvidia.com/dynamo-component-type``, as upstream's logging guide filters on). The Dynamo frontend
has no authentication of its own (docs/decisions.md, "Endpoints"): who can open a connection to it
can use the model, so the NetworkPolicy is what limits that to the load balancer or the Gateway.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from components.ingress.controller import INGRESS_CLASS
from components.ingress.settings import ControllerSettings, GatewayRoute, LoadBalancer
from components.kit.kube import labels
from components.kit.netpol import ScrapeSource, from_namespaces, from_scrapers
from components.kit.ref import Ref

COMPONENT = "endpoint"
GRAPH_LABEL = "nvidia.com/dynamo-graph-deployment-name"
COMPONENT_TYPE_LABEL = "nvidia.com/dynamo-component-type"
# The frontend's liveness path in the operator's default probes (GET /health on the http port).
HEALTH_PATH = "/health"
HTTPS_PORT = 443
ALB = "alb.ingress.kubernetes.io/"
GATEWAY_API = "gateway.networking.k8s.io/v1"
# The label of `python -m stacks bench --in-cluster`'s pods (value: the graph they measure): the
# frontend's NetworkPolicy admits them from the graph's own namespace.
BENCH_LABEL = "dynamo-cluster/bench"


@dataclass(frozen=True)
class Frontend:
    """The graph's frontend as the endpoint objects see it."""

    graph: str
    namespace: Ref
    service: str
    port: int


def frontend_pod_labels(graph: str) -> dict[str, str]:
    return {GRAPH_LABEL: graph, COMPONENT_TYPE_LABEL: "frontend"}


def _backend(frontend: Frontend) -> dict[str, Any]:
    return {"service": {"name": frontend.service, "port": {"number": frontend.port}}}


def ingress(frontend: Frontend, endpoint: LoadBalancer, controller: ControllerSettings) -> dict[str, Any]:
    """An Ingress the controller turns into an ALB of its own: HTTPS only (443, the ACM certificate,
    the stack's TLS policy), pods as targets (`ip`: the frontend pods' addresses, no node port), in
    the stack's load balancer subnets, open to `source_ranges` when given, health-checked on the
    frontend's liveness path, with an idle timeout that outlasts a long prefill before the first
    streamed token."""
    annotations = {
        f"{ALB}scheme": endpoint.scheme,
        f"{ALB}target-type": "ip",
        f"{ALB}listen-ports": json.dumps([{"HTTPS": HTTPS_PORT}]),
        f"{ALB}certificate-arn": endpoint.certificate_arn,
        f"{ALB}ssl-policy": controller.ssl_policy,
        f"{ALB}subnets": ",".join(s.id for s in controller.subnets),
        f"{ALB}healthcheck-path": HEALTH_PATH,
        f"{ALB}success-codes": "200",
        f"{ALB}load-balancer-attributes": f"idle_timeout.timeout_seconds={controller.idle_timeout_seconds}",
        f"{ALB}tags": f"dynamo-cluster/graph={frontend.graph}",
    }
    if endpoint.source_ranges:
        annotations[f"{ALB}inbound-cidrs"] = ",".join(endpoint.source_ranges)
    rule: dict[str, Any] = {"http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": _backend(frontend)}]}}
    if endpoint.hostname:
        rule = {"host": endpoint.hostname, **rule}
    name = frontend.service
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": name, "namespace": frontend.namespace, "labels": labels(name, COMPONENT),
                     "annotations": annotations},
        "spec": {"ingressClassName": INGRESS_CLASS, "rules": [rule]},
    }


def http_route(frontend: Frontend, endpoint: GatewayRoute) -> dict[str, Any]:
    """An HTTPRoute from the named Gateway (its listener `section_name`, or any that admits routes
    from this namespace) to the frontend Service, for `hostname`."""
    parent: dict[str, Any] = {"group": "gateway.networking.k8s.io", "kind": "Gateway",
                              "name": endpoint.gateway_name, "namespace": endpoint.gateway_namespace}
    if endpoint.section_name:
        parent["sectionName"] = endpoint.section_name
    name = frontend.service
    return {
        "apiVersion": GATEWAY_API,
        "kind": "HTTPRoute",
        "metadata": {"name": name, "namespace": frontend.namespace, "labels": labels(name, COMPONENT)},
        "spec": {
            "parentRefs": [parent],
            "hostnames": [endpoint.hostname],
            "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                       "backendRefs": [{"name": frontend.service, "port": frontend.port}]}],
        },
    }


def network_policy(frontend: Frontend, endpoint: LoadBalancer | GatewayRoute,
                   controller: ControllerSettings | None, scrapers: ScrapeSource | None) -> dict[str, Any]:
    """Who may open a connection to the frontend pods: the load balancer (its subnets' addresses,
    where an ALB's nodes live) or the Gateway's namespace; the namespaces the endpoint names; the
    graph's in-cluster benchmark pods (`BENCH_LABEL`); and Prometheus, which scrapes the frontend's
    /metrics on the same port."""
    sources: list[dict[str, Any]] = []
    match endpoint:
        case LoadBalancer():
            if controller is None:
                raise ValueError(f"graph {frontend.graph}: a load balancer endpoint needs the controller settings")
            sources += [{"ipBlock": {"cidr": subnet.cidr}} for subnet in controller.subnets]
        case GatewayRoute(gateway_namespace=namespace):
            sources.append(from_namespaces([namespace]))
    if endpoint.client_namespaces:
        sources.append(from_namespaces(sorted(endpoint.client_namespaces)))
    sources.append({"podSelector": {"matchLabels": {BENCH_LABEL: frontend.graph}}})
    if scrapers is not None:
        sources.append(from_scrapers(scrapers))
    name = f"{frontend.service}-ingress"
    pods: Mapping[str, str] = frontend_pod_labels(frontend.graph)
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": frontend.namespace, "labels": labels(name, COMPONENT)},
        "spec": {"podSelector": {"matchLabels": dict(pods)}, "policyTypes": ["Ingress"],
                 "ingress": [{"from": sources, "ports": [{"protocol": "TCP", "port": frontend.port}]}]},
    }
