"""The model cache's AWS storage as pure builders: FSx for Lustre (its security group, file system, S3
link and static PersistentVolume), EFS (security group, file system, mount targets, StorageClass)
and the CSI driver add-ons, key by key."""

from __future__ import annotations

import json

import pytest

from components.storage import csi, efs, lustre
from tests.harness import schema_problems

FSX = lustre.LustreSettings(name="model-cache", pool="h100-efa", subnet_id="subnet-0a1b2c3d",
                            availability_zone="us-east-1a", vpc_id="vpc-0a1b2c3d",
                            client_security_group_id="sg-0c1a5e70", storage_capacity_gib=4800, throughput_per_tib=500)
EFS = efs.EfsSettings(name="model-cache", subnet_ids=("subnet-0a", "subnet-0b"), vpc_id="vpc-0a1b2c3d",
                      client_security_group_id="sg-0c1a5e70")


def test_the_lustre_file_system_sits_in_the_pools_subnet_with_its_type_and_throughput() -> None:
    props = lustre.file_system_props(FSX, "sg-lustre")
    assert props == {
        "subnetIds": "subnet-0a1b2c3d", "securityGroupIds": ["sg-lustre"], "deploymentType": "PERSISTENT_2",
        "storageType": "SSD", "storageCapacity": 4800, "perUnitStorageThroughput": 500, "fileSystemTypeVersion": "2.15",
        "dataCompressionType": "NONE",
        "tags": {"dynamo-cluster/model-cache": "model-cache", "Name": "model-cache-lustre"}}
    assert FSX.throughput_mbps == pytest.approx(4800 / 1024 * 500)
    scratch = lustre.file_system_props(lustre.LustreSettings(**{**FSX.__dict__, "deployment_type": "SCRATCH_2",
                                                                "throughput_per_tib": None}), "sg")
    assert "perUnitStorageThroughput" not in scratch


def test_the_lustre_security_group_admits_the_nodes_and_its_servers_on_lustres_ports() -> None:
    props = lustre.security_group_props(FSX)
    assert props["vpcId"] == "vpc-0a1b2c3d"
    got = {(r["fromPort"], r["toPort"], r.get("self", False), tuple(r.get("securityGroups", [])))
           for r in props["ingress"]}
    assert got == {(988, 988, True, ()), (988, 988, False, ("sg-0c1a5e70",)),
                   (1018, 1023, True, ()), (1018, 1023, False, ("sg-0c1a5e70",))}
    assert all(r["protocol"] == "tcp" for r in props["ingress"])
    assert props["egress"] == [{"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"],
                                "description": "all traffic out"}]


@pytest.mark.parametrize(("gib", "ok"), [(1200, True), (2400, True), (4800, True), (7200, True), (3600, False),
                                         (1000, False), (2500, False)])
def test_lustre_capacity_steps(gib: int, ok: bool) -> None:
    assert (lustre.capacity_problem("PERSISTENT_2", gib) is None) is ok


@pytest.mark.parametrize(("deployment", "per_tib", "ok"), [
    ("PERSISTENT_2", 125, True), ("PERSISTENT_2", 1000, True), ("PERSISTENT_2", 200, False),
    ("PERSISTENT_1", 200, True), ("PERSISTENT_1", 250, False), ("SCRATCH_2", None, True), ("SCRATCH_2", 125, False)])
def test_lustre_throughput_per_deployment_type(deployment: lustre.DeploymentType, per_tib: int | None,
                                               ok: bool) -> None:
    assert (lustre.throughput_problem(deployment, per_tib) is None) is ok


def test_the_s3_link_imports_lazily_and_exports_nothing() -> None:
    settings = lustre.LustreSettings(**{**FSX.__dict__, "s3": lustre.S3Repository("s3://models/weights/")})
    assert lustre.data_repository_association_props(settings, "fs-1") == {
        "fileSystemId": "fs-1", "dataRepositoryPath": "s3://models/weights/", "fileSystemPath": "/s3",
        "batchImportMetaDataOnCreate": True, "deleteDataInFilesystem": False,
        "s3": {"autoImportPolicy": {"events": ["NEW", "CHANGED", "DELETED"]}},
        "tags": {"dynamo-cluster/model-cache": "model-cache", "Name": "model-cache-lustre"}}


def test_the_static_volume_is_reserved_for_the_claim_and_mounts_with_flock() -> None:
    pv = lustre.persistent_volume("dynamo-model-cache", "model-cache", "dynamo", FSX, file_system_id="fs-1",
                                  dns_name="fs-1.fsx.us-east-1.amazonaws.com", mount_name="abcdefgh")
    assert schema_problems([pv], "1.33") == []
    spec = pv["spec"]
    assert spec["csi"] == {"driver": "fsx.csi.aws.com", "volumeHandle": "fs-1", "volumeAttributes": {
        "dnsname": "fs-1.fsx.us-east-1.amazonaws.com", "mountname": "abcdefgh"}}
    assert spec["claimRef"] == {"name": "model-cache", "namespace": "dynamo"}
    assert (spec["persistentVolumeReclaimPolicy"], spec["storageClassName"], spec["mountOptions"]) == (
        "Retain", "", ["flock"])
    assert (spec["accessModes"], spec["capacity"]) == (["ReadWriteMany"], {"storage": "4800Gi"})


def test_efs_is_encrypted_elastic_and_reached_on_nfs_from_the_nodes() -> None:
    assert efs.file_system_props(EFS, "prod") == {
        "creationToken": "prod-model-cache", "encrypted": True, "performanceMode": "generalPurpose",
        "throughputMode": "elastic", "tags": {"dynamo-cluster/model-cache": "model-cache", "Name": "model-cache-efs"}}
    [rule] = efs.security_group_props(EFS)["ingress"]
    assert (rule["protocol"], rule["fromPort"], rule["toPort"], rule["securityGroups"]) == (
        "tcp", 2049, 2049, ["sg-0c1a5e70"])
    assert efs.mount_target_props("fs-1", "subnet-0a", "sg-efs") == {
        "fileSystemId": "fs-1", "subnetId": "subnet-0a", "securityGroups": ["sg-efs"]}


@pytest.mark.parametrize(("retain", "policy"), [(True, "Retain"), (False, "Delete")])
def test_the_efs_storage_class_provisions_access_points(retain: bool, policy: str) -> None:
    sc = efs.storage_class(EFS, "fs-1", retain=retain)
    assert schema_problems([sc], "1.33") == []
    assert (sc["metadata"]["name"], sc["provisioner"], sc["reclaimPolicy"]) == (
        "model-cache-efs", "efs.csi.aws.com", policy)
    assert sc["parameters"]["provisioningMode"] == "efs-ap"
    assert sc["parameters"]["fileSystemId"] == "fs-1"


def test_the_csi_add_ons_are_pinned_and_the_efs_controller_gets_its_role_through_pod_identity() -> None:
    fsx = csi.CsiDriverSettings(kind="fsx-lustre", install=True, version=csi.DRIVERS["fsx-lustre"].version,
                                cluster_name="dynamo-prod")
    assert csi.addon_props(fsx, preserve=True) == {
        "clusterName": "dynamo-prod", "addonName": "aws-fsx-csi-driver", "addonVersion": "v1.7.0-eksbuild.1",
        "resolveConflictsOnCreate": "NONE", "resolveConflictsOnUpdate": "PRESERVE", "preserve": True}
    assert csi.policy_arn(fsx) is None  # a static volume: the driver calls no AWS API
    efs_csi = csi.CsiDriverSettings(kind="efs", install=True, version="v3.3.0-eksbuild.1", cluster_name="c",
                                    partition="aws-us-gov")
    assert csi.policy_arn(efs_csi) == "arn:aws-us-gov:iam::aws:policy/service-role/AmazonEFSCSIDriverPolicy"
    props = csi.addon_props(efs_csi, preserve=False, role_arn="arn:role")
    assert props["podIdentityAssociations"] == [{"roleArn": "arn:role", "serviceAccount": "efs-csi-controller-sa"}]
    trust = json.loads(csi.controller_role_props(efs_csi, "model-cache")["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert trust["Statement"][0]["Action"] == ["sts:AssumeRole", "sts:TagSession"]
