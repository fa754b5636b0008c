"""A highly available etcd cluster on our own StatefulSet: Dynamo's discovery and lease store.

Not the Bitnami chart (its images moved to an unmaintained legacy registry) and not the alpha
etcd-operator: the upstream image with a static membership of 1, 3 or 5 members. Client and peer
traffic is TLS with client-certificate auth, from a CA the stack issues (`components.etcd.certificates`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi

from components.etcd import certificates, manifests, tls
from components.etcd.manifests import EtcdSettings
from components.kit.kube import KubeObject
from components.kit.monitoring import Monitoring
from components.kit.netpol import IngressRules, ScrapeSource, ingress_policy

TYPE = "dynamo-cluster:components:EtcdCluster"


class EtcdCluster(pulumi.ComponentResource):
    """`client_endpoints` is the client Service URL; `members` the member (pod) names. Pods in
    `client_namespaces` may connect: each namespace (and the cluster's own) gets the client certificate
    Secret `client_secret_name`, and the NetworkPolicy admits them; the members talk to each other;
    Prometheus scrapes them when `monitoring` is given."""

    client_endpoints: pulumi.Output[str]  # https://<service>.<namespace>.svc.cluster.local:2379
    client_secret_name: pulumi.Output[str]  # the same name in the cluster's and every client namespace
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

        certs = certificates.issue(f"{name}-tls", cluster=name, peer_service=manifests.peer_service(name),
                                   namespace=namespace, opts=child)
        server_secret = KubeObject(f"{name}-server-tls", tls.server_secret(
            name, namespace, ca_pem=certs.ca, cert_pem=certs.member.cert, key_pem=certs.member.key), child)
        client_secrets = [KubeObject(f"{name}-client-tls-{index}", tls.client_secret(
            name, ns, ca_pem=certs.ca, cert_pem=certs.client.cert, key_pem=certs.client.key), child)
            for index, ns in enumerate([namespace, *(n for n in client_namespaces if n is not namespace)])]
        # Every copy exists once this resolves: consumers that use the name wait for all of them.
        self.client_secret_name = pulumi.Output.all(*(c.name for c in client_secrets)).apply(
            lambda names: str(names[0]))

        KubeObject(f"{name}-peers", manifests.peer_service_manifest(name, namespace), child)
        client = KubeObject(f"{name}-client", manifests.client_service_manifest(name, namespace), child)
        members = KubeObject(f"{name}-members", manifests.statefulset(
            name, namespace, settings, tls_secret=server_secret.name, tls_revision=certs.member.revision), child)
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
                               "replicas": self.replicas, "client_secret_name": self.client_secret_name})

    def client_env(self) -> list[dict[str, Any]]:
        """EnvVar entries (valueFrom.secretKeyRef on the client certificate Secret) that let a Dynamo
        pod in one of the client namespaces connect: ETCD_AUTH_CA, ETCD_AUTH_CLIENT_CERT and
        ETCD_AUTH_CLIENT_KEY, PEM contents. The operator supplies ETCD_ENDPOINTS (`client_endpoints`)."""
        return tls.client_env(self.client_secret_name)
