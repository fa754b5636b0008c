"""The namespaces every later component lives in, as one component (their manifests and Pod Security
levels: `components.namespaces.manifests`)."""

from __future__ import annotations

import pulumi

from components.namespaces.manifests import NamespaceNames, namespace_manifest, workloads_level
from components.register.kube import KubeObject

TYPE = "dynamo-cluster:components:Namespaces"


class Namespaces(pulumi.ComponentResource):
    """Creates the three namespaces. Their `*` outputs carry the dependency on each namespace, so
    whatever is placed in one is created after it and deleted before it. With `retain`, destroy
    leaves them (and the data volumes in them) in the cluster. `efa_workers`: a graph runs workers
    on an EFA pool, whose pods are privileged."""

    platform: pulumi.Output[str]
    monitoring: pulumi.Output[str]
    workloads: pulumi.Output[str]

    def __init__(self, name: str, names: NamespaceNames, opts: pulumi.ResourceOptions,
                 retain: bool = False, efa_workers: bool = False) -> None:
        super().__init__(TYPE, name, None, opts)
        # Deleting a namespace deletes every volume claim in it: where data must survive
        # `pulumi destroy`, the namespaces are left in place too.
        child = pulumi.ResourceOptions(parent=self, retain_on_delete=retain)
        self.names = names
        self.platform = KubeObject(f"{name}-platform", namespace_manifest(names.platform, "platform"), child).name
        self.monitoring = KubeObject(
            f"{name}-monitoring", namespace_manifest(names.monitoring, "monitoring", "privileged"), child).name
        self.workloads = KubeObject(
            f"{name}-workloads", namespace_manifest(names.workloads, "workloads", workloads_level(efa_workers)),
            child).name
        self.register_outputs({"platform": self.platform, "monitoring": self.monitoring,
                               "workloads": self.workloads})
