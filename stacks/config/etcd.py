"""The `etcd` section: our etcd cluster, deployed when the transport plan's discovery is etcd (or
`etcd.enabled` asks for it); with Kubernetes discovery Dynamo needs none."""

from __future__ import annotations

from components.dynamo.transport import TransportPlan
from components.etcd.settings import IMAGE, SUPPORTED_SIZES, EtcdSettings
from components.kit.quantity import quantity_bytes
from stacks.config.common import read_resources, read_storage
from stacks.config.defaults import ServiceDefaults
from stacks.config.limits import check_labels
from stacks.config.reader import Node

REPLICAS_ALLOWED = "1, 3 or 5 members (an odd size: 3 tolerates one failure, 5 two)"
# etcd's documented ceiling for the backend quota.
MAX_QUOTA = 8 << 30


def read_etcd(root: Node, defaults: ServiceDefaults, quota_backend: str, storage_class: str,
              retain_volumes: bool, *, transport: TransportPlan) -> EtcdSettings | None:
    """The etcd settings, or None when `etcd.enabled` is false. Every key is read (and checked)
    either way, so a disabled section still reports typos."""
    node = root.child("etcd")
    enabled = node.boolean("enabled", transport.uses_etcd)
    if transport.uses_etcd and not enabled:
        node.problem("enabled", "is false, but dynamo.discovery is etcd",
                     "true (or unset), or dynamo.discovery kubernetes")
    replicas = node.integer("replicas", defaults.replicas, minimum=1, maximum=max(SUPPORTED_SIZES),
                            allowed=REPLICAS_ALLOWED)
    if replicas not in SUPPORTED_SIZES:
        node.problem("replicas", f"is {replicas}, an even member count: its quorum of {replicas // 2 + 1} "
                     "tolerates no more failures than the odd size below it", REPLICAS_ALLOWED)
    storage = read_storage(node, "storage", storage_class, defaults.storage_size, minimum="1Gi")
    quota_text = node.quantity("quotaBackend", quota_backend, minimum="64Mi")
    quota = quantity_bytes(quota_text)
    if quota > MAX_QUOTA:
        node.problem("quotaBackend", f"is {quota_text}, over etcd's recommended maximum of 8Gi",
                     "a size from 64Mi to 8Gi")
    if quota * 2 > quantity_bytes(storage.size):
        node.problem("quotaBackend", f"is {quota_text}, more than half of etcd.storage.size {storage.size}",
                     "at most half the volume: the write-ahead log, snapshots and defragmentation need the rest")
    retention = node.string("autoCompactionRetention", "1h", pattern=r"^[1-9][0-9]*[mh]$",
                            pattern_text="a compaction window in minutes or hours, such as 30m or 1h")
    requested = read_resources(node, "resources", defaults.resources)  # a cpuLimit below cpu is refused there
    node_selector = node.string_map("nodeSelector")
    check_labels(node, "nodeSelector", node_selector, reserved_ok=True)
    image = node.string("image", IMAGE, pattern=r"^[a-z0-9.\-/]+:v?3\.[56]\.[0-9]+(-[0-9A-Za-z.]+)?$",
                        pattern_text="an etcd image pinned to a 3.5 or 3.6 release tag, such as " + IMAGE)
    node.close()
    if not enabled:
        return None
    return EtcdSettings(
        replicas=replicas,
        storage=storage,
        resources=requested,
        quota_backend_bytes=quota,
        auto_compaction_retention=retention,
        retain_volumes=retain_volumes,
        separate_nodes=defaults.separate_nodes,
        node_selector=node_selector,
        image=image,
    )
