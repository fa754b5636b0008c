"""The `etcd` section: our etcd cluster, deployed when the transport plan's discovery is etcd (or
`etcd.enabled` asks for it); with Kubernetes discovery Dynamo needs none."""

from __future__ import annotations

from components.dynamo.transport import TransportPlan
from components.etcd.settings import SUPPORTED_SIZES, EtcdSettings
from components.kit.quantity import quantity_bytes
from stacks.config.common import read_resources, read_storage
from stacks.config.defaults import ServiceDefaults
from stacks.config.keys import etcd as keys
from stacks.config.keys.etcd import REPLICAS_ALLOWED
from stacks.config.limits import check_labels
from stacks.config.reader import Node

# etcd's documented ceiling for the backend quota.
MAX_QUOTA = 8 << 30


def read_etcd(root: Node, defaults: ServiceDefaults, storage_class: str,
              retain_volumes: bool, *, transport: TransportPlan) -> EtcdSettings | None:
    """The etcd settings, or None when `etcd.enabled` is false. Every key is read (and checked)
    either way, so a disabled section still reports typos."""
    node = root.child("etcd")
    enabled = node.read(keys.ENABLED, transport.uses_etcd)  # off while needed: stacks.config.rules
    replicas = node.read(keys.REPLICAS)
    if replicas not in SUPPORTED_SIZES:
        node.problem("replicas", f"is {replicas}, an even member count: its quorum of {replicas // 2 + 1} "
                     "tolerates no more failures than the odd size below it", REPLICAS_ALLOWED)
    storage = read_storage(node, keys.STORAGE, storage_class)
    quota_text = node.read(keys.QUOTA_BACKEND)
    quota = quantity_bytes(quota_text)
    if quota > MAX_QUOTA:
        node.problem("quotaBackend", f"is {quota_text}, over etcd's recommended maximum of 8Gi",
                     "a size from 64Mi to 8Gi")
    if quota * 2 > quantity_bytes(storage.size):
        node.problem("quotaBackend", f"is {quota_text}, more than half of etcd.storage.size {storage.size}",
                     "at most half the volume: the write-ahead log, snapshots and defragmentation need the rest")
    retention = node.read(keys.AUTO_COMPACTION_RETENTION)
    requested = read_resources(node, keys.RESOURCES)  # a cpuLimit below cpu is refused there
    node_selector = node.read(keys.NODE_SELECTOR)
    check_labels(node, "nodeSelector", node_selector, reserved_ok=True)
    image = node.read(keys.IMAGE_KEY)
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
