"""Shared readers: resources and storage."""

from components.kit.resources import Resources
from stacks.config.common import cpu_millis, read_resources, read_storage
from stacks.config.reader import Node, Problems


def test_resources_keep_defaults_and_validate() -> None:
    problems = Problems()
    root = Node("x", {"resources": {"cpu": "2", "memory": "lots"}, "r2": {"cpuLimit": "1500m"}}, problems)
    default = Resources(cpu="500m", memory="1Gi")
    assert read_resources(root, "resources", default) == Resources(cpu="2", memory="1Gi")
    assert read_resources(root, "r2", default).to_k8s() == {
        "requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "1Gi", "cpu": "1500m"}}
    assert [p.key for p in problems.found] == ["x.resources.memory"]


def test_storage_defaults_to_the_stack_class_and_checks_minimum() -> None:
    problems = Problems()
    root = Node("nats", {"storage": {"size": "1Gi"}}, problems)
    storage = read_storage(root, "storage", "gp3", "10Gi", minimum="2Gi")
    assert storage.storage_class == "gp3"
    assert storage.size == "10Gi"
    assert [str(p) for p in problems.found] == [
        "dynamo-cluster:nats.storage.size: is 1Gi; allowed: a Kubernetes quantity such as 20Gi or 512Mi, "
        "at least 2Gi"]


def test_cpu_millis() -> None:
    assert cpu_millis("500m") == 500
    assert cpu_millis("2") == 2000
    assert cpu_millis("0.25") == 250
