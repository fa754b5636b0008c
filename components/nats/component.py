"""NATS with JetStream, from the official chart: Dynamo's event plane.

Each client authenticates as its own user with a generated password and may use only its subjects:
Dynamo's pods as `dynamo`, `verify` as `verify` (`values.users`). Passwords never appear in Helm
values: they live in Secrets (Dynamo's in the server's namespace and each client namespace, because
a pod can only reference Secrets of its own namespace; verify's in the server's namespace only), and
the server reads them from its environment.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
from pulumi_random import RandomPassword

from components.kit.netpol import IngressRules, ScrapeSource, ingress_policy
from components.nats import values
from components.nats.settings import CLIENT_PORT, CLUSTER_PORT, EXPORTER_PORT, VERIFY_USER, NatsSettings
from components.register.helm import helm_release
from components.register.kube import KubeObject
from components.register.monitoring import Monitoring

TYPE = "dynamo-cluster:components:NatsJetStream"
PASSWORD_LENGTH = 40


class NatsJetStream(pulumi.ComponentResource):
    """A NATS server (dev) or cluster (prod) with JetStream on persistent volumes.

    `client_namespaces` are the namespaces whose pods connect: each gets a copy of the auth Secret
    under `auth_secret_name`, and the NetworkPolicy admits them. The server's own namespace always
    holds the Secret; pass its Output again (the same object) to let its pods connect too.
    """

    client_url: pulumi.Output[str]  # nats://<service>.<namespace>.svc.cluster.local:4222
    auth_secret_name: pulumi.Output[str]  # the same name in the server's and every client namespace
    verify_secret_name: pulumi.Output[str]  # verify's user, in the server's namespace
    replicas: int
    max_payload: int  # bytes
    release_name: str  # also the client Service's name
    namespace: pulumi.Output[str]

    def __init__(self, name: str, settings: NatsSettings, *, namespace: pulumi.Output[str],
                 client_namespaces: Sequence[pulumi.Output[str]], monitoring: Monitoring | None,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.settings = settings
        self.replicas = settings.replicas
        self.max_payload = settings.max_payload
        self.release_name = name
        self.namespace = namespace

        password = RandomPassword(f"{name}-password", length=PASSWORD_LENGTH, special=False, numeric=False,
                                  opts=child)
        secret_value: pulumi.Output[str] = pulumi.Output.secret(password.result)
        secret_name = values.auth_secret_name(name)
        server_secret = KubeObject(f"{name}-auth", values.auth_secret(secret_name, namespace, secret_value), child)
        copies = [KubeObject(f"{name}-auth-client-{index}", values.auth_secret(secret_name, ns, secret_value), child)
                  for index, ns in enumerate(n for n in client_namespaces if n is not namespace)]
        # Every copy exists once this resolves: consumers that use the name wait for all of them.
        self.auth_secret_name = pulumi.Output.all(server_secret.name, *(c.name for c in copies)).apply(
            lambda names: str(names[0]))
        verify_password = RandomPassword(f"{name}-verify-password", length=PASSWORD_LENGTH, special=False,
                                         numeric=False, opts=child)
        verify_secret = KubeObject(f"{name}-verify-auth", values.auth_secret(
            values.verify_secret_name(name), namespace, pulumi.Output.secret(verify_password.result),
            user=VERIFY_USER), child)
        self.verify_secret_name = verify_secret.name

        release = helm_release(
            name, chart=settings.chart, release_name=name, namespace=namespace,
            values=values.helm_values(settings, release=name, auth_secret=server_secret.name,
                                      verify_secret=verify_secret.name, metrics=monitoring is not None),
            opts=child)
        self.client_url = pulumi.Output.all(release.name, namespace).apply(
            lambda parts: values.client_url(str(parts[0]), str(parts[1])))

        scrapers = None if monitoring is None else ScrapeSource(monitoring.namespace, monitoring.prometheus_pod_labels)
        KubeObject(f"{name}-ingress", ingress_policy(
            name, namespace, values.selector_labels(name), "nats",
            IngressRules(client_ports=[CLIENT_PORT], client_namespaces=list(client_namespaces),
                         peer_ports=[CLUSTER_PORT], metrics_ports=[EXPORTER_PORT],
                         scrapers=scrapers)), child)
        if monitoring is not None:
            KubeObject(f"{name}-podmonitor", values.pod_monitor(name, namespace), pulumi.ResourceOptions(
                parent=self, depends_on=[monitoring.crds_ready]))

        self.register_outputs({"client_url": self.client_url, "auth_secret_name": self.auth_secret_name,
                               "verify_secret_name": self.verify_secret_name,
                               "replicas": self.replicas, "max_payload": self.max_payload})

    def client_env(self) -> list[dict[str, Any]]:
        """EnvVar entries (valueFrom.secretKeyRef on the auth Secret) that authenticate a Dynamo pod
        in one of the client namespaces; the operator supplies NATS_SERVER itself."""
        return values.client_env(self.auth_secret_name)
