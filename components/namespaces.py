"""The namespaces every later component lives in: platform, monitoring and workloads."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.kit.kube import KubeObject, labels

TYPE = "dynamo-cluster:components:Namespaces"


@dataclass(frozen=True)
class NamespaceNames:
    platform: str
    monitoring: str
    workloads: str


def namespace_manifest(name: str, role: str) -> dict[str, object]:
    """A Namespace labelled with its role in the cluster."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": labels(name, role, {"dynamo-cluster/role": role})},
    }


class Namespaces(pulumi.ComponentResource):
    """Creates the three namespaces. Their `*` outputs carry the dependency on each namespace, so
    whatever is placed in one is created after it and deleted before it. With `retain`, destroy
    leaves them (and the data volumes in them) in the cluster."""

    platform: pulumi.Output[str]
    monitoring: pulumi.Output[str]
    workloads: pulumi.Output[str]

    def __init__(self, name: str, names: NamespaceNames, opts: pulumi.ResourceOptions,
                 retain: bool = False) -> None:
        super().__init__(TYPE, name, None, opts)
        # Deleting a namespace deletes every volume claim in it: where data must survive
        # `pulumi destroy`, the namespaces are left in place too.
        child = pulumi.ResourceOptions(parent=self, retain_on_delete=retain)
        self.names = names
        self.platform = KubeObject(f"{name}-platform", namespace_manifest(names.platform, "platform"), child).name
        self.monitoring = KubeObject(
            f"{name}-monitoring", namespace_manifest(names.monitoring, "monitoring"), child).name
        self.workloads = KubeObject(
            f"{name}-workloads", namespace_manifest(names.workloads, "workloads"), child).name
        self.register_outputs({"platform": self.platform, "monitoring": self.monitoring,
                               "workloads": self.workloads})
