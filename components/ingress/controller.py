"""The AWS Load Balancer Controller: its chart values, its IAM permissions and how it gets them.

The controller runs in ``kube-system`` under the service account ``aws-load-balancer-controller`` (the
name the controller's install guide uses) and gets its IAM role from EKS Pod Identity: the role trusts
``pods.eks.amazonaws.com`` and a Pod Identity association binds it to that service account (the guide
lists Pod Identity as an option since v2.17; the controller's SDK takes the credentials since v2.7).
The permissions are those the controller's install guide asks for (docs/install/iam_policy.json of
kubernetes-sigs/aws-load-balancer-controller at v3.5.0: the actions and conditions are re-stated here
statement by statement, with the partition of the stack's region); docs/decisions.md says what we left
out and why.
"""

from __future__ import annotations

import json
from typing import Any

from components.ingress.settings import ControllerSettings
from components.kit.aws import pod_identity_trust_policy
from components.kit.kube import labels

NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "aws-load-balancer-controller"
RELEASE = "aws-load-balancer-controller"
INGRESS_CLASS = "alb"
COMPONENT = "load-balancer-controller"

# Tags the controller puts on what it creates; its permissions to change things are limited to them.
_CLUSTER_TAG = "elbv2.k8s.aws/cluster"

_DESCRIBE = (
    "ec2:DescribeAccountAttributes", "ec2:DescribeAddresses", "ec2:DescribeAvailabilityZones",
    "ec2:DescribeInternetGateways", "ec2:DescribeVpcs", "ec2:DescribeVpcPeeringConnections", "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups", "ec2:DescribeInstances", "ec2:DescribeNetworkInterfaces", "ec2:DescribeTags",
    "ec2:GetCoipPoolUsage", "ec2:DescribeCoipPools", "ec2:GetSecurityGroupsForVpc", "ec2:DescribeIpamPools",
    "ec2:DescribeRouteTables",
    "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeLoadBalancerAttributes",
    "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeListenerCertificates",
    "elasticloadbalancing:DescribeSSLPolicies", "elasticloadbalancing:DescribeRules",
    "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetGroupAttributes",
    "elasticloadbalancing:DescribeTargetHealth", "elasticloadbalancing:DescribeTags",
    "elasticloadbalancing:DescribeTrustStores", "elasticloadbalancing:DescribeListenerAttributes",
    "elasticloadbalancing:DescribeCapacityReservation",
)
# Certificates, WAF and Shield lookups and associations the controller makes for an Ingress that asks.
_LISTENER_ADDONS = (
    "cognito-idp:DescribeUserPoolClient", "acm:ListCertificates", "acm:DescribeCertificate",
    "iam:ListServerCertificates", "iam:GetServerCertificate",
    "waf-regional:GetWebACL", "waf-regional:GetWebACLForResource", "waf-regional:AssociateWebACL",
    "waf-regional:DisassociateWebACL", "wafv2:GetWebACL", "wafv2:GetWebACLForResource", "wafv2:AssociateWebACL",
    "wafv2:DisassociateWebACL", "shield:GetSubscriptionState", "shield:DescribeProtection",
    "shield:CreateProtection", "shield:DeleteProtection",
)
_MODIFY_OWN = (
    "elasticloadbalancing:ModifyLoadBalancerAttributes", "elasticloadbalancing:SetIpAddressType",
    "elasticloadbalancing:SetSecurityGroups", "elasticloadbalancing:SetSubnets",
    "elasticloadbalancing:DeleteLoadBalancer", "elasticloadbalancing:ModifyTargetGroup",
    "elasticloadbalancing:ModifyTargetGroupAttributes", "elasticloadbalancing:DeleteTargetGroup",
    "elasticloadbalancing:ModifyListenerAttributes", "elasticloadbalancing:ModifyCapacityReservation",
    "elasticloadbalancing:ModifyIpPools",
)
_LISTENER_CHANGES = (
    "elasticloadbalancing:SetWebAcl", "elasticloadbalancing:ModifyListener",
    "elasticloadbalancing:AddListenerCertificates", "elasticloadbalancing:RemoveListenerCertificates",
    "elasticloadbalancing:ModifyRule", "elasticloadbalancing:SetRulePriorities",
)


def _allow(actions: tuple[str, ...] | list[str], resource: str | list[str] = "*",
           condition: dict[str, Any] | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Action": list(actions), "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return statement


def policy_document(settings: ControllerSettings) -> str:
    """The controller's permissions, in the stack's partition. Changes to security groups, load
    balancers and target groups are limited to those carrying the cluster tag the controller sets
    on what it creates; security-group rule changes on untagged groups are limited to the cluster's
    VPC (the install guide's suggested narrowing of its unconditioned statement)."""
    p = settings.partition
    sg = f"arn:{p}:ec2:*:*:security-group/*"
    balancers = [f"arn:{p}:elasticloadbalancing:*:*:targetgroup/*/*",
                 f"arn:{p}:elasticloadbalancing:*:*:loadbalancer/net/*/*",
                 f"arn:{p}:elasticloadbalancing:*:*:loadbalancer/app/*/*"]
    listeners = [f"arn:{p}:elasticloadbalancing:*:*:listener/net/*/*/*",
                 f"arn:{p}:elasticloadbalancing:*:*:listener/app/*/*/*",
                 f"arn:{p}:elasticloadbalancing:*:*:listener-rule/net/*/*/*",
                 f"arn:{p}:elasticloadbalancing:*:*:listener-rule/app/*/*/*"]
    tagged_request = {"Null": {f"aws:RequestTag/{_CLUSTER_TAG}": "false"}}
    tagged_resource = {"Null": {f"aws:ResourceTag/{_CLUSTER_TAG}": "false"}}
    retag = {"Null": {f"aws:RequestTag/{_CLUSTER_TAG}": "true", f"aws:ResourceTag/{_CLUSTER_TAG}": "false"}}
    vpc = f"arn:{p}:ec2:{settings.region}:*:vpc/{settings.vpc_id}"
    statements = [
        _allow(["iam:CreateServiceLinkedRole"], condition={
            "StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}}),
        _allow(_DESCRIBE),
        _allow(_LISTENER_ADDONS),
        _allow(["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"],
               condition={"ArnLike": {"ec2:Vpc": vpc}}),
        _allow(["ec2:CreateSecurityGroup"]),
        _allow(["ec2:CreateTags"], sg, {"StringEquals": {"ec2:CreateAction": "CreateSecurityGroup"},
                                        **tagged_request}),
        _allow(["ec2:CreateTags", "ec2:DeleteTags"], sg, retag),
        _allow(["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress", "ec2:DeleteSecurityGroup"],
               condition=tagged_resource),
        _allow(["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"],
               condition=tagged_request),
        _allow(["elasticloadbalancing:CreateListener", "elasticloadbalancing:DeleteListener",
                "elasticloadbalancing:CreateRule", "elasticloadbalancing:DeleteRule"]),
        _allow(["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"], balancers, retag),
        _allow(["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"], listeners),
        _allow(_MODIFY_OWN, condition=tagged_resource),
        _allow(["elasticloadbalancing:AddTags"], balancers, {
            "StringEquals": {"elasticloadbalancing:CreateAction": ["CreateTargetGroup", "CreateLoadBalancer"]},
            **tagged_request}),
        _allow(["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"],
               f"arn:{p}:elasticloadbalancing:*:*:targetgroup/*/*"),
        _allow(_LISTENER_CHANGES),
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)


def role_props(settings: ControllerSettings) -> dict[str, Any]:
    return {"assumeRolePolicy": pod_identity_trust_policy(),
            "description": f"AWS Load Balancer Controller of EKS cluster {settings.cluster_name}"}


def policy_props(settings: ControllerSettings) -> dict[str, Any]:
    return {"policy": policy_document(settings),
            "description": f"What the AWS Load Balancer Controller of {settings.cluster_name} may do"}


def pod_identity_props(settings: ControllerSettings, role_arn: object) -> dict[str, Any]:
    return {"clusterName": settings.cluster_name, "namespace": NAMESPACE, "serviceAccount": SERVICE_ACCOUNT,
            "roleArn": role_arn}


def chart_values(settings: ControllerSettings) -> dict[str, Any]:
    """The release's values (keys of the chart's values.yaml at 3.5.0).

    - The service account has the name the Pod Identity association binds (no IRSA annotation).
    - `enableServiceMutatorWebhook: false`: the chart's default makes the controller claim every new
      Service of type LoadBalancer in the cluster; this stack only asks it for Ingresses.
    - `keepTLSSecret`: the webhook certificate is kept across upgrades instead of a new one per render.
    - Two replicas with a disruption budget where the stack keeps more than one; the chart's own
      non-root, read-only-root, no-escalation container security context is kept.
    """
    values: dict[str, Any] = {
        "clusterName": settings.cluster_name,
        "region": settings.region,
        "vpcId": settings.vpc_id,
        "replicaCount": settings.replicas,
        "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT},
        "enableServiceMutatorWebhook": False,
        "keepTLSSecret": True,
        "createIngressClassResource": True,
        "ingressClass": INGRESS_CLASS,
        "defaultSSLPolicy": settings.ssl_policy,
        "podLabels": labels(RELEASE, COMPONENT),
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
    }
    if settings.replicas > 1:
        values["podDisruptionBudget"] = {"maxUnavailable": 1}
    return values


# The chart's top-level values keys this module sets: each is a key of stable/aws-load-balancer-
# controller/values.yaml at chart 3.5.0 (the chart has no values.schema.json; a test holds the values
# to this list, and a new pin re-reads it).
CHART_KEYS = frozenset({
    "clusterName", "region", "vpcId", "replicaCount", "serviceAccount", "enableServiceMutatorWebhook",
    "keepTLSSecret", "createIngressClassResource", "ingressClass", "defaultSSLPolicy", "podLabels", "resources",
    "podDisruptionBudget",
})
