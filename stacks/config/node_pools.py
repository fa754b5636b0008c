"""The ``nodePools`` list: each pool's GPUs and, by kind, its EKS node group or its existing nodes.

GPU facts come from the instance type (`components.nodes.catalog`) or, for an instance type the catalog
does not know and for existing nodes, from ``gpusPerNode``, ``gpuModel`` and ``gpuMemoryGiB``. A pool
with any problem yields no settings; the caller raises one `ConfigError` with every problem.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

from components.dynamo.datapath import HUGE_PAGES_PER_POD_BYTES
from components.kit.quantity import quantity_bytes
from components.nodes.catalog import CATALOG, InstanceFacts, lookup
from components.nodes.eks import AMI_TYPES, EFA_LABEL, HUGE_PAGE_BYTES, POOL_LABEL, EksNodeGroup
from components.nodes.settings import EFFECTS, ExistingNodes, NodePoolSettings, Taint
from stacks.config.aws import AwsConfig
from stacks.config.defaults import PoolKind
from stacks.config.keys import node_pools as K
from stacks.config.limits import LABEL_KEY_TEXT, LABEL_VALUE_TEXT, check_labels, label_key_problem, label_value_problem
from stacks.config.reader import Node, describe
from stacks.config.rules import require_aws_for_pools
from stacks.config.schema import Key

SECTION = "nodePools"
_RESERVED_LABELS = (POOL_LABEL, EFA_LABEL)


@dataclass(frozen=True)
class _Gpu:
    model: str
    count: int
    memory_gib: int


def _catalog_types() -> str:
    return ", ".join(sorted(CATALOG))


def _labels(node: Node, key: Key[dict[str, str]], *, required: bool, selector: bool) -> dict[str, str]:
    """Node labels: a `selector` reads them (the kubernetes.io ones Kubernetes sets included), or the
    pool sets them (then not under the prefixes Kubernetes reserves)."""
    name = key.name
    labels = node.configured(key) or {}
    if required and not labels:
        node.problem(name, "is required but not set", "a map of node label to value, e.g. {nvidia.com/gpu.present: "
                                                      "'true'}")
    check_labels(node, name, labels, reserved_ok=selector)
    return labels


def _price(node: Node, default: float | None) -> float | None:
    raw = node.read_optional(K.HOURLY_PRICE)
    if raw is None:
        return default
    allowed = f"a finite number of US dollars from 0 to {K.MAX_HOURLY_PRICE:g}"
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        node.problem("hourlyPriceUsd", f"expected a price, got {describe(raw)}", allowed)
        return default
    if not math.isfinite(raw) or not 0 <= raw <= K.MAX_HOURLY_PRICE:
        node.problem("hourlyPriceUsd", f"is {raw}", allowed)
        return default
    return float(raw)


def _gpu(node: Node, kind: str, instance_type: str | None, facts: InstanceFacts | None) -> _Gpu:
    """The GPUs of one node: the catalog's, or the ones config declares (never both disagreeing)."""
    count = node.read_optional(K.GPUS_PER_NODE)
    model = node.read_optional(K.GPU_MODEL)
    memory = node.read_optional(K.GPU_MEMORY)
    if facts is not None:
        for key, given, known in (("gpusPerNode", count, facts.gpus), ("gpuModel", model, facts.gpu_model),
                                  ("gpuMemoryGiB", memory, facts.gpu_memory_gib)):
            if given is not None and given != known:
                node.problem(key, f"is {given!r}, but {facts.instance_type} has {known!r}",
                             f"{known!r}, or leave it unset to take it from the instance type")
        return _Gpu(facts.gpu_model, facts.gpus, facts.gpu_memory_gib)
    if instance_type is not None and (count is None or model is None or memory is None):
        node.problem("instanceType", f"is {instance_type!r}, which the catalog does not know, and the pool does "
                                     "not give its GPU facts",
                     f"one of {_catalog_types()}; or set gpusPerNode, gpuModel and gpuMemoryGiB for it")
        return _Gpu("", 0, 0)
    if count is None:
        node.problem("gpusPerNode", "is required but not set", "the number of GPUs on each node, 0 for a CPU pool")
        return _Gpu("", 0, 0)
    if kind == "eks" and count == 0:
        node.problem("gpusPerNode", "is 0", "at least 1: an eks pool runs the NVIDIA GPU AMI")
    if count > 0:
        if model is None:
            node.problem("gpuModel", "is required when gpusPerNode > 0", "the GPU model, e.g. H100 or L40S")
        if memory is None:
            node.problem("gpuMemoryGiB", "is required when gpusPerNode > 0", "the memory of one GPU in GiB, e.g. 80")
    return _Gpu(model or "", count, memory or 0)


def _taint(item: Node) -> Taint:
    """A taint the nodes carry: its key is a label key, its value a label value (`kubectl taint`)."""
    key = item.string("key")
    value = item.optional_string("value")
    if key and (wrong := label_key_problem(key, reserved_ok=True)) is not None:
        item.problem("key", wrong, LABEL_KEY_TEXT)
    if value is not None and (wrong := label_value_problem(key, value)) is not None:
        item.problem("value", wrong, LABEL_VALUE_TEXT)
    return Taint(key=key, effect=item.choice("effect", EFFECTS, "NoSchedule"), value=value)


def _zone(node: Node, aws: AwsConfig) -> str | None:
    """The pool's availability zone, which must lie in ``aws.region`` when the stack names one."""
    zone = node.read_optional(K.AVAILABILITY_ZONE)
    if zone is not None and aws.region is not None and not re.fullmatch(re.escape(aws.region) + "[a-z]", zone):
        node.problem("availabilityZone", f"is {zone!r}, a zone outside aws.region {aws.region}",
                     f"a zone of {aws.region}, such as {aws.region}a")
    return zone


def _existing(node: Node, aws: AwsConfig) -> ExistingNodes:
    taints = []
    for item in node.objects(K.TAINTS.name):
        taints.append(_taint(item))
        item.close()
    install_driver = node.read(K.INSTALL_DRIVER)
    return ExistingNodes(
        node_selector=_labels(node, K.NODE_SELECTOR, required=True, selector=True),
        nodes=node.read(K.NODES),
        taints=tuple(taints),
        efa_interfaces=node.read(K.EFA_INTERFACES),
        availability_zone=_zone(node, aws),
        install_driver=install_driver,
        install_toolkit=node.read(K.INSTALL_TOOLKIT, install_driver),
    )


def _capacity(node: Node) -> tuple[str, str | None]:
    capacity_type = node.read(K.CAPACITY_TYPE)
    reservation = node.read_optional(K.CAPACITY_RESERVATION)
    if capacity_type == "CAPACITY_BLOCK" and reservation is None:
        node.problem("capacityReservationId", "is required with capacityType CAPACITY_BLOCK",
                     "the id of the capacity block's reservation (cr-...)")
    if capacity_type == "SPOT" and reservation is not None:
        node.problem("capacityReservationId", "is set with capacityType SPOT",
                     "unset, or capacityType ON_DEMAND or CAPACITY_BLOCK")
    return capacity_type, reservation


def _efa(node: Node, instance_type: str, facts: InstanceFacts | None) -> int:
    """EFA interfaces per node: one per network card of an EFA-capable type; 0 without EFA."""
    if not node.read(K.EFA):
        return 0
    if facts is None or not facts.efa:
        node.problem("efa", f"is true, but {instance_type} has no EFA" if facts is not None else
                     f"is true, but the catalog does not know {instance_type}",
                     "false, or an EFA-capable instance type from the catalog, e.g. p5.48xlarge")
        return 0
    return facts.efa_interfaces


def _placement(node: Node, efa: bool, aws: AwsConfig) -> tuple[list[str], str | None]:
    """The subnets and the availability zone; an EFA pool has one subnet in a named zone."""
    subnets = node.read(K.SUBNET_IDS)
    if not subnets:
        node.problem("subnetIds", "is required but not set", "a list of the subnet ids the nodes run in")
    for subnet in subnets:
        if not re.match(K.SUBNET, subnet):
            node.problem("subnetIds", f"has {subnet!r}", "subnet ids such as subnet-0abc12345")
    if efa and len(subnets) > 1:
        node.problem("subnetIds", f"has {len(subnets)} subnets on an EFA pool",
                     "exactly one subnet: EFA traffic does not cross availability zones")
    zone = _zone(node, aws)
    if efa and zone is None:
        node.problem("availabilityZone", "is required on an EFA pool", "the availability zone of its subnet")
    return subnets, zone


def _eks(node: Node, instance_type: str, facts: InstanceFacts | None, aws: AwsConfig,
         aws_node: Node) -> EksNodeGroup:
    min_nodes = node.read(K.MIN_NODES)
    desired = node.read(K.DESIRED_NODES, min_nodes)
    max_nodes = node.read(K.MAX_NODES_KEY)
    if not min_nodes <= desired <= max_nodes:
        node.problem("desiredNodes", f"is {desired}, with minNodes {min_nodes} and maxNodes {max_nodes}",
                     "minNodes <= desiredNodes <= maxNodes")
    architecture = facts.architecture if facts is not None else "x86_64"
    ami_type = node.read(K.AMI_TYPE, AMI_TYPES[architecture])
    if facts is not None and ami_type != AMI_TYPES[architecture]:
        node.problem("amiType", f"is {ami_type}, but {instance_type} is {architecture}", AMI_TYPES[architecture])
    capacity_type, reservation = _capacity(node)
    efa_interfaces = _efa(node, instance_type, facts)
    subnets, zone = _placement(node, efa_interfaces > 0, aws)
    labels = _labels(node, K.LABELS, required=False, selector=False)
    for reserved in _RESERVED_LABELS:
        if reserved in labels:
            node.problem("labels", f"sets {reserved}, which the pool sets itself", f"labels other than {reserved}")
    require_aws_for_pools(aws, aws_node, efa=efa_interfaces > 0)
    return EksNodeGroup(
        cluster_name=aws.cluster_name or "", partition=aws.partition, instance_type=instance_type,
        ami_type=ami_type, capacity_type=capacity_type, min_nodes=min_nodes, desired_nodes=desired,
        max_nodes=max_nodes, disk_size_gib=node.read(K.DISK_SIZE),
        subnet_ids=tuple(subnets), labels=labels,
        max_unavailable=node.read(K.MAX_UNAVAILABLE_KEY),
        # without the VPC and cluster security group (already reported) the pool is not built at all
        efa_interfaces=efa_interfaces if aws.vpc_id and aws.cluster_security_group_id else 0,
        placement_group=node.read(K.PLACEMENT_GROUP, efa_interfaces > 0), capacity_reservation_id=reservation,
        vpc_id=aws.vpc_id, cluster_security_group_id=aws.cluster_security_group_id,
        node_role_arn=node.read_optional(K.NODE_ROLE_ARN),
        availability_zone=zone,
    )


def _huge_pages(node: Node, eks: EksNodeGroup | None, gpus: int) -> str:
    """`hugePages2Mi`: the 2 MiB huge pages each node provides for EFA's libfabric. An eks pool with
    EFA allocates, by default, the 5120Mi Dynamo's EFA guide gives each worker pod, for one pod per
    GPU; a pool of existing nodes declares what its nodes were set up with (none by default)."""
    default = f"{gpus * (HUGE_PAGES_PER_POD_BYTES >> 20)}Mi" if eks is not None and eks.efa else "0"
    size = node.read(K.HUGE_PAGES, default)
    if quantity_bytes(size) % HUGE_PAGE_BYTES:
        node.problem("hugePages2Mi", f"is {size}, not a whole number of 2Mi pages", "a multiple of 2Mi, e.g. 40Gi")
        return "0"
    return size


def _pool(node: Node, default_kind: PoolKind, aws: AwsConfig, aws_node: Node) -> NodePoolSettings | None:
    before = len(node.problems.found)
    name = node.read(K.NAME)
    kind = node.read(K.KIND, default_kind)
    instance_type = node.read_optional(K.INSTANCE_TYPE)
    facts = lookup(instance_type) if instance_type is not None else None
    if kind == "eks" and instance_type is None:
        node.problem("instanceType", "is required for an eks pool", f"one of {_catalog_types()}, or another type "
                                                                     "with gpusPerNode, gpuModel and gpuMemoryGiB")
    gpu = _gpu(node, kind, instance_type, facts)
    price = _price(node, facts.hourly_usd if facts is not None else None)
    eks = _eks(node, instance_type or "", facts, aws, aws_node) if kind == "eks" else None
    existing = _existing(node, aws) if kind == "existing" else None
    huge_pages = _huge_pages(node, eks, gpu.count)
    if eks is not None:
        eks = replace(eks, huge_pages_2mi=quantity_bytes(huge_pages) // HUGE_PAGE_BYTES)
    for other, keys in K.KIND_KEYS.items():
        for key in keys:
            if other != kind and node.value.get(key.name) is not None:
                node.problem(key.name, f"is a key of {other} pools, but this pool is kind {kind}",
                             f"remove it, or kind: {other}")
    nodes = eks if eks is not None else existing
    if len(node.problems.found) > before or nodes is None:
        return None
    return NodePoolSettings(name=name, gpu_model=gpu.model, gpus_per_node=gpu.count, gpu_memory_gib=gpu.memory_gib,
                            nodes=nodes, instance_type=instance_type, hourly_price_usd=price,
                            key=node.path, huge_pages_2mi=huge_pages,
                            efa_card_gbps=facts.card_gbps if facts is not None and facts.efa else None)


def read_node_pools(root: Node, default_kind: PoolKind, aws: AwsConfig, aws_node: Node) -> tuple[NodePoolSettings, ...]:
    pools: list[NodePoolSettings] = []
    seen: dict[str, str] = {}
    for node in root.objects(SECTION):
        pool = _pool(node, default_kind, aws, aws_node)
        node.close()
        if pool is None:
            continue
        if pool.name in seen:
            node.problem("name", f"is {pool.name!r}, the same as {seen[pool.name]}.name", "a name no other pool has")
            continue
        seen[pool.name] = node.path
        pools.append(pool)
    return tuple(pools)
