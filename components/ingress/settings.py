"""What an endpoint is, as settings: a variant per way in, and the load balancer controller's settings.
No Pulumi here.

- `ClusterOnly`: the operator's ClusterIP Service and nothing else (reach it with a port-forward).
- `LoadBalancer`: an Application Load Balancer made by the AWS Load Balancer Controller from an
  Ingress; HTTPS with an ACM certificate; `internal` (reachable from the VPC and what is peered or
  connected to it) or `internet-facing` (only with the stack's explicit opt-in).
- `GatewayRoute`: a Gateway API HTTPRoute attached to a Gateway the stack names (its listener holds
  the TLS certificate, as a Secret the Gateway's owner manages).

Every variant but `ClusterOnly` adds a NetworkPolicy to the frontend pods: only the load balancer's
subnets (or the Gateway's namespace), Prometheus and the namespaces the endpoint names may reach them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from components.kit.charts import ChartRef

Scheme = Literal["internal", "internet-facing"]


@dataclass(frozen=True)
class ClusterOnly:
    """The frontend's ClusterIP Service only."""


@dataclass(frozen=True)
class LoadBalancer:
    """An ALB through an Ingress of class `alb` (the controller's IngressClass)."""

    scheme: Scheme
    certificate_arn: str
    source_ranges: tuple[str, ...] = ()   # empty: any address that can reach the scheme's network
    hostname: str = ""                    # the Ingress rule's host ("": every host)
    client_namespaces: tuple[str, ...] = ()


@dataclass(frozen=True)
class GatewayRoute:
    """An HTTPRoute on the Gateway `gateway_namespace/gateway_name` (listener `section_name`, or all)."""

    gateway_name: str
    gateway_namespace: str
    hostname: str
    section_name: str = ""
    client_namespaces: tuple[str, ...] = ()


Endpoint = ClusterOnly | LoadBalancer | GatewayRoute
EndpointKind = Literal["cluster", "internal", "public", "gateway"]
ENDPOINT_KINDS: tuple[EndpointKind, ...] = ("cluster", "internal", "public", "gateway")


def kind_of(endpoint: Endpoint) -> EndpointKind:
    """The config word of an endpoint."""
    match endpoint:
        case ClusterOnly():
            return "cluster"
        case LoadBalancer(scheme=scheme):
            return "internal" if scheme == "internal" else "public"
        case GatewayRoute():
            return "gateway"


@dataclass(frozen=True)
class Subnet:
    """A subnet the load balancers are placed in: its id (the Ingress pins the ALB to it) and its CIDR
    (the frontend's NetworkPolicy admits the ALB's addresses, which are in it)."""

    id: str
    cidr: str


@dataclass(frozen=True)
class ControllerSettings:
    """The AWS Load Balancer Controller of one EKS cluster, and how its load balancers are made."""

    install: bool              # False: the cluster runs the controller already (its IngressClass `alb`)
    chart: ChartRef
    cluster_name: str
    region: str
    vpc_id: str
    subnets: tuple[Subnet, ...]
    replicas: int
    ssl_policy: str
    idle_timeout_seconds: int
    partition: str = "aws"
