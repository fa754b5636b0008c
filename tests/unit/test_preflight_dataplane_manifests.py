"""What the data-path preflight checks on which pool, the objects a run creates (as ``--print``
writes them, validated against the Kubernetes schemas), and the bandwidth each pool must reach."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.etcd.settings import IMAGE as ETCD_IMAGE
from stacks.config.stack import StackConfig
from stacks.preflight.dataplane import manifests, printing
from stacks.preflight.dataplane.manifests import Run
from stacks.preflight.dataplane.targets import select_targets
from stacks.preflight.dataplane.thresholds import threshold
from tests.harness import parse, schema_problems, stack_config

IMAGE = "registry.example.com/nixlbench:0.10.1"


def prod(**changes: Any) -> StackConfig:
    return parse(stack_config("prod") | changes, "prod")


def printed(config: StackConfig | None = None, min_gbps: float | None = None) -> list[dict[str, Any]]:
    targets = select_targets(config or prod(), min_gbps)
    text = printing.render("prod", printing.documents(targets, Run(printing.PRINT_RUN_ID, IMAGE, 1200)))
    return [d for d in yaml.safe_load_all(text) if d is not None]


def jobs(docs: list[dict[str, Any]], step: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == "Job" and d["metadata"]["labels"][manifests.STEP_LABEL] == step]


def container(job: dict[str, Any]) -> dict[str, Any]:
    [only] = job["spec"]["template"]["spec"]["containers"]
    return dict(only)


# -- which pools -----------------------------------------------------------------------------------
def test_prods_efa_pools_are_checked_in_their_workers_images() -> None:
    targets = select_targets(prod())
    assert targets.skipped == ()
    h100, h200 = targets.checked
    assert [(i.image, i.graphs, i.wrapped) for i in h100.images] == [
        ("nvcr.io/nvidia/ai-dynamo/tensorrtllm-runtime:1.4.2-efa", ("deepseek-r1",), False),
        ("nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.4.2-efa", ("llama-405b",), True)]
    assert [i.image for i in h200.images] == ["nvcr.io/nvidia/ai-dynamo/sglang-runtime:1.4.2-efa"]
    # a one-GPU pod's share: p5.48xlarge 32 interfaces / 8 GPUs, p5en.48xlarge 16 / 8
    assert (h100.bench_efa, h200.bench_efa) == (4, 2)
    assert (h100.threshold.min_gbs, h200.threshold.min_gbs) == (25.0, 25.0)
    assert h100.bench_huge_pages == "5120Mi"
    assert h100.bench_env["FI_PROVIDER"] == "efa"
    assert h100.bench_env["FI_EFA_USE_HUGE_PAGE"] == "1"
    assert not any(k.startswith("NIXL_") for k in h100.bench_env)


def test_a_graphs_efa_image_is_the_one_tested() -> None:
    values = stack_config("prod")
    values["graphs"][2]["efaImage"] = "registry.example.com/sglang-efa:1.4.2-custom"
    [_, h200] = select_targets(parse(values, "prod")).checked
    assert [i.image for i in h200.images] == ["registry.example.com/sglang-efa:1.4.2-custom"]


def test_an_efa_pool_no_gpu_graph_uses_is_left_out_and_said_so() -> None:
    values = stack_config("prod")
    spare = dict(values["nodePools"][0], name="spare-efa", minNodes=0, desiredNodes=0, maxNodes=1)
    spare.pop("capacityReservationId")
    values["nodePools"].append(spare)
    targets = select_targets(parse(values, "prod"))
    assert [t.name for t in targets.checked] == ["h100-efa", "h200-efa"]
    assert targets.skipped == (("spare-efa", "no graph with a GPU backend places workers on it"),)


def test_dev_has_no_efa_pool() -> None:
    targets = select_targets(parse(stack_config("dev")))
    assert targets.checked == ()
    assert targets.skipped == ()


# -- thresholds ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("interfaces", "card_gbps", "line", "needed"), [
    (4, 100.0, 50.0, 25.0),   # p5.48xlarge: 32 interfaces of 100 Gbps, 8 GPUs
    (2, 200.0, 50.0, 25.0),   # p5en.48xlarge: 16 of 200 Gbps
    (1, 200.0, 25.0, 12.5),   # p6-b200.48xlarge: 8 of 200 Gbps (EC2's figure)
    (1, 100.0, 12.5, 6.25),   # p4d.24xlarge: 4 of 100 Gbps, at least one per pod
])
def test_half_the_line_rate_of_a_pods_interfaces(interfaces: int, card_gbps: float, line: float,
                                                 needed: float) -> None:
    rule = threshold(interfaces, card_gbps)
    assert (rule.line_rate_gbs, rule.min_gbs) == (line, needed)


def test_min_gbps_replaces_the_rule_and_covers_unknown_line_rates() -> None:
    assert threshold(4, 100.0, 30.0).min_gbs == 30.0
    assert threshold(4, None).min_gbs is None
    assert threshold(4, None, 8.0).min_gbs == 8.0


# -- the printed objects ---------------------------------------------------------------------------
def test_printed_objects_validate_against_the_kubernetes_schemas() -> None:
    docs = printed()
    assert schema_problems(docs, "1.33") == []
    assert [d["kind"] for d in docs[:3]] == ["Namespace", "Service", "Pod"]
    # h100-efa: two images; then two image checks and two nixlbench Jobs per pool
    assert len(jobs(docs, manifests.SANITY)) == 3
    assert len(jobs(docs, manifests.PULL)) == 4
    assert len(jobs(docs, manifests.BENCH)) == 4


def test_every_object_carries_the_preflight_label_in_the_runs_namespace() -> None:
    docs = printed()
    namespace = docs[0]
    assert namespace["metadata"]["name"] == "dynamo-preflight-000000"
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    for doc in docs:
        assert doc["metadata"]["labels"][manifests.PREFLIGHT_LABEL] == "dataplane", doc["metadata"]["name"]
        assert doc["metadata"]["labels"][manifests.RUN_LABEL] == "000000"
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == "dynamo-preflight-000000"


def test_the_benchmark_is_libfabric_gpu_to_gpu_between_two_nodes() -> None:
    bench = [j for j in jobs(printed(), manifests.BENCH) if j["metadata"]["labels"][manifests.POOL_LABEL] == "h100-efa"]
    assert len(bench) == 2
    for job, node in zip(bench, printing.PAIR, strict=True):
        spec = job["spec"]["template"]["spec"]
        main = container(job)
        script = main["args"][0]
        assert script.startswith("exec nixlbench ")
        assert "--backend LIBFABRIC" in script
        assert "--initiator_seg_type VRAM --target_seg_type VRAM" in script
        assert "--etcd_endpoints http://etcd:2379" in script
        assert "--benchmark_group h100-efa-000000" in script
        assert main["image"] == IMAGE
        assert main["securityContext"] == {"privileged": True, "capabilities": {"add": ["IPC_LOCK"]}}
        assert main["resources"]["limits"] == {"nvidia.com/gpu": "1", "vpc.amazonaws.com/efa": "4",
                                               "hugepages-2Mi": "5120Mi"}
        assert main["resources"]["requests"]["vpc.amazonaws.com/efa"] == "4"
        assert {"name": "shm", "mountPath": "/dev/shm"} in main["volumeMounts"]
        assert spec["volumes"] == [{"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "80Gi"}}]
        apart = spec["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        assert apart == [{"labelSelector": {"matchLabels": {manifests.RUN_LABEL: "000000",
                                                            manifests.STEP_LABEL: manifests.BENCH,
                                                            manifests.POOL_LABEL: "h100-efa"}},
                          "topologyKey": "kubernetes.io/hostname"}]
        assert spec["nodeSelector"] == {"dynamo-cluster/pool": "h100-efa"}
        assert spec["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
        assert spec["restartPolicy"] == "Never"
        assert job["spec"]["backoffLimit"] == 0
        assert job["spec"]["activeDeadlineSeconds"] == 1200 + manifests.DEADLINE_GRACE_S
        pinned = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        assert pinned["nodeSelectorTerms"][0]["matchFields"][0]["values"] == [node]
        # the anti-affinity selects the pods of this very pool's benchmark
        labels = job["spec"]["template"]["metadata"]["labels"]
        assert all(labels[k] == v for k, v in apart[0]["labelSelector"]["matchLabels"].items())


def test_a_sanity_pod_takes_its_node_whole_in_the_workers_image() -> None:
    [trtllm, vllm, sglang] = jobs(printed(), manifests.SANITY)
    assert container(trtllm)["image"] == "nvcr.io/nvidia/ai-dynamo/tensorrtllm-runtime:1.4.2-efa"
    assert container(vllm)["image"] == "nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.4.2-efa"
    main = container(sglang)
    assert main["resources"]["limits"] == {"nvidia.com/gpu": "8", "vpc.amazonaws.com/efa": "16"}
    assert "memory" not in main["resources"]["limits"]  # /dev/shm is then its sizeLimit
    assert main["securityContext"]["privileged"] is True
    script = main["args"][0]
    for command in ("nvidia-smi --query-gpu=index,name,driver_version,memory.total --format=csv,noheader",
                    "df -Pk /dev/shm", "-p efa -t FI_EP_RDM", "grep -i huge /proc/meminfo", 'echo "$LD_LIBRARY_PATH"'):
        assert command in script
    assert sglang["spec"]["backoffLimit"] == 0


def test_etcd_is_the_projects_pinned_image_behind_a_cluster_ip_service() -> None:
    docs = printed()
    service, pod = docs[1], docs[2]
    assert service["spec"]["type"] == "ClusterIP"
    assert service["metadata"]["name"] == "etcd"
    assert all(pod["metadata"]["labels"][k] == v for k, v in service["spec"]["selector"].items())
    etcd = pod["spec"]["containers"][0]
    assert etcd["image"] == ETCD_IMAGE == "registry.k8s.io/etcd:3.6.6-0"
    assert "--advertise-client-urls=http://etcd:2379" in etcd["args"]
    assert pod["spec"]["activeDeadlineSeconds"] == 4 * 1200 + manifests.DEADLINE_GRACE_S


def test_print_writes_one_file_per_object_in_creation_order(tmp_path: Path) -> None:
    targets = select_targets(prod())
    docs = printing.documents(targets, Run(printing.PRINT_RUN_ID, IMAGE, 600))
    paths = printing.write(tmp_path / "out", docs)
    assert [p.name for p in paths[:4]] == ["00-namespace-dynamo-preflight-000000.yaml", "01-service-etcd.yaml",
                                           "02-pod-etcd.yaml", "03-job-h100-efa-sanity-0-0.yaml"]
    loaded = [yaml.safe_load(p.read_text()) for p in paths]
    assert loaded == [manifest for _, manifest in docs]
    assert paths[3].read_text().startswith("# Pool h100-efa, image nvcr.io/nvidia/ai-dynamo/tensorrtllm-runtime")


def test_a_one_node_pool_has_no_benchmark() -> None:
    values = stack_config("prod")
    values["nodePools"][1] = dict(values["nodePools"][1], minNodes=1, desiredNodes=1, maxNodes=1)
    for role in ("prefill", "decode"):
        values["graphs"][2][role] = dict(values["graphs"][2][role], nodes=1, gpusPerNode=4, tensorParallel=4,
                                         replicas=1)
    docs = printed(parse(values, "prod"))
    pools = {j["metadata"]["labels"][manifests.POOL_LABEL] for j in jobs(docs, manifests.BENCH)}
    assert pools == {"h100-efa"}


def test_job_names_fit_a_label_value() -> None:
    run = Run("abc123", IMAGE, 60)
    [target, _] = select_targets(prod()).checked
    long = replace(target, pool=replace(target.pool, name="a-very-long-pool-name-" + "x" * 41))
    for job in (manifests.sanity_job(run, long, "n", 12, 1), manifests.pull_job(run, long, "n", 1),
                manifests.bench_job(run, long, "n", 1)):
        name = job["metadata"]["name"]
        assert len(name) <= 63, name
        assert name.startswith("a-very-long-pool-name-"), name
    assert manifests.bench_job_name("a" * 70, 0) != manifests.bench_job_name("a" * 69 + "b", 0)
