"""Graph endpoints: what each kind plans (Ingress for an ALB through the AWS Load Balancer Controller,
HTTPRoute on a named Gateway, the NetworkPolicy that admits only them), the controller's chart, IAM
role and Pod Identity association, the outputs, and the config that is refused before any resource."""

from __future__ import annotations

import copy
import json
from typing import Any

import pulumi_aws.eks
import pulumi_aws.iam
import pytest

from components.ingress import controller as lbc
from components.ingress.routes import frontend_pod_labels
from components.ingress.settings import ControllerSettings, Subnet
from components.kit.charts import AWS_LOAD_BALANCER_CONTROLLER
from components.kit.netpol import NAMESPACE_NAME_LABEL
from stacks.config.reader import ConfigError
from stacks.outputs import StackOutputs
from tests.harness import (
    by_kind,
    manifests,
    parse,
    plan_config,
    plan_stack,
    reaches,
    schema_problems,
    stack_config,
)

ALB = "alb.ingress.kubernetes.io/"
PROD_SUBNETS = {"10.0.96.0/20", "10.0.112.0/20"}

# Every top-level key of stable/aws-load-balancer-controller/values.yaml at chart 3.5.0 that this
# project may set (aws/eks-charts commit 5239609, read for this pin).
CHART_3_5_0_KEYS = frozenset({
    "replicaCount", "serviceAccount", "resources", "priorityClassName", "podLabels", "clusterName", "ingressClass",
    "createIngressClassResource", "region", "vpcId", "defaultSSLPolicy", "keepTLSSecret", "podDisruptionBudget",
    "enableServiceMutatorWebhook", "ingressClassParams", "defaultTargetType", "securityContext",
})


@pytest.fixture(scope="module")
def prod() -> Any:
    return plan_stack("prod")


def _by_name(registry: Any, kind: str) -> dict[str, dict[str, Any]]:
    return {r.inputs["metadata"]["name"]: dict(r.inputs) for r in by_kind(registry, kind)}


def _aws(registry: Any, token: str) -> list[Any]:
    return [r for r in registry.resources if r.type == token]


def test_prod_reaches_each_graph_through_an_internal_https_load_balancer_in_its_subnets(prod: Any) -> None:
    ingresses = _by_name(prod, "Ingress")
    assert set(ingresses) == {"deepseek-r1-frontend", "llama-405b-frontend", "kimi-k2-frontend"}
    for name, ingress in ingresses.items():
        notes = ingress["metadata"]["annotations"]
        assert notes[f"{ALB}scheme"] == "internal"
        assert json.loads(notes[f"{ALB}listen-ports"]) == [{"HTTPS": 443}]  # no plain-HTTP listener
        assert notes[f"{ALB}certificate-arn"].startswith("arn:aws:acm:us-east-1:111122223333:certificate/")
        assert notes[f"{ALB}ssl-policy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
        assert notes[f"{ALB}target-type"] == "ip"
        assert notes[f"{ALB}subnets"] == "subnet-0a1b2c3d4e5f60011,subnet-0a1b2c3d4e5f60012"
        assert notes[f"{ALB}healthcheck-path"] == "/health"
        assert notes[f"{ALB}load-balancer-attributes"] == "idle_timeout.timeout_seconds=600"
        assert f"{ALB}inbound-cidrs" not in notes
        spec = ingress["spec"]
        assert spec["ingressClassName"] == "alb"
        graph = name.removesuffix("-frontend")
        assert spec["rules"][0]["host"] == f"{graph}.llm.example.internal"
        backend = spec["rules"][0]["http"]["paths"][0]["backend"]["service"]
        assert backend == {"name": f"{graph}-frontend", "port": {"number": 8000}}
    assert schema_problems(list(ingresses.values()), "1.33") == []


def test_prod_frontends_admit_only_the_load_balancer_subnets_and_prometheus(prod: Any) -> None:
    policies = {n: p for n, p in _by_name(prod, "NetworkPolicy").items() if n.endswith("-frontend-ingress")}
    assert set(policies) == {f"{g}-frontend-ingress" for g in ("deepseek-r1", "llama-405b", "kimi-k2")}
    for name, policy in policies.items():
        graph = name.removesuffix("-frontend-ingress")
        spec = policy["spec"]
        assert spec["podSelector"] == {"matchLabels": frontend_pod_labels(graph)}
        assert spec["policyTypes"] == ["Ingress"]
        [rule] = spec["ingress"]
        assert rule["ports"] == [{"protocol": "TCP", "port": 8000}]
        blocks = {s["ipBlock"]["cidr"] for s in rule["from"] if "ipBlock" in s}
        assert blocks == PROD_SUBNETS
        scrapers = [s for s in rule["from"] if "podSelector" in s and "namespaceSelector" in s]
        assert scrapers
        assert scrapers[0]["namespaceSelector"] == {"matchLabels": {NAMESPACE_NAME_LABEL: "monitoring"}}
        bench = [s for s in rule["from"] if "podSelector" in s and "namespaceSelector" not in s]
        assert bench == [{"podSelector": {"matchLabels": {"dynamo-cluster/bench": graph}}}]
        assert len(rule["from"]) == 4  # nothing else: no namespace-wide admission
    assert schema_problems(list(policies.values()), "1.33") == []


def test_the_controller_is_pinned_gets_its_role_through_pod_identity_and_goes_before_the_ingresses(
        prod: Any) -> None:
    [release] = [r for r in prod.resources if r.type == "kubernetes:helm.sh/v3:Release"
                 and r.inputs.get("chart") == "aws-load-balancer-controller"]
    assert release.inputs["version"] == AWS_LOAD_BALANCER_CONTROLLER.version == "3.5.0"
    assert release.inputs["repositoryOpts"] == {"repo": "https://aws.github.io/eks-charts"}
    assert release.inputs["namespace"] == "kube-system"
    values = release.inputs["values"]
    assert set(values) <= CHART_3_5_0_KEYS
    assert set(values) <= lbc.CHART_KEYS
    assert values["serviceAccount"] == {"create": True, "name": "aws-load-balancer-controller"}
    assert values["enableServiceMutatorWebhook"] is False
    assert (values["clusterName"], values["region"], values["vpcId"]) == (
        "dynamo-prod", "us-east-1", "vpc-0a1b2c3d4e5f67890")
    assert values["replicaCount"] == 2
    assert values["podDisruptionBudget"] == {"maxUnavailable": 1}
    [association] = _aws(prod, "aws:eks/podIdentityAssociation:PodIdentityAssociation")
    assert (association.inputs["namespace"], association.inputs["serviceAccount"]) == (
        "kube-system", values["serviceAccount"]["name"])
    assert association.inputs["clusterName"] == "dynamo-prod"
    roles = [r for r in _aws(prod, "aws:iam/role:Role") if "Load Balancer" in r.inputs.get("description", "")]
    [role] = roles
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert trust["Action"] == ["sts:AssumeRole", "sts:TagSession"]
    assert reaches(prod, release.urn, association.urn)
    for ingress in by_kind(prod, "Ingress"):
        assert reaches(prod, ingress.urn, release.urn)


def _settings(**changes: Any) -> ControllerSettings:
    base = ControllerSettings(install=True, chart=AWS_LOAD_BALANCER_CONTROLLER, cluster_name="c", region="us-east-1",
                              vpc_id="vpc-0a1b2c3d", subnets=(Subnet("subnet-0a1b2c3d", "10.0.0.0/24"),), replicas=1,
                              ssl_policy="ELBSecurityPolicy-TLS13-1-2-2021-06", idle_timeout_seconds=600)
    return ControllerSettings(**{**base.__dict__, **changes})


def test_the_controller_policy_changes_only_what_it_tagged_and_security_groups_in_its_vpc() -> None:
    statements = json.loads(lbc.policy_document(_settings()))["Statement"]
    assert all(s["Effect"] == "Allow" for s in statements)
    unconditioned_changes = [
        s for s in statements if "Condition" not in s and s["Resource"] == "*"
        and any(a.startswith(("ec2:Authorize", "ec2:Revoke", "ec2:DeleteSecurityGroup",
                              "elasticloadbalancing:DeleteLoadBalancer", "elasticloadbalancing:DeleteTargetGroup",
                              "elasticloadbalancing:ModifyLoadBalancer", "elasticloadbalancing:ModifyTargetGroup",
                              "elasticloadbalancing:SetSecurityGroups")) for a in s["Action"])]
    assert unconditioned_changes == []
    [vpc_rule] = [s for s in statements if "ArnLike" in s.get("Condition", {})]
    assert vpc_rule["Condition"]["ArnLike"]["ec2:Vpc"] == "arn:aws:ec2:us-east-1:*:vpc/vpc-0a1b2c3d"
    deletions = [s for s in statements if "elasticloadbalancing:DeleteLoadBalancer" in s["Action"]]
    assert deletions[0]["Condition"] == {"Null": {"aws:ResourceTag/elbv2.k8s.aws/cluster": "false"}}
    china = json.loads(lbc.policy_document(_settings(region="cn-north-1", partition="aws-cn")))["Statement"]
    arns = [r for s in china for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])]
    assert all(a == "*" or a.startswith("arn:aws-cn:") for a in arns)


@pytest.mark.parametrize(("props", "args"), [
    (lbc.pod_identity_props(_settings(), "arn:aws:iam::1:role/r"), pulumi_aws.eks.PodIdentityAssociationArgs),
    (lbc.policy_props(_settings()), pulumi_aws.iam.PolicyArgs),
    (lbc.role_props(_settings()), pulumi_aws.iam.RoleArgs),
])
def test_aws_properties_are_the_providers_wire_names(props: dict[str, Any], args: type) -> None:
    wire = {getattr(v.fget, "_pulumi_name", k) for k, v in vars(args).items() if isinstance(v, property)}
    assert set(props) <= wire


def test_dev_has_no_endpoint_objects_and_its_outputs_say_cluster() -> None:
    registry = plan_stack("dev")
    assert by_kind(registry, "Ingress") == []
    assert by_kind(registry, "HTTPRoute") == []
    assert not any(n.endswith("-frontend-ingress") for n in _by_name(registry, "NetworkPolicy"))
    assert not any(r.type.startswith("aws:") for r in registry.resources)
    frontends = registry.stack_outputs["dynamo"]["frontends"]
    assert frontends
    assert all(f["endpoint"] == "cluster" and "externalUrl" not in f for f in frontends.values())


def test_prod_outputs_name_each_graphs_https_url_and_read_back(prod: Any) -> None:
    frontends = prod.stack_outputs["dynamo"]["frontends"]
    assert frontends["kimi-k2"]["endpoint"] == "internal"
    assert frontends["kimi-k2"]["externalUrl"] == "https://kimi-k2.llm.example.internal"
    assert frontends["kimi-k2"]["url"] == "http://kimi-k2-frontend.dynamo.svc.cluster.local:8000"
    parsed = StackOutputs.from_dict(prod.stack_outputs)
    assert parsed.dynamo.frontends["kimi-k2"].external_url == "https://kimi-k2.llm.example.internal"
    older = copy.deepcopy(prod.stack_outputs)
    for item in older["dynamo"]["frontends"].values():
        for key in ("endpoint", "externalUrl", "loadBalancer"):
            item.pop(key, None)
    assert StackOutputs.from_dict(older).dynamo.frontends["kimi-k2"].endpoint is None


def test_a_gateway_endpoint_routes_from_the_named_gateway_and_admits_only_its_namespace() -> None:
    registry = plan_stack("efs-cache")
    routes = _by_name(registry, "HTTPRoute")
    assert set(routes) == {"qwen-chat-frontend", "qwen-batch-frontend", "support-tuned-frontend"}
    route = routes["qwen-chat-frontend"]
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert route["spec"]["parentRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "Gateway",
                                            "name": "shared", "namespace": "gateway-system", "sectionName": "https"}]
    assert route["spec"]["hostnames"] == ["qwen-chat.llm.example.com"]
    assert route["spec"]["rules"] == [{"matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                                       "backendRefs": [{"name": "qwen-chat-frontend", "port": 8000}]}]
    policy = _by_name(registry, "NetworkPolicy")["qwen-chat-frontend-ingress"]
    sources = policy["spec"]["ingress"][0]["from"]
    assert sources[0] == {"namespaceSelector": {"matchExpressions": [
        {"key": NAMESPACE_NAME_LABEL, "operator": "In", "values": ["gateway-system"]}]}}
    assert not any("ipBlock" in s for s in sources)
    assert not any(r.type == "kubernetes:helm.sh/v3:Release" and r.inputs.get("chart") == "aws-load-balancer-controller"
                   for r in registry.resources)


def _prod_with(endpoint: dict[str, Any], load_balancer: dict[str, Any] | None = None) -> dict[str, Any]:
    values = stack_config("prod")
    for graph in values["graphs"]:
        graph["endpoint"] = copy.deepcopy(endpoint)
    if load_balancer is not None:
        values["loadBalancer"] = load_balancer
    return values


def _refused(values: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ConfigError) as refused:
        parse(values, "prod")
    return {p.key: f"{p.wrong} / {p.allowed}" for p in refused.value.problems}


CERT = "arn:aws:acm:us-east-1:111122223333:certificate/0a1b2c3d-4e5f-4a7b-8c9d-0e1f2a3b4c5d"


def test_a_public_endpoint_without_the_opt_in_is_refused_before_any_resource() -> None:
    problems = _refused(_prod_with({"kind": "public", "certificateArn": CERT}))
    kind = problems["graphs[0].endpoint.kind"]
    assert "no authentication" in kind
    assert "allowPublic: true" in kind
    assert "is required with kind public" in problems["graphs[0].endpoint.sourceRanges"]
    with pytest.raises(ConfigError):
        plan_config(_prod_with({"kind": "public", "certificateArn": CERT}), "prod")


def test_a_public_endpoint_with_the_opt_in_faces_the_internet_for_its_ranges_only() -> None:
    values = _prod_with({"kind": "public", "certificateArn": CERT, "allowPublic": True,
                         "sourceRanges": ["203.0.113.0/24"]})
    registry = plan_config(values, "prod")
    notes = by_kind(registry, "Ingress")[0].inputs["metadata"]["annotations"]
    assert notes[f"{ALB}scheme"] == "internet-facing"
    assert notes[f"{ALB}inbound-cidrs"] == "203.0.113.0/24"
    assert manifests(registry)


@pytest.mark.parametrize(("endpoint", "load_balancer", "key", "says"), [
    ({"kind": "internal"}, None, "graphs[0].endpoint.certificateArn", "is required with kind internal"),
    ({"kind": "internal", "certificateArn": "arn:aws:acm:us-east-1:1:certificate/x"}, None,
     "graphs[0].endpoint.certificateArn", "ACM certificate ARN"),
    ({"kind": "internal", "certificateArn": CERT, "allowPublic": True}, None, "graphs[0].endpoint.allowPublic",
     "endpoint.kind is internal"),
    ({"kind": "internal", "certificateArn": CERT, "sourceRanges": ["10.0.0.1/8"]}, None,
     "graphs[0].endpoint.sourceRanges", "not an IPv4 network"),
    ({"kind": "internal", "certificateArn": CERT}, {"subnets": [{"id": "subnet-0a1b2c3d", "cidr": "10.0.0.0/24"}]},
     "loadBalancer.subnets", "need at least two"),
    ({"kind": "internal", "certificateArn": CERT}, {"subnets": [{"id": "subnet-0a1b2c3d"}, {"cidr": "10.0.1.0/24"}]},
     "loadBalancer.subnets[0].cidr", "is required"),
    ({"kind": "internal", "certificateArn": CERT}, {"subnets": [{"id": "subnet-0a1b2c3d", "cidr": "10.0.0.0/24"},
                                                                {"id": "subnet-0a1b2c3d", "cidr": "10.0.0.0/24"}]},
     "loadBalancer.subnets[1].id", "listed already"),
    ({"kind": "cluster", "certificateArn": CERT}, None, "graphs[0].endpoint.certificateArn", "kind is cluster"),
    ({"kind": "gateway"}, None, "graphs[0].endpoint.gateway.name", "is required with kind gateway"),
    ({"kind": "gateway"}, None, "graphs[0].endpoint.hostname", "is required with kind gateway"),
    ({"kind": "gateway", "hostname": "a.example.com", "gateway": {"name": "g", "namespace": "n"},
      "sourceRanges": ["10.0.0.0/8"]}, None, "graphs[0].endpoint.sourceRanges", "kind is gateway"),
    ({"kind": "loadbalancer"}, None, "graphs[0].endpoint.kind", "cluster"),
    ({"kind": "cluster", "tls": True}, None, "graphs[0].endpoint.tls", ""),
])
def test_bad_endpoints_are_refused_naming_the_key(endpoint: dict[str, Any], load_balancer: dict[str, Any] | None,
                                                  key: str, says: str) -> None:
    problems = _refused(_prod_with(endpoint, load_balancer))
    assert key in problems, problems
    assert says in problems[key]


def test_a_load_balancer_needs_the_aws_keys_the_controller_uses() -> None:
    values = _prod_with({"kind": "internal", "certificateArn": CERT})
    values["aws"] = {"region": "us-east-1"}
    values["nodePools"] = [{"name": "cpu", "kind": "existing", "nodeSelector": {"pool": "cpu"}, "nodes": 1}]
    for graph in values["graphs"]:
        graph.update({"backend": "mocker", "model": "Qwen/Qwen3-0.6B"})
        for role in ("prefill", "decode"):
            graph[role] = {"pool": "cpu"}
    values.pop("modelCache", None)
    problems = _refused(values)
    assert "the load balancer endpoints" in problems["aws.clusterName"]
    assert "the load balancer endpoints" in problems["aws.vpcId"]


def test_the_summary_says_how_each_graph_is_reached_and_who_is_admitted() -> None:
    from stacks.plan.sections import endpoint_lines

    prod = "\n".join(endpoint_lines(parse(stack_config("prod"), "prod")))
    assert ("| kimi-k2 | internal: ALB (internal) | https://kimi-k2.llm.example.internal | load balancer subnets "
            "10.0.96.0/20, 10.0.112.0/20, Prometheus, bench pods |") in prod
    assert "installed by the stack (chart 3.5.0, 2 replica(s), IAM role through EKS Pod Identity)" in prod
    dev = "\n".join(endpoint_lines(parse(stack_config("dev"), "dev")))
    assert "| cluster | `mocker-frontend.dynamo:8000` (`open frontend`) | any pod (no policy) |" in dev
