"""The ``etcd`` keys: our etcd cluster, deployed when the transport plan's discovery is etcd."""

from __future__ import annotations

from typing import Any

from components.etcd.settings import IMAGE
from stacks.config.keys.common import resources, storage
from stacks.config.schema import Derived, Fixed, Flag, Integer, Key, PerEnv, Size, StringMap, Text, Unset

REPLICAS_ALLOWED = "1, 3 or 5 members (an odd size: 3 tolerates one failure, 5 two)"

ENABLED = Key(
    "etcd.enabled",
    Flag(),
    Derived("`true` exactly when `dynamo.discovery` is `etcd`"),
    "`true`",
    "Deploy etcd. `false` with etcd discovery is refused; `true` with Kubernetes discovery deploys it wired to "
    "nothing (the plan warns). The other `etcd.*` keys are checked either way.",
)
REPLICAS = Key(
    "etcd.replicas",
    Integer(1, 5, allowed=REPLICAS_ALLOWED),
    PerEnv(lambda d: d.etcd.replicas),
    "`5`",
    "Members. 3 tolerate one failure, 5 two; even sizes are refused. Members run on distinct nodes in prod (spread "
    "over zones where nodes have zones; `preflight` checks there are that many Ready nodes without NoSchedule or "
    "NoExecute taints). Fixed once the cluster exists: changing it needs a membership change by hand (see "
    "docs/data-safety.md).",
)
STORAGE = storage(
    "etcd.storage",
    size=PerEnv(lambda d: d.etcd.storage_size),
    minimum="1Gi",
    examples=("`gp3`", "`20Gi`"),
    docs=("StorageClass of the member volumes.", "Size of each member's volume; at least twice `etcd.quotaBackend`."),
)
QUOTA_BACKEND = Key(
    "etcd.quotaBackend",
    Size("64Mi"),
    PerEnv(lambda d: d.etcd_quota_backend),
    "`4Gi`",
    "The database size at which etcd raises a NOSPACE alarm and refuses writes (`--quota-backend-bytes`). From "
    "64Mi to 8Gi, and at most half of `etcd.storage.size`.",
)
AUTO_COMPACTION_RETENTION = Key(
    "etcd.autoCompactionRetention",
    Text("duration in `m` or `h`", r"^[1-9][0-9]*[mh]$", "a compaction window in minutes or hours, such as 30m or 1h"),
    Fixed("1h"),
    "`30m`",
    "Periodic compaction: history older than this window is dropped.",
)
RESOURCES = resources(
    "etcd.resources",
    cpu=PerEnv(lambda d: d.etcd.resources.cpu),
    memory=PerEnv(lambda d: d.etcd.resources.memory),
    cpu_limit=Unset("none"),
    examples=("`2`", "`4Gi`", "`2`"),
    docs=(
        "CPU request of each member (no CPU limit by default: throttling delays heartbeats).",
        "Memory request and limit of each member; `GOMEMLIMIT` is 80% of it.",
        "CPU limit of each member, at least `etcd.resources.cpu`.",
    ),
)
NODE_SELECTOR = Key(
    "etcd.nodeSelector", StringMap(), Fixed({}), "`{role: platform}`", "Node labels the members must run on."
)
IMAGE_KEY = Key(
    "etcd.image",
    Text(
        "image reference",
        r"^[a-z0-9.\-/]+:v?3\.[56]\.[0-9]+(-[0-9A-Za-z.]+)?$",
        "an etcd image pinned to a 3.5 or 3.6 release tag, such as " + IMAGE,
    ),
    Fixed(IMAGE),
    "`registry.k8s.io/etcd:3.6.7-0`",
    "The upstream etcd image, pinned to a 3.5 or 3.6 release; the tag decides how version-specific flags are "
    "spelled. Upgrade one minor at a time (docs/operations.md).",
)

KEYS: tuple[Key[Any], ...] = (
    ENABLED,
    REPLICAS,
    *STORAGE.keys,
    QUOTA_BACKEND,
    AUTO_COMPACTION_RETENTION,
    *RESOURCES.keys,
    NODE_SELECTOR,
    IMAGE_KEY,
)
