"""The ``graphs[].endpoint`` keys (how a graph's frontend is reached) and the ``loadBalancer`` keys
(the AWS Load Balancer Controller that makes the load balancers of `internal` and `public` endpoints)."""

from __future__ import annotations

from typing import Any

from components.ingress.settings import ENDPOINT_KINDS
from components.kit.charts import AWS_LOAD_BALANCER_CONTROLLER
from stacks.config.schema import Derived, Fixed, Flag, Free, Integer, Key, PerEnv, StringList, Text, Unset, Word

CIDR = r"^([0-9]{1,3}\.){3}[0-9]{1,3}/[0-9]{1,2}$"
HOSTNAME = r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"

KIND = Key(
    "graphs[].endpoint.kind",
    Word(ENDPOINT_KINDS),
    Derived("prod on a stack with `aws.clusterName`: `internal`; otherwise `cluster`"),
    "`internal`",
    "How the frontend is reached: `cluster`, its ClusterIP Service only (`python -m stacks open frontend` "
    "port-forwards to it); `internal`, an internal Application Load Balancer with HTTPS, made by the AWS Load "
    "Balancer Controller (`loadBalancer`); `public`, the same facing the internet, refused without "
    "`endpoint.allowPublic`; `gateway`, a Gateway API HTTPRoute on the Gateway `endpoint.gateway` names. "
    "Every kind but `cluster` adds a NetworkPolicy: only the load balancer's subnets (or the Gateway's "
    "namespace), Prometheus and `endpoint.clientNamespaces` reach the frontend pods.",
)
CERTIFICATE_ARN = Key(
    "graphs[].endpoint.certificateArn",
    Text("ACM certificate ARN", r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]{36}$",
         "an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<uuid>)"),
    Unset("required with `internal` and `public`"),
    "`arn:aws:acm:us-east-1:111122223333:certificate/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d`",
    "The certificate of the load balancer's HTTPS listener (port 443, the only listener): an issued ACM "
    "certificate in the stack's region for `endpoint.hostname`.",
)
HOSTNAME_KEY = Key(
    "graphs[].endpoint.hostname",
    Text("DNS name", HOSTNAME, "a lower-case DNS name such as llm.example.com"),
    Unset("required with `gateway`; otherwise: every host name"),
    "`llm.internal.example.com`",
    "The name clients use. With a load balancer, its rule answers only this host (point a CNAME at the "
    "load balancer's name, which the stack outputs); with `gateway`, the HTTPRoute's hostname.",
)
SOURCE_RANGES = Key(
    "graphs[].endpoint.sourceRanges",
    StringList("list of IPv4 CIDRs"),
    Unset("`internal`: any address that reaches the VPC; `public`: required"),
    "`[10.20.0.0/16]`",
    "The client addresses the load balancer admits (its security group's inbound rules).",
)
ALLOW_PUBLIC = Key(
    "graphs[].endpoint.allowPublic",
    Flag(),
    Fixed(False),
    "`true`",
    "The opt-in `public` needs: the Dynamo frontend has no authentication, so an internet-facing load balancer "
    "serves the model to every address `endpoint.sourceRanges` admits (docs/decisions.md, \"Endpoints\").",
)
CLIENT_NAMESPACES = Key(
    "graphs[].endpoint.clientNamespaces",
    StringList("list of namespace names"),
    Fixed([]),
    "`[apps]`",
    "Namespaces whose pods may still call the frontend Service directly once the endpoint's NetworkPolicy "
    "is in place (the graph's own namespace is not among them unless listed).",
)
GATEWAY_NAME = Key(
    "graphs[].endpoint.gateway.name",
    Text("Gateway name"),
    Unset("required with `gateway`"),
    "`shared`",
    "The Gateway (Gateway API) the HTTPRoute attaches to. Its listener holds the TLS certificate and must "
    "admit routes from the graphs' namespace (`allowedRoutes`).",
)
GATEWAY_NAMESPACE = Key(
    "graphs[].endpoint.gateway.namespace",
    Text("namespace name"),
    Unset("required with `gateway`"),
    "`gateway-system`",
    "The Gateway's namespace; its pods are the ones the frontend's NetworkPolicy admits.",
)
GATEWAY_SECTION = Key(
    "graphs[].endpoint.gateway.sectionName",
    Text("listener name"),
    Unset("every listener that admits the route"),
    "`https`",
    "The Gateway listener to attach to.",
)

ENDPOINT_KEYS: tuple[Key[Any], ...] = (KIND, CERTIFICATE_ARN, HOSTNAME_KEY, SOURCE_RANGES, ALLOW_PUBLIC,
                                       CLIENT_NAMESPACES, GATEWAY_NAME, GATEWAY_NAMESPACE, GATEWAY_SECTION)

# -- loadBalancer -------------------------------------------------------------------------------------
INSTALL = Key(
    "loadBalancer.install",
    Flag(),
    Fixed(True),
    "`false`",
    "Install the AWS Load Balancer Controller (chart `loadBalancer.version`, its IAM role given by EKS Pod "
    "Identity, which needs the `eks-pod-identity-agent` add-on) when a graph's endpoint is `internal` or "
    "`public`. false: the cluster runs it already, with an IngressClass `alb`.",
)
VERSION = Key(
    "loadBalancer.version",
    Text("chart version"),
    Fixed(AWS_LOAD_BALANCER_CONTROLLER.version),
    "`3.5.0`",
    "The `aws-load-balancer-controller` chart version (the controller's version is the same).",
)
SUBNETS = Key(
    "loadBalancer.subnets",
    Free("list of `{id, cidr}`"),
    Unset("required with `internal` and `public` endpoints: at least two, in two zones"),
    "`[{id: subnet-0a1b2c3d4e5f60011, cidr: 10.0.96.0/20}, ...]`",
    "The subnets the load balancers are placed in (tagged `kubernetes.io/role/internal-elb` for internal, "
    "`kubernetes.io/role/elb` for public ones). Each Ingress pins its load balancer to them, and the "
    "frontends' NetworkPolicies admit their CIDRs, where the load balancer's addresses are.",
)
SUBNET_ID = Key(
    "loadBalancer.subnets[].id",
    Text("subnet id", r"^subnet-[0-9a-f]{8,17}$", "a subnet id such as subnet-0abc12345"),
    Unset("required"),
    "`subnet-0a1b2c3d4e5f60011`",
    "A subnet id.",
)
SUBNET_CIDR = Key(
    "loadBalancer.subnets[].cidr",
    Text("IPv4 CIDR", CIDR, "an IPv4 CIDR such as 10.0.96.0/20"),
    Unset("required"),
    "`10.0.96.0/20`",
    "The subnet's IPv4 CIDR (`aws ec2 describe-subnets --subnet-ids <id> --query Subnets[0].CidrBlock`).",
)
REPLICAS = Key(
    "loadBalancer.replicas",
    Integer(1, 5),
    PerEnv(lambda d: d.load_balancer_controller_replicas),
    "`3`",
    "Controller replicas (one leads; more than one get a disruption budget).",
)
SSL_POLICY = Key(
    "loadBalancer.sslPolicy",
    Text("ELB security policy name", r"^ELBSecurityPolicy-[A-Za-z0-9-]+$", "an ELBSecurityPolicy-* name"),
    Fixed("ELBSecurityPolicy-TLS13-1-2-2021-06"),
    "`ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09`",
    "The TLS policy of the HTTPS listeners: TLS 1.3 and 1.2 only (the controller's own default still "
    "admits TLS 1.0).",
)
IDLE_TIMEOUT = Key(
    "loadBalancer.idleTimeoutSeconds",
    Integer(1, 4000),
    Fixed(600),
    "`1800`",
    "How long a connection may carry no byte before the load balancer closes it (AWS default 60): a "
    "streamed answer sends nothing until its first token, which a long prompt behind a queue can delay.",
)

LOAD_BALANCER_KEYS: tuple[Key[Any], ...] = (INSTALL, VERSION, SUBNETS, SUBNET_ID, SUBNET_CIDR, REPLICAS,
                                            SSL_POLICY, IDLE_TIMEOUT)
