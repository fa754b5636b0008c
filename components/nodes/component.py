"""GPU node pools: the nodes a graph deployment's workers run on, as typed objects.

Two kinds. ``eks``: an EKS managed node group this stack creates (node role, launch template, and for
EFA pools a cluster placement group and a security group for EFA traffic; see `components.nodes.eks`).
``existing``: nodes that are already there (any cluster, kind included), picked by a label selector,
with their GPU count and node count declared in config; nothing is created for them.

Either way the pool exposes `shape` (`PoolShape`: what pure builders and the capacity check use,
known at plan time) and typed outputs. The outputs of an ``eks`` pool resolve once its node group
exists, so whatever is built from them (a graph's nodeSelector) is created after the nodes and
deleted before them; a consumer can also pass the pool itself to ``depends_on``.
"""

from __future__ import annotations

from typing import Any, assert_never

import pulumi

from components.kit.aws import (
    EKS_NODE_GROUP,
    IAM_ROLE,
    IAM_ROLE_POLICY_ATTACHMENT,
    LAUNCH_TEMPLATE,
    PLACEMENT_GROUP,
    SECURITY_GROUP,
)
from components.nodes.eks import (
    EksNodeGroup,
    efa_security_group_props,
    launch_template_props,
    node_group_props,
    node_policy_arns,
    node_role_props,
    placement_group_props,
)
from components.nodes.settings import ExistingNodes, NodePoolSettings
from components.nodes.shape import PoolShape
from components.register.aws import AwsResource

TYPE = "dynamo-cluster:components:GpuNodePool"


class GpuNodePool(pulumi.ComponentResource):
    """A node pool; for kind ``eks`` it creates the node group and what it needs. AWS resources
    use the ``aws`` provider given in `opts` (``providers={"aws": ...}``)."""

    shape: PoolShape
    pool_name: pulumi.Output[str]
    node_selector: pulumi.Output[dict[str, str]]
    tolerations: pulumi.Output[list[dict[str, str]]]
    gpus_per_node: pulumi.Output[int]
    gpu_model: pulumi.Output[str]
    gpu_memory_gib: pulumi.Output[int]
    max_nodes: pulumi.Output[int]
    efa_interfaces: pulumi.Output[int]
    availability_zone: pulumi.Output[str | None]
    node_group_name: pulumi.Output[str] | None
    node_role_arn: pulumi.Output[str] | None
    launch_template_id: pulumi.Output[str] | None
    placement_group_name: pulumi.Output[str] | None

    def __init__(self, name: str, settings: NodePoolSettings, opts: pulumi.ResourceOptions) -> None:
        super().__init__(TYPE, name, None, opts)
        self.settings = settings
        self.shape = settings.shape
        self.node_group_name = self.node_role_arn = self.launch_template_id = self.placement_group_name = None
        ready: pulumi.Output[Any]
        match settings.nodes:
            case EksNodeGroup() as group:
                ready = self._node_group(name, group)
            case ExistingNodes():
                ready = pulumi.Output.from_input(settings.name)  # nothing to create: the nodes are there
            case _:
                assert_never(settings.nodes)
        shape = self.shape

        def after_ready(value: Any) -> pulumi.Output[Any]:
            return ready.apply(lambda _: value)

        self.pool_name = after_ready(shape.name)
        self.node_selector = after_ready(dict(shape.node_selector))
        self.tolerations = after_ready([dict(t) for t in shape.tolerations])
        self.gpus_per_node = after_ready(shape.gpus_per_node)
        self.gpu_model = after_ready(shape.gpu_model)
        self.gpu_memory_gib = after_ready(shape.gpu_memory_gib)
        self.max_nodes = after_ready(shape.max_nodes)
        self.efa_interfaces = after_ready(shape.efa_interfaces)
        self.availability_zone = after_ready(shape.availability_zone)
        self.register_outputs({
            "poolName": self.pool_name, "nodeSelector": self.node_selector, "tolerations": self.tolerations,
            "gpusPerNode": self.gpus_per_node, "gpuModel": self.gpu_model, "gpuMemoryGiB": self.gpu_memory_gib,
            "maxNodes": self.max_nodes, "efaInterfaces": self.efa_interfaces,
            "availabilityZone": self.availability_zone, "nodeGroupName": self.node_group_name,
        })

    def _node_group(self, name: str, group: EksNodeGroup) -> pulumi.Output[Any]:
        """Register the node group and what it needs; returns its ARN (resolves once it exists)."""
        child = pulumi.ResourceOptions(parent=self)
        pool = self.settings.name
        attachments: list[pulumi.Resource] = []
        role_arn: pulumi.Output[str]
        if group.node_role_arn is None:
            role = AwsResource(IAM_ROLE, f"{name}-node-role", node_role_props(pool, group.cluster_name), child,
                               outputs=("arn", "name"))
            role_arn = role.output("arn")
            attachments = [
                AwsResource(IAM_ROLE_POLICY_ATTACHMENT, f"{name}-node-role-{short}",
                            {"role": role.id, "policyArn": arn}, child, outputs=())
                for short, arn in node_policy_arns(group.partition).items()]
        else:
            role_arn = pulumi.Output.from_input(group.node_role_arn)
        security_groups: list[pulumi.Input[str]] = []
        if group.efa and group.vpc_id is not None and group.cluster_security_group_id is not None:
            efa_sg = AwsResource(SECURITY_GROUP, f"{name}-efa", efa_security_group_props(pool, group.vpc_id), child,
                                 outputs=("arn", "name"))
            security_groups = [group.cluster_security_group_id, efa_sg.id]
        placement_name: pulumi.Output[str] | None = None
        if group.placement_group:
            placement = AwsResource(PLACEMENT_GROUP, f"{name}-placement", placement_group_props(pool), child,
                                    outputs=("arn", "name"))
            placement_name = placement.output("name")
        template = AwsResource(
            LAUNCH_TEMPLATE, f"{name}-launch-template",
            launch_template_props(pool, group, security_groups=security_groups,
                                  placement_group_name=placement_name),
            child, outputs=("arn", "latestVersion"))
        node_group = AwsResource(
            EKS_NODE_GROUP, f"{name}-node-group",
            node_group_props(pool, group, role_arn=role_arn, launch_template_id=template.id,
                             launch_template_version=template.output("latestVersion").apply(lambda v: str(int(v)))),
            pulumi.ResourceOptions(parent=self, depends_on=attachments,
                                   ignore_changes=["scalingConfig.desiredSize"]),
            outputs=("arn", "nodeGroupName", "status"))
        self.node_role_arn = role_arn
        self.launch_template_id = template.id
        self.placement_group_name = placement_name
        self.node_group_name = node_group.output("nodeGroupName")
        return node_group.output("arn")
