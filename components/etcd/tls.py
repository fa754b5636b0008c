"""Pure builders for etcd's TLS: where members find their certificate, which names it must carry,
the Secrets that hold the certificates, and the environment a Dynamo container reads them from.

Every member has one certificate for client and peer traffic (server and client auth), signed by the
stack's CA; clients (Dynamo pods, the operator's, `verify`) present a client certificate of the same
CA. Dynamo's runtime reads ``ETCD_AUTH_CA``, ``ETCD_AUTH_CLIENT_CERT`` and ``ETCD_AUTH_CLIENT_KEY`` and
parses their values as PEM text (ai-dynamo/dynamo ``lib/runtime/src/transports/etcd.rs``: the values go
to ``Certificate::from_pem`` / ``Identity::from_pem``), so the client Secret holds the PEM contents under
those names and pods take them with ``valueFrom.secretKeyRef``. The runtime ignores them when
``ETCD_AUTH_USERNAME`` and ``ETCD_AUTH_PASSWORD`` are set: never set those too.
"""

from __future__ import annotations

from typing import Any

from components.etcd.flags import EtcdTls
from components.kit.kube import CLUSTER_DOMAIN, secret_env_var, secret_manifest
from components.kit.ref import Ref

TLS_DIR = "/etc/etcd/tls"
CA_KEY, CERT_KEY, KEY_KEY = "ca.crt", "tls.crt", "tls.key"  # the server Secret's keys, also file names
MEMBER_TLS = EtcdTls(cert_file=f"{TLS_DIR}/{CERT_KEY}", key_file=f"{TLS_DIR}/{KEY_KEY}",
                     trusted_ca_file=f"{TLS_DIR}/{CA_KEY}")
# The client Secret's keys: the names Dynamo's runtime reads (lib/runtime/src/config/environment_names.rs).
CLIENT_CA_KEY = "ETCD_AUTH_CA"
CLIENT_CERT_KEY = "ETCD_AUTH_CLIENT_CERT"
CLIENT_KEY_KEY = "ETCD_AUTH_CLIENT_KEY"
CLIENT_KEYS = (CLIENT_CA_KEY, CLIENT_CERT_KEY, CLIENT_KEY_KEY)
# Certificate lifetimes, in hours: the CA ten years, member and client certificates one year, renewed
# by the first `pulumi up` in their last 30 days (docs/operations.md, "Rotate etcd's certificates").
CA_VALIDITY_HOURS = 10 * 365 * 24
LEAF_VALIDITY_HOURS = 365 * 24
EARLY_RENEWAL_HOURS = 30 * 24
# What a Secret volume's files may do: read by the owner and the pod's fsGroup (etcd runs as non-root).
SECRET_FILE_MODE = 0o440


def server_secret_name(cluster: str) -> str:
    return f"{cluster}-server-tls"


def client_secret_name(cluster: str) -> str:
    return f"{cluster}-client-tls"


def member_dns_names(cluster: str, peer_service: str, namespace: str) -> list[str]:
    """Every name a member is reached by: its own (through the peer Service, in every form the
    cluster resolves) and the client Service's; `localhost` for probes and tools inside the pod."""
    names = []
    for service, wildcard in ((peer_service, True), (cluster, False)):
        for suffix in (f"{namespace}.svc.{CLUSTER_DOMAIN}", f"{namespace}.svc", namespace):
            names.append(f"{'*.' if wildcard else ''}{service}.{suffix}")
    return [*names, cluster, "localhost"]


def server_secret(cluster: str, namespace: Ref, *, ca_pem: Ref,
                  cert_pem: Ref, key_pem: Ref) -> dict[str, Any]:
    """What the members mount at `TLS_DIR`."""
    return secret_manifest(server_secret_name(cluster), namespace,
                           {CA_KEY: ca_pem, CERT_KEY: cert_pem, KEY_KEY: key_pem}, component="etcd")


def client_secret(cluster: str, namespace: Ref, *, ca_pem: Ref,
                  cert_pem: Ref, key_pem: Ref) -> dict[str, Any]:
    """A client identity, keyed by the variable names Dynamo reads (PEM contents)."""
    return secret_manifest(client_secret_name(cluster), namespace,
                           {CLIENT_CA_KEY: ca_pem, CLIENT_CERT_KEY: cert_pem, CLIENT_KEY_KEY: key_pem},
                           component="etcd")


def client_env(secret_name: Ref) -> list[dict[str, Any]]:
    """EnvVar entries that give a Dynamo container etcd's CA and a client certificate and key."""
    return [secret_env_var(key, secret_name) for key in CLIENT_KEYS]


def tls_volume(secret_name: Ref) -> dict[str, Any]:
    return {"name": "tls", "secret": {"secretName": secret_name, "defaultMode": SECRET_FILE_MODE}}


def tls_mount() -> dict[str, Any]:
    return {"name": "tls", "mountPath": TLS_DIR, "readOnly": True}
