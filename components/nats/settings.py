"""NATS JetStream as settings: the images, ports, limits, users and subjects the project fixes, and
`NatsSettings`, what config decides. No builders here: `components.nats.values` makes the chart's values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from components.kit.charts import NATS, ChartRef
from components.kit.resources import Resources, Storage

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
