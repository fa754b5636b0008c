"""The AWS Load Balancer Controller of an EKS cluster, installed by the stack when a graph's endpoint
asks for a load balancer: its IAM role and policy, the Pod Identity association that hands the role
to its service account, and the pinned chart (`components.ingress.controller` builds each)."""

from __future__ import annotations

import pulumi

from components.ingress.controller import (
    NAMESPACE,
    RELEASE,
    chart_values,
    pod_identity_props,
    policy_props,
    role_props,
)
from components.ingress.settings import ControllerSettings
from components.kit.aws import EKS_POD_IDENTITY_ASSOCIATION, IAM_POLICY, IAM_ROLE, IAM_ROLE_POLICY_ATTACHMENT
from components.register.aws import AwsResource
from components.register.helm import helm_release

TYPE = "dynamo-cluster:components:LoadBalancerController"


class LoadBalancerController(pulumi.ComponentResource):
    """`aws`: options with the stack's AWS provider; `cluster`: options with its Kubernetes provider.
    Ingresses depend on `ready` (the release, which waits for the controller and its webhook)."""

    ready: pulumi.Resource

    def __init__(self, name: str, settings: ControllerSettings, *, aws: pulumi.ResourceOptions,
                 cluster: pulumi.ResourceOptions) -> None:
        super().__init__(TYPE, name, None, pulumi.ResourceOptions.merge(aws, cluster))
        on_aws = pulumi.ResourceOptions.merge(aws, pulumi.ResourceOptions(parent=self))
        role = AwsResource(IAM_ROLE, f"{name}-role", role_props(settings), on_aws, outputs=("arn", "name"))
        policy = AwsResource(IAM_POLICY, f"{name}-policy", policy_props(settings), on_aws, outputs=("arn",))
        attachment = AwsResource(IAM_ROLE_POLICY_ATTACHMENT, f"{name}-policy-attachment",
                                 {"role": role.id, "policyArn": policy.output("arn")}, on_aws, outputs=())
        association = AwsResource(EKS_POD_IDENTITY_ASSOCIATION, f"{name}-pod-identity",
                                  pod_identity_props(settings, role.output("arn")), on_aws,
                                  outputs=("associationArn",))
        # The controller starts with its credentials in place: the release waits for its pods.
        self.ready = helm_release(
            f"{name}-release", chart=settings.chart, release_name=RELEASE, namespace=NAMESPACE,
            values=chart_values(settings),
            opts=pulumi.ResourceOptions.merge(cluster, pulumi.ResourceOptions(
                parent=self, depends_on=[attachment, association])))
        self.register_outputs({})
