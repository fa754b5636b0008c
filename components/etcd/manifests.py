"""Pure builders for our etcd cluster: a StatefulSet with static bootstrap, its Services, PDB and
ServiceMonitor.

Members find each other through a headless Service that publishes pods before they are ready
(a member must reach its peers to become ready at all), at stable names
``<cluster>-<i>.<cluster>-peers.<namespace>.svc``. Clients use the ``<cluster>`` Service. Client and
peer traffic is TLS with client-certificate auth (`components.etcd.tls`); only the metrics listener,
which the probes and Prometheus use, is plain HTTP.
"""

from __future__ import annotations

from typing import Any

from components.etcd.flags import EtcdNode, EtcdPeer, EtcdTuning, etcd_command
from components.etcd.settings import (
    CLIENT_PORT,
    DATA_DIR,
    DATA_MOUNT,
    METRICS_PORT,
    PEER_PORT,
    SERVICE_ROLE_LABEL,
    USER_ID,
    EtcdSettings,
    quorum,
)
from components.etcd.tls import MEMBER_TLS, tls_mount, tls_volume
from components.kit.kube import labels, service_host
from components.kit.quantity import go_memory_limit
from components.kit.ref import Ref
from components.kit.spread import anti_affinity, zone_spread

# Where the independent scanner's (checkov's) rules do not fit etcd, and why (docs/decisions.md,
# "etcd's certificates come from the stack").
SCANNER_EXCEPTIONS = {
    "checkov.io/skip1": "CKV_K8S_11=no CPU limit: CFS throttling delays raft heartbeats and fsyncs and makes "
                        "leader elections; the request reserves the CPU",
    "checkov.io/skip2": "CKV_K8S_43=pinned by its release tag; etcd.image takes a digest",
    "checkov.io/skip3": "CKV_K8S_15=IfNotPresent with a pinned tag: a restart does not depend on the registry",
}


def member_names(cluster: str, replicas: int) -> list[str]:
    return [f"{cluster}-{index}" for index in range(replicas)]


def peer_service(cluster: str) -> str:
    return f"{cluster}-peers"


def selector_labels(cluster: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": cluster, "app.kubernetes.io/component": "etcd",
            "app.kubernetes.io/part-of": "dynamo-cluster"}


def client_endpoint(cluster: str, namespace: str) -> str:
    return f"https://{service_host(cluster, namespace)}:{CLIENT_PORT}"


def _member_host(cluster: str, member: str) -> str:
    return service_host(f"{member}.{peer_service(cluster)}", "$(POD_NAMESPACE)")


def command(cluster: str, settings: EtcdSettings) -> list[str]:
    """The etcd command of every member, TLS included; ``$(POD_NAME)`` and ``$(POD_NAMESPACE)`` come
    from the downward API, so one pod template serves all members."""
    peers = [EtcdPeer(m, f"https://{_member_host(cluster, m)}:{PEER_PORT}")
             for m in member_names(cluster, settings.replicas)]
    me = _member_host(cluster, "$(POD_NAME)")
    node = EtcdNode(
        name="$(POD_NAME)",
        data_dir=DATA_DIR,
        listen_client_urls=f"https://0.0.0.0:{CLIENT_PORT}",
        listen_peer_urls=f"https://0.0.0.0:{PEER_PORT}",
        listen_metrics_urls=f"http://0.0.0.0:{METRICS_PORT}",
        advertise_client_urls=f"https://{me}:{CLIENT_PORT}",
        advertise_peer_url=f"https://{me}:{PEER_PORT}",
    )
    tuning = EtcdTuning(quota_backend_bytes=settings.quota_backend_bytes,
                        auto_compaction_retention=settings.auto_compaction_retention)
    return etcd_command(node, peers, cluster_token=f"{cluster}-$(POD_NAMESPACE)", tuning=tuning,
                        version=settings.version, tls=MEMBER_TLS)


def _probe(path: str, *, period: int, failures: int, timeout: int) -> dict[str, Any]:
    return {"httpGet": {"path": path, "port": "metrics", "scheme": "HTTP"}, "periodSeconds": period,
            "failureThreshold": failures, "timeoutSeconds": timeout}


def _container(cluster: str, settings: EtcdSettings) -> dict[str, Any]:
    """Every flag in `command` (where scanners read etcd's flags), none in ``args``."""
    def field_env(name: str, path: str) -> dict[str, Any]:
        return {"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}}

    return {
        "name": "etcd",
        "image": settings.image,
        "imagePullPolicy": "IfNotPresent",
        "command": command(cluster, settings),
        "env": [field_env("POD_NAME", "metadata.name"), field_env("POD_NAMESPACE", "metadata.namespace"),
                {"name": "GOMEMLIMIT", "value": go_memory_limit(settings.resources.memory)}],
        "ports": [{"name": "client", "containerPort": CLIENT_PORT, "protocol": "TCP"},
                  {"name": "peer", "containerPort": PEER_PORT, "protocol": "TCP"},
                  {"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"}],
        "resources": settings.resources.to_k8s(),
        "volumeMounts": [{"name": "data", "mountPath": DATA_MOUNT}, tls_mount()],
        # /readyz needs a leader and a caught-up member: it gates startup and Service traffic.
        # /livez only asks whether this process still works, never whether the cluster has a
        # leader, so an election or a lost quorum does not get members restarted (which would
        # only make the election slower).
        "startupProbe": _probe("/readyz", period=10, failures=30, timeout=5),
        "readinessProbe": _probe("/readyz", period=5, failures=3, timeout=5),
        "livenessProbe": _probe("/livez", period=10, failures=8, timeout=15),
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}},
    }


# A pod template annotation that follows the members' certificate: a renewed certificate rolls the
# members one at a time (etcd reads its certificate files at start).
TLS_REVISION_ANNOTATION = "dynamo-cluster/tls-revision"


def statefulset(cluster: str, namespace: Ref, settings: EtcdSettings, *,
                tls_secret: Ref, tls_revision: Ref) -> dict[str, Any]:
    """`tls_secret` names the Secret of `components.etcd.tls.server_secret`; `tls_revision` changes
    whenever its certificate does (a digest of the certificate)."""
    selector = selector_labels(cluster)
    pod_spec: dict[str, Any] = {
        "affinity": anti_affinity(selector, settings.separate_nodes),
        "topologySpreadConstraints": zone_spread(selector),
        "securityContext": {"runAsNonRoot": True, "runAsUser": USER_ID, "runAsGroup": USER_ID, "fsGroup": USER_ID,
                            "fsGroupChangePolicy": "OnRootMismatch", "seccompProfile": {"type": "RuntimeDefault"}},
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": 30,
        "containers": [_container(cluster, settings)],
        "volumes": [tls_volume(tls_secret)],
    }
    if settings.node_selector:
        pod_spec["nodeSelector"] = dict(settings.node_selector)
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": cluster, "namespace": namespace, "labels": labels(cluster, "etcd"),
                     "annotations": SCANNER_EXCEPTIONS},
        "spec": {
            "serviceName": peer_service(cluster),
            "replicas": settings.replicas,
            "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": selector},
            "updateStrategy": {"type": "RollingUpdate"},
            "persistentVolumeClaimRetentionPolicy": {
                "whenDeleted": "Retain" if settings.retain_volumes else "Delete", "whenScaled": "Retain"},
            "template": {"metadata": {"labels": labels(cluster, "etcd"),
                                      "annotations": {TLS_REVISION_ANNOTATION: tls_revision}},
                         "spec": pod_spec},
            "volumeClaimTemplates": [{
                "metadata": {"name": "data", "labels": labels(cluster, "etcd")},
                "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": settings.storage.storage_class,
                         "resources": {"requests": {"storage": settings.storage.size}}},
            }],
        },
    }


def _service(name: str, namespace: Ref, cluster: str, role: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace,
                     "labels": labels(cluster, "etcd", {SERVICE_ROLE_LABEL: role})},
        "spec": {"selector": selector_labels(cluster), **spec},
    }


def peer_service_manifest(cluster: str, namespace: Ref) -> dict[str, Any]:
    """Headless: stable per-member DNS names, published before the members are ready."""
    return _service(peer_service(cluster), namespace, cluster, "peers", {
        "clusterIP": "None",
        "publishNotReadyAddresses": True,
        "ports": [{"name": "client", "port": CLIENT_PORT, "targetPort": "client", "protocol": "TCP"},
                  {"name": "peer", "port": PEER_PORT, "targetPort": "peer", "protocol": "TCP"},
                  {"name": "metrics", "port": METRICS_PORT, "targetPort": "metrics", "protocol": "TCP"}],
    })


def client_service_manifest(cluster: str, namespace: Ref) -> dict[str, Any]:
    """What clients use: only ready members, i.e. members of a cluster with a leader."""
    return _service(cluster, namespace, cluster, "client", {
        "type": "ClusterIP",
        "ports": [{"name": "client", "port": CLIENT_PORT, "targetPort": "client", "protocol": "TCP"}],
    })


def disruption_budget(cluster: str, namespace: Ref, replicas: int) -> dict[str, Any]:
    """Voluntary disruptions (drains, upgrades) never take the cluster below quorum."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": cluster, "namespace": namespace, "labels": labels(cluster, "etcd")},
        "spec": {"minAvailable": quorum(replicas), "selector": {"matchLabels": selector_labels(cluster)}},
    }


def service_monitor(cluster: str, namespace: Ref) -> dict[str, Any]:
    """Scrapes every member (through the headless Service, so unready members too)."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": cluster, "namespace": namespace, "labels": labels(cluster, "etcd")},
        "spec": {
            "selector": {"matchLabels": {**selector_labels(cluster), SERVICE_ROLE_LABEL: "peers"}},
            "endpoints": [{"port": "metrics", "path": "/metrics", "interval": "30s"}],
        },
    }
