"""Pure builders for NATS JetStream: Helm values of the official `nats` chart, the server settings
they carry, the client credentials Secret and the environment a Dynamo pod needs to use it.

`server_config` and `jetstream_limits` are the part of the server configuration that this project
decides (payload limit, client authorization, JetStream stores). The chart renders them into
nats.conf; the integration tests render the same dicts into the config of real nats-server
processes, so what is tested is what is deployed.
"""

from __future__ import annotations

from typing import Any

from components.kit.kube import labels, secret_env_var, secret_manifest, secret_value_from, service_host
from components.kit.quantity import go_memory_limit, quantity_bytes
from components.kit.ref import Ref
from components.kit.spread import ZONE_KEY, anti_affinity, zone_constraint
from components.nats.settings import (
    ALL_SUBJECTS,
    CLIENT_PORT,
    CLIENT_USER,
    DYNAMO_PUBLISH,
    DYNAMO_SUBSCRIBE,
    EXPORTER_IMAGE,
    EXPORTER_PORT,
    JETSTREAM_VOLUME_SHARE,
    MONITOR_PORT,
    PASSWORD_KEY,
    RELOADER_IMAGE,
    SERVER_IMAGE,
    STORE_DIR,
    USERNAME_KEY,
    VERIFY_PASSWORD_ENV,
    VERIFY_PUBLISH,
    VERIFY_SUBSCRIBE,
    VERIFY_USER,
    NatsSettings,
)


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


def helm_values(settings: NatsSettings, *, release: str, auth_secret: Ref,
                verify_secret: Ref, metrics: bool) -> dict[str, Any]:
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


def auth_secret(name: str, namespace: Ref, password: Ref,
                user: str = CLIENT_USER) -> dict[str, Any]:
    """A Secret with one user's credentials, keyed by the variable names Dynamo (and verify) read."""
    return secret_manifest(name, namespace, {USERNAME_KEY: user, PASSWORD_KEY: password}, component="nats")


def client_env(secret_name: Ref) -> list[dict[str, Any]]:
    """EnvVar entries that give a Dynamo container the NATS credentials from the auth Secret
    (for a DynamoGraphDeployment's ``spec.envs`` or a container's ``env``)."""
    return [secret_env_var(key, secret_name) for key in (USERNAME_KEY, PASSWORD_KEY)]


def pod_monitor(release: str, namespace: Ref) -> dict[str, Any]:
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
