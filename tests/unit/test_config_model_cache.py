"""The modelCache section and the graphs' model keys: defaults of each kind, and every problem of a
bad one at once, each naming its key, what is wrong and what is allowed."""

from __future__ import annotations

from typing import Any

import pytest

from components.storage.cache import Efs, FsxLustre
from stacks.config.reader import ConfigError
from stacks.config.stack import StackConfig
from tests.harness import parse, stack_config

PROD = stack_config("prod")
FSX = PROD["modelCache"]


def prod(**values: Any) -> StackConfig:
    return parse(PROD | values, "prod")


def problems(**values: Any) -> list[str]:
    with pytest.raises(ConfigError) as error:
        prod(**values)
    return [str(p) for p in error.value.problems]


def test_prods_cache_is_fsx_lustre_in_the_first_efa_pool() -> None:
    config = prod()
    cache = config.dynamo.model_cache
    assert cache is not None
    store = cache.store
    assert isinstance(store, FsxLustre)
    lustre = store.lustre
    assert (cache.kind, lustre.pool, lustre.subnet_id, lustre.availability_zone) == (
        "fsx-lustre", "h100-efa", "subnet-0a1b2c3d4e5f60001", "us-east-1a")
    assert (lustre.vpc_id, lustre.client_security_group_id) == (
        PROD["aws"]["vpcId"], PROD["aws"]["clusterSecurityGroupId"])
    assert (store.csi.install, store.csi.version, store.csi.cluster_name) == (True, "v1.7.0-eksbuild.1", "dynamo-prod")
    assert (cache.retain, store.volume_name, cache.storage.size) == (True, "dynamo-model-cache", "4800Gi")
    assert cache.download.exclude == ("original/*",)
    assert config.uses_aws
    assert [g.model_size_gib for g in config.dynamo.graphs] == [642, 755, 960]


@pytest.mark.parametrize(("deployment", "throughput"), [("PERSISTENT_2", 250), ("PERSISTENT_1", 200),
                                                        ("SCRATCH_2", None)])
def test_the_throughput_per_tib_defaults_by_deployment_type(deployment: str, throughput: int | None) -> None:
    cache = prod(modelCache={"enabled": True, "kind": "fsx-lustre", "fsx": {"deploymentType": deployment}}).dynamo
    assert cache.model_cache is not None
    store = cache.model_cache.store
    assert isinstance(store, FsxLustre)
    assert store.lustre.throughput_per_tib == throughput
    assert store.lustre.storage_capacity_gib == 2400


def test_a_bad_fsx_cache_reports_every_problem_at_once() -> None:
    found = problems(modelCache={
        "enabled": True, "kind": "fsx-lustre", "storage": {"storageClass": "efs-sc", "size": "2Ti"},
        "fsx": {"pool": "h200", "deploymentType": "PERSISTENT_1", "storageCapacityGiB": 3000,
                "throughputPerTiB": 250, "s3": {"repositoryPath": "s3://models/", "fileSystemPath": "/hub"}},
        "efs": {"throughputMode": "elastic"}, "download": {"image": "python:latest", "workers": 0}})
    assert found == [
        "dynamo-cluster:modelCache.download.image: is 'python:latest'; allowed: an image pinned by tag or digest "
        "(registry/repository:tag), never :latest",
        "dynamo-cluster:modelCache.download.workers: is 0; allowed: an integer >= 1 and <= 64",
        "dynamo-cluster:modelCache.efs: is set, but modelCache.kind is fsx-lustre; allowed: remove it, or kind: efs",
        "dynamo-cluster:modelCache.fsx.pool: is 'h200', which is not an eks pool; allowed: the name of an eks pool "
        "(h100-efa, h200-efa)",
        "dynamo-cluster:modelCache.fsx.s3.fileSystemPath: is '/hub', where the download Jobs write; allowed: a "
        "directory of its own, such as /s3",
        "dynamo-cluster:modelCache.fsx.s3.repositoryPath: is set on a PERSISTENT_1 file system; allowed: unset, or "
        "fsx.deploymentType PERSISTENT_2 (data repository associations need it)",
        "dynamo-cluster:modelCache.fsx.storageCapacityGiB: is 3000; allowed: PERSISTENT_1 file systems take 1200, "
        "2400 or a multiple of 2400 GiB (4800, 7200, ...)",
        "dynamo-cluster:modelCache.fsx.throughputPerTiB: is 250; allowed: one of 50, 100, 200 MB/s/TiB for "
        "PERSISTENT_1",
        "dynamo-cluster:modelCache.storage.size: is set, but the FSx for Lustre file system's size is "
        "modelCache.fsx.storageCapacityGiB; allowed: unset",
        "dynamo-cluster:modelCache.storage.storageClass: is set, but modelCache.kind fsx-lustre creates the cache's "
        "storage; allowed: unset (or kind: existing)"]


def test_the_aws_kinds_need_the_vpc_the_nodes_group_and_a_pool_to_live_in() -> None:
    dev = stack_config("dev")
    with pytest.raises(ConfigError) as error:
        parse(dev | {"modelCache": {"enabled": True, "kind": "fsx-lustre"}})
    assert [str(p) for p in error.value.problems] == [
        "dynamo-cluster:aws.clusterName: is required by modelCache.kind fsx-lustre; allowed: the EKS cluster the CSI "
        "driver add-on is installed on",
        "dynamo-cluster:aws.clusterSecurityGroupId: is required by modelCache.kind fsx-lustre; allowed: the cluster "
        "security group id: the file system admits the nodes that carry it",
        "dynamo-cluster:aws.region: is required by modelCache.kind fsx-lustre; allowed: an AWS region such as "
        "us-east-1",
        "dynamo-cluster:aws.vpcId: is required by modelCache.kind fsx-lustre; allowed: the cluster's VPC id, where "
        "the file system's security group is created",
        "dynamo-cluster:modelCache.fsx.pool: is not set, and the stack has no eks pool whose subnet the file system "
        "could use; allowed: an eks pool in nodePools (FSx for Lustre goes into its subnet and zone)"]


def test_efs_takes_the_pools_subnets_one_per_zone() -> None:
    config = parse(stack_config("efs-cache"), "prod")
    cache = config.dynamo.model_cache
    assert cache is not None
    assert isinstance(cache.store, Efs)
    assert cache.store.efs.subnet_ids == ("subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002")
    assert cache.storage.storage_class == "model-cache-efs"
    assert cache.capacity_gib is None  # EFS grows
    found = problems(modelCache={"enabled": True, "kind": "efs", "efs": {"subnetIds": [
        "subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60001", "nope"]}})
    assert found == [
        "dynamo-cluster:modelCache.efs.subnetIds: has 'nope'; allowed: subnet ids such as subnet-0abc12345",
        "dynamo-cluster:modelCache.efs.subnetIds: names a subnet twice; allowed: each subnet once (one mount target "
        "each)"]


def test_two_subnets_of_one_zone_are_refused_for_efs() -> None:
    pools = [p | {"subnetIds": [s]} for p, s in zip(PROD["nodePools"], ["subnet-0a1b2c3d4e5f60001",
                                                                        "subnet-0a1b2c3d4e5f60002"], strict=True)]
    found = problems(nodePools=pools, modelCache={"enabled": True, "kind": "efs"})
    assert found == [
        "dynamo-cluster:modelCache.efs.subnetIds: has subnet-0a1b2c3d4e5f60001 and subnet-0a1b2c3d4e5f60002, both in "
        "us-east-1a; allowed: one subnet per availability zone (EFS takes one mount target per zone)"]


def test_an_existing_class_takes_no_csi_driver_section() -> None:
    assert problems(modelCache={"enabled": True, "storage": {"storageClass": "nfs"},
                                "csiDriver": {"install": False}}) == [
        "dynamo-cluster:modelCache.csiDriver: is set, but modelCache.kind is existing (the cluster's class brings its "
        "driver); allowed: remove it, or kind: fsx-lustre or efs"]


def graph(index: int, **keys: Any) -> dict[str, Any]:
    return PROD["graphs"][index] | keys  # type: ignore[no-any-return]


def test_bad_model_keys_of_graphs_are_all_reported() -> None:
    found = problems(graphs=[
        graph(0),
        graph(1, model="deepseek-ai/DeepSeek-R1", modelSizeGiB=700, loader={"format": "auto", "concurrency": 8}),
        graph(2, modelRevision="v2.0", loader={"format": "runai_streamer"})])
    assert found == [
        "dynamo-cluster:graphs[1].loader.concurrency: is set with format auto; allowed: unset, or format "
        "runai_streamer",
        "dynamo-cluster:graphs[1].modelSizeGiB: is 700, but graphs[0] gives 642 for deepseek-ai/DeepSeek-R1 (main); "
        "allowed: 642, or unset: one model has one size",
        "dynamo-cluster:graphs[2].loader.format: is runai_streamer, which the sglang backend has no flag for here; "
        "allowed: auto for sglang; vllm takes runai_streamer (docs/decisions.md, \"Model loading\")",
        "dynamo-cluster:graphs[2].modelRevision: is 'v2.0'; allowed: main, or a 40-character commit of a model the "
        "download Job puts in the shared cache (the engines then load that commit's directory)"]


def test_a_pinned_commit_needs_the_download() -> None:
    cache = FSX | {"download": {"enabled": False}}
    assert problems(modelCache=cache, graphs=[graph(1, modelRevision="a" * 40)]) == [
        "dynamo-cluster:graphs[0].modelRevision: is set, but the graph's model is not downloaded into the cache "
        "(modelCache, modelCache.download); allowed: main, or a 40-character commit of a model the download Job puts "
        "in the shared cache (the engines then load that commit's directory)"]
    config = prod(graphs=[graph(1, modelRevision="a" * 40)])
    assert config.dynamo.graphs[0].model_source == (
        f"/models/hub/models--meta-llama--Llama-3.1-405B-Instruct/snapshots/{'a' * 40}")


def test_graphs_that_wait_for_a_download_wait_longer_by_default() -> None:
    # prod's graphs: 60 minutes to load, plus the 180 its download may take; without a Job, 60
    assert [g.ready_timeout_minutes for g in prod().dynamo.graphs] == [240, 240, 240]
    off = FSX | {"download": {"enabled": False}}
    assert [g.ready_timeout_minutes for g in prod(modelCache=off).dynamo.graphs] == [60, 60, 60]
    assert prod(graphs=[graph(1, readyTimeoutMinutes=90)]).dynamo.graphs[0].ready_timeout_minutes == 90


def test_the_plan_warns_when_the_models_do_not_fit_or_the_graph_gives_up_before_the_download() -> None:
    cache = FSX | {"fsx": FSX["fsx"] | {"storageCapacityGiB": 2400}, "download": {"timeoutMinutes": 600}}
    graphs = [graph(i, readyTimeoutMinutes=120) for i in range(3)]
    warnings = prod(modelCache=cache, graphs=graphs).warnings()
    assert ("modelCache holds 2400 GiB, but the models the graphs download take 2357 GiB (graphs[].modelSizeGiB): "
            "the downloads fail when it is full") not in warnings  # 2357 fits in 2400
    tight = FSX | {"fsx": FSX["fsx"] | {"storageCapacityGiB": 1200}}
    assert ("modelCache holds 1200 GiB, but the models the graphs download take 2357 GiB (graphs[].modelSizeGiB): "
            "the downloads fail when it is full") in prod(modelCache=tight).warnings()
    assert sum("waits 120 minutes for it (readyTimeoutMinutes), but its model's download may take up to 600" in w
               for w in warnings) == 3
    assert not [w for w in prod(modelCache=cache).warnings() if "readyTimeoutMinutes" in w]  # the default covers it
