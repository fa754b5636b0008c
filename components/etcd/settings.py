"""etcd as settings: the image, ports, sizes and user the project fixes, and `EtcdSettings`, what config
decides. No builders here: `components.etcd.manifests` makes the StatefulSet and its Services."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from components.kit.resources import Resources, Storage

IMAGE = "registry.k8s.io/etcd:3.6.6-0"
CLIENT_PORT = 2379
PEER_PORT = 2380
METRICS_PORT = 2381
DATA_MOUNT = "/var/lib/etcd"
# A directory below the mount: etcd creates it with mode 0700 as the (non-root) etcd user.
DATA_DIR = f"{DATA_MOUNT}/data"
USER_ID = 65532
SUPPORTED_SIZES = (1, 3, 5)
SERVICE_ROLE_LABEL = "dynamo-cluster/etcd-service"


@dataclass(frozen=True)
class EtcdSettings:
    """One etcd cluster of `replicas` members (1, 3 or 5). `quota_backend_bytes` caps the database;
    `auto_compaction_retention` is the periodic compaction window (``1h``); `retain_volumes` keeps
    the data volumes when the StatefulSet goes; `separate_nodes` requires one member per node."""

    replicas: int
    storage: Storage
    resources: Resources
    quota_backend_bytes: int
    auto_compaction_retention: str
    retain_volumes: bool
    separate_nodes: bool
    node_selector: Mapping[str, str] = field(default_factory=dict)
    image: str = IMAGE

    @property
    def version(self) -> str:
        """The etcd version the image runs (its tag), which decides how some flags are spelled."""
        return self.image.rsplit(":", 1)[1]


def quorum(members: int) -> int:
    return members // 2 + 1
