"""Node pools and the GPU platform in the environment: dev creates nothing on AWS, prod its pools."""

import json

from stacks.plan.command import capacity_lines
from tests.harness import parse, plan_config, plan_stack, stack_config

AWS_PROVIDER = "pulumi:providers:aws"


def test_dev_has_existing_pools_no_aws_and_no_gpu_platform() -> None:
    registry = plan_stack("dev")
    assert not [r for r in registry.resources if r.type.startswith("aws:") or r.type == AWS_PROVIDER]
    assert not registry.of_type("dynamo-cluster:components:GpuPlatform")
    charts = {r.inputs["chart"] for r in registry.of_type("kubernetes:helm.sh/v3:Release")}
    assert not charts & {"gpu-operator", "aws-efa-k8s-device-plugin"}
    [pool] = registry.of_type("dynamo-cluster:components:GpuNodePool")
    assert pool.name == "cpu"
    assert registry.stack_outputs["nodePools"]["cpu"]["nodeSelector"] == {"kubernetes.io/os": "linux"}
    assert registry.stack_outputs["gpuOperatorNamespace"] is None


def test_prod_has_two_eks_pools_on_the_explicit_aws_provider() -> None:
    registry = plan_stack("prod")
    [provider] = registry.of_type(AWS_PROVIDER)
    assert provider.inputs["region"] == "us-east-1"
    # a provider's structured inputs travel as JSON text
    assert json.loads(provider.inputs["allowedAccountIds"]) == ["111122223333"]
    assert json.loads(provider.inputs["defaultTags"]) == {"tags": {"dynamo-cluster:stack": "prod",
                                                       "dynamo-cluster:managed-by": "pulumi"}}
    aws = [r for r in registry.resources if r.type.startswith("aws:")]
    assert aws
    assert {r.provider for r in aws} == {provider.urn}
    groups = {r.inputs["labels"]["dynamo-cluster/pool"]: r.inputs
              for r in registry.of_type("aws:eks/nodeGroup:NodeGroup")}
    assert groups["h100-efa"]["instanceTypes"] == ["p5.48xlarge"]
    assert groups["h200-efa"]["instanceTypes"] == ["p5en.48xlarge"]
    assert len(registry.of_type("aws:ec2/placementGroup:PlacementGroup")) == 2
    templates = {r.name: r.inputs for r in registry.of_type("aws:ec2/launchTemplate:LaunchTemplate")}
    def efa(template: str) -> int:
        return sum(i["interfaceType"] == "efa-only" for i in templates[template]["networkInterfaces"])

    assert efa("h100-efa-launch-template") == 32
    assert efa("h200-efa-launch-template") == 16
    assert "capacityReservationSpecification" in templates["h100-efa-launch-template"]


def test_prod_installs_the_gpu_operator_and_efa_plugin_independently_of_the_pools() -> None:
    registry = plan_stack("prod")
    releases = {r.inputs["name"]: r for r in registry.of_type("kubernetes:helm.sh/v3:Release")
                if r.parent is not None and "GpuPlatform" in r.parent}
    assert set(releases) == {"gpu-operator", "aws-efa-k8s-device-plugin"}
    pools = {r.urn for r in registry.resources if r.type.startswith("aws:")}
    for release in releases.values():
        assert not pools & set(release.dependencies)


def test_a_prod_stack_without_pools_creates_no_aws_provider() -> None:
    registry = plan_config({"environment": "prod"}, "prod", secrets=["kubeconfig"])
    assert not registry.of_type(AWS_PROVIDER)
    assert not registry.of_type("dynamo-cluster:components:GpuPlatform")


def test_summary_capacity_lines_list_the_pools() -> None:
    lines = capacity_lines(parse(stack_config("seed-multinode"), "seed-multinode"))
    # multi-node replicas hold their nodes whole: vLLM's 2 x 1-GPU pods hold two nodes per replica
    assert lines[2] == ("| h100-efa | p5.48xlarge | 8 x H100 (80 GiB) | 8/10 | sglang-disagg 32 (16 asked), "
                        "vllm-disagg 32 (4 asked) | 16 | $550.40 |")
    assert lines[3] == ("| h200-efa | p5en.48xlarge | 8 x H200 (141 GiB) | 4/6 | trtllm-disagg 32 (16 asked) | 16 "
                        "| $379.78 |")
