"""The Dynamo keys: the transport plan (``dynamo``), the operator chart and the release it picks
(``operator``), and the NGC API key its images are pulled with."""

from __future__ import annotations

from typing import Any

from components.dynamo.releases import DEFAULT_VERSION, RELEASES
from components.dynamo.transport import DISCOVERIES, EVENT_PLANES, REQUEST_PLANES
from components.dynamo.words import GANG_SCHEDULING
from components.kit.charts import DYNAMO_PLATFORM
from stacks.config.keys.common import resources
from stacks.config.schema import Fixed, Free, Integer, Key, Label, PerEnv, Text, Unset, Word

DISCOVERY = Key(
    "dynamo.discovery",
    Word(DISCOVERIES),
    Fixed("kubernetes"),
    "`etcd`",
    "How components find each other. `etcd` is upstream's legacy backend: it deploys `EtcdCluster` "
    "(see etcd below) and points the operator and the graphs at it.",
)
EVENT_PLANE = Key(
    "dynamo.eventPlane",
    Word(EVENT_PLANES),
    Fixed("zmq"),
    "`nats`",
    "How KV events and load metrics travel. `zmq`: directly between pods (ephemeral ports, no "
    "server). `nats`: through NATS JetStream (deployed). `none`: no KV events; a KV router routes on "
    "its own prediction of what each worker caches (`--no-router-kv-events`) and no worker publishes;"
    " load metrics still go over ZMQ.",
)
REQUEST_PLANE = Key(
    "dynamo.requestPlane",
    Word(REQUEST_PLANES),
    Fixed("tcp"),
    "`nats`",
    "How the frontend sends requests to workers. `nats` deploys NATS JetStream and carries requests "
    "through it (messages up to `nats.maxPayload`).",
)

TRANSPORT_KEYS: tuple[Key[Any], ...] = (DISCOVERY, EVENT_PLANE, REQUEST_PLANE)

NGC_API_KEY = Key(
    "ngcApiKey",
    Free("string"),
    Unset(),
    "`pulumi config set --secret dynamo-cluster:ngcApiKey nvapi-...`",
    "NGC API key. When set, an image pull Secret for `nvcr.io` (`nvcr-pull`) is created in the "
    "platform and workload namespaces and used by the operator and every graph. Leave unset when the "
    "images are public or mirrored.",
    secret=True,
)
VERSION = Key(
    "operator.version",
    Free(" \\| ".join(f"`{version}`" for version in RELEASES)),
    Fixed(DEFAULT_VERSION),
    "`1.5.0`",
    "The Dynamo release: the dynamo-platform chart and, through the release table, the graphs' API "
    "version, default images and flags. Moving it is an upgrade: docs/upgrade.md.",
)
REPOSITORY = Key(
    "operator.repository",
    Text("Helm repository URL", r"^(https://|oci://).+", "an https:// Helm repository or an oci:// registry"),
    Fixed(DYNAMO_PLATFORM[DEFAULT_VERSION].repository),
    "`oci://registry.example.com/charts`",
    "Where the chart comes from (a mirror, for air-gapped clusters).",
)
RELEASE_NAME = Key(
    "operator.releaseName",
    Label("at most 53 characters, not `nats`"),
    Fixed("dynamo-platform"),
    "`dynamo`",
    "Helm release name in the platform namespace, where the NATS release `nats` also lives.",
)
IMAGE_TAG = Key(
    "operator.imageTag",
    Text("image tag, not a moving one such as `latest`", r"^[A-Za-z0-9_.\-]+$", "an image tag"),
    Unset("the chart's"),
    "`1.4.2-hotfix1`",
    "Override of the operator image tag.",
)
GANG_SCHEDULING_KEY = Key(
    "operator.gangScheduling",
    Word(GANG_SCHEDULING),
    Fixed("auto"),
    "`grove`",
    "`auto` installs Grove and the KAI scheduler (all pods of a multi-node replica start together) "
    "when any graph spans nodes; `none` leaves multi-node orchestration to what the cluster already "
    "runs (LeaderWorkerSet).",
)
RESOURCES = resources(
    "operator.resources",
    cpu=Fixed("500m"),
    memory=Fixed("1Gi"),
    cpu_limit=Fixed("1"),
    examples=("`1`", "`2Gi`", "`2`"),
    docs=(
        "Operator CPU request; above 1, raise `operator.resources.cpuLimit` too.",
        "Operator memory request and limit.",
        "Operator CPU limit.",
    ),
)
TIMEOUT_SECONDS = Key(
    "operator.timeoutSeconds",
    Integer(60, 3600),
    PerEnv(lambda d: d.operator_timeout_seconds),
    "`1200`",
    "How long Helm waits for the release (including its CRD hook job).",
)

OPERATOR_KEYS: tuple[Key[Any], ...] = (
    NGC_API_KEY,
    VERSION,
    REPOSITORY,
    RELEASE_NAME,
    IMAGE_TAG,
    GANG_SCHEDULING_KEY,
    *RESOURCES.keys,
    TIMEOUT_SECONDS,
)
