"""The explicit providers every resource of the stack uses: one for Kubernetes, one for AWS."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pulumi
import pulumi_kubernetes as k8s

from components.kit.aws import STACK_TAG
from stacks.config.stack import StackConfig

if TYPE_CHECKING:
    import pulumi_aws as aws


def kubernetes_provider(config: StackConfig) -> k8s.Provider:
    """The explicit provider every Kubernetes resource uses; nothing falls back to the ambient
    KUBECONFIG, because the kubeconfig is always given."""
    kube = config.kubernetes
    kubeconfig: pulumi.Input[str]
    if kube.kubeconfig is not None:
        kubeconfig = pulumi.Output.secret(kube.kubeconfig.value)
    else:
        assert kube.kubeconfig_path is not None  # parse_config guarantees one of the two
        kubeconfig = os.path.expanduser(kube.kubeconfig_path)
    return k8s.Provider(
        "kubernetes",
        kubeconfig=kubeconfig,
        context=kube.context,
        enable_server_side_apply=True,
        delete_unreachable=False,
    )


def aws_provider(config: StackConfig) -> aws.Provider:
    """The explicit provider every AWS resource uses: region (and profile, and the one account the
    credentials may belong to) from stack config, and tags that name the stack on every resource.
    Imported here: stacks without eks pools do not load the AWS SDK."""
    import pulumi_aws as aws

    settings = config.aws
    return aws.Provider(
        "aws",
        region=settings.region,
        profile=settings.profile,
        allowed_account_ids=[settings.account_id] if settings.account_id else None,
        default_tags={"tags": {STACK_TAG: config.stack, "dynamo-cluster:managed-by": "pulumi"}},
    )
