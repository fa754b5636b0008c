"""The ``nats`` keys: NATS JetStream, deployed when the transport plan puts a plane on NATS."""

from __future__ import annotations

from typing import Any

from components.kit.charts import NATS
from components.nats.settings import SERVER_IMAGE
from stacks.config.keys.common import chart_version, resources, storage
from stacks.config.schema import Derived, Fixed, Flag, Integer, Key, PerEnv, Size, StringMap, Text

REPLICAS_ALLOWED = "1 (a single server) or 3 or 5 (a cluster)"

ENABLED = Key(
    "nats.enabled",
    Flag(),
    Derived("`true` exactly when `dynamo.eventPlane` or `dynamo.requestPlane` is `nats`"),
    "`true`",
    "Deploy NATS JetStream. `false` while a plane uses NATS is refused; `true` without one deploys it wired to "
    "nothing (the plan warns). The other `nats.*` keys are checked either way.",
)
REPLICAS = Key(
    "nats.replicas",
    Integer(1, 5, allowed=REPLICAS_ALLOWED),
    PerEnv(lambda d: d.nats.replicas),
    "`5`",
    "NATS servers. 1 runs a single server; 3 or 5 run a cluster (one server per node in prod, spread over zones "
    "where nodes have zones; `preflight` checks the cluster has that many Ready nodes without NoSchedule or "
    "NoExecute taints). Even sizes are refused: JetStream's Raft groups gain nothing from them, and 2 servers "
    "lose their quorum when either fails.",
)
MAX_PAYLOAD = Key(
    "nats.maxPayload",
    Size("1Mi"),
    Fixed("15Mi"),
    "`32Mi`",
    "The largest message the server accepts (`max_payload`). Dynamo's default, 15 MiB, fits base64-encoded 10 MB "
    "embeddings. From 1Mi to 64Mi (the NATS limit).",
)
STORAGE = storage(
    "nats.storage",
    size=PerEnv(lambda d: d.nats.storage_size),
    minimum="1Gi",
    examples=("`gp3`", "`50Gi`"),
    docs=(
        "StorageClass of the JetStream volumes.",
        "Size of each server's JetStream volume; JetStream may fill 90% of it.",
    ),
)
RESOURCES = resources(
    "nats.resources",
    cpu=PerEnv(lambda d: d.nats.resources.cpu),
    memory=PerEnv(lambda d: d.nats.resources.memory),
    cpu_limit=Derived("equal to `nats.resources.cpu`"),
    examples=("`2`", "`4Gi`", "`4`"),
    docs=(
        "CPU request of each server, and its limit unless `nats.resources.cpuLimit` is set.",
        "Memory request and limit of each server; the Go runtime is told to stay under 80% of it (`GOMEMLIMIT`).",
        "CPU limit, when the servers may burst above their request. At least `nats.resources.cpu`.",
    ),
)
NODE_SELECTOR = Key(
    "nats.nodeSelector", StringMap(), Fixed({}), "`{role: platform}`", "Node labels the servers must run on."
)
CHART_VERSION = chart_version(
    "nats.chartVersion", Fixed(NATS.version), "`2.14.3`", "The official nats chart (nats-io)."
)
SERVER_IMAGE_TAG = Key(
    "nats.serverImageTag",
    Text(
        "image tag",
        r"^[0-9]+\.[0-9]+\.[0-9]+[A-Za-z0-9.\-]*$",
        f"a NATS server image tag such as {SERVER_IMAGE['tag']}",
    ),
    Fixed(SERVER_IMAGE["tag"]),
    "`2.14.3-alpine`",
    "The NATS server image tag the chart runs; move it with the chart version.",
)

KEYS: tuple[Key[Any], ...] = (
    ENABLED,
    REPLICAS,
    MAX_PAYLOAD,
    *STORAGE.keys,
    *RESOURCES.keys,
    NODE_SELECTOR,
    CHART_VERSION,
    SERVER_IMAGE_TAG,
)
