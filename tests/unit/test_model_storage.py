"""The model cache in whole plans: prod's FSx for Lustre (the AWS inputs, the CSI driver, the static
volume, the download Jobs and the pods that wait for them), EFS (examples/Pulumi.efs-cache.yaml), a
class the cluster has (examples/Pulumi.etcd-discovery.yaml), what survives `pulumi destroy`, and
one Job per model and revision however many graphs serve it."""

from __future__ import annotations

from typing import Any

import pytest

from components.kit.aws import (
    EFS_FILE_SYSTEM,
    EFS_MOUNT_TARGET,
    EKS_ADDON,
    FSX_DATA_REPOSITORY_ASSOCIATION,
    FSX_LUSTRE_FILE_SYSTEM,
    IAM_ROLE_POLICY_ATTACHMENT,
    SECURITY_GROUP,
)
from components.storage.cache import FsxLustre
from components.storage.downloads import WAIT_CONTAINER
from stacks.plan.mockrun import Registered, Registry
from stacks.plan.sections import model_storage_lines
from tests.harness import ROOT, by_kind, children, parse, plan_config, plan_stack, reaches, stack_config

PROD = stack_config("prod")
DGD = "kubernetes:nvidia.com/v1beta1:DynamoGraphDeployment"


def one(registry: Registry, type_: str) -> Registered:
    [found] = registry.of_type(type_)
    return found


def cache_group(registry: Registry) -> Registered:
    [group] = [r for r in registry.of_type(SECURITY_GROUP) if "model-storage" in r.name]
    return group


# -- prod: FSx for Lustre -------------------------------------------------------------------------
def test_prod_puts_the_lustre_file_system_in_the_efa_pools_subnet_and_zone() -> None:
    registry = plan_stack("prod")
    [efa_pool] = [p for p in PROD["nodePools"] if p["name"] == "h100-efa"]
    fs = one(registry, FSX_LUSTRE_FILE_SYSTEM)
    assert fs.inputs["subnetIds"] == efa_pool["subnetIds"][0]
    assert (fs.inputs["deploymentType"], fs.inputs["perUnitStorageThroughput"], fs.inputs["storageCapacity"]) == (
        "PERSISTENT_2", 500, 4800)
    assert fs.inputs["securityGroupIds"] == [f"{cache_group(registry).name}-id"]
    # the zone is the subnet's: the same as the pool's, which the summary and preflight name
    cache = parse(PROD, "prod").dynamo.model_cache
    assert cache is not None
    assert isinstance(cache.store, FsxLustre)
    lustre = cache.store.lustre
    assert (lustre.pool, lustre.subnet_id, lustre.availability_zone) == (
        "h100-efa", efa_pool["subnetIds"][0], efa_pool["availabilityZone"])
    rules = cache_group(registry).inputs["ingress"]
    assert {(r["fromPort"], r["toPort"]) for r in rules if r.get("securityGroups") == [
        PROD["aws"]["clusterSecurityGroupId"]]} == {(988, 988), (1018, 1023)}
    assert cache_group(registry).inputs["vpcId"] == PROD["aws"]["vpcId"]
    # every AWS resource of the cache goes through the stack's aws provider
    aws = one(registry, "pulumi:providers:aws")
    assert {r.provider for r in registry.resources if r.type.startswith("aws:") and "model-storage" in r.name} == {
        aws.urn}


def test_prod_installs_the_fsx_csi_driver_and_binds_the_claim_to_a_static_volume() -> None:
    registry = plan_stack("prod")
    addon = one(registry, EKS_ADDON)
    assert (addon.inputs["addonName"], addon.inputs["addonVersion"], addon.inputs["clusterName"]) == (
        "aws-fsx-csi-driver", "v1.7.0-eksbuild.1", "dynamo-prod")
    [pv] = by_kind(registry, "PersistentVolume")
    [pvc] = by_kind(registry, "PersistentVolumeClaim")
    fs = one(registry, FSX_LUSTRE_FILE_SYSTEM)
    assert pv.inputs["spec"]["csi"] == {"driver": "fsx.csi.aws.com", "volumeHandle": f"{fs.name}-id",
                                        "volumeAttributes": {"dnsname": fs.name, "mountname": "mockmnt1"}}
    assert pv.inputs["spec"]["claimRef"] == {"name": "model-cache", "namespace": "dynamo"}
    assert pvc.inputs["spec"] == {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "4800Gi"}},
                                  "storageClassName": "", "volumeName": pv.inputs["metadata"]["name"]}
    assert reaches(registry, pvc.urn, pv.urn)
    assert reaches(registry, pv.urn, fs.urn)
    assert reaches(registry, pv.urn, addon.urn)  # pods mount it once the driver is there


def test_prod_downloads_each_model_once_and_every_pod_waits_for_it() -> None:
    registry = plan_stack("prod")
    jobs = {j.inputs["metadata"]["annotations"]["dynamo-cluster/model"]: j for j in by_kind(registry, "Job")}
    assert set(jobs) == {"deepseek-ai/DeepSeek-R1", "meta-llama/Llama-3.1-405B-Instruct", "moonshotai/Kimi-K2-Instruct"}
    for job in jobs.values():
        assert job.options["customTimeouts"] == {"create": "190m", "update": "190m"}  # the deadline, and some
        assert job.inputs["spec"]["activeDeadlineSeconds"] == 180 * 60
        args = job.inputs["spec"]["template"]["spec"]["containers"][0]["args"]
        assert args[args.index("--exclude") + 1] == "original/*"
    [pvc] = by_kind(registry, "PersistentVolumeClaim")
    for dgd in registry.of_type(DGD):
        model = next(a for c in dgd.inputs["spec"]["components"][1:2]
                     for a in [c["podTemplate"]["spec"]["initContainers"][0]["env"][0]["value"]])
        job = jobs[model]
        for component in dgd.inputs["spec"]["components"]:
            [wait] = component["podTemplate"]["spec"]["initContainers"]
            env = {e["name"]: e.get("value") for e in wait["env"]}
            assert wait["name"] == WAIT_CONTAINER
            assert env["DOWNLOAD_JOB"] == job.inputs["metadata"]["name"]
            assert env["WAIT_SECONDS"] == str(180 * 60)
        assert {"name": "HF_HUB_OFFLINE", "value": "1"} in dgd.inputs["spec"]["env"]
        # the graph is created with the Job, not after it: its pods wait in the cluster
        assert not reaches(registry, dgd.urn, job.urn)
        assert reaches(registry, dgd.urn, pvc.urn)
        assert reaches(registry, job.urn, pvc.urn)


@pytest.mark.parametrize(("allow_data_loss", "kept"), [(False, True), (True, False)])
def test_prod_keeps_the_cache_on_destroy_unless_data_loss_is_allowed(allow_data_loss: bool, kept: bool) -> None:
    registry = plan_config(PROD | {"allowDataLoss": allow_data_loss}, "prod")
    fs = one(registry, FSX_LUSTRE_FILE_SYSTEM)
    [pv] = by_kind(registry, "PersistentVolume")
    [pvc] = by_kind(registry, "PersistentVolumeClaim")
    for resource in (fs, cache_group(registry), pv, pvc):
        assert bool(resource.options.get("retainOnDelete")) is kept, resource.name
    assert one(registry, EKS_ADDON).inputs["preserve"] is kept  # the driver stays for what is kept
    # the download Jobs and the script are not data
    assert not any(r.options.get("retainOnDelete") for r in by_kind(registry, "Job"))


def test_an_s3_link_is_a_data_repository_association_of_the_file_system() -> None:
    cache = PROD["modelCache"] | {"fsx": PROD["modelCache"]["fsx"] | {"s3": {"repositoryPath": "s3://models/w/"}}}
    registry = plan_config(PROD | {"modelCache": cache}, "prod")
    link = one(registry, FSX_DATA_REPOSITORY_ASSOCIATION)
    fs = one(registry, FSX_LUSTRE_FILE_SYSTEM)
    assert (link.inputs["fileSystemId"], link.inputs["dataRepositoryPath"], link.inputs["fileSystemPath"]) == (
        f"{fs.name}-id", "s3://models/w/", "/s3")
    assert link.options.get("retainOnDelete")


# -- EFS and an existing class --------------------------------------------------------------------
def test_efs_gets_a_mount_target_per_subnet_a_storage_class_and_the_driver_with_its_role() -> None:
    registry = plan_stack("efs-cache")
    fs = one(registry, EFS_FILE_SYSTEM)
    assert fs.inputs["encrypted"] is True
    targets = registry.of_type(EFS_MOUNT_TARGET)
    assert sorted(t.inputs["subnetId"] for t in targets) == ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"]
    assert all(t.inputs["fileSystemId"] == f"{fs.name}-id" for t in targets)
    [rule] = cache_group(registry).inputs["ingress"]
    assert (rule["fromPort"], rule["securityGroups"]) == (2049, ["sg-0a1b2c3d4e5f67890"])
    addon = one(registry, EKS_ADDON)
    assert addon.inputs["addonName"] == "aws-efs-csi-driver"
    [association] = addon.inputs["podIdentityAssociations"]
    assert association["serviceAccount"] == "efs-csi-controller-sa"
    [policy] = [r for r in registry.of_type(IAM_ROLE_POLICY_ATTACHMENT) if "model-storage" in r.name]
    assert policy.inputs["policyArn"] == "arn:aws:iam::aws:policy/service-role/AmazonEFSCSIDriverPolicy"
    [sc] = by_kind(registry, "StorageClass")
    [pvc] = by_kind(registry, "PersistentVolumeClaim")
    assert pvc.inputs["spec"]["storageClassName"] == sc.inputs["metadata"]["name"] == "model-cache-efs"
    assert (sc.inputs["parameters"]["fileSystemId"], sc.inputs["reclaimPolicy"]) == (f"{fs.name}-id", "Retain")
    assert fs.options.get("retainOnDelete")
    assert not any(t.options.get("retainOnDelete") for t in targets)  # the data is in the file system


def test_an_existing_class_creates_no_storage_and_keeps_the_claim_on_it() -> None:
    registry = plan_stack("etcd-discovery")
    assert not [r for r in registry.resources if r.type.startswith("aws:")]
    [pvc] = by_kind(registry, "PersistentVolumeClaim")
    assert pvc.inputs["spec"]["storageClassName"] == "cephfs"
    [job] = by_kind(registry, "Job")
    assert job.inputs["metadata"]["annotations"]["dynamo-cluster/model"] == "meta-llama/Llama-3.1-70B-Instruct"


# -- one Job per model ----------------------------------------------------------------------------
def mocker(name: str, model: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "backend": "mocker", "mode": "disagg", "model": model,
            "prefill": {"pool": "cpu"}, "decode": {"pool": "cpu"}} | extra


def test_two_graphs_of_one_model_share_its_job_and_a_graph_on_a_cache_path_has_none() -> None:
    values = stack_config("dev") | {
        "modelCache": {"enabled": True, "storage": {"storageClass": "nfs"}},
        "graphs": [mocker("one", "Qwen/Qwen3-0.6B"), mocker("two", "Qwen/Qwen3-0.6B"),
                   mocker("local", "/models/local/qwen3"),
                   mocker("pinned", "Qwen/Qwen3-0.6B", modelRevision="c" * 40)]}
    registry = plan_config(values)
    jobs = by_kind(registry, "Job")
    assert sorted(j.inputs["metadata"]["annotations"]["dynamo-cluster/model-revision"] for j in jobs) == ["c" * 40,
                                                                                                            "main"]
    waits: dict[str, set[str]] = {}
    for dgd in registry.of_type(DGD):
        jobs_waited = {e["value"] for c in dgd.inputs["spec"]["components"]
                       for w in c["podTemplate"]["spec"].get("initContainers", []) for e in w["env"]
                       if e["name"] == "DOWNLOAD_JOB"}
        waits[dgd.inputs["metadata"]["name"]] = jobs_waited
    [main] = [j.inputs["metadata"]["name"] for j in jobs if j.inputs["metadata"]["annotations"][
        "dynamo-cluster/model-revision"] == "main"]
    assert waits["one"] == waits["two"] == {main}
    assert waits["local"] == set()
    assert len(waits["pinned"]) == 1
    assert waits["pinned"] != {main}
    # the pinned graph's engines load that commit from the cache
    [pinned] = [d for d in registry.of_type(DGD) if d.inputs["metadata"]["name"] == "pinned"]
    args = pinned.inputs["spec"]["components"][1]["podTemplate"]["spec"]["containers"][0]["args"]
    assert args[args.index("--model-path") + 1] == f"/models/hub/models--Qwen--Qwen3-0.6B/snapshots/{'c' * 40}"


def test_downloads_off_means_no_jobs_and_no_waiting() -> None:
    values = stack_config("dev") | {"modelCache": {"enabled": True, "storage": {"storageClass": "nfs"},
                                                   "download": {"enabled": False}}}
    registry = plan_config(values)
    assert by_kind(registry, "Job") == []
    assert "model-download-script" not in {c.inputs["metadata"]["name"] for c in by_kind(registry, "ConfigMap")}
    [dgd] = registry.of_type(DGD)
    assert all("initContainers" not in c["podTemplate"]["spec"] for c in dgd.inputs["spec"]["components"])


def test_the_model_storage_component_holds_the_file_system_component() -> None:
    registry = plan_stack("prod")
    [storage] = registry.of_type("dynamo-cluster:components:ModelStorage")
    [lustre] = [r for r in children(registry, storage.urn) if r.type == "dynamo-cluster:components:LustreCache"]
    assert {r.type for r in children(registry, lustre.urn)} == {
        SECURITY_GROUP, FSX_LUSTRE_FILE_SYSTEM, EKS_ADDON, "kubernetes:core/v1:PersistentVolume"}


# -- the plan's summary ---------------------------------------------------------------------------
def test_the_summary_shows_the_cache_and_each_models_job_and_waiting_graphs() -> None:
    lines = model_storage_lines(parse(PROD, "prod"))
    assert lines[0].startswith("- Cache: **FSx for Lustre** (`modelCache.kind: fsx-lustre`), PERSISTENT_2, 4800 GiB "
                               "at 500 MB/s/TiB (about 2344 MB/s), Lustre 2.15, in subnet subnet-0a1b2c3d4e5f60001 "
                               "(us-east-1a) of pool `h100-efa`")
    assert lines[0].endswith("bound to PersistentVolume `dynamo-model-cache`; kept on `pulumi destroy`.")
    assert lines[1] == "- CSI driver fsx.csi.aws.com: EKS add-on `aws-fsx-csi-driver` v1.7.0-eksbuild.1 on cluster " \
                       "dynamo-prod."
    registry = plan_stack("prod")
    for job in by_kind(registry, "Job"):
        annotations = job.inputs["metadata"]["annotations"]
        [row] = [line for line in lines if line.startswith(f"| {annotations['dynamo-cluster/model']} |")]
        assert f"| `{job.inputs['metadata']['name']}` |" in row
    assert "| deepseek-ai/DeepSeek-R1 | main | 642 GiB |" in "\n".join(lines)
    assert lines[-1] == "- Known sizes 2357 GiB, cache 4800 GiB: fits."
    efs = model_storage_lines(parse(stack_config("efs-cache"), "prod"))
    assert "| Qwen/Qwen3-8B | main | 16 GiB | `model-qwen3-8b-f12e9da5f4` | qwen-chat, qwen-batch |" in efs
    assert "- Graph `support-tuned`: no download Job; its model is a path, `/models/finetuned/qwen3-8b-support`." in efs
    assert model_storage_lines(parse(stack_config("dev"))) == [
        "No model cache (`modelCache.enabled: false`): each worker downloads its model itself."]


def test_the_summary_has_a_model_storage_section() -> None:
    from stacks.config.stackfile import read_stack_file
    from stacks.plan.command import OfflinePlan

    plan = OfflinePlan(read_stack_file(ROOT, "prod"), parse(PROD, "prod"), Registry())
    assert "Model storage" in [title for title, _ in plan.sections()]
