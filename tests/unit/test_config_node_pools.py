"""The nodePools, aws and gpuPlatform sections: committed stacks, defaults, and every problem."""

from typing import Any

import pytest

from stacks.config.reader import ConfigError
from stacks.config.stack import StackConfig
from tests.harness import parse, stack_config

AWS = {"region": "us-east-1", "clusterName": "dynamo-prod", "vpcId": "vpc-0a1b2c3d",
       "clusterSecurityGroupId": "sg-0c1a5e70"}
P5 = {"name": "h100", "kind": "eks", "instanceType": "p5.48xlarge", "subnetIds": ["subnet-0a1b2c3d"], "maxNodes": 2}


def prod(*pools: dict[str, Any], aws: dict[str, Any] | None = None, **extra: Any) -> StackConfig:
    values = stack_config("prod") | {"nodePools": list(pools), "aws": AWS if aws is None else aws,
                                     "graphs": []} | extra
    return parse(values, "prod")


def problems(*pools: dict[str, Any], aws: dict[str, Any] | None = None, **extra: Any) -> list[str]:
    with pytest.raises(ConfigError) as error:
        prod(*pools, aws=aws, **extra)
    return [str(p) for p in error.value.problems]


def test_committed_dev_stack_has_one_cpu_pool_and_no_gpu_platform() -> None:
    config = parse(stack_config("dev"), "dev")
    [pool] = config.node_pools
    assert (pool.name, pool.kind, pool.gpus_per_node) == ("cpu", "existing", 0)
    assert config.pool_shapes["cpu"].node_selector == {"kubernetes.io/os": "linux"}
    assert config.gpu_platform is None
    assert not config.uses_aws


def test_committed_prod_stack_has_two_efa_pools() -> None:
    config = parse(stack_config("prod"), "prod")
    pools = {p.name: p for p in config.node_pools}
    assert set(pools) == {"h100-efa", "h200-efa"}
    h100, h200 = pools["h100-efa"].eks, pools["h200-efa"].eks
    assert h100 is not None
    assert h200 is not None
    assert (h100.instance_type, h100.efa_interfaces, h100.placement_group) == ("p5.48xlarge", 32, True)
    assert h100.capacity_reservation_id is not None
    assert (h200.instance_type, h200.efa_interfaces) == ("p5en.48xlarge", 16)
    assert config.gpu_platform is not None
    assert config.uses_aws
    assert config.aws.partition == "aws"


def test_eks_defaults() -> None:
    pool = prod(P5).node_pools[0]
    group = pool.eks
    assert group is not None
    assert (group.min_nodes, group.desired_nodes, group.max_nodes) == (1, 1, 2)
    assert (group.ami_type, group.capacity_type, group.disk_size_gib) == ("AL2023_x86_64_NVIDIA", "ON_DEMAND", 200)
    assert (group.efa, group.placement_group, group.node_role_arn) == (False, False, None)
    assert (pool.gpu_model, pool.gpus_per_node, pool.hourly_price_usd) == ("H100", 8, 55.04)


def test_existing_pool_with_driver_install_turns_the_operator_driver_on() -> None:
    values = stack_config("dev") | {"nodePools": [{
        "name": "l4", "nodeSelector": {"gpu": "l4"}, "nodes": 2, "gpusPerNode": 1, "gpuModel": "L4",
        "gpuMemoryGiB": 22, "installDriver": True, "taints": [{"key": "dedicated", "value": "gpu"}]}], "graphs": []}
    config = parse(values)
    assert config.gpu_platform is not None
    assert (config.gpu_platform.install_driver, config.gpu_platform.install_toolkit) == (True, True)
    assert config.pool_shapes["l4"].tolerations == (
        {"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"},)


def test_eks_pools_need_the_aws_section() -> None:
    assert problems(P5 | {"efa": True, "availabilityZone": "us-east-1a"}, aws={}) == [
        "dynamo-cluster:aws.clusterName: is required by the eks node pools; allowed: the name of the EKS cluster "
        "the node groups join",
        "dynamo-cluster:aws.clusterSecurityGroupId: is required by the eks node pools with EFA; allowed: the "
        "cluster security group id: EFA interfaces carry it so nodes can join",
        "dynamo-cluster:aws.region: is required by the eks node pools; allowed: an AWS region such as us-east-1",
        "dynamo-cluster:aws.vpcId: is required by the eks node pools with EFA; allowed: the cluster's VPC id, for "
        "the EFA security group",
    ]


def test_gpu_facts_must_agree_with_the_instance_type() -> None:
    assert problems(P5 | {"gpusPerNode": 4}) == [
        "dynamo-cluster:nodePools[0].gpusPerNode: is 4, but p5.48xlarge has 8; allowed: 8, or leave it unset to "
        "take it from the instance type"]


def test_efa_needs_an_efa_type_one_subnet_and_a_zone() -> None:
    assert problems(P5 | {"instanceType": "g6e.xlarge", "efa": True, "availabilityZone": "us-east-1a"}) == [
        "dynamo-cluster:nodePools[0].efa: is true, but g6e.xlarge has no EFA; allowed: false, or an EFA-capable "
        "instance type from the catalog, e.g. p5.48xlarge"]
    assert problems(P5 | {"efa": True, "subnetIds": ["subnet-0a1b2c3d", "subnet-0a1b2c3e"]}) == [
        "dynamo-cluster:nodePools[0].availabilityZone: is required on an EFA pool; allowed: the availability zone of "
        "its subnet",
        "dynamo-cluster:nodePools[0].subnetIds: has 2 subnets on an EFA pool; allowed: exactly one subnet: EFA "
        "traffic does not cross availability zones"]


def test_capacity_type_and_reservation() -> None:
    assert problems(P5 | {"capacityType": "CAPACITY_BLOCK"}) == [
        "dynamo-cluster:nodePools[0].capacityReservationId: is required with capacityType CAPACITY_BLOCK; allowed: "
        "the id of the capacity block's reservation (cr-...)"]
    assert problems(P5 | {"capacityType": "SPOT", "capacityReservationId": "cr-0a1b2c3d4e5f67890"}) == [
        "dynamo-cluster:nodePools[0].capacityReservationId: is set with capacityType SPOT; allowed: unset, or "
        "capacityType ON_DEMAND or CAPACITY_BLOCK"]
    assert problems(P5 | {"capacityType": "RESERVED"}) == [
        "dynamo-cluster:nodePools[0].capacityType: is 'RESERVED'; allowed: one of ON_DEMAND, SPOT, CAPACITY_BLOCK"]


def test_scaling_bounds() -> None:
    assert problems(P5 | {"minNodes": 3, "maxNodes": 2}) == [
        "dynamo-cluster:nodePools[0].desiredNodes: is 3, with minNodes 3 and maxNodes 2; allowed: minNodes <= "
        "desiredNodes <= maxNodes"]
    assert problems({k: v for k, v in P5.items() if k != "maxNodes"}) == [
        "dynamo-cluster:nodePools[0].maxNodes: is required but not set; allowed: an integer >= 1 and <= 1000"]


def test_pool_names_are_unique_and_pool_labels_reserved() -> None:
    assert problems(P5, P5 | {"labels": {"dynamo-cluster/pool": "x"}}) == [
        "dynamo-cluster:nodePools[1].labels: sets dynamo-cluster/pool, which the pool sets itself; allowed: labels "
        "other than dynamo-cluster/pool"]
    assert problems(P5, P5) == [
        "dynamo-cluster:nodePools[1].name: is 'h100', the same as nodePools[0].name; allowed: a name no other pool "
        "has"]


def test_keys_of_the_other_kind_are_unknown() -> None:
    assert problems(P5 | {"nodeSelector": {"a": "b"}}) == [
        "dynamo-cluster:nodePools[0].nodeSelector: is a key of existing pools, but this pool is kind eks; allowed: "
        "remove it, or kind: existing"]
    assert problems(P5 | {"colour": "green"})[0].startswith(
        "dynamo-cluster:nodePools[0].colour: unknown key; allowed: one of amiType, availabilityZone, ")


def test_existing_pools_declare_their_nodes() -> None:
    found = problems({"name": "gpu", "kind": "existing", "gpusPerNode": 2})
    assert found == [
        "dynamo-cluster:nodePools[0].gpuMemoryGiB: is required when gpusPerNode > 0; allowed: the memory of one "
        "GPU in GiB, e.g. 80",
        "dynamo-cluster:nodePools[0].gpuModel: is required when gpusPerNode > 0; allowed: the GPU model, e.g. H100 "
        "or L40S",
        "dynamo-cluster:nodePools[0].nodeSelector: is required but not set; allowed: a map of node label to value, "
        "e.g. {nvidia.com/gpu.present: 'true'}",
        "dynamo-cluster:nodePools[0].nodes: is required but not set; allowed: an integer >= 1 and <= 1000"]


def test_gpu_platform_section() -> None:
    assert problems(P5, gpuPlatform={"namespace": "monitoring"}) == [
        "dynamo-cluster:gpuPlatform.namespace: is 'monitoring', a namespace this stack already uses for something "
        "else; allowed: a namespace of its own, e.g. gpu-operator"]
    with pytest.raises(ConfigError) as error:
        parse(stack_config("dev") | {"gpuPlatform": {"enabled": True}})
    assert [str(p) for p in error.value.problems] == [
        "dynamo-cluster:gpuPlatform.enabled: is true, but no node pool has GPUs; allowed: false, or a node pool "
        "with gpusPerNode > 0"]
    assert prod(P5, gpuPlatform={"enabled": False}).gpu_platform is None


def test_aws_section_values() -> None:
    config = prod(P5, aws=AWS | {"region": "cn-north-1", "accountId": "111122223333", "profile": "gpu"})
    assert (config.aws.partition, config.aws.account_id, config.aws.profile) == ("aws-cn", "111122223333", "gpu")
    assert config.node_pools[0].eks is not None
    assert config.node_pools[0].eks.partition == "aws-cn"
    assert problems(P5, aws=AWS | {"accountId": 111122223333}) == [
        "dynamo-cluster:aws.accountId: expected a non-empty string, got the number 111122223333; allowed: a 12-digit "
        "AWS account id, quoted in YAML"]
