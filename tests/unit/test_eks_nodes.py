"""The pure builders of an EKS GPU node group's AWS resources (pulumi-aws wire properties)."""

import json
from dataclasses import replace

import pytest

from components.nodes.eks import (
    EksNodeGroup,
    efa_network_interfaces,
    efa_security_group_props,
    launch_template_props,
    node_group_props,
    node_labels,
    node_policy_arns,
    node_role_props,
    placement_group_props,
)

P5 = EksNodeGroup(cluster_name="dynamo-prod", partition="aws", instance_type="p5.48xlarge",
                  ami_type="AL2023_x86_64_NVIDIA", capacity_type="ON_DEMAND", min_nodes=2, desired_nodes=3,
                  max_nodes=4, disk_size_gib=500, subnet_ids=("subnet-0a1b2c3d",), labels={"team": "inference"},
                  efa_interfaces=32, placement_group=True, capacity_reservation_id="cr-0a1b2c3d4e5f67890",
                  vpc_id="vpc-0a1b2c3d", cluster_security_group_id="sg-0c1a5e7", availability_zone="us-east-1a")
PLAIN = replace(P5, instance_type="g6e.xlarge", efa_interfaces=0, placement_group=False, capacity_reservation_id=None,
                vpc_id=None, cluster_security_group_id=None, labels={})


def test_node_role_trusts_ec2_and_gets_the_three_eks_policies() -> None:
    props = node_role_props("h100", "dynamo-prod")
    assert json.loads(props["assumeRolePolicy"])["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    assert node_policy_arns("aws") == {
        "worker": "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
        "cni": "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
        "ecr-read": "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"}
    assert node_policy_arns("aws-cn")["cni"] == "arn:aws-cn:iam::aws:policy/AmazonEKS_CNI_Policy"


def test_efa_security_group_allows_all_traffic_within_itself_both_ways() -> None:
    props = efa_security_group_props("h100", "vpc-0a1b2c3d")
    assert props["vpcId"] == "vpc-0a1b2c3d"
    for direction in ("ingress", "egress"):
        [rule] = props[direction]
        assert (rule["protocol"], rule["fromPort"], rule["toPort"], rule["self"]) == ("-1", 0, 0, True)
        assert "cidrBlocks" not in rule


def test_placement_group_is_a_cluster_group() -> None:
    assert placement_group_props("h100")["strategy"] == "cluster"


def test_p5_launch_template_has_an_efa_interface_on_each_of_its_32_cards() -> None:
    props = launch_template_props("h100", P5, security_groups=["sg-0c1a5e7", "sg-efa"], placement_group_name="pg-1")
    interfaces = props["networkInterfaces"]
    # the primary ENA interface (the only one with IP addresses), then one EFA-only per card
    assert [(i["networkCardIndex"], i["deviceIndex"], i["interfaceType"]) for i in interfaces] == [
        (0, 0, "interface"), (0, 1, "efa-only"), *((card, 0, "efa-only") for card in range(1, 32))]
    assert all(i["securityGroups"] == ["sg-0c1a5e7", "sg-efa"] for i in interfaces)
    assert all("subnetId" not in i for i in interfaces)  # EKS gives the subnet
    assert props["placement"] == {"groupName": "pg-1"}
    assert props["capacityReservationSpecification"] == {
        "capacityReservationTarget": {"capacityReservationId": "cr-0a1b2c3d4e5f67890"}}
    assert "instanceMarketOptions" not in props


def test_launch_template_disk_and_metadata() -> None:
    props = launch_template_props("h100", P5)
    assert props["blockDeviceMappings"] == [{"deviceName": "/dev/xvda", "ebs": {
        "volumeSize": 500, "volumeType": "gp3", "encrypted": "true", "deleteOnTermination": "true"}}]
    assert props["metadataOptions"]["httpTokens"] == "required"
    assert props["updateDefaultVersion"] is True


def test_plain_pool_launch_template_has_no_interfaces_placement_or_reservation() -> None:
    props = launch_template_props("l40s", PLAIN, security_groups=["ignored"])
    assert not {"networkInterfaces", "placement", "capacityReservationSpecification"} & set(props)


def test_capacity_block_launches_into_its_reservation_as_a_capacity_block() -> None:
    block = replace(P5, capacity_type="CAPACITY_BLOCK")
    props = launch_template_props("h100", block)
    assert props["instanceMarketOptions"] == {"marketType": "capacity-block"}
    assert props["capacityReservationSpecification"]["capacityReservationTarget"]["capacityReservationId"] == \
        "cr-0a1b2c3d4e5f67890"
    assert node_group_props("h100", block, role_arn="r", launch_template_id="lt",
                            launch_template_version="1")["capacityType"] == "CAPACITY_BLOCK"


def test_node_group() -> None:
    props = node_group_props("h100", P5, role_arn="arn:role", launch_template_id="lt-1", launch_template_version="3")
    assert props["clusterName"] == "dynamo-prod"
    assert props["amiType"] == "AL2023_x86_64_NVIDIA"
    assert props["instanceTypes"] == ["p5.48xlarge"]
    assert props["capacityType"] == "ON_DEMAND"
    assert props["scalingConfig"] == {"minSize": 2, "desiredSize": 3, "maxSize": 4}
    assert props["subnetIds"] == ["subnet-0a1b2c3d"]
    assert props["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]
    assert props["labels"] == {"team": "inference", "dynamo-cluster/pool": "h100", "dynamo-cluster/efa": "true"}
    assert props["updateConfig"] == {"maxUnavailable": 1}
    assert props["launchTemplate"] == {"id": "lt-1", "version": "3"}
    assert props["nodeRoleArn"] == "arn:role"
    assert "diskSize" not in props  # the launch template holds the disk


def test_pool_label_wins_over_user_labels_and_efa_mark_only_on_efa_pools() -> None:
    assert node_labels("a", replace(PLAIN, labels={"dynamo-cluster/pool": "b"})) == {"dynamo-cluster/pool": "a"}


def test_efa_interfaces_builder_and_settings_guard() -> None:
    assert efa_network_interfaces(0, ["sg"]) == []
    with pytest.raises(ValueError, match="vpc_id"):
        replace(P5, vpc_id=None)
