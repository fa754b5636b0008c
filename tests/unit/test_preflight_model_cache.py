"""The cluster preflight of the model cache, through a stub cluster: the CSI driver (to be installed,
installed and healthy, unhealthy, missing when the stack does not install it) and whether the
models fit (sizes from config, or from finished download pods)."""

from __future__ import annotations

import json
from typing import Any

from components.storage.downloads import DOWNLOAD_LABEL
from stacks.ops.cluster_view import WorkloadInfo
from stacks.ops.report import Finding
from stacks.preflight.model_cache import CSI_CHECK, SIZE_CHECK
from tests.cluster_stub import StubCluster, named, one, prod, run
from tests.harness import parse, stack_config

PROD = stack_config("prod")
GIB = 1 << 30


def fsx_driver(ready: int = 3, desired: int = 3) -> StubCluster:
    return StubCluster(drivers=["fsx.csi.aws.com", "ebs.csi.aws.com"],
                       daemons=[WorkloadInfo("fsx-csi-node", "kube-system", desired=desired, ready=ready)],
                       deploys=[WorkloadInfo("fsx-csi-controller", "kube-system", desired=2, ready=2)])


def test_a_driver_the_stack_installs_may_be_missing_before_the_first_up() -> None:
    assert one(run(prod(), StubCluster()), CSI_CHECK) == Finding.passed(
        CSI_CHECK, "fsx.csi.aws.com is not installed yet (no CSIDriver object); `pulumi up` installs the EKS add-on "
                   "aws-fsx-csi-driver v1.7.0-eksbuild.1")


def test_an_installed_healthy_driver_passes() -> None:
    assert one(run(prod(), fsx_driver()), CSI_CHECK) == Finding.passed(
        CSI_CHECK, "fsx.csi.aws.com registered; 3 node pods ready, controller 2/2")


def test_a_driver_with_unready_node_pods_fails() -> None:
    result = one(run(prod(), fsx_driver(ready=2)), CSI_CHECK)
    assert not result.ok
    assert result.detail == "fsx.csi.aws.com is not healthy: kube-system/fsx-csi-node has 2 of 3 pods ready"
    assert result.fix.startswith("kubectl -n kube-system describe daemonset fsx-csi-node")


def test_a_driver_the_stack_does_not_install_must_be_there() -> None:
    cache = PROD["modelCache"] | {"csiDriver": {"install": False}}
    result = one(run(prod(modelCache=cache), StubCluster()), CSI_CHECK)
    assert result == Finding.failed(
        CSI_CHECK, "fsx.csi.aws.com is not installed (no CSIDriver object), and modelCache.csiDriver.install is false",
        "install it (aws eks create-addon --cluster-name dynamo-prod --addon-name aws-fsx-csi-driver --addon-version "
        "v1.7.0-eksbuild.1), or set modelCache.csiDriver.install to true")


def test_the_configured_sizes_fit_prods_cache() -> None:
    assert one(run(prod(), StubCluster()), SIZE_CHECK) == Finding.passed(
        SIZE_CHECK, "2357 of 4800 GiB (deepseek-ai/DeepSeek-R1@main 642 GiB, meta-llama/Llama-3.1-405B-Instruct@main "
                    "755 GiB, moonshotai/Kimi-K2-Instruct@main 960 GiB)")


def unsized(**cache: Any) -> dict[str, Any]:
    return {"graphs": [{k: v for k, v in g.items() if k != "modelSizeGiB"} for g in PROD["graphs"]],
            "modelCache": PROD["modelCache"] | cache}


def report(model: str, gib: int) -> str:
    return json.dumps({"model": model, "revision": "main", "commit": "0" * 40, "bytes": gib * GIB - 5})


def test_sizes_come_from_finished_downloads_when_config_has_none() -> None:
    stub = StubCluster(messages={("dynamo", DOWNLOAD_LABEL): [report("deepseek-ai/DeepSeek-R1", 650), "not json"]})
    result = one(run(prod(**unsized()), stub), SIZE_CHECK)
    assert result == Finding.passed(
        SIZE_CHECK, "650 of 4800 GiB (deepseek-ai/DeepSeek-R1@main 650 GiB); size not known for "
                    "meta-llama/Llama-3.1-405B-Instruct@main, moonshotai/Kimi-K2-Instruct@main (set "
                    "graphs[].modelSizeGiB, or it is read after its first download)")
    assert stub.calls.count("termination_messages") == 1


def test_models_that_do_not_fit_fail_with_the_capacity_to_set() -> None:
    messages = [report("deepseek-ai/DeepSeek-R1", 650), report("meta-llama/Llama-3.1-405B-Instruct", 760),
                report("moonshotai/Kimi-K2-Instruct", 1000)]
    stub = StubCluster(messages={("dynamo", DOWNLOAD_LABEL): messages})
    config = prod(**unsized(fsx=PROD["modelCache"]["fsx"] | {"storageCapacityGiB": 2400}))
    result = one(run(config, stub), SIZE_CHECK)
    assert not result.ok
    assert result.detail.startswith("the models take 2410 GiB (")
    assert result.detail.endswith("), but the cache holds 2400 GiB")
    assert result.fix == ("raise modelCache.fsx.storageCapacityGiB to 4800 (FSx for Lustre grows in place in steps of "
                          "2400 GiB), or download fewer models")


def test_efs_grows_and_an_existing_class_is_checked_against_its_claim() -> None:
    efs = parse(stack_config("efs-cache"), "prod")
    stub = StubCluster(drivers=["efs.csi.aws.com"], daemons=[WorkloadInfo("efs-csi-node", "kube-system", desired=4,
                                                                          ready=4)])
    results = run(efs, stub)
    assert one(results, SIZE_CHECK) == Finding.passed(SIZE_CHECK, "EFS grows as files are written "
                                                                      "(Qwen/Qwen3-8B@main 16 GiB)")
    assert one(results, CSI_CHECK).ok
    existing = prod(modelCache={"enabled": True, "storage": {"storageClass": "efs-sc", "size": "1Ti"}})
    assert named(run(existing, StubCluster()), CSI_CHECK) == []  # the class's own driver: the storage checks'
    assert not one(run(existing, StubCluster()), SIZE_CHECK).ok  # 2357 GiB of models in a 1024 GiB claim


def test_a_refused_read_is_reported_once() -> None:
    results = run(prod(), StubCluster(refuse={"termination_messages"}))
    assert [r for r in results if r.check == "model cache"] == [Finding.failed(
        "model cache", "not checked: cannot termination_messages: 403 Forbidden",
        "run preflight with credentials that may read it (it reads the server version, StorageClasses, CSIDrivers, "
        "Nodes, DaemonSets, Deployments, CustomResourceDefinitions, the Secrets the stack references, the pods of "
        "its model download Jobs and the network plugins' ConfigMaps in kube-system)")]
