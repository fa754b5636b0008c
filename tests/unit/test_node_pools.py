"""GpuNodePool under mocks: what an eks pool registers, what an existing pool exposes."""

from dataclasses import replace

import pulumi
import pulumi_aws

from components.nodes.component import GpuNodePool
from components.nodes.eks import EksNodeGroup
from components.nodes.settings import ExistingNodes, NodePoolSettings, Taint, pool_shape
from stacks.plan.mockrun import Registry
from tests.harness import run_resources

GROUP = EksNodeGroup(cluster_name="dynamo-prod", partition="aws", instance_type="p5.48xlarge",
                     ami_type="AL2023_x86_64_NVIDIA", capacity_type="ON_DEMAND", min_nodes=1, desired_nodes=2,
                     max_nodes=4, disk_size_gib=500, subnet_ids=("subnet-0a1b2c3d",), efa_interfaces=32,
                     placement_group=True, capacity_reservation_id="cr-0a1b2c3d4e5f67890", vpc_id="vpc-0a1b2c3d",
                     cluster_security_group_id="sg-0c1a5e7", availability_zone="us-east-1a")
EKS = NodePoolSettings(name="h100-efa", gpu_model="H100", gpus_per_node=8, gpu_memory_gib=80, nodes=GROUP,
                       instance_type="p5.48xlarge", hourly_price_usd=55.04, key="nodePools[0]")
EXISTING = NodePoolSettings(name="l4", gpu_model="L4", gpus_per_node=1, gpu_memory_gib=22, key="nodePools[1]",
                            nodes=ExistingNodes(node_selector={"gpu": "l4"}, nodes=3,
                                                   taints=(Taint("dedicated", "NoSchedule", "gpu"),)))


def run(settings: NodePoolSettings) -> Registry:
    def program() -> None:
        provider = pulumi_aws.Provider("aws", region="us-east-1")
        pool = GpuNodePool(settings.name, settings, pulumi.ResourceOptions(providers={"aws": provider}))
        for name in ("pool_name", "node_selector", "tolerations", "gpus_per_node", "gpu_model", "gpu_memory_gib",
                     "max_nodes", "efa_interfaces", "availability_zone"):
            pulumi.export(name, getattr(pool, name))
        pulumi.export("node_group_name", pool.node_group_name)
    return run_resources(program)


def test_eks_pool_registers_the_node_group_and_what_it_needs() -> None:
    registry = run(EKS)
    kinds = sorted(r.type for r in registry.resources if r.type.startswith("aws:"))
    assert kinds == ["aws:ec2/launchTemplate:LaunchTemplate", "aws:ec2/placementGroup:PlacementGroup",
                     "aws:ec2/securityGroup:SecurityGroup", "aws:eks/nodeGroup:NodeGroup", "aws:iam/role:Role",
                     *["aws:iam/rolePolicyAttachment:RolePolicyAttachment"] * 3]
    component = registry.of_type("dynamo-cluster:components:GpuNodePool")[0]
    provider = registry.of_type("pulumi:providers:aws")[0]
    for r in registry.resources:
        if r.type.startswith("aws:"):
            assert r.parent == component.urn
            assert r.provider == provider.urn


def test_node_group_inputs() -> None:
    registry = run(EKS)
    [group] = registry.of_type("aws:eks/nodeGroup:NodeGroup")
    inputs = group.inputs
    assert inputs["amiType"] == "AL2023_x86_64_NVIDIA"
    assert inputs["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]
    assert inputs["labels"] == {"dynamo-cluster/pool": "h100-efa", "dynamo-cluster/efa": "true"}
    assert inputs["scalingConfig"] == {"minSize": 1, "desiredSize": 2, "maxSize": 4}
    assert inputs["subnetIds"] == ["subnet-0a1b2c3d"]
    assert inputs["launchTemplate"] == {"id": "h100-efa-launch-template-id", "version": "1"}
    assert group.options["ignoreChanges"] == ["scalingConfig.desiredSize"]
    attachments = {r.urn for r in registry.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")}
    assert attachments <= set(group.dependencies)  # nodes join only once the role has its policies


def test_launch_template_inputs() -> None:
    registry = run(EKS)
    [template] = registry.of_type("aws:ec2/launchTemplate:LaunchTemplate")
    interfaces = template.inputs["networkInterfaces"]
    assert sum(i["interfaceType"] == "efa-only" for i in interfaces) == 32
    assert interfaces[0]["securityGroups"] == ["sg-0c1a5e7", "h100-efa-efa-id"]
    assert template.inputs["placement"] == {"groupName": "h100-efa-placement"}
    assert template.inputs["capacityReservationSpecification"] == {
        "capacityReservationTarget": {"capacityReservationId": "cr-0a1b2c3d4e5f67890"}}
    [group] = registry.of_type("aws:ec2/securityGroup:SecurityGroup")
    [placement] = registry.of_type("aws:ec2/placementGroup:PlacementGroup")
    assert {group.urn, placement.urn} <= set(template.dependencies)


def test_an_existing_node_role_is_used_instead_of_a_new_one() -> None:
    arn = "arn:aws:iam::111122223333:role/gpu-nodes"
    registry = run(replace(EKS, nodes=replace(GROUP, node_role_arn=arn)))
    assert not registry.of_type("aws:iam/role:Role")
    assert not registry.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert registry.of_type("aws:eks/nodeGroup:NodeGroup")[0].inputs["nodeRoleArn"] == arn


def test_a_pool_without_efa_has_no_placement_group_or_security_group() -> None:
    plain = replace(GROUP, instance_type="g6e.12xlarge", efa_interfaces=0, placement_group=False,
                    capacity_reservation_id=None)
    registry = run(replace(EKS, name="l40s", nodes=plain))
    assert not registry.of_type("aws:ec2/securityGroup:SecurityGroup")
    assert not registry.of_type("aws:ec2/placementGroup:PlacementGroup")
    assert "networkInterfaces" not in registry.of_type("aws:ec2/launchTemplate:LaunchTemplate")[0].inputs


def test_eks_pool_exposes_typed_outputs() -> None:
    outputs = run(EKS).stack_outputs
    assert outputs == {
        "pool_name": "h100-efa", "node_selector": {"dynamo-cluster/pool": "h100-efa"},
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        "gpus_per_node": 8, "gpu_model": "H100", "gpu_memory_gib": 80, "max_nodes": 4, "efa_interfaces": 32,
        "availability_zone": "us-east-1a", "node_group_name": "h100-efa-node-group"}


def test_existing_pool_creates_nothing_and_exposes_its_nodes() -> None:
    registry = run(EXISTING)
    assert [r.type for r in registry.resources if r.custom and r.type.startswith("aws:")] == []
    outputs = registry.stack_outputs
    assert outputs["node_selector"] == {"gpu": "l4"}
    assert outputs["tolerations"] == [{"key": "dedicated", "operator": "Equal", "value": "gpu",
                                       "effect": "NoSchedule"}]
    assert (outputs["gpus_per_node"], outputs["max_nodes"], outputs["efa_interfaces"]) == (1, 3, 0)
    assert outputs["node_group_name"] is None


def test_shape() -> None:
    shape = pool_shape(EKS)
    assert (shape.name, shape.gpus_per_node, shape.gpu_model, shape.gpu_memory_gib) == ("h100-efa", 8, "H100", 80)
    assert (shape.min_nodes, shape.max_nodes, shape.max_gpus) == (1, 4, 32)
    assert shape.node_selector == {"dynamo-cluster/pool": "h100-efa"}
    assert (shape.efa_interfaces, shape.has_efa, shape.availability_zone) == (32, True, "us-east-1a")
    assert (shape.instance_type, shape.hourly_cost_at_max, shape.key) == ("p5.48xlarge", 220.16, "nodePools[0]")
    existing = pool_shape(EXISTING)
    assert (existing.min_nodes, existing.max_nodes, existing.instance_type) == (3, 3, None)
