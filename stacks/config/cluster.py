"""The cluster-level sections: which environment, how to reach Kubernetes, which namespaces."""

from __future__ import annotations

from dataclasses import dataclass

from components.kit.secret import SecretValue
from components.namespaces.manifests import NamespaceNames
from stacks.config.defaults import ENVIRONMENTS, Environment, EnvironmentDefaults
from stacks.config.limits import namespace_problem
from stacks.config.reader import Node

# Kubernetes minor versions this project renders and validates manifests for.
SUPPORTED_KUBERNETES = ("1.31", "1.32", "1.33", "1.34", "1.35")
DEFAULT_KUBERNETES = "1.33"


@dataclass(frozen=True)
class KubernetesConfig:
    """How the explicit Kubernetes provider reaches the cluster: a kubeconfig file and context,
    or an inline kubeconfig held as a secret. Never the ambient KUBECONFIG."""

    version: str
    context: str | None
    kubeconfig_path: str | None
    kubeconfig: SecretValue | None


def read_environment(root: Node, stack: str) -> Environment:
    """``environment``, by default the stack's name when that is one; an invalid one reads as dev."""
    default = next((e for e in ENVIRONMENTS if e == stack), None)
    return root.choice("environment", ENVIRONMENTS, default) or "dev"


def read_kubernetes(root: Node, inline: SecretValue | None, defaults: EnvironmentDefaults) -> KubernetesConfig:
    node = root.child("kubernetes")
    version = node.string("version", DEFAULT_KUBERNETES, choices=SUPPORTED_KUBERNETES)
    path = node.optional_string("kubeconfigPath")
    context = node.optional_string("context")
    if path is not None and inline is not None:
        node.problem("kubeconfigPath", "is set together with the secret dynamo-cluster:kubeconfig",
                     "one of kubernetes.kubeconfigPath or the secret kubeconfig, not both")
    if path is None and inline is None:
        if defaults.kubeconfig_path is not None:
            path = defaults.kubeconfig_path
        else:
            node.problem("kubeconfigPath", "is required but not set (and no secret kubeconfig is set)",
                         "a kubeconfig file path, or `pulumi config set --secret kubeconfig < file`")
    if path is not None and context is None:
        node.problem("context", "is required with kubernetes.kubeconfigPath",
                     "a context name in that file, so the current-context is never used by accident")
    node.close()
    return KubernetesConfig(version=version, context=context, kubeconfig_path=path, kubeconfig=inline)


def read_namespaces(root: Node) -> NamespaceNames:
    node = root.child("namespaces")
    names = NamespaceNames(
        platform=node.dns_label("platform", "dynamo-system"),
        monitoring=node.dns_label("monitoring", "monitoring"),
        workloads=node.dns_label("workloads", "dynamo"),
    )
    seen: dict[str, str] = {}
    for role, name in (("platform", names.platform), ("monitoring", names.monitoring),
                       ("workloads", names.workloads)):
        if name in seen:
            node.problem(role, f"is {name!r}, the same as namespaces.{seen[name]}",
                         "three distinct namespace names")
        seen[name] = role
        if (wrong := namespace_problem(name)) is not None:
            node.problem(role, wrong, "a namespace of its own: not default, not starting with kube-")
    node.close()
    return names
