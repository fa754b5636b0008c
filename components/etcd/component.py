"""A highly available etcd cluster on our own StatefulSet: Dynamo's discovery and lease store.

Not the Bitnami chart (its images moved to an unmaintained legacy registry) and not the alpha
etcd-operator: the upstream image with a static membership of 1, 3 or 5 members.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi

from components.etcd import manifests
from components.etcd.manifests import EtcdSettings
from components.kit.kube import KubeObject
from components.kit.monitoring import Monitoring
from components.kit.netpol import IngressRules, ScrapeSource, ingress_policy

TYPE = "dynamo-cluster:components:EtcdCluster"


class EtcdCluster(pulumi.ComponentResource):
    """`client_endpoints` is the client Service URL; `members` the member (pod) names. Pods in
    `client_namespaces` may connect; the members talk to each other; Prometheus scrapes them when
    `monitoring` is given."""

    client_endpoints: pulumi.Output[str]  # http://<service>.<namespace>.svc.cluster.local:2379
    members: list[str]  # member (pod) names: <name>-0, <name>-1, ...
    replicas: int
    namespace: pulumi.Output[str]

    def __init__(self, name: str, settings: EtcdSettings, *, namespace: pulumi.Output[str],
                 client_namespaces: Sequence[pulumi.Output[str]], monitoring: Monitoring | None,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.settings = settings
        self.replicas = settings.replicas
        self.members = manifests.member_names(name, settings.replicas)
        self.namespace = namespace

        KubeObject(f"{name}-peers", manifests.peer_service_manifest(name, namespace), child)
        client = KubeObject(f"{name}-client", manifests.client_service_manifest(name, namespace), child)
        members = KubeObject(f"{name}-members", manifests.statefulset(name, namespace, settings), child)
        if settings.replicas > 1:
            KubeObject(f"{name}-pdb", manifests.disruption_budget(name, namespace, settings.replicas), child)

        scrapers = None if monitoring is None else ScrapeSource(monitoring.namespace, monitoring.prometheus_pod_labels)
        KubeObject(f"{name}-ingress", ingress_policy(
            name, namespace, manifests.selector_labels(name), "etcd",
            IngressRules(client_ports=[manifests.CLIENT_PORT], client_namespaces=list(client_namespaces),
                         peer_ports=[manifests.PEER_PORT], metrics_ports=[manifests.METRICS_PORT],
                         scrapers=scrapers)), child)
        if monitoring is not None:
            KubeObject(f"{name}-servicemonitor", manifests.service_monitor(name, namespace), pulumi.ResourceOptions(
                parent=self, depends_on=[monitoring.crds_ready]))

        # Resolves once both the Service and the members exist.
        self.client_endpoints = pulumi.Output.all(client.name, members.name, namespace).apply(
            lambda parts: manifests.client_endpoint(str(parts[0]), str(parts[2])))
        self.register_outputs({"client_endpoints": self.client_endpoints, "members": self.members,
                               "replicas": self.replicas})
