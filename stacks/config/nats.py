"""The `nats` section: NATS JetStream, deployed when the transport plan puts a plane on NATS (or
`nats.enabled` asks for it). Every key is read even when it is not deployed, so a typo is reported."""

from __future__ import annotations

from components.dynamo.transport import TransportPlan
from components.kit.charts import NATS
from components.kit.quantity import quantity_bytes
from components.kit.resources import Resources
from components.nats.settings import DYNAMO_MAX_PAYLOAD, NATS_MAX_PAYLOAD_LIMIT, NatsSettings
from stacks.config.common import read_chart_version, read_resources, read_storage
from stacks.config.defaults import ServiceDefaults
from stacks.config.keys import nats as keys
from stacks.config.keys.nats import REPLICAS_ALLOWED
from stacks.config.limits import check_labels
from stacks.config.reader import Node

MAX_PAYLOAD_ALLOWED = "a size from 1Mi to 64Mi, such as 15Mi (Dynamo's default)"


def read_nats(root: Node, defaults: ServiceDefaults, storage_class: str, retain_volumes: bool, *,
              transport: TransportPlan) -> NatsSettings | None:
    """The NATS settings, or None when NATS is not deployed."""
    node = root.child("nats")
    enabled = node.read(keys.ENABLED, transport.uses_nats)  # off while needed: stacks.config.rules
    replicas = node.read(keys.REPLICAS)
    if replicas % 2 == 0:
        node.problem("replicas", f"is {replicas}: JetStream keeps its state in Raft groups that need a "
                     "majority, and an even cluster tolerates no more failures than the odd size below it",
                     REPLICAS_ALLOWED)
    payload_text = node.read(keys.MAX_PAYLOAD)
    max_payload = quantity_bytes(payload_text)
    if max_payload > NATS_MAX_PAYLOAD_LIMIT:
        node.problem("maxPayload", f"is {payload_text}, over the 64 MiB the NATS server accepts", MAX_PAYLOAD_ALLOWED)
        max_payload = DYNAMO_MAX_PAYLOAD
    storage = read_storage(node, keys.STORAGE, storage_class)
    requested = read_resources(node, keys.RESOURCES)  # a cpuLimit below cpu is refused there
    # Requests equal limits (a Guaranteed pod) unless cpuLimit asks for burst room.
    cpu_limit = requested.cpu_limit or requested.cpu
    node_selector = node.read(keys.NODE_SELECTOR)
    check_labels(node, "nodeSelector", node_selector, reserved_ok=True)
    chart = read_chart_version(node, keys.CHART_VERSION, NATS)
    image_tag = node.read(keys.SERVER_IMAGE_TAG)
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
