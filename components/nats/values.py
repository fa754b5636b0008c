"""Pure builders for NATS JetStream: Helm values of the official `nats` chart, the server settings
they carry, the client credentials Secret and the environment a Dynamo pod needs to use it.

`server_config` and `jetstream_limits` are the part of the server configuration that this project
decides (payload limit, client authorization, JetStream stores). The chart renders them into
nats.conf; the integration tests render the same dicts into the config of real nats-server
processes, so what is tested is what is deployed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi

from components.kit.charts import NATS, ChartRef
from components.kit.kube import labels, secret_env_var, secret_value_from, service_host
from components.kit.quantity import go_memory_limit, quantity_bytes
from components.kit.resources import Resources, Storage
from components.kit.spread import ZONE_KEY, anti_affinity, zone_constraint

# The official chart from nats-io/k8s and the images its values.yaml pins for that version.
SERVER_IMAGE = {"repository": "nats", "tag": "2.14.2-alpine"}
RELOADER_IMAGE = {"repository": "natsio/nats-server-config-reloader", "tag": "0.23.0"}
EXPORTER_IMAGE = {"repository": "natsio/prometheus-nats-exporter", "tag": "0.20.1"}

CLIENT_PORT = 4222
CLUSTER_PORT = 6222
MONITOR_PORT = 8222
EXPORTER_PORT = 7777
STORE_DIR = "/data"

# Dynamo's own server config (deploy/nats-server.conf) raises max_payload to 15 MiB so that
# base64-encoded 10 MB embeddings fit; the NATS server refuses settings above 64 MiB.
DYNAMO_MAX_PAYLOAD = 15 * 1024 * 1024
NATS_MAX_PAYLOAD_LIMIT = 64 * 1024 * 1024
# JetStream may fill this share of its volume; the rest is filesystem overhead and headroom.
JETSTREAM_VOLUME_SHARE = 0.9

# The environment variables Dynamo's runtime reads for NATS credentials. Fact, from ai-dynamo/dynamo
# lib/runtime/src/transports/nats.rs (`NatsAuth::default`): it takes NATS_AUTH_USERNAME together with
# NATS_AUTH_PASSWORD first, then NATS_AUTH_TOKEN, NATS_AUTH_NKEY, NATS_AUTH_CREDENTIALS_FILE; with none
# of them set it falls back to the user/password "user"/"user". NATS_SERVER holds the URL, and the
# Dynamo operator sets it in the pods it creates from the chart's `dynamo-operator.natsAddr`.
# The Secret's keys are those names, so a pod can take them with `envFrom` as well as `valueFrom`.
USERNAME_KEY = "NATS_AUTH_USERNAME"
PASSWORD_KEY = "NATS_AUTH_PASSWORD"
CLIENT_USER = "dynamo"
# `verify`'s own user: JetStream's stream API for its probe streams, nothing of Dynamo's subjects. Its
# Secret (the same keys) lives only in the server's namespace; the servers read its password from
# VERIFY_PASSWORD_ENV.
VERIFY_USER = "verify"
VERIFY_PASSWORD_ENV = "NATS_VERIFY_PASSWORD"
VERIFY_SUBJECT_PREFIX = "_verify"

# The subjects Dynamo's runtime uses, as far as its sources and docs say (docs/decisions.md, "NATS
# users"): KV events and metrics under `namespace.<ns>.component.<component>.<subject>` (the KV
# router's subscriber and the publishers, `KV_EVENT_SUBJECT = "kv-events"`), JetStream (`$JS.API.INFO`
# on every connect; streams, KV buckets `$KV.<bucket>.>`, object stores `$O.<bucket>.>`, pull consumers
# `$JS.ACK.>` and `$JS.FC.>`), replies on `_INBOX.>`, the service API `$SRV.>` of async-nats services,
# and request tracing on `dynamo.request_trace.v1`. The NATS request plane's endpoint subjects are not
# confirmed by any source read: with the request plane on NATS, Dynamo's user gets every subject.
DYNAMO_PUBLISH = ("namespace.>", "_INBOX.>", "$JS.API.>", "$JS.ACK.>", "$JS.FC.>", "$KV.>", "$O.>", "$SRV.>",
                  "dynamo.>")
DYNAMO_SUBSCRIBE = ("namespace.>", "_INBOX.>", "$KV.>", "$O.>", "$SRV.>", "dynamo.>")
ALL_SUBJECTS = (">",)
VERIFY_PUBLISH = ("$JS.API.INFO", "$JS.API.STREAM.CREATE.*", "$JS.API.STREAM.DELETE.*", "$JS.API.STREAM.INFO.*",
                  "$JS.API.STREAM.LIST", "$JS.API.STREAM.NAMES", "$JS.API.STREAM.MSG.GET.*",
                  "$JS.API.DIRECT.GET.*", f"{VERIFY_SUBJECT_PREFIX}.>")
VERIFY_SUBSCRIBE = ("_INBOX.>",)


@dataclass(frozen=True)
class NatsSettings:
    """One NATS JetStream deployment. `replicas` is 1 (no cluster) or an odd cluster size;
    `max_payload` is in bytes; `retain_volumes` keeps the JetStream volumes when the StatefulSet
    goes (``pulumi destroy``, replacement); `separate_nodes` requires one server per node."""

    replicas: int
    max_payload: int
    storage: Storage
    resources: Resources
    retain_volumes: bool
    separate_nodes: bool
    node_selector: Mapping[str, str] = field(default_factory=dict)
    chart: ChartRef = NATS
    server_image_tag: str = SERVER_IMAGE["tag"]
    # Dynamo's user may use every subject: the request plane is on NATS, whose subjects no source names
    all_subjects: bool = False


def selector_labels(release: str) -> dict[str, str]:
    """The labels the chart puts on (and selects) the server pods of release `release`."""
    return {"app.kubernetes.io/name": "nats", "app.kubernetes.io/instance": release,
            "app.kubernetes.io/component": "nats"}


def client_url(service: str, namespace: str) -> str:
    return f"nats://{service_host(service, namespace)}:{CLIENT_PORT}"


def jetstream_limits(settings: NatsSettings) -> dict[str, int]:
    """JetStream store limits: file store on the volume, memory store off."""
    return {"max_memory_store": 0,
            "max_file_store": int(quantity_bytes(settings.storage.size) * JETSTREAM_VOLUME_SHARE)}


def _permissions(publish: tuple[str, ...], subscribe: tuple[str, ...], *, responses: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"publish": {"allow": list(publish)}, "subscribe": {"allow": list(subscribe)}}
    if responses:
        out["allow_responses"] = True  # answer requests on the reply subject they name
    return out


def users(settings: NatsSettings) -> list[dict[str, Any]]:
    """One user per client, each with the subjects it may use (nothing else): Dynamo's pods, and
    `verify`. Passwords are read by the server from its environment, filled from the Secrets."""
    dynamo = ALL_SUBJECTS if settings.all_subjects else None
    return [
        {"user": CLIENT_USER, "password": f"<< ${PASSWORD_KEY} >>",
         "permissions": _permissions(dynamo or DYNAMO_PUBLISH, dynamo or DYNAMO_SUBSCRIBE, responses=True)},
        {"user": VERIFY_USER, "password": f"<< ${VERIFY_PASSWORD_ENV} >>",
         "permissions": _permissions(VERIFY_PUBLISH, VERIFY_SUBSCRIBE, responses=False)},
    ]


def server_config(settings: NatsSettings) -> dict[str, Any]:
    """Top-level nats.conf settings this project adds. Credentials are read by the server from its
    environment (filled from the auth Secrets); the ``<< >>`` marks tell the chart to write the
    reference unquoted, so the server resolves it. Each server is tagged with its pod name (the chart
    sets ``$POD_NAME``), so a client can place a stream on one server: `verify` does, to probe the
    server it talks to."""
    return {
        "max_payload": settings.max_payload,
        "authorization": {"users": users(settings)},
        "server_tags": ["<< $POD_NAME >>"],
    }


def volume_retention(retain: bool) -> dict[str, str]:
    """StatefulSet persistentVolumeClaimRetentionPolicy: scale-downs always keep volumes; deleting
    the StatefulSet keeps them unless data loss is allowed."""
    return {"whenDeleted": "Retain" if retain else "Delete", "whenScaled": "Retain"}


def helm_values(settings: NatsSettings, *, release: str, auth_secret: pulumi.Input[str],
                verify_secret: pulumi.Input[str], metrics: bool) -> dict[str, Any]:
    """Values of the `nats` chart for `settings`; `auth_secret` and `verify_secret` name the Secrets in
    the release's namespace that hold Dynamo's and verify's credentials; `metrics` adds the Prometheus
    exporter sidecar."""
    limits = jetstream_limits(settings)
    cluster: dict[str, Any] = {"enabled": settings.replicas > 1}
    if settings.replicas > 1:
        cluster["replicas"] = settings.replicas
    pod_spec: dict[str, Any] = {"affinity": anti_affinity(selector_labels(release), settings.separate_nodes)}
    if settings.node_selector:
        pod_spec["nodeSelector"] = dict(settings.node_selector)
    return {
        "fullnameOverride": release,
        "config": {
            "cluster": cluster,
            "jetstream": {
                "enabled": True,
                "fileStore": {
                    "enabled": True,
                    "dir": STORE_DIR,
                    "maxSize": str(limits["max_file_store"]),
                    "pvc": {"enabled": True, "size": settings.storage.size,
                            "storageClassName": settings.storage.storage_class},
                },
                "memoryStore": {"enabled": limits["max_memory_store"] > 0},
            },
            "monitor": {"enabled": True, "port": MONITOR_PORT},
            "merge": server_config(settings),
        },
        "container": {
            "image": {**SERVER_IMAGE, "tag": settings.server_image_tag},
            "env": {
                "GOMEMLIMIT": go_memory_limit(settings.resources.memory),
                PASSWORD_KEY: secret_value_from(auth_secret, PASSWORD_KEY),
                VERIFY_PASSWORD_ENV: secret_value_from(verify_secret, PASSWORD_KEY),
            },
            "resources": settings.resources.to_k8s(),
        },
        "reloader": {"enabled": True, "image": dict(RELOADER_IMAGE)},
        "promExporter": {"enabled": metrics, "image": dict(EXPORTER_IMAGE), "port": EXPORTER_PORT,
                         "podMonitor": {"enabled": False}},
        "podTemplate": {"topologySpreadConstraints": {ZONE_KEY: zone_constraint()}, "merge": {"spec": pod_spec}},
        "statefulSet": {"merge": {"spec": {
            "persistentVolumeClaimRetentionPolicy": volume_retention(settings.retain_volumes)}}},
        "podDisruptionBudget": {"enabled": True},
        "natsBox": {"enabled": False},
    }


def auth_secret_name(release: str) -> str:
    """The name of the client credentials Secret of the NATS release `release` (in every namespace)."""
    return f"{release}-auth"


def verify_secret_name(release: str) -> str:
    """The name of verify's credentials Secret (in the server's namespace only)."""
    return f"{release}-verify-auth"


def auth_secret(name: str, namespace: pulumi.Input[str], password: pulumi.Input[str],
                user: str = CLIENT_USER) -> dict[str, Any]:
    """A Secret with one user's credentials, keyed by the variable names Dynamo (and verify) read."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace, "labels": labels(name, "nats")},
        "type": "Opaque",
        "stringData": {USERNAME_KEY: user, PASSWORD_KEY: password},
    }


def client_env(secret_name: pulumi.Input[str]) -> list[dict[str, Any]]:
    """EnvVar entries that give a Dynamo container the NATS credentials from the auth Secret
    (for a DynamoGraphDeployment's ``spec.envs`` or a container's ``env``)."""
    return [secret_env_var(key, secret_name) for key in (USERNAME_KEY, PASSWORD_KEY)]


def pod_monitor(release: str, namespace: pulumi.Input[str]) -> dict[str, Any]:
    """A PodMonitor for the exporter sidecar of every server pod."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {"name": release, "namespace": namespace, "labels": labels(release, "nats")},
        "spec": {
            "selector": {"matchLabels": selector_labels(release)},
            "podMetricsEndpoints": [{"port": "prom-metrics", "path": "/metrics"}],
        },
    }
