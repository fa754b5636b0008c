"""The cluster-level sections: which environment, how to reach Kubernetes, which namespaces."""

from __future__ import annotations

from dataclasses import dataclass

from components.kit.secret import SecretValue
from components.namespaces.manifests import NamespaceNames
from stacks.config.defaults import ENVIRONMENTS, Environment, EnvironmentDefaults
from stacks.config.keys import cluster as keys
from stacks.config.keys.cluster import SUPPORTED_KUBERNETES
from stacks.config.limits import namespace_problem
from stacks.config.reader import Node

__all__ = ["SUPPORTED_KUBERNETES", "KubernetesConfig", "read_environment", "read_kubernetes", "read_namespaces"]


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
    chosen = root.read(keys.ENVIRONMENT, default) if default is not None else root.read(keys.ENVIRONMENT)
    override = root.read(keys.ENVIRONMENT_OVERRIDE)
    if default is not None and chosen in ENVIRONMENTS and chosen != default and not override:
        root.problem("environment", f"is {chosen} on the stack named {stack}: the environment decides what "
                     "`pulumi destroy` keeps and how much runs",
                     f"{stack} (or unset); or set environmentOverride: true to mean it")
    return next((e for e in ENVIRONMENTS if e == chosen), "dev")


def read_kubernetes(root: Node, inline: SecretValue | None, defaults: EnvironmentDefaults) -> KubernetesConfig:
    node = root.child("kubernetes")
    version = node.read(keys.KUBERNETES_VERSION)
    path = node.read_optional(keys.KUBECONFIG_PATH)
    context = node.read_optional(keys.CONTEXT)
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
        platform=node.read(keys.PLATFORM_NAMESPACE),
        monitoring=node.read(keys.MONITORING_NAMESPACE),
        workloads=node.read(keys.WORKLOADS_NAMESPACE),
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
