"""The `nats` section: NATS JetStream, deployed when the transport plan puts a plane on NATS (or
`nats.enabled` asks for it). Every key is read even when it is not deployed, so a typo is reported."""

from __future__ import annotations

from components.dynamo.transport import TransportPlan
from components.kit.charts import NATS
from components.kit.quantity import quantity_bytes
from components.kit.resources import Resources
from components.nats.settings import DYNAMO_MAX_PAYLOAD, NATS_MAX_PAYLOAD_LIMIT, SERVER_IMAGE, NatsSettings
from stacks.config.common import read_chart_version, read_resources, read_storage
from stacks.config.defaults import ServiceDefaults
from stacks.config.limits import check_labels
from stacks.config.reader import Node

REPLICAS_ALLOWED = "1 (a single server) or 3 or 5 (a cluster)"
MAX_PAYLOAD_ALLOWED = "a size from 1Mi to 64Mi, such as 15Mi (Dynamo's default)"


def read_nats(root: Node, defaults: ServiceDefaults, storage_class: str, retain_volumes: bool, *,
              transport: TransportPlan) -> NatsSettings | None:
    """The NATS settings, or None when NATS is not deployed."""
    node = root.child("nats")
    enabled = node.boolean("enabled", transport.uses_nats)
    if transport.uses_nats and not enabled:
        node.problem("enabled", f"is false, but {transport.nats_reason()}",
                     "true (or unset), or dynamo.eventPlane and dynamo.requestPlane that do not use nats")
    replicas = node.integer("replicas", defaults.replicas, minimum=1, maximum=5, allowed=REPLICAS_ALLOWED)
    if replicas % 2 == 0:
        node.problem("replicas", f"is {replicas}: JetStream keeps its state in Raft groups that need a "
                     "majority, and an even cluster tolerates no more failures than the odd size below it",
                     REPLICAS_ALLOWED)
    payload_text = node.quantity("maxPayload", f"{DYNAMO_MAX_PAYLOAD >> 20}Mi", minimum="1Mi")
    max_payload = quantity_bytes(payload_text)
    if max_payload > NATS_MAX_PAYLOAD_LIMIT:
        node.problem("maxPayload", f"is {payload_text}, over the 64 MiB the NATS server accepts", MAX_PAYLOAD_ALLOWED)
        max_payload = DYNAMO_MAX_PAYLOAD
    storage = read_storage(node, "storage", storage_class, defaults.storage_size, minimum="1Gi")
    requested = read_resources(node, "resources", defaults.resources)  # a cpuLimit below cpu is refused there
    # Requests equal limits (a Guaranteed pod) unless cpuLimit asks for burst room.
    cpu_limit = requested.cpu_limit or requested.cpu
    node_selector = node.string_map("nodeSelector")
    check_labels(node, "nodeSelector", node_selector, reserved_ok=True)
    chart = read_chart_version(node, "chartVersion", NATS)
    image_tag = node.string("serverImageTag", SERVER_IMAGE["tag"], pattern=r"^[0-9]+\.[0-9]+\.[0-9]+[A-Za-z0-9.\-]*$",
                            pattern_text=f"a NATS server image tag such as {SERVER_IMAGE['tag']}")
    node.close()
    if not enabled:
        return None
    return NatsSettings(
        replicas=replicas,
        max_payload=max_payload,
        storage=storage,
        resources=Resources(cpu=requested.cpu, memory=requested.memory, cpu_limit=cpu_limit),
        retain_volumes=retain_volumes,
        separate_nodes=defaults.separate_nodes,
        node_selector=node_selector,
        chart=chart,
        server_image_tag=image_tag,
        all_subjects=transport.request_plane == "nats",
    )
