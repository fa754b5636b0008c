"""A highly available etcd cluster on our own StatefulSet: Dynamo's discovery and lease store.

Not the Bitnami chart (its images moved to an unmaintained legacy registry) and not the alpha
etcd-operator: the upstream image with a static membership of 1, 3 or 5 members. Client and peer
traffic is TLS with client-certificate auth, from a CA the stack issues with pulumi-tls (docs/decisions.md
says why not cert-manager). Private keys live in the stack's state, encrypted as secrets, and are
wrapped in `pulumi.Output.secret` here as well: the provider marks them secret itself, but not every
engine (the offline plan's mocks) does, and a key must never reach a plan artifact or a diff in plain
text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi

from components.etcd import manifests, tls
from components.etcd.settings import CLIENT_PORT, METRICS_PORT, PEER_PORT, EtcdSettings
from components.etcd.tls import CA_VALIDITY_HOURS, EARLY_RENEWAL_HOURS, LEAF_VALIDITY_HOURS, member_dns_names
from components.kit.netpol import IngressRules, ScrapeSource, ingress_policy
from components.register.kube import KubeObject
from components.register.monitoring import Monitoring

if TYPE_CHECKING:
    from pulumi_tls import PrivateKey


ALGORITHM, CURVE = "ECDSA", "P256"
MEMBER_USES = ["digital_signature", "key_encipherment", "server_auth", "client_auth"]
CLIENT_USES = ["digital_signature", "key_encipherment", "client_auth"]


@dataclass(frozen=True)
class Pem:
    """A certificate and its key (the key always a secret Output)."""

    cert: pulumi.Output[str]
    key: pulumi.Output[str]

    @property
    def revision(self) -> pulumi.Output[str]:
        """A short digest of the certificate, which changes when it is renewed."""
        return self.cert.apply(lambda pem: hashlib.sha256(pem.encode()).hexdigest()[:16])


@dataclass(frozen=True)
class EtcdCertificates:
    ca: pulumi.Output[str]  # the CA certificate (public)
    member: Pem
    client: Pem


def _key(name: str, opts: pulumi.ResourceOptions) -> tuple[PrivateKey, pulumi.Output[str]]:
    from pulumi_tls import PrivateKey

    key = PrivateKey(name, algorithm=ALGORITHM, ecdsa_curve=CURVE, opts=opts)
    return key, pulumi.Output.secret(key.private_key_pem)


def issue(name: str, *, cluster: str, peer_service: str, namespace: pulumi.Input[str],
          opts: pulumi.ResourceOptions) -> EtcdCertificates:
    """A CA, one certificate for every member (client and peer traffic) and one client certificate."""
    from pulumi_tls import (
        CertRequest,
        CertRequestSubjectArgs,
        LocallySignedCert,
        SelfSignedCert,
        SelfSignedCertSubjectArgs,
    )

    _, ca_key = _key(f"{name}-ca-key", opts)
    ca = SelfSignedCert(f"{name}-ca", private_key_pem=ca_key, is_ca_certificate=True,
                        subject=SelfSignedCertSubjectArgs(common_name=f"{cluster} etcd CA",
                                                          organization="dynamo-cluster"),
                        validity_period_hours=CA_VALIDITY_HOURS,
                        allowed_uses=["cert_signing", "crl_signing", "digital_signature"], opts=opts)

    def signed(role: str, common_name: str, uses: list[str], dns_names: pulumi.Input[list[str]] | None,
               ip_addresses: list[str] | None) -> Pem:
        _, key = _key(f"{name}-{role}-key", opts)
        request = CertRequest(f"{name}-{role}-csr", private_key_pem=key, dns_names=dns_names,
                              ip_addresses=ip_addresses,
                              subject=CertRequestSubjectArgs(common_name=common_name, organization="dynamo-cluster"),
                              opts=opts)
        cert = LocallySignedCert(f"{name}-{role}-cert", cert_request_pem=request.cert_request_pem,
                                 ca_cert_pem=ca.cert_pem, ca_private_key_pem=ca_key,
                                 validity_period_hours=LEAF_VALIDITY_HOURS, early_renewal_hours=EARLY_RENEWAL_HOURS,
                                 allowed_uses=uses, opts=opts)
        return Pem(cert=cert.cert_pem, key=key)

    dns = pulumi.Output.from_input(namespace).apply(lambda ns: member_dns_names(cluster, peer_service, ns))
    member = signed("member", f"{cluster} member", MEMBER_USES, dns, ["127.0.0.1"])
    client = signed("client", f"{cluster} client", CLIENT_USES, None, None)
    return EtcdCertificates(ca=ca.cert_pem, member=member, client=client)


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

        certs = issue(f"{name}-tls", cluster=name, peer_service=manifests.peer_service(name),
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
            IngressRules(client_ports=[CLIENT_PORT], client_namespaces=list(client_namespaces),
                         peer_ports=[PEER_PORT], metrics_ports=[METRICS_PORT],
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
