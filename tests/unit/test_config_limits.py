"""Config that Kubernetes, Helm or AWS would refuse later is refused at config time, one class per
test, each problem naming the limit it breaks."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from stacks.config.limits import (
    HELM_RELEASE_MAX,
    env_name_problem,
    image_tag_problem,
    label_key_problem,
    label_value_problem,
    mount_path_problem,
)
from stacks.config.reader import ConfigError
from stacks.plan.artifacts import releases
from tests.harness import example_stacks, parse, plan_servers, plan_stack, stack_config


def problems(values: dict[str, Any], stack: str = "dev") -> list[str]:
    with pytest.raises(ConfigError) as refused:
        parse(values, stack)
    return [str(p) for p in refused.value.problems]


def dev(**changes: Any) -> dict[str, Any]:
    return stack_config("dev") | changes


def prod_pool(**changes: Any) -> dict[str, Any]:
    values = copy.deepcopy(stack_config("prod"))
    values["nodePools"][0].update(changes)
    return values


def test_helm_release_names_fit_53_characters_and_are_unique_per_namespace() -> None:
    long = "a" * (HELM_RELEASE_MAX + 1)  # a DNS label still, but not a Helm release name
    [found] = problems(dev(operator={"releaseName": long}))
    assert found.startswith("dynamo-cluster:operator.releaseName: is 54 characters long, over Helm's limit of 53")
    [found] = problems(dev(operator={"releaseName": "nats"}))
    assert "the name of another Helm release in the platform namespace" in found
    parse(dev(operator={"releaseName": "a" * HELM_RELEASE_MAX}))


@pytest.mark.parametrize("stack", ["dev", "prod", *example_stacks()])
def test_every_planned_release_has_a_helm_name_unique_in_its_namespace(stack: str) -> None:
    for registry in (plan_stack(stack), *((plan_servers(stack),) if stack in ("dev", "prod") else ())):
        names = [(r["namespace"], r["name"]) for r in releases(registry)]
        assert len(set(names)) == len(names)
        assert all(len(name) <= HELM_RELEASE_MAX for _, name in names)


@pytest.mark.parametrize(("path", "wrong"), [
    ("models", "not an absolute path"), ("/", "a path the container needs"), ("/dev/shm", "a path the container"),
    ("/dev/shm/models", "a path the container"), ("/models/../etc", "climbs out"), ("/a/./../b", "climbs out")])
def test_mount_paths_are_absolute_without_dot_dot_and_not_reserved(path: str, wrong: str) -> None:
    assert wrong in (mount_path_problem(path) or "")
    found = problems(dev(modelCache={"enabled": True, "storage": {"storageClass": "efs"}, "mountPath": path}))
    assert any(p.startswith("dynamo-cluster:modelCache.mountPath:") for p in found), found
    assert mount_path_problem("/models") is None


def test_label_and_taint_keys_and_values_follow_kubernetes_syntax() -> None:
    assert label_key_problem("a" * 64) is not None
    assert label_key_problem("Example.com/x") is not None  # the prefix is a lower-case DNS subdomain
    assert label_key_problem("kubernetes.io/os") is not None
    assert label_key_problem("kubernetes.io/os", reserved_ok=True) is None
    assert label_key_problem("node.kubernetes.io/instance-type", reserved_ok=True) is None
    assert label_value_problem("k", "v" * 64) is not None
    assert label_value_problem("k", "") is None
    pool = {"name": "cpu", "kind": "existing", "nodeSelector": {"kubernetes.io/os": "linux", "bad key": "x"},
            "gpusPerNode": 0, "nodes": 1, "taints": [{"key": "-dedicated", "value": "x" * 64}]}
    found = problems(dev(nodePools=[pool]))
    assert any(p.startswith("dynamo-cluster:nodePools[0].nodeSelector: has the key 'bad key'") for p in found)
    assert any(p.startswith("dynamo-cluster:nodePools[0].taints[0].key: has the key '-dedicated'") for p in found)
    assert any(p.startswith("dynamo-cluster:nodePools[0].taints[0].value:") and "63" in p for p in found)
    found = problems(prod_pool(labels={"kubernetes.io/role": "gpu"}), "prod")
    assert any("nodePools[0].labels" in p and "reserves" in p for p in found), found
    found = problems(dev(etcd={"nodeSelector": {"role": "x" * 70}}))
    assert any(p.startswith("dynamo-cluster:etcd.nodeSelector:") for p in found), found


def test_environment_variable_names_are_ones_kubernetes_accepts() -> None:
    assert env_name_problem("NCCL_DEBUG") is None
    assert env_name_problem("my.var-1") is None
    for bad in ("1ST", "A=B", "A B", ""):
        assert env_name_problem(bad) is not None
    values = dev()
    values["graphs"] = copy.deepcopy(values["graphs"])
    values["graphs"][0]["prefill"]["env"] = {"GOOD": "1", "9LIVES": "x"}
    [found] = problems(values)
    assert found.startswith("dynamo-cluster:graphs[0].prefill.env: has the variable '9LIVES'")


def test_cpu_limit_is_never_below_the_request_configured_or_default() -> None:
    [found] = problems(dev(observability={"grafana": {"resources": {"cpu": "2", "cpuLimit": "1"}}}))
    assert found == ("dynamo-cluster:observability.grafana.resources.cpuLimit: is 1, below resources.cpu 2; "
                     "allowed: a CPU quantity at least resources.cpu")
    # the operator's default limit is 1 CPU: a request of 2 without a limit would be refused by Kubernetes
    [found] = problems(dev(operator={"resources": {"cpu": "2"}}))
    assert found.startswith("dynamo-cluster:operator.resources.cpu: is 2, above the default resources.cpuLimit 1")
    [found] = problems(dev(nats={"resources": {"cpu": "2", "cpuLimit": "500m"}}))
    assert found.startswith("dynamo-cluster:nats.resources.cpuLimit: is 500m, below resources.cpu 2")
    parse(dev(operator={"resources": {"cpu": "2", "cpuLimit": "2"}}))


@pytest.mark.parametrize("name", ["a..b", "-gp3", "gp3-", "GP3", "a" * 254, "a.-b"])
def test_storage_class_names_are_dns_subdomains(name: str) -> None:
    found = problems(dev(storageClass=name))
    assert any(p.startswith("dynamo-cluster:storageClass:") for p in found), found
    found = problems(dev(nats={"storage": {"storageClass": name}}))
    assert any(p.startswith("dynamo-cluster:nats.storage.storageClass:") for p in found), found
    parse(dev(storageClass="ebs.csi.aws.com-gp3"))


def test_counts_and_sizes_have_upper_bounds() -> None:
    found = problems(prod_pool(maxNodes=10**6, maxUnavailable=101), "prod")
    assert "dynamo-cluster:nodePools[0].maxNodes: is 1000000; allowed: an integer >= 1 and <= 1000" in found
    assert "dynamo-cluster:nodePools[0].maxUnavailable: is 101; allowed: an integer >= 1 and <= 100" in found
    assert problems(dev(nats={"storage": {"size": "2Pi"}})) == [
        "dynamo-cluster:nats.storage.size: is 2Pi; allowed: a Kubernetes quantity of at most 1Pi"]
    [cpu] = problems(dev(etcd={"resources": {"cpu": "100000"}}))
    assert cpu.startswith("dynamo-cluster:etcd.resources.cpu: is 100000, more CPUs than any node has")
    found = problems(dev(graphs=[], nodePools=[{"name": "cpu", "kind": "existing", "nodeSelector": {"a": "b"},
                                               "gpusPerNode": 0, "nodes": 2**40}]))
    assert any(p.startswith("dynamo-cluster:nodePools[0].nodes: is 1099511627776") for p in found), found


@pytest.mark.parametrize("price", [float("nan"), float("inf"), -1.0, 1e9])
def test_prices_are_finite_and_bounded(price: float) -> None:
    [refused] = problems(prod_pool(hourlyPriceUsd=price), "prod")
    assert refused.startswith(f"dynamo-cluster:nodePools[0].hourlyPriceUsd: is {price}; allowed: a finite number")


@pytest.mark.parametrize("name", ["default", "kube-system", "kube-public", "kube-anything"])
def test_reserved_namespaces_are_refused(name: str) -> None:
    [found] = problems(dev(namespaces={"platform": name}))
    assert found.startswith(f"dynamo-cluster:namespaces.platform: is '{name}', a namespace Kubernetes creates")
    gpu = problems(prod_pool() | {"gpuPlatform": {"namespace": name}}, "prod")
    assert any(p.startswith("dynamo-cluster:gpuPlatform.namespace:") for p in gpu), gpu


@pytest.mark.parametrize("tag", ["latest", "LATEST", "main", "nightly", "stable"])
def test_mutable_image_tags_are_refused(tag: str) -> None:
    assert image_tag_problem(f"nvcr.io/nvidia/ai-dynamo/vllm-runtime:{tag}") is not None
    [found] = problems(dev(operator={"imageTag": tag}))
    assert found.startswith(f"dynamo-cluster:operator.imageTag: uses the tag '{tag}', which moves to new builds")
    assert image_tag_problem("nvcr.io/x@sha256:" + "a" * 64) is None
    assert image_tag_problem("1.4.2-hotfix1") is None


def test_availability_zones_lie_in_aws_region() -> None:
    found = problems(prod_pool(availabilityZone="us-west-2a"), "prod")
    assert ("dynamo-cluster:nodePools[0].availabilityZone: is 'us-west-2a', a zone outside aws.region us-east-1; "
            "allowed: a zone of us-east-1, such as us-east-1a") in found
    parse(prod_pool(availabilityZone="us-east-1a"), "prod")
