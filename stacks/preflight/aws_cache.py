"""AWS preflight of the model cache on FSx for Lustre or EFS (`stacks.preflight.aws` runs these).

- the CSI driver add-on's pinned version is one EKS offers for the cluster's Kubernetes version
  (eks:DescribeAddonVersions); for EFS, whose controller gets its IAM role through EKS Pod Identity,
  that the cluster runs the ``eks-pod-identity-agent`` add-on (eks:DescribeAddon);
- FSx for Lustre: the stack's file system (found by its tags: the cache's name and the stack's), when
  it exists, is AVAILABLE, in the subnet (and so the zone) of the pool config puts it in and in the
  cluster's VPC, and its network interfaces' security groups admit the cluster security group on
  Lustre's ports (TCP 988 and 1018-1023): then every node of the pools reaches it. Before the first
  `pulumi up` there is none, and that passes, saying what `pulumi up` creates;
- EFS: the mount-target subnets are in the cluster's VPC, one per availability zone, and cover the
  zone of every pool's subnet (a node mounts the target of its zone); the stack's file system, when
  it exists, is available, has those mount targets, and their security groups admit the cluster
  security group on NFS (TCP 2049).

Read-only calls, each also the IAM action it needs: eks:DescribeAddonVersions, eks:DescribeAddon,
fsx:DescribeFileSystems, ec2:DescribeNetworkInterfaces, ec2:DescribeSecurityGroups,
ec2:DescribeSubnets, elasticfilesystem:DescribeFileSystems, elasticfilesystem:DescribeMountTargets,
elasticfilesystem:DescribeMountTargetSecurityGroups.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, assert_never

from components.kit.aws import STACK_TAG
from components.storage import lustre
from components.storage.cache import Efs, ExistingClass, FsxLustre, ModelCacheSettings
from components.storage.csi import POD_IDENTITY_AGENT, CsiDriverSettings
from components.storage.efs import NFS_PORT, EfsSettings
from components.storage.lustre import CACHE_TAG, LustreSettings
from stacks.config.stack import StackConfig
from stacks.ops.aws import AwsCallError, Caller, ask, need, need_list, not_checked
from stacks.ops.report import Finding

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_efs import EFSClient
    from mypy_boto3_eks import EKSClient
    from mypy_boto3_fsx import FSxClient

FILE_SYSTEM = "model cache file system"
REACHABLE = "model cache reachable from the pools"


def _ports(ranges: Iterable[tuple[int, int]]) -> str:
    return " and ".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)


# -- the add-ons ----------------------------------------------------------------------------------
def check_addon_version(csi: CsiDriverSettings, kubernetes: str, eks: EKSClient, caller: Caller) -> Finding:
    addon = csi.driver.addon
    name = f"eks add-on {addon} {csi.version}"
    try:
        answer = ask("eks:DescribeAddonVersions", lambda: eks.describe_addon_versions(
            addonName=addon, kubernetesVersion=kubernetes))
    except AwsCallError as failure:
        return not_checked(name, failure, caller)
    offered = [v.get("addonVersion", "") for a in answer.get("addons", []) for v in a.get("addonVersions", [])]
    if csi.version in offered:
        return Finding.passed(name, f"offered for Kubernetes {kubernetes}")
    return Finding.failed(
        name, f"EKS offers no {csi.version} of {addon} for Kubernetes {kubernetes}"
              + (f"; it offers {', '.join(offered[:6])}" if offered else "; it offers no version of it"),
        "set modelCache.csiDriver.version to one it offers" if offered else
        "install the driver another way and set modelCache.csiDriver.install to false")


def check_pod_identity_agent(cluster_name: str, needed_by: str, eks: EKSClient, caller: Caller) -> Finding:
    """The add-on that hands IAM roles to service accounts: `needed_by` (what gets a role through it)."""
    name = f"eks add-on {POD_IDENTITY_AGENT}"
    fix = (f"aws eks create-addon --cluster-name {cluster_name} --addon-name {POD_IDENTITY_AGENT} ({needed_by} "
           "gets its IAM role through EKS Pod Identity)")
    try:
        addon = need("eks:DescribeAddon", ask("eks:DescribeAddon", lambda: eks.describe_addon(
            clusterName=cluster_name, addonName=POD_IDENTITY_AGENT)), "addon")
    except AwsCallError as failure:
        if failure.code == "ResourceNotFoundException":
            return Finding.failed(name, f"is not installed on cluster {cluster_name}", fix)
        return not_checked(name, failure, caller)
    status = addon.get("status", "")
    if status != "ACTIVE":
        return Finding.failed(name, f"is {status}, not ACTIVE", fix)
    return Finding.passed(name, f"ACTIVE ({addon.get('addonVersion', '')}); {needed_by} gets its IAM role "
                                    "through it")


# -- security groups ------------------------------------------------------------------------------
def _admits(groups: Sequence[Any], source: str, low: int, high: int) -> bool:
    """Whether a rule of `groups` lets `source` (a security group) in on TCP `low`-`high`."""
    for group in groups:
        for rule in group.get("IpPermissions", []):
            protocol = rule.get("IpProtocol")
            if protocol not in ("tcp", "-1", "6"):
                continue
            if protocol != "-1" and not (rule.get("FromPort", 0) <= low and rule.get("ToPort", 0) >= high):
                continue
            if any(pair.get("GroupId") == source for pair in rule.get("UserIdGroupPairs", [])) or \
                    any(r.get("CidrIp") == "0.0.0.0/0" for r in rule.get("IpRanges", [])):
                return True
    return False


def _groups(ec2: EC2Client, ids: Sequence[str]) -> list[Any]:
    """The security groups `ids` names; never a call without ids (AWS would list every group)."""
    group_ids: Any = list(ids)
    if not group_ids:
        return []
    return need_list("ec2:DescribeSecurityGroups", ask(
        "ec2:DescribeSecurityGroups", lambda: ec2.describe_security_groups(GroupIds=group_ids)), "SecurityGroups")


def check_admits(ec2: EC2Client, group_ids: Sequence[str], source: str, ports: Sequence[tuple[int, int]], *,
                 what: str, caller: Caller) -> Finding:
    try:
        groups = _groups(ec2, group_ids)
    except AwsCallError as failure:
        return not_checked(REACHABLE, failure, caller)
    if not groups:
        return Finding.failed(REACHABLE, f"no security group of {what} was found, so none can admit the cluster "
                                         f"security group {source}",
                              f"check {what} exists with its network interfaces (`pulumi up` creates it with its "
                              "security group)")
    closed = [(a, b) for a, b in ports if not _admits(groups, source, a, b)]
    listed = ", ".join(group_ids) or "none"
    if closed:
        return Finding.failed(
            REACHABLE, f"the security groups of {what} ({listed}) do not admit the cluster security group {source} on "
                       f"TCP {_ports(closed)}: pods cannot mount the cache",
            f"allow TCP {_ports(closed)} from {source} in one of them (the stack's own group allows it; a change made "
            "outside Pulumi removed it: `pulumi up` puts it back)")
    return Finding.passed(REACHABLE, f"the security groups of {what} ({listed}) admit the cluster security group "
                                         f"{source} on TCP {_ports(ports)}")


# -- FSx for Lustre -------------------------------------------------------------------------------
def _tagged(tags: Iterable[Any], cache: str, stack: str) -> bool:
    found = {t.get("Key"): t.get("Value") for t in tags}
    return found.get(CACHE_TAG) == cache and found.get(STACK_TAG) == stack


def find_lustre(fsx: FSxClient, cache: str, stack: str) -> Any | None:
    def scan() -> Any | None:
        for page in fsx.get_paginator("describe_file_systems").paginate():
            for fs in need_list("fsx:DescribeFileSystems", page, "FileSystems"):
                if fs.get("FileSystemType") == "LUSTRE" and _tagged(fs.get("Tags", []), cache, stack):
                    return fs
        return None
    return ask("fsx:DescribeFileSystems", scan)


def check_lustre(config: StackConfig, settings: LustreSettings, fsx: FSxClient, ec2: EC2Client,
                 caller: Caller) -> list[Finding]:
    where = f"subnet {settings.subnet_id}" + (f" ({settings.availability_zone})" if settings.availability_zone else "")
    try:
        fs = find_lustre(fsx, settings.name, config.stack)
    except AwsCallError as failure:
        return [not_checked(FILE_SYSTEM, failure, caller)]
    if fs is None:
        return [Finding.passed(FILE_SYSTEM, f"none yet: `pulumi up` creates a {settings.deployment_type} FSx for "
                                                f"Lustre file system of {settings.storage_capacity_gib} GiB in {where} "
                                                f"of pool {settings.pool}")]
    fs_id = fs.get("FileSystemId", "")
    problems = []
    lifecycle = fs.get("Lifecycle", "")
    if lifecycle != "AVAILABLE":
        problems.append(f"is {lifecycle}, not AVAILABLE")
    if fs.get("SubnetIds", []) != [settings.subnet_id]:
        problems.append(f"is in subnet {', '.join(fs.get('SubnetIds', []))}, but pool {settings.pool}'s subnet is "
                        f"{settings.subnet_id} (moving it replaces the file system and empties the cache)")
    if fs.get("VpcId", settings.vpc_id) != settings.vpc_id:
        problems.append(f"is in VPC {fs.get('VpcId')}, not the cluster's {settings.vpc_id}")
    if problems:
        fix = ("wait until it is AVAILABLE" if lifecycle in ("CREATING", "UPDATING") else
               f"see aws fsx describe-file-systems --file-system-ids {fs_id}; set modelCache.fsx.pool to the pool of "
               "its subnet to keep it")
        results = [Finding.failed(FILE_SYSTEM, f"{fs_id} " + "; ".join(problems), fix)]
    else:
        results = [Finding.passed(FILE_SYSTEM, f"{fs_id} AVAILABLE in {where}, {fs.get('StorageCapacity')} GiB")]
    interfaces: Any = list(fs.get("NetworkInterfaceIds", []))
    try:
        described = need_list("ec2:DescribeNetworkInterfaces", ask(
            "ec2:DescribeNetworkInterfaces", lambda: ec2.describe_network_interfaces(
                NetworkInterfaceIds=interfaces)), "NetworkInterfaces") if interfaces else []
    except AwsCallError as failure:
        return [*results, not_checked(REACHABLE, failure, caller)]
    group_ids = sorted({str(need("ec2:DescribeNetworkInterfaces", g, "GroupId"))
                        for eni in described for g in need_list("ec2:DescribeNetworkInterfaces", eni, "Groups")})
    results.append(check_admits(ec2, group_ids, settings.client_security_group_id, lustre.LUSTRE_PORTS,
                                what=f"FSx for Lustre {fs_id}", caller=caller))
    return results


# -- EFS ------------------------------------------------------------------------------------------
def find_efs(efs: EFSClient, cache: str, stack: str) -> Any | None:
    def scan() -> Any | None:
        for page in efs.get_paginator("describe_file_systems").paginate():
            for fs in need_list("elasticfilesystem:DescribeFileSystems", page, "FileSystems"):
                if _tagged(fs.get("Tags", []), cache, stack):
                    return fs
        return None
    return ask("elasticfilesystem:DescribeFileSystems", scan)


def _zones(ec2: EC2Client, subnets: Sequence[str]) -> dict[str, tuple[str, str]]:
    """subnet -> (zone, VPC)."""
    ids: Any = list(subnets)
    found = need_list("ec2:DescribeSubnets", ask("ec2:DescribeSubnets", lambda: ec2.describe_subnets(SubnetIds=ids)),
                      "Subnets")
    return {str(need("ec2:DescribeSubnets", s, "SubnetId")): (s.get("AvailabilityZone", ""), s.get("VpcId", ""))
            for s in found}


def check_efs_placement(config: StackConfig, settings: EfsSettings, ec2: EC2Client, caller: Caller) -> Finding:
    name = "model cache mount targets"
    pool_subnets = sorted({s for p in config.node_pools if p.eks is not None for s in p.eks.subnet_ids})
    try:
        zones = _zones(ec2, sorted({*settings.subnet_ids, *pool_subnets}))
    except AwsCallError as failure:
        return not_checked(name, failure, caller)
    problems = []
    by_zone: dict[str, list[str]] = {}
    for subnet in settings.subnet_ids:
        zone, vpc = zones.get(subnet, ("", ""))
        by_zone.setdefault(zone, []).append(subnet)
        if vpc != settings.vpc_id:
            problems.append(f"subnet {subnet} is in VPC {vpc}, not the cluster's {settings.vpc_id}")
    problems += [f"subnets {', '.join(s)} are all in {zone}, which takes one mount target"
                 for zone, s in sorted(by_zone.items()) if len(s) > 1]
    uncovered = sorted({zones[s][0] for s in pool_subnets if s in zones} - set(by_zone))
    if uncovered:
        problems.append(f"no mount target subnet in {', '.join(uncovered)}, where pool nodes run")
    if problems:
        return Finding.failed(name, "; ".join(problems),
                                  "set modelCache.efs.subnetIds to one subnet of the cluster's VPC in each zone the "
                                  "nodes run in")
    return Finding.passed(name, f"one in each of {', '.join(sorted(by_zone))}, covering every pool's zone")


def check_efs(config: StackConfig, settings: EfsSettings, efs: EFSClient, ec2: EC2Client,
              caller: Caller) -> list[Finding]:
    results = [check_efs_placement(config, settings, ec2, caller)]
    try:
        fs = find_efs(efs, settings.name, config.stack)
    except AwsCallError as failure:
        return [*results, not_checked(FILE_SYSTEM, failure, caller)]
    if fs is None:
        return [*results, Finding.passed(FILE_SYSTEM, f"none yet: `pulumi up` creates an encrypted EFS file "
                                                          f"system with mount targets in "
                                                          f"{', '.join(settings.subnet_ids)}")]
    fs_id = fs.get("FileSystemId", "")
    state = fs.get("LifeCycleState", "")
    try:
        targets = need_list("elasticfilesystem:DescribeMountTargets", ask(
            "elasticfilesystem:DescribeMountTargets", lambda: efs.describe_mount_targets(FileSystemId=fs_id)),
            "MountTargets")
        group_ids = sorted({str(g) for t in targets for g in need(
            "elasticfilesystem:DescribeMountTargetSecurityGroups",
            ask("elasticfilesystem:DescribeMountTargetSecurityGroups", partial(
                efs.describe_mount_target_security_groups,
                MountTargetId=need("elasticfilesystem:DescribeMountTargets", t, "MountTargetId"))),
            "SecurityGroups")})
    except AwsCallError as failure:
        return [*results, not_checked(FILE_SYSTEM, failure, caller)]
    have = {t.get("SubnetId") for t in targets}
    missing = [s for s in settings.subnet_ids if s not in have]
    problems = ([f"is {state}, not available"] if state != "available" else []) + \
        ([f"has no mount target in {', '.join(missing)} yet (`pulumi up` creates them)"] if missing else [])
    if problems:
        results.append(Finding.failed(FILE_SYSTEM, f"{fs_id} " + "; ".join(problems),
                                          f"aws efs describe-file-systems --file-system-id {fs_id}; run `pulumi up`"))
    else:
        results.append(Finding.passed(FILE_SYSTEM, f"{fs_id} available, mount targets in "
                                                       f"{', '.join(settings.subnet_ids)}"))
    results.append(check_admits(ec2, group_ids, settings.client_security_group_id, ((NFS_PORT, NFS_PORT),),
                                what=f"EFS {fs_id}'s mount targets", caller=caller))
    return results


# -- all of them ----------------------------------------------------------------------------------
def cache_aws_checks(config: StackConfig, cache: ModelCacheSettings, *, eks: EKSClient, ec2: EC2Client,
                     fsx: FSxClient, efs: EFSClient, caller: Caller) -> list[Finding]:
    results: list[Finding] = []
    csi = cache.csi
    if csi is not None and csi.install:
        results.append(check_addon_version(csi, config.kubernetes.version, eks, caller))
        if csi.driver.policy is not None:
            results.append(check_pod_identity_agent(csi.cluster_name, f"{csi.driver.addon}'s controller", eks,
                                                    caller))
    match cache.store:
        case FsxLustre(lustre=lustre_settings):
            results += check_lustre(config, lustre_settings, fsx, ec2, caller)
        case Efs(efs=efs_settings):
            results += check_efs(config, efs_settings, efs, ec2, caller)
        case ExistingClass():
            pass  # the cluster's class: nothing on AWS to ask about
        case _:
            assert_never(cache.store)
    return results
