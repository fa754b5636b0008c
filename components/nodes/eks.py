"""Pure builders of the AWS resources behind one EKS GPU node pool, as pulumi-aws wire properties.

Each function returns the property dict of one resource, camelCase as in the pulumi-aws schema
(`components.kit.aws` explains why these are dicts, not the typed SDK classes):

- `node_role_props` (``aws:iam/role:Role``) and `node_policy_arns`: the node IAM role with the
  standard EKS worker, CNI and ECR read-only policies, unless the pool names an existing role.
- `efa_security_group_props` (``aws:ec2/securityGroup:SecurityGroup``): all traffic between the
  pool's nodes, in and out, as EFA requires.
- `placement_group_props` (``aws:ec2/placementGroup:PlacementGroup``): a cluster placement group.
- `launch_template_props` (``aws:ec2/launchTemplate:LaunchTemplate``): root disk, IMDSv2, and for
  EFA pools one EFA interface on every network card, the placement group and the security groups;
  the capacity reservation (or capacity block) to launch into; the 2 MiB huge pages the nodes
  allocate at boot (`huge_pages_user_data`).
- `node_group_props` (``aws:eks/nodeGroup:NodeGroup``): the managed node group: NVIDIA AMI type,
  scaling, labels, the ``nvidia.com/gpu`` NoSchedule taint, update config and capacity type.

Nothing here registers a resource; inputs that are outputs of other resources (a role ARN, a
security group id) are passed in and placed where they belong.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from components.kit.ref import Ref

# Node labels every pool's nodes carry: graphs select a pool by POOL_LABEL; EFA_LABEL marks EFA nodes.
POOL_LABEL = "dynamo-cluster/pool"
EFA_LABEL = "dynamo-cluster/efa"
# The taint on every GPU node, so only pods that tolerate it (that ask for GPUs) land there.
GPU_TAINT_KEY = "nvidia.com/gpu"

AMI_TYPES = {"x86_64": "AL2023_x86_64_NVIDIA", "arm64": "AL2023_ARM_64_NVIDIA"}
CAPACITY_TYPES = ("ON_DEMAND", "SPOT", "CAPACITY_BLOCK")
# The AWS managed policies of an EKS node role, by a short name for the attachment.
NODE_POLICIES = {"worker": "AmazonEKSWorkerNodePolicy", "cni": "AmazonEKS_CNI_Policy",
                 "ecr-read": "AmazonEC2ContainerRegistryReadOnly"}
ROOT_DEVICE = "/dev/xvda"  # the root volume of the AL2023 EKS AMIs
HUGE_PAGE_BYTES = 2 << 20
_USER_DATA_BOUNDARY = "==DYNAMO-CLUSTER=="


@dataclass(frozen=True)
class EksNodeGroup:
    """Settings of an EKS managed node group (a pool of kind ``eks``)."""

    cluster_name: str
    partition: str  # "aws", "aws-cn" or "aws-us-gov": the ARN partition of the managed policies
    instance_type: str
    ami_type: str  # one of AMI_TYPES' values
    capacity_type: str  # one of CAPACITY_TYPES
    min_nodes: int
    desired_nodes: int
    max_nodes: int
    disk_size_gib: int
    subnet_ids: tuple[str, ...]
    labels: Mapping[str, str] = field(default_factory=dict)
    max_unavailable: int = 1
    efa_interfaces: int = 0  # EFA interfaces per node, one per network card; 0 = no EFA
    placement_group: bool = False
    capacity_reservation_id: str | None = None
    vpc_id: str | None = None  # needed for the EFA security group
    cluster_security_group_id: str | None = None  # joins the nodes to the cluster when interfaces are set
    node_role_arn: str | None = None  # an existing node role; None creates one
    availability_zone: str | None = None
    huge_pages_2mi: int = 0  # 2 MiB huge pages each node allocates at boot

    def __post_init__(self) -> None:
        if self.efa and (self.vpc_id is None or self.cluster_security_group_id is None):
            raise ValueError("an EFA node group needs vpc_id (for its security group) and "
                             "cluster_security_group_id (its interfaces carry the security groups)")

    @property
    def efa(self) -> bool:
        return self.efa_interfaces > 0


def _tags(pool: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    return {POOL_LABEL: pool, **(extra or {})}


def node_labels(pool: str, group: EksNodeGroup) -> dict[str, str]:
    """Kubernetes labels of the pool's nodes: the user's, the pool label, and the EFA mark."""
    labels = {**group.labels, POOL_LABEL: pool}
    if group.efa:
        labels[EFA_LABEL] = "true"
    return labels


def instance_tags(pool: str, group: EksNodeGroup) -> dict[str, str]:
    """The tags the launch template puts on the pool's instances (and their volumes): how the AWS
    preflight tells the pool's instances in a capacity reservation from others'."""
    return _tags(pool, {"Name": f"{group.cluster_name}-{pool}"})


def node_taints() -> list[dict[str, str]]:
    """The taints of the pool's nodes, as the EKS API spells them."""
    return [{"key": GPU_TAINT_KEY, "value": "true", "effect": "NO_SCHEDULE"}]


def assume_role_policy() -> str:
    """Lets EC2 instances assume the node role."""
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
        sort_keys=True)


def node_role_props(pool: str, cluster: str) -> dict[str, Any]:
    return {"assumeRolePolicy": assume_role_policy(),
            "description": f"EKS nodes of GPU pool {pool} in cluster {cluster}",
            "tags": _tags(pool)}


def node_policy_arns(partition: str) -> dict[str, str]:
    """short name -> ARN of each AWS managed policy an EKS node role needs."""
    return {short: f"arn:{partition}:iam::aws:policy/{name}" for short, name in NODE_POLICIES.items()}


def efa_security_group_props(pool: str, vpc_id: str) -> dict[str, Any]:
    """All traffic from and to the group itself: EFA's OS-bypass traffic needs both directions."""
    rule = {"protocol": "-1", "fromPort": 0, "toPort": 0, "self": True,
            "description": f"EFA traffic between the nodes of pool {pool}"}
    return {"vpcId": vpc_id, "description": f"EFA traffic between the nodes of GPU pool {pool}",
            "ingress": [dict(rule)], "egress": [dict(rule)], "tags": _tags(pool)}


def placement_group_props(pool: str) -> dict[str, Any]:
    """A cluster placement group: the pool's nodes on one low-latency network spine."""
    return {"strategy": "cluster", "tags": _tags(pool)}


def efa_network_interfaces(count: int, security_groups: Sequence[Ref]) -> list[dict[str, Any]]:
    """The network interfaces of an EFA node with `count` network cards, laid out as EC2's guide for
    multi-card EFA instances recommends: the primary interface (card 0, device 0) is a plain ENA
    interface, which carries the node's and the pods' IP addresses; then one EFA-only interface on
    every card (card 0 at device 1, the others at device 0). EFA-only interfaces take no IP address,
    so a p5.48xlarge node uses one subnet address for its interfaces instead of 32. Subnets come
    from the node group (EKS refuses them in the launch template)."""
    if count == 0:
        return []
    common = {"securityGroups": list(security_groups), "deleteOnTermination": "true"}
    primary = {"networkCardIndex": 0, "deviceIndex": 0, "interfaceType": "interface", **common}
    efa = [{"networkCardIndex": card, "deviceIndex": 1 if card == 0 else 0, "interfaceType": "efa-only", **common}
           for card in range(count)]
    return [primary, *efa]


def launch_template_props(pool: str, group: EksNodeGroup, *, security_groups: Sequence[Ref] = (),
                          placement_group_name: Ref | None = None) -> dict[str, Any]:
    """The launch template of the node group. `security_groups` (the cluster's and the EFA group)
    go on each EFA interface; they are ignored for pools without EFA, whose nodes get the cluster
    security group from EKS."""
    props: dict[str, Any] = {
        "description": f"GPU pool {pool} of EKS cluster {group.cluster_name}",
        "updateDefaultVersion": True,
        "blockDeviceMappings": [{"deviceName": ROOT_DEVICE, "ebs": {
            "volumeSize": group.disk_size_gib, "volumeType": "gp3", "encrypted": "true",
            "deleteOnTermination": "true"}}],
        # IMDSv2 only; two hops so agents in containers that read instance metadata still can.
        "metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 2},
        "tagSpecifications": [{"resourceType": kind, "tags": instance_tags(pool, group)}
                              for kind in ("instance", "volume")],
        "tags": _tags(pool),
    }
    if group.efa:
        props["networkInterfaces"] = efa_network_interfaces(group.efa_interfaces, security_groups)
    if placement_group_name is not None:
        props["placement"] = {"groupName": placement_group_name}
    if group.capacity_reservation_id is not None:
        props["capacityReservationSpecification"] = {
            "capacityReservationTarget": {"capacityReservationId": group.capacity_reservation_id}}
    if group.capacity_type == "CAPACITY_BLOCK":
        props["instanceMarketOptions"] = {"marketType": "capacity-block"}
    if group.huge_pages_2mi:
        props["userData"] = base64.b64encode(huge_pages_user_data(group.huge_pages_2mi).encode()).decode()
    return props


def huge_pages_user_data(pages: int) -> str:
    """User data (MIME multi-part, as EKS merges it with its own for a managed node group) whose
    shell part allocates `pages` 2 MiB huge pages, now and on every boot. On the AL2023 EKS AMIs,
    `nodeadm-run.service` starts the kubelet after `cloud-final.service`, which runs this part, so
    the kubelet finds the pages and reports them as allocatable `hugepages-2Mi`."""
    script = "\n".join([
        "#!/bin/bash",
        "set -euo pipefail",
        f"echo 'vm.nr_hugepages = {pages}' > /etc/sysctl.d/90-dynamo-cluster-hugepages.conf",
        f"sysctl -w vm.nr_hugepages={pages}",
    ])
    return "\n".join([
        "MIME-Version: 1.0",
        f'Content-Type: multipart/mixed; boundary="{_USER_DATA_BOUNDARY}"',
        "",
        f"--{_USER_DATA_BOUNDARY}",
        'Content-Type: text/x-shellscript; charset="us-ascii"',
        "",
        script,
        "",
        f"--{_USER_DATA_BOUNDARY}--",
        "",
    ])


def node_group_props(pool: str, group: EksNodeGroup, *, role_arn: Ref,
                     launch_template_id: Ref,
                     launch_template_version: Ref) -> dict[str, Any]:
    """The managed node group. Its desired size is set at creation only (the component ignores
    later changes to it, so a scaler or an operator may move it)."""
    return {
        "clusterName": group.cluster_name,
        "nodeRoleArn": role_arn,
        "subnetIds": list(group.subnet_ids),
        "instanceTypes": [group.instance_type],
        "amiType": group.ami_type,
        "capacityType": group.capacity_type,
        "scalingConfig": {"minSize": group.min_nodes, "desiredSize": group.desired_nodes,
                          "maxSize": group.max_nodes},
        "updateConfig": {"maxUnavailable": group.max_unavailable},
        "labels": node_labels(pool, group),
        "taints": node_taints(),
        "launchTemplate": {"id": launch_template_id, "version": launch_template_version},
        "tags": _tags(pool),
    }
