"""The stack config model: committed stacks parse; broken configs list every problem."""

import pytest

from components.kit.secret import SecretValue
from stacks.config.reader import ConfigError
from tests.harness import parse, stack_config


def test_committed_stacks_parse() -> None:
    dev = parse(stack_config("dev"), "dev")
    prod = parse(stack_config("prod"), "prod")
    assert dev.environment == "dev"
    assert prod.environment == "prod"
    assert dev.kubernetes.context == "kind-dynamo"
    assert prod.namespaces.platform == "dynamo-system"


def test_environment_defaults_from_the_stack_name_only_for_dev_and_prod() -> None:
    assert parse({"kubernetes": {"context": "kind-x"}}, "dev").environment == "dev"
    with pytest.raises(ConfigError) as error:
        parse({"kubernetes": {"context": "kind-x"}}, "staging")
    assert "dynamo-cluster:environment: is required but not set; allowed: one of dev, prod" in str(error.value)


def test_inline_kubeconfig_must_be_secret_and_excludes_a_path() -> None:
    config = parse({"environment": "prod"}, "prod", secrets=["kubeconfig"])
    assert isinstance(config.kubernetes.kubeconfig, SecretValue)
    assert "offline-plan" not in repr(config)
    with pytest.raises(ConfigError) as error:
        parse({"environment": "prod", "kubeconfig": "apiVersion: v1"}, "prod")
    assert "dynamo-cluster:kubeconfig: is stored in plain text" in str(error.value)
    with pytest.raises(ConfigError) as error:
        parse({"environment": "prod", "kubernetes": {"kubeconfigPath": "/k", "context": "c"}}, "prod",
              secrets=["kubeconfig"])
    assert "is set together with the secret" in str(error.value)


def test_prod_needs_an_explicit_kubeconfig_and_context() -> None:
    with pytest.raises(ConfigError) as error:
        parse({"environment": "prod"}, "prod")
    assert "dynamo-cluster:kubernetes.kubeconfigPath: is required" in str(error.value)
    with pytest.raises(ConfigError) as error:
        parse({"environment": "prod", "kubernetes": {"kubeconfigPath": "/k"}}, "prod")
    assert "dynamo-cluster:kubernetes.context: is required with kubernetes.kubeconfigPath" in str(error.value)


def test_namespaces_must_be_distinct_labels() -> None:
    with pytest.raises(ConfigError) as error:
        parse({"kubernetes": {"context": "c"},
               "namespaces": {"platform": "same", "workloads": "same", "monitoring": "kube-mon"}})
    text = str(error.value)
    assert "namespaces.workloads: is 'same', the same as namespaces.platform" in text
    assert "namespaces.monitoring: is 'kube-mon', a namespace Kubernetes creates or reserves" in text


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as error:
        parse({"environment": "qa", "kubernetes": {"context": "c", "version": 1.2, "kubeconfgPath": "/x"},
               "namespaces": "dynamo", "allowDataLoss": "yes", "colour": "blue"}, "dev")
    keys = [p.key for p in error.value.problems]
    assert keys == sorted(keys)
    assert set(keys) == {"environment", "kubernetes.version", "kubernetes.kubeconfgPath", "namespaces",
                         "allowDataLoss", "colour"}
    assert "did you mean 'kubeconfigPath'" in str(error.value)
