"""The cluster preflight's StorageClass checks, driven through a stub cluster: each case passing and failing."""

import pytest

from stacks.ops.cluster_view import StorageClassInfo
from stacks.ops.report import Finding
from stacks.preflight.storage import StorageClassUse, access, storage_class_uses
from tests.cluster_stub import DEFAULT, StubCluster, dev, named, one, prod, prod_existing_cache, run

GP3 = StorageClassInfo("gp3", "ebs.csi.aws.com", DEFAULT)
EFS = StorageClassInfo("efs-sc", "efs.csi.aws.com")


# -- the default StorageClass ---------------------------------------------------------------------
def test_one_default_storage_class_passes() -> None:
    assert one(run(dev(), StubCluster()), "default storage class") == Finding.passed(
        "default storage class", "standard (rancher.io/local-path)")


def test_no_storage_class_at_all_fails() -> None:
    assert one(run(dev(), StubCluster(classes=[])), "default storage class") == Finding.failed(
        "default storage class", "the cluster has no StorageClass",
        "install a CSI driver and a StorageClass for it, marked default (on EKS: the EBS CSI driver add-on and a gp3 "
        "class)")


def test_no_default_storage_class_fails_and_proposes_the_stacks_class() -> None:
    classes = [StorageClassInfo("fast", "ebs.csi.aws.com"), StorageClassInfo("standard", "rancher.io/local-path")]
    assert one(run(dev(), StubCluster(classes=classes)), "default storage class") == Finding.failed(
        "default storage class", "none of the StorageClasses (fast, standard) is marked default; volumes that name "
                                 "no class stay Pending",
        "mark one default: kubectl patch storageclass standard -p '{\"metadata\": {\"annotations\": "
        "{\"storageclass.kubernetes.io/is-default-class\": \"true\"}}}'")


def test_two_default_storage_classes_fail() -> None:
    beta = {"storageclass.beta.kubernetes.io/is-default-class": "true"}
    classes = [StorageClassInfo("gp2", "kubernetes.io/aws-ebs", beta), GP3]
    result = one(run(prod(), StubCluster(classes=[*classes, EFS])), "default storage class")
    assert result == Finding.failed(
        "default storage class", "2 StorageClasses are marked default (gp2, gp3); a volume that names no class gets "
                                 "the most recently created of them",
        "keep one: kubectl patch storageclass gp2 -p '{\"metadata\": {\"annotations\": "
        "{\"storageclass.beta.kubernetes.io/is-default-class\": \"false\"}}}'")


# -- the StorageClasses the stack names -----------------------------------------------------------
PROD_USES = "nats.storage, etcd.storage, observability.prometheus.storage, observability.alertmanager.storage, " \
            "observability.grafana.storage, observability.tempo.storage"


def test_the_classes_a_stack_names_are_collected_with_their_keys() -> None:
    assert storage_class_uses(dev()) == [StorageClassUse("standard", "nats.storage"),
                                         StorageClassUse("standard", "etcd.storage")]
    # prod's cache is on an FSx for Lustre file system it creates: no class of the cluster.
    assert storage_class_uses(prod()) == [StorageClassUse("gp3", key) for key in PROD_USES.split(", ")]
    assert storage_class_uses(prod_existing_cache()) == [
        *(StorageClassUse("gp3", key) for key in PROD_USES.split(", ")),
        StorageClassUse("efs-sc", "modelCache.storage", read_write_many=True, defaults_to_stack_class=False)]


def test_the_dev_stack_uses_kinds_default_class() -> None:
    standard = StorageClassInfo("standard", "rancher.io/local-path", DEFAULT)
    assert one(run(dev(), StubCluster(classes=[standard])), "storage class standard") == Finding.passed(
        "storage class standard", "exists (rancher.io/local-path); used by nats.storage, etcd.storage")


def test_named_classes_that_exist_pass() -> None:
    results = run(prod_existing_cache(), StubCluster(classes=[GP3, EFS]))
    assert one(results, "storage class gp3") == Finding.passed(
        "storage class gp3", f"exists (ebs.csi.aws.com); used by {PROD_USES}")
    assert one(results, "storage class efs-sc") == Finding.passed(
        "storage class efs-sc", "exists (efs.csi.aws.com); used by modelCache.storage")


def test_a_missing_class_fails_naming_the_keys_that_use_it() -> None:
    gp2 = StorageClassInfo("gp2", "kubernetes.io/aws-ebs", DEFAULT)
    result = one(run(prod(), StubCluster(classes=[gp2, EFS])), "storage class gp3")
    assert not result.ok
    assert result.detail == f"does not exist; used by {PROD_USES}; the cluster has: gp2 (default), efs-sc"
    assert result.fix == (
        "create StorageClass gp3, or set nats.storage.storageClass or etcd.storage.storageClass or "
        "observability.prometheus.storage.storageClass or "
        "observability.alertmanager.storage.storageClass or observability.grafana.storage.storageClass or "
        "observability.tempo.storage.storageClass (or storageClass, which they default to) to one of: gp2, efs-sc")


def test_a_missing_model_cache_class_proposes_read_write_many_classes() -> None:
    fsx = StorageClassInfo("fsx", "fsx.csi.aws.com")
    results = run(prod_existing_cache(), StubCluster(classes=[GP3, fsx]))
    result = one(results, "storage class efs-sc")
    assert result.fix == "create StorageClass efs-sc, or set modelCache.storage.storageClass to one of: fsx"
    assert named(results, "modelCache.storage ReadWriteMany") == []


# -- ReadWriteMany --------------------------------------------------------------------------------
def with_cache_class(provisioner: str, *others: StorageClassInfo) -> Finding:
    classes = [GP3, StorageClassInfo("efs-sc", provisioner), *others]
    return one(run(prod_existing_cache(), StubCluster(classes=classes)), "modelCache.storage ReadWriteMany")


def test_a_file_system_class_provides_read_write_many() -> None:
    assert with_cache_class("efs.csi.aws.com") == Finding.passed(
        "modelCache.storage ReadWriteMany", "efs-sc (efs.csi.aws.com) provides ReadWriteMany volumes")


@pytest.mark.parametrize("provisioner", ["fsx.csi.aws.com", "filestore.csi.storage.gke.io", "file.csi.azure.com",
                                         "nfs.csi.k8s.io", "cluster.local/nfs-subdir-external-provisioner",
                                         "rook-ceph.cephfs.csi.ceph.com"])
def test_known_read_write_many_provisioners(provisioner: str) -> None:
    assert access(provisioner) == "rwx"


def test_a_block_storage_class_fails_and_names_the_read_write_many_ones() -> None:
    result = with_cache_class("ebs.csi.aws.com", StorageClassInfo("shared", "efs.csi.aws.com"))
    assert result == Finding.failed(
        "modelCache.storage ReadWriteMany",
        "efs-sc is provisioned by ebs.csi.aws.com, block storage that provides only ReadWriteOnce volumes; every "
        "worker mounts this volume, on many nodes",
        "set modelCache.storage.storageClass to a ReadWriteMany class: shared")


def test_a_block_storage_class_in_a_cluster_without_shared_storage_says_what_to_install() -> None:
    assert with_cache_class("ebs.csi.aws.com").fix == (
        "set modelCache.storage.storageClass to a ReadWriteMany class: the cluster has none; install the EFS CSI "
        "driver (or FSx for Lustre, or an NFS provisioner) and a StorageClass for it")


def test_an_unknown_provisioner_passes_unverified() -> None:
    assert with_cache_class("csi.example.com") == Finding.passed(
        "modelCache.storage ReadWriteMany", "efs-sc is provisioned by csi.example.com, which this check does not "
                                            "know: not verified; make sure it provides ReadWriteMany volumes")
