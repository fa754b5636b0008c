"""Shared readers: resources and storage, read through their key declarations."""

from components.kit.resources import Resources
from stacks.config.common import cpu_millis, read_resources, read_storage
from stacks.config.keys.common import resources, storage
from stacks.config.reader import Node, Problems
from stacks.config.schema import Derived, Fixed

_RESOURCE_DOCS = ("cpu", "memory", "limit")


def test_resources_keep_defaults_and_validate() -> None:
    problems = Problems()
    root = Node("x", {"resources": {"cpu": "2", "memory": "lots"}, "r2": {"cpuLimit": "1500m"}}, problems)
    derived = Derived("computed")
    first = resources("x.resources", cpu=derived, memory=derived, examples=_RESOURCE_DOCS, docs=_RESOURCE_DOCS)
    second = resources("x.r2", cpu=derived, memory=derived, examples=_RESOURCE_DOCS, docs=_RESOURCE_DOCS)
    default = Resources(cpu="500m", memory="1Gi")
    assert read_resources(root, first, default) == Resources(cpu="2", memory="1Gi")
    assert read_resources(root, second, default).to_k8s() == {
        "requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "1Gi", "cpu": "1500m"}}
    assert [p.key for p in problems.found] == ["x.resources.memory"]


def test_resources_take_fixed_defaults_from_their_keys() -> None:
    problems = Problems()
    root = Node("y", {"resources": {"cpu": "2"}}, problems)
    keys = resources("y.resources", cpu=Fixed("1"), memory=Fixed("2Gi"), cpu_limit=Fixed("4"),
                     examples=_RESOURCE_DOCS, docs=_RESOURCE_DOCS)
    assert read_resources(root, keys) == Resources(cpu="2", memory="2Gi", cpu_limit="4")
    assert not problems.found


def test_storage_defaults_to_the_stack_class_and_checks_minimum() -> None:
    problems = Problems()
    root = Node("nats", {"storage": {"size": "1Gi"}}, problems)
    keys = storage("nats.storage", size=Fixed("10Gi"), minimum="2Gi", examples=("a", "b"), docs=("a", "b"))
    volume = read_storage(root, keys, "gp3")
    assert volume.storage_class == "gp3"
    assert volume.size == "10Gi"
    assert [str(p) for p in problems.found] == [
        "dynamo-cluster:nats.storage.size: is 1Gi; allowed: a Kubernetes quantity such as 20Gi or 512Mi, "
        "at least 2Gi"]


def test_cpu_millis() -> None:
    assert cpu_millis("500m") == 500
    assert cpu_millis("2") == 2000
    assert cpu_millis("0.25") == 250
