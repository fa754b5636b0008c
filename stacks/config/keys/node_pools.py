"""The ``nodePools[]`` keys: each pool's GPUs and, by kind, its EKS node group (eks) or its existing
nodes (existing)."""

from __future__ import annotations

from typing import Any, get_args

from components.nodes.eks import AMI_TYPES, CAPACITY_TYPES
from stacks.config.defaults import PoolKind
from stacks.config.schema import (
    Derived,
    Fixed,
    Flag,
    Free,
    Integer,
    Key,
    Label,
    PerEnv,
    Required,
    Size,
    StringList,
    StringMap,
    Text,
    Unset,
    Word,
)

KINDS: tuple[PoolKind, ...] = get_args(PoolKind)
# Bounds of the counts a pool takes (the project's, beyond which a value is a typo; maxUnavailable's
# is the EKS API's).
MAX_NODES = 1000
MAX_GPUS_PER_NODE = 64
MAX_GPU_MEMORY_GIB = 1024
MAX_EFA_INTERFACES = 64
MAX_UNAVAILABLE = 100
MAX_HOURLY_PRICE = 10_000.0
SUBNET = r"^subnet-[0-9a-f]{8,17}$"

NAME = Key(
    "nodePools[].name",
    Label(),
    Required(),
    "`h100-efa`",
    "The pool's name: graphs name it, eks nodes carry it as the label `dynamo-cluster/pool`. Unique.",
)
KIND = Key(
    "nodePools[].kind",
    Word(KINDS),
    PerEnv(lambda d: d.pool_kind),
    "`eks`",
    "Create an EKS managed node group, or use nodes that already exist.",
)
INSTANCE_TYPE = Key(
    "nodePools[].instanceType",
    Text("string", r"^[a-z][a-z0-9-]*\.[a-z0-9-]+$", "an EC2 instance type such as p5.48xlarge"),
    Unset("eks: required; existing: unset"),
    "`p5.48xlarge`",
    "The EC2 instance type. Known types give the GPU facts, network cards and price; any other type "
    "needs `gpusPerNode`, `gpuModel` and `gpuMemoryGiB`.",
)
GPUS_PER_NODE = Key(
    "nodePools[].gpusPerNode",
    Integer(0, MAX_GPUS_PER_NODE),
    Unset("from `instanceType`; existing without a type: required"),
    "`0`",
    "GPUs on each node. `0` makes a CPU pool (the dev mocker graph). Must agree with a known instance"
    " type. eks pools need at least 1.",
)
GPU_MODEL = Key(
    "nodePools[].gpuModel",
    Text("string"),
    Unset("from `instanceType`; required when `gpusPerNode` > 0 otherwise"),
    "`L4`",
    "The GPU model, shown in the capacity table and available to graphs.",
)
GPU_MEMORY = Key(
    "nodePools[].gpuMemoryGiB",
    Integer(1, MAX_GPU_MEMORY_GIB),
    Unset("from `instanceType`; required when `gpusPerNode` > 0 otherwise"),
    "`24`",
    "Memory of one GPU, in GiB.",
)
HOURLY_PRICE = Key(
    "nodePools[].hourlyPriceUsd",
    Free(f"finite number from 0 to {MAX_HOURLY_PRICE:g}"),
    Unset("the catalog's us-east-1 on-demand price; unset for existing nodes"),
    "`40.5`",
    "Price of one node per hour, for the cost column of the capacity table (set it for other regions,"
    " discounts, or existing nodes).",
)
NODE_SELECTOR = Key(
    "nodePools[].nodeSelector",
    StringMap("map of label key to value"),
    Unset("existing: required"),
    "`{kubernetes.io/os: linux}`",
    "existing: the node labels that pick the pool's nodes; graphs use it as their nodeSelector.",
)
NODES = Key(
    "nodePools[].nodes",
    Integer(1, MAX_NODES),
    Required("existing: required"),
    "`1`",
    "existing: how many nodes match `nodeSelector` (the pool's size for the capacity check).",
)
TAINTS = Key(
    "nodePools[].taints",
    Free("list of `{key, value, effect}`"),
    Fixed([]),
    "`[{key: dedicated, value: gpu, effect: NoSchedule}]`",
    "existing: taints those nodes carry. Graphs and the GPU operator tolerate each. `key` is required"
    " (a label key), `value` optional (a label value; no value tolerates any), `effect` one of "
    "NoSchedule (default), PreferNoSchedule, NoExecute.",
)
EFA_INTERFACES = Key(
    "nodePools[].efaInterfaces",
    Integer(0, MAX_EFA_INTERFACES),
    Fixed(0),
    "`4`",
    "existing: EFA interfaces on each node (graphs request them; any pool with EFA installs the EFA device plugin).",
)
INSTALL_DRIVER = Key(
    "nodePools[].installDriver",
    Flag(),
    Fixed(False),
    "`true`",
    "existing: the GPU operator installs the NVIDIA driver on these nodes (off on EKS NVIDIA AMIs, which ship it).",
)
INSTALL_TOOLKIT = Key(
    "nodePools[].installToolkit",
    Flag(),
    Derived("the value of `installDriver`"),
    "`true`",
    "existing: the GPU operator installs the NVIDIA container toolkit on these nodes.",
)
MIN_NODES = Key("nodePools[].minNodes", Integer(0, MAX_NODES), Fixed(1), "`8`", "eks: the node group's minimum size.")
DESIRED_NODES = Key(
    "nodePools[].desiredNodes",
    Integer(0, MAX_NODES),
    Derived("the value of `minNodes`"),
    "`8`",
    "eks: the size the node group is created with. Later changes (by you or a scaler) are not "
    "reverted by `pulumi up`. `minNodes <= desiredNodes <= maxNodes`.",
)
MAX_NODES_KEY = Key(
    "nodePools[].maxNodes",
    Integer(1, MAX_NODES),
    Required("eks: required"),
    "`10`",
    "eks: the node group's maximum size. The capacity check and the cost column count the pool at this size.",
)
DISK_SIZE = Key(
    "nodePools[].diskSizeGiB",
    Integer(20, 16384),
    Fixed(200),
    "`500`",
    "eks: the root volume (gp3, encrypted) of each node; container images of inference backends are large.",
)
AMI_TYPE = Key(
    "nodePools[].amiType",
    Word(tuple(sorted(AMI_TYPES.values()))),
    Derived("from the instance type's architecture"),
    "`AL2023_x86_64_NVIDIA`",
    "eks: the EKS-optimized NVIDIA AMI (driver and container toolkit included).",
)
CAPACITY_TYPE = Key(
    "nodePools[].capacityType",
    Word(CAPACITY_TYPES),
    Fixed("ON_DEMAND"),
    "`CAPACITY_BLOCK`",
    "eks: how the instances are bought. `CAPACITY_BLOCK` needs `capacityReservationId`.",
)
CAPACITY_RESERVATION = Key(
    "nodePools[].capacityReservationId",
    Text("string `cr-...`", r"^cr-[0-9a-f]{8,17}$", "a capacity reservation id such as cr-0123456789abcdef0"),
    Unset(),
    "`cr-0a1b2c3d4e5f67890`",
    "eks: the on-demand capacity reservation or capacity block the nodes launch into (not with "
    "`SPOT`). `preflight --aws` checks it is for the type in the pool's zone and has room for "
    "`maxNodes`: its free instances plus the pool's own already running in it (instances anything "
    "else runs there do not count).",
)
EFA = Key(
    "nodePools[].efa",
    Flag(),
    Fixed(False),
    "`true`",
    "eks: attach one EFA interface to every network card of the instance (32 on p5.48xlarge), add a "
    "security group that allows all traffic between the pool's nodes, and a cluster placement group. "
    "Needs an EFA-capable type, one subnet, `availabilityZone`, `aws.vpcId` and "
    "`aws.clusterSecurityGroupId`.",
)
HUGE_PAGES = Key(
    "nodePools[].hugePages2Mi",
    Size(described="size, a multiple of 2Mi"),
    Derived("eks with `efa`: 5120Mi per GPU (`40Gi` on p5.48xlarge); otherwise `0`"),
    "`40Gi`",
    "2 MiB huge pages each node provides for EFA's libfabric buffers. eks: the nodes allocate them at"
    " boot (launch template user data setting `vm.nr_hugepages`, before the kubelet starts). "
    "existing: what the nodes were set up with; nothing is allocated. A worker on an EFA pool gets "
    "`FI_EFA_USE_HUGE_PAGE=1` and a `hugepages-2Mi: 5120Mi` request (the EFA guide's size) when the "
    "node has them for every pod of its group that fits on it; otherwise `FI_EFA_USE_HUGE_PAGE=0` and"
    " no request.",
)
PLACEMENT_GROUP = Key(
    "nodePools[].placementGroup",
    Flag(),
    Derived("the value of `efa`"),
    "`true`",
    "eks: put the nodes in a cluster placement group of their own.",
)
SUBNET_IDS = Key(
    "nodePools[].subnetIds",
    StringList("list of string"),
    Required("eks: required"),
    "`[subnet-0a1b2c3d4e5f60001]`",
    "eks: the subnets the nodes run in; exactly one on an EFA pool (EFA does not cross availability zones).",
)
AVAILABILITY_ZONE = Key(
    "nodePools[].availabilityZone",
    Text("string", r"^[a-z]{2}(-[a-z]+)+-[0-9]+[a-z]$", "an availability zone such as us-east-1a"),
    Unset("unset; required with `efa`"),
    "`us-east-1a`",
    "The zone of the pool's nodes (of its subnet, for eks); a zone of `aws.region` when that is set. "
    "`preflight --aws` checks the subnet and the reservation are there and that the zone offers the "
    "instance type.",
)
LABELS = Key(
    "nodePools[].labels",
    StringMap("map of label key to value"),
    Fixed({}),
    "`{team: inference}`",
    "eks: extra node labels (not under `kubernetes.io` or `k8s.io`). `dynamo-cluster/pool` and "
    "`dynamo-cluster/efa` are set by the pool.",
)
MAX_UNAVAILABLE_KEY = Key(
    "nodePools[].maxUnavailable",
    Integer(1, MAX_UNAVAILABLE, described="integer 1 to 100 (the EKS API's maximum)"),
    Fixed(1),
    "`2`",
    "eks: nodes replaced at once when the node group updates (AMI or launch template changes).",
)
NODE_ROLE_ARN = Key(
    "nodePools[].nodeRoleArn",
    Text(
        "string",
        r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$",
        "an IAM role ARN (arn:aws:iam::<account>:role/<name>)",
    ),
    Unset("unset: a role is created with the EKS worker, CNI and ECR read-only policies"),
    "`arn:aws:iam::111122223333:role/gpu-nodes`",
    "eks: use this existing node IAM role instead.",
)


KEYS: tuple[Key[Any], ...] = (
    NAME,
    KIND,
    INSTANCE_TYPE,
    GPUS_PER_NODE,
    GPU_MODEL,
    GPU_MEMORY,
    HOURLY_PRICE,
    NODE_SELECTOR,
    NODES,
    TAINTS,
    EFA_INTERFACES,
    INSTALL_DRIVER,
    INSTALL_TOOLKIT,
    MIN_NODES,
    DESIRED_NODES,
    MAX_NODES_KEY,
    DISK_SIZE,
    AMI_TYPE,
    CAPACITY_TYPE,
    CAPACITY_RESERVATION,
    EFA,
    HUGE_PAGES,
    PLACEMENT_GROUP,
    SUBNET_IDS,
    AVAILABILITY_ZONE,
    LABELS,
    MAX_UNAVAILABLE_KEY,
    NODE_ROLE_ARN,
)
# Keys only one kind of pool reads, so a key of the other kind gets a message that says so.
KIND_KEYS: dict[PoolKind, tuple[Key[Any], ...]] = {
    "existing": (NODE_SELECTOR, NODES, TAINTS, EFA_INTERFACES, INSTALL_DRIVER, INSTALL_TOOLKIT),
    "eks": (
        MIN_NODES,
        DESIRED_NODES,
        MAX_NODES_KEY,
        DISK_SIZE,
        AMI_TYPE,
        CAPACITY_TYPE,
        CAPACITY_RESERVATION,
        EFA,
        PLACEMENT_GROUP,
        SUBNET_IDS,
        LABELS,
        MAX_UNAVAILABLE_KEY,
        NODE_ROLE_ARN,
    ),
}
