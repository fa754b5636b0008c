"""What the capture monitor records: parents, both kinds of dependency, providers, secrets."""

import inspect

import pulumi
import pulumi_kubernetes as k8s

from components.kit.kube import type_token
from components.register.kube import KubeObject
from stacks.plan.mockrun import SECRET
from tests.harness import named, run_resources


def configmap(name: str, data: dict[str, object]) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "x"}, "data": data}


def program() -> None:
    provider = k8s.Provider("k", kubeconfig="/dev/null", context="c")
    opts = pulumi.ResourceOptions(provider=provider)
    first = KubeObject("first", configmap("first", {"a": "1"}), opts)
    # implied dependency: an output of `first` flows into `second`
    KubeObject("second", configmap("second", {"from": first.name}), opts)
    # explicit dependency only
    KubeObject("third", configmap("third", {}), pulumi.ResourceOptions.merge(
        opts, pulumi.ResourceOptions(depends_on=[first])))
    KubeObject("secret", {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "x"},
                          "stringData": {"token": "hunter2"}}, opts)
    KubeObject("uses-secret", configmap("u", {"v": pulumi.Output.secret("hunter3")}), opts)


def test_dependencies_explicit_and_implied_and_providers() -> None:
    registry = run_resources(program)
    first, second, third = (named(registry, n) for n in ("first", "second", "third"))
    assert second.dependencies == (first.urn,)
    assert third.dependencies == (first.urn,)
    assert second.inputs["data"] == {"from": "first"}
    provider = named(registry, "k")
    assert {r.provider for r in (first, second, third)} == {provider.urn}
    assert first.parent is not None
    assert first.parent.endswith("pulumi:pulumi:Stack::dynamo-cluster-test")


def test_secrets_are_masked_in_what_is_recorded() -> None:
    registry = run_resources(program)
    assert named(registry, "secret").inputs["stringData"] == {"token": SECRET}
    assert named(registry, "uses-secret").inputs["data"] == {"v": SECRET}
    assert "hunter" not in repr(registry.resources)


def test_integers_stay_integers() -> None:
    registry = run_resources(lambda: KubeObject(
        "n", configmap("n", {}) | {"binaryData": None, "immutable": True},
        pulumi.ResourceOptions(provider=k8s.Provider("k", kubeconfig="/dev/null", context="c"))))
    assert named(registry, "n").inputs["immutable"] is True


def test_type_tokens_match_pulumi_kubernetes() -> None:
    assert type_token("v1", "Secret") == "kubernetes:core/v1:Secret"
    assert type_token("apps/v1", "StatefulSet") == "kubernetes:apps/v1:StatefulSet"
    assert type_token("nvidia.com/v1alpha1", "DynamoGraphDeployment") == \
        "kubernetes:nvidia.com/v1alpha1:DynamoGraphDeployment"
    # the typed SDK classes register the same tokens
    assert "'kubernetes:core/v1:Secret'" in inspect.getsource(k8s.core.v1.Secret)
    assert "'kubernetes:apps/v1:StatefulSet'" in inspect.getsource(k8s.apps.v1.StatefulSet)


def test_runs_are_isolated() -> None:
    a = run_resources(program)
    b = run_resources(program)
    assert sorted(r.urn for r in a.resources) == sorted(r.urn for r in b.resources)
    assert len(a.resources) == 7
