"""Reading ``graphs[].endpoint`` into an `Endpoint` variant, and ``loadBalancer`` into the controller's
settings when some endpoint needs a load balancer. Every problem is reported against its key."""

from __future__ import annotations

from collections.abc import Sequence

from components.ingress.settings import (
    ClusterOnly,
    ControllerSettings,
    Endpoint,
    GatewayRoute,
    LoadBalancer,
    Subnet,
)
from components.kit.charts import AWS_LOAD_BALANCER_CONTROLLER, ChartRef
from stacks.config.aws import AwsConfig
from stacks.config.defaults import EnvironmentDefaults
from stacks.config.keys import endpoints as keys
from stacks.config.reader import Node
from stacks.config.rules import require_aws_for_load_balancer

SECTION = "loadBalancer"
# What a load balancer endpoint alone may set, what a gateway alone may set.
_LOAD_BALANCER_ONLY = ("certificateArn", "sourceRanges", "allowPublic")
_GATEWAY_ONLY = ("gateway",)


def _cidrs(node: Node, name: str, values: Sequence[str]) -> tuple[str, ...]:
    import ipaddress  # only for stacks that list networks: about 10 ms of every plan otherwise

    out = []
    for value in values:
        try:
            network = ipaddress.IPv4Network(value)
        except ValueError as error:
            node.problem(name, f"has {value!r}, which is not an IPv4 network ({error})",
                         "IPv4 CIDRs with no host bits set, such as 10.20.0.0/16")
            continue
        out.append(str(network))
    return tuple(out)


def _not_set(node: Node, names: Sequence[str], kind: str) -> None:
    for name in names:
        if node.has(name):
            node.problem(name, f"is set, but endpoint.kind is {kind}", f"unset with kind {kind}")


def read_endpoint(graph: Node, defaults: EnvironmentDefaults, *, on_eks: bool) -> Endpoint:
    """The endpoint of one graph (`graph`: its node). `on_eks`: the stack names an EKS cluster."""
    node = graph.child("endpoint")
    default_kind = defaults.endpoint_on_eks if on_eks else "cluster"
    kind = node.read(keys.KIND, default_kind)
    certificate = node.read_optional(keys.CERTIFICATE_ARN)
    hostname = node.read_optional(keys.HOSTNAME_KEY) or ""
    listed: list[str] = node.read_optional(keys.SOURCE_RANGES) or []
    ranges = _cidrs(node, "sourceRanges", listed)
    allow_public = node.read(keys.ALLOW_PUBLIC)
    client_list: list[str] = node.read(keys.CLIENT_NAMESPACES)
    clients = tuple(client_list)
    gateway = node.child("gateway")
    gateway_name = gateway.read_optional(keys.GATEWAY_NAME)
    gateway_namespace = gateway.read_optional(keys.GATEWAY_NAMESPACE)
    section = gateway.read_optional(keys.GATEWAY_SECTION) or ""
    gateway.close()
    endpoint: Endpoint = ClusterOnly()
    match kind:
        case "cluster":
            _not_set(node, (*_LOAD_BALANCER_ONLY, *_GATEWAY_ONLY, "hostname", "clientNamespaces"), kind)
        case "internal" | "public":
            _not_set(node, _GATEWAY_ONLY, kind)
            if certificate is None:
                node.problem("certificateArn", f"is required with kind {kind}: the load balancer serves HTTPS only",
                             "the ARN of an issued ACM certificate in the stack's region")
            if kind == "public":
                if not allow_public:
                    node.problem("kind", "is public, but the Dynamo frontend has no authentication: anyone the "
                                 "load balancer admits can use the model",
                                 "internal, cluster or gateway; or public with endpoint.allowPublic: true and "
                                 "endpoint.sourceRanges (docs/decisions.md, \"Endpoints\")")
                if not ranges:
                    node.problem("sourceRanges", "is required with kind public",
                                 "the client CIDRs the internet-facing load balancer admits")
            elif allow_public:
                node.problem("allowPublic", f"is true, but endpoint.kind is {kind}", "unset, or kind public")
            endpoint = LoadBalancer(scheme="internal" if kind == "internal" else "internet-facing",
                                    certificate_arn=certificate or "", source_ranges=ranges, hostname=hostname,
                                    client_namespaces=clients)
        case "gateway":
            _not_set(node, _LOAD_BALANCER_ONLY, kind)
            for name, value, allowed in (("gateway.name", gateway_name, "the Gateway's name"),
                                         ("gateway.namespace", gateway_namespace, "the Gateway's namespace"),
                                         ("hostname", hostname or None, "the host name the route answers")):
                if value is None:
                    node.problem(name, "is required with kind gateway", allowed)
            endpoint = GatewayRoute(gateway_name=gateway_name or "", gateway_namespace=gateway_namespace or "",
                                    hostname=hostname, section_name=section, client_namespaces=clients)
    node.close()
    return endpoint


def _subnets(node: Node) -> tuple[Subnet, ...]:
    out: list[Subnet] = []
    for item in node.objects("subnets"):
        subnet_id = item.read_optional(keys.SUBNET_ID)
        cidr = item.read_optional(keys.SUBNET_CIDR)
        for name, value in (("id", subnet_id), ("cidr", cidr)):
            if value is None:
                item.problem(name, "is required", "the subnet's " + ("id" if name == "id" else "IPv4 CIDR"))
        if cidr is not None:
            cidr = next(iter(_cidrs(item, "cidr", [cidr])), None)
        item.close()
        if subnet_id is not None and any(s.id == subnet_id for s in out):
            item.problem("id", f"is {subnet_id}, listed already", "each subnet once")
        elif subnet_id is not None and cidr is not None:
            out.append(Subnet(id=subnet_id, cidr=cidr))
    return tuple(out)


def read_load_balancer(root: Node, aws: AwsConfig, aws_node: Node, *,
                       needed_by: Sequence[str]) -> ControllerSettings | None:
    """The controller's settings when `needed_by` (graphs with a load balancer endpoint) is not empty;
    the section is read and checked either way."""
    node = root.child(SECTION)
    install = node.read(keys.INSTALL)
    version = node.read(keys.VERSION)
    replicas = node.read(keys.REPLICAS)
    ssl_policy = node.read(keys.SSL_POLICY)
    idle = node.read(keys.IDLE_TIMEOUT)
    subnets = _subnets(node)
    if needed_by:
        by = "the load balancer endpoints of graphs " + ", ".join(needed_by)
        if len(subnets) < 2 and not any(p.key.startswith(node.key("subnets")) for p in node.problems.found):
            node.problem("subnets", f"has {len(subnets)} subnet(s), but {by} need at least two "
                         "(an Application Load Balancer spans two or more zones)",
                         "two or more {id, cidr} of subnets in different zones")
        require_aws_for_load_balancer(aws, aws_node, install=install, by=by)
    node.close()
    if not needed_by:
        return None
    return ControllerSettings(
        install=install, chart=ChartRef(AWS_LOAD_BALANCER_CONTROLLER.name, version,
                                        AWS_LOAD_BALANCER_CONTROLLER.repository),
        cluster_name=aws.cluster_name or "", region=aws.region or "", vpc_id=aws.vpc_id or "", subnets=subnets,
        replicas=replicas, ssl_policy=ssl_policy, idle_timeout_seconds=idle, partition=aws.partition)
