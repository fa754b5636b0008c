"""The node pool checks of the cluster preflight, driven through a stub cluster: each case passing and failing."""

from typing import Any

from stacks.config.stack import StackConfig
from stacks.ops.cluster_view import NodeInfo, WorkloadInfo
from stacks.ops.report import Finding
from tests.cluster_stub import StubCluster, dev, existing_gpu_stack, gpu_node, prod, run
from tests.harness import parse, stack_config

GPU_PLUGIN = WorkloadInfo("nvidia-device-plugin-daemonset", "gpu-operator",
                          images=("nvcr.io/nvidia/k8s-device-plugin:v0.17.2",), desired=2, ready=2)
EFA_PLUGIN = WorkloadInfo("aws-efa-k8s-device-plugin", "gpu-operator",
                          images=("602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/aws-efa-k8s-device-plugin:v0.5.6",),
                          desired=2, ready=2)


def check(config: StackConfig, nodes: list[NodeInfo], daemons: list[WorkloadInfo] | None = None,
          name: str | None = None) -> list[Finding]:
    """The results of the checks whose name starts with `name` (every pool and plugin check without)."""
    results = run(config, StubCluster(node_list=nodes, daemons=[GPU_PLUGIN] if daemons is None else daemons))
    return [r for r in results if r.check.startswith(name or ("pool", "gpu device", "efa device"))]


def one(results: list[Finding]) -> Finding:
    assert len(results) == 1, results
    return results[0]


TWO_NODES = [gpu_node("g1"), gpu_node("g2")]
GPUS, EFA = "pool a100 allocatable GPUs", "pool a100 allocatable EFA"


# -- existing GPU pools ---------------------------------------------------------------------------
def test_an_existing_gpu_pool_that_fits_passes() -> None:
    results = check(existing_gpu_stack(), [*TWO_NODES, NodeInfo("cpu-1", {"kubernetes.io/os": "linux"})])
    assert [(r.check, r.ok, r.detail) for r in results] == [
        ("pool a100 nodes", True, "2 ready nodes match gpu=a100 (nodePools[0].nodes: 2)"),
        (GPUS, True, "2 nodes advertise 16 allocatable nvidia.com/gpu; the capacity plan holds 8 (llm worker 8)"),
        ("gpu device plugin", True, "gpu-operator/nvidia-device-plugin-daemonset runs on 2 nodes (image v0.17.2)"),
    ]


def test_too_few_nodes_fail_naming_the_ones_not_ready() -> None:
    result = one(check(existing_gpu_stack(), [gpu_node("g1"), gpu_node("g2", ready=False)], name="pool a100 nodes"))
    assert not result.ok
    assert result.detail == "1 Ready, schedulable nodes match gpu=a100, but nodePools[0].nodes is 2; not Ready: g2"
    assert result.fix == ("label 1 more nodes (kubectl label node NODE gpu=a100), bring the listed ones back, or set "
                          "nodePools[0].nodes to 1")


def test_cordoned_nodes_do_not_count() -> None:
    result = one(check(existing_gpu_stack(), [gpu_node("g1"), gpu_node("g2", cordoned=True)],
                       name="pool a100 nodes"))
    assert not result.ok
    assert result.detail == "1 Ready, schedulable nodes match gpu=a100, but nodePools[0].nodes is 2; cordoned: g2"


def test_no_matching_node_skips_the_gpu_check() -> None:
    results = check(existing_gpu_stack(), [NodeInfo("cpu-1", {"kubernetes.io/os": "linux"})], name="pool")
    assert [(r.check, r.ok) for r in results] == [("pool a100 nodes", False)]
    assert results[0].detail == "0 Ready, schedulable nodes match gpu=a100, but nodePools[0].nodes is 2"


def test_a_node_without_gpus_fails() -> None:
    bare = gpu_node("g2", gpus=0, labelled=False)
    result = one(check(existing_gpu_stack(), [gpu_node("g1"), bare], name=GPUS))
    assert not result.ok
    assert result.detail == ("nodes g2 match the pool's selector but show no GPU (no nvidia.com/gpu.present=true "
                              "label, no allocatable nvidia.com/gpu)")
    assert result.fix == ("select only GPU nodes with nodePools[0].nodeSelector, or get the device plugin running on "
                          "them (its DaemonSet's tolerations and node selector)")


def test_a_labelled_node_with_fewer_gpus_than_the_pool_declares_fails() -> None:
    results = check(existing_gpu_stack(), [gpu_node("g1", gpus=4), gpu_node("g2", gpus=0)], name=GPUS)
    assert [r.detail for r in results] == [
        "nodes advertise fewer allocatable nvidia.com/gpu than the pool's 8 per node: g1 4, g2 0",
        "2 nodes advertise 4 allocatable nvidia.com/gpu, but the capacity plan holds 8 (llm worker 8)"]
    assert results[0].fix == ("set nodePools[0].gpusPerNode to what the nodes have, or see why the device plugin "
                              "advertises fewer: kubectl describe node g1")


def test_allocatable_gpus_below_what_the_plan_holds_fail() -> None:
    results = check(existing_gpu_stack(replicas=4), [gpu_node("g1")], name=GPUS)
    result = one(results)
    assert not result.ok
    assert result.detail == ("1 nodes advertise 8 allocatable nvidia.com/gpu, but the capacity plan holds 16 "
                              "(llm worker 16)")
    assert result.fix == "add GPU nodes to the pool (gpu=a100), or scale in or move worker groups placed on it"


def test_gpus_not_advertised_before_the_stack_installs_the_gpu_operator_pass() -> None:
    nodes = [gpu_node("g1", gpus=0, labelled=False), gpu_node("g2", gpus=0, labelled=False)]
    results = check(existing_gpu_stack(), nodes, daemons=[])
    assert [(r.check, r.ok, r.detail) for r in results[1:]] == [
        (GPUS, True, "no node advertises nvidia.com/gpu yet: the GPU operator this stack installs does after `pulumi "
                     "up`; run preflight again then (the capacity plan holds 8 (llm worker 8))"),
        ("gpu device plugin", True, "none runs yet: the GPU operator comes with `pulumi up` (gpuPlatform, namespace "
                                    "gpu-operator); pool a100 needs nvidia.com/gpu"),
    ]


# -- device plugins -------------------------------------------------------------------------------
def test_no_device_plugin_and_no_gpu_platform_fails() -> None:
    result = one(check(existing_gpu_stack(gpu_platform=False), TWO_NODES, daemons=[], name="gpu device plugin"))
    assert not result.ok
    assert result.detail == ("no DaemonSet runs a device plugin for nvidia.com/gpu, and gpuPlatform is off; pool "
                              "a100 needs nvidia.com/gpu")
    assert result.fix == ("set dynamo-cluster:gpuPlatform.enabled to true (the stack installs the GPU operator), or "
                          "install the NVIDIA GPU operator or device plugin")


def test_someone_elses_device_plugin_without_gpu_platform_passes() -> None:
    theirs = WorkloadInfo("nvidia-device-plugin", "kube-system", images=("nvcr.io/nvidia/k8s-device-plugin:v0.16.1",),
                          desired=2, ready=2)
    result = one(check(existing_gpu_stack(gpu_platform=False), TWO_NODES, daemons=[theirs], name="gpu device plugin"))
    assert result == Finding.passed("gpu device plugin",
                                        "kube-system/nvidia-device-plugin runs on 2 nodes (image v0.16.1)")


def test_a_second_device_plugin_beside_the_stacks_gpu_operator_is_a_conflict() -> None:
    theirs = WorkloadInfo("nvidia-device-plugin", "kube-system", images=("nvcr.io/nvidia/k8s-device-plugin:v0.16.1",))
    result = one(check(existing_gpu_stack(), TWO_NODES, daemons=[theirs], name="gpu device plugin"))
    assert not result.ok
    assert result.detail == ("kube-system/nvidia-device-plugin (image v0.16.1) already runs one that this stack did "
                              "not install; the GPU operator this stack installs in gpu-operator runs another, and "
                              "both would advertise nvidia.com/gpu")
    assert result.fix == ("remove it (helm uninstall its release, or kubectl delete daemonset), or set "
                          "dynamo-cluster:gpuPlatform.enabled to false and run the GPU platform yourself")


def test_a_device_plugin_with_pods_not_ready_fails() -> None:
    lagging = WorkloadInfo("nvidia-device-plugin-daemonset", "gpu-operator", desired=2, ready=1)
    result = one(check(existing_gpu_stack(), TWO_NODES, daemons=[lagging], name="gpu device plugin"))
    assert not result.ok
    assert result.detail == "gpu-operator/nvidia-device-plugin-daemonset: 1 of 2 pods ready"
    assert result.fix == ("see why: kubectl -n gpu-operator describe daemonset nvidia-device-plugin-daemonset; "
                          "kubectl -n gpu-operator get pods")


# -- EFA ------------------------------------------------------------------------------------------
def efa_stack() -> StackConfig:
    return existing_gpu_stack({"efaInterfaces": 4})


def test_efa_nodes_that_advertise_their_interfaces_pass() -> None:
    results = check(efa_stack(), [gpu_node("g1", efa=4), gpu_node("g2", efa=4)], [GPU_PLUGIN, EFA_PLUGIN])
    assert [(r.check, r.ok, r.detail) for r in results if "efa" in r.check.lower()] == [
        (EFA, True, "2 nodes advertise at least 4 allocatable vpc.amazonaws.com/efa each"),
        ("efa device plugin", True, "gpu-operator/aws-efa-k8s-device-plugin runs on 2 nodes (image v0.5.6)"),
    ]


def test_efa_nodes_with_fewer_interfaces_fail() -> None:
    result = one(check(efa_stack(), [gpu_node("g1", efa=4), gpu_node("g2", efa=0)], [GPU_PLUGIN, EFA_PLUGIN],
                       name=EFA))
    assert not result.ok
    assert result.detail == ("nodes advertise fewer allocatable vpc.amazonaws.com/efa than nodePools[0].efaInterfaces "
                              "is 4: g2 0")
    assert result.fix == ("run the EFA device plugin on those nodes and launch them with their EFA interfaces, or set "
                          "nodePools[0].efaInterfaces to what they advertise")


def test_efa_not_advertised_before_the_stack_installs_its_plugin_passes() -> None:
    results = check(efa_stack(), TWO_NODES, [GPU_PLUGIN])
    assert [(r.check, r.ok, r.detail) for r in results if "efa" in r.check.lower()] == [
        (EFA, True, "no node advertises vpc.amazonaws.com/efa yet: the EFA device plugin this stack installs does "
                    "after `pulumi up`; run preflight again then"),
        ("efa device plugin", True, "none runs yet: the EFA device plugin comes with `pulumi up` (gpuPlatform, "
                                    "namespace gpu-operator); pool a100 needs vpc.amazonaws.com/efa"),
    ]


def test_efa_pools_without_a_plugin_or_gpu_platform_fail() -> None:
    config = existing_gpu_stack({"efaInterfaces": 4}, gpu_platform=False)
    result = one(check(config, TWO_NODES, [GPU_PLUGIN], name="efa device plugin"))
    assert not result.ok
    assert result.fix == ("set dynamo-cluster:gpuPlatform.enabled to true (the stack installs the EFA device "
                          "plugin), or install the aws-efa-k8s-device-plugin chart")


# -- eks pools and CPU pools ----------------------------------------------------------------------
def test_eks_pools_without_nodes_come_with_pulumi_up() -> None:
    results = check(prod(), [], daemons=[])
    assert [(r.check, r.ok, r.detail) for r in results] == [
        ("pool h100-efa nodes", True, "an eks node group this stack creates: its nodes (dynamo-cluster/pool=h100-efa) "
                                      "come with `pulumi up`; `--aws` checks what it needs"),
        ("pool h200-efa nodes", True, "an eks node group this stack creates: its nodes (dynamo-cluster/pool=h200-efa) "
                                      "come with `pulumi up`; `--aws` checks what it needs"),
        ("gpu device plugin", True, "none runs yet: the GPU operator comes with `pulumi up` (gpuPlatform, namespace "
                                    "gpu-operator); pools h100-efa, h200-efa need nvidia.com/gpu"),
        ("efa device plugin", True, "none runs yet: the EFA device plugin comes with `pulumi up` (gpuPlatform, "
                                    "namespace gpu-operator); pools h100-efa, h200-efa need vpc.amazonaws.com/efa"),
    ]


def eks_node(name: str, **kwargs: Any) -> NodeInfo:
    return gpu_node(name, pool={"dynamo-cluster/pool": "h100-efa"}, **kwargs)


def test_existing_nodes_of_an_eks_pool_are_checked_like_any() -> None:
    seed = parse(stack_config("seed-multinode"), "seed-multinode")  # pools with headroom
    results = check(seed, [eks_node("p1", efa=32), eks_node("p2", efa=32)], [GPU_PLUGIN, EFA_PLUGIN],
                    name="pool h100-efa")
    assert [(r.check, r.ok, r.detail) for r in results] == [
        ("pool h100-efa nodes", True, "2 ready nodes labelled dynamo-cluster/pool=h100-efa; `pulumi up` sizes the node "
                                      "group to 8 (min 8, max 10)"),
        ("pool h100-efa allocatable GPUs", True, "2 nodes advertise 16 allocatable nvidia.com/gpu; the capacity plan "
                                                 "holds 64 (vllm-disagg prefill 16, vllm-disagg decode 16, "
                                                 "sglang-disagg prefill 16, sglang-disagg decode 16) at 10 nodes"),
        ("pool h100-efa allocatable EFA", True, "2 nodes advertise at least 32 allocatable vpc.amazonaws.com/efa each"),
    ]


def test_eks_nodes_without_their_efa_interfaces_fail() -> None:
    result = one(check(prod(), [eks_node("p1", efa=0)], [GPU_PLUGIN, EFA_PLUGIN], name="pool h100-efa allocatable EFA"))
    assert not result.ok
    assert result.detail == ("nodes advertise fewer allocatable vpc.amazonaws.com/efa than the launch template "
                              "attaches 32: p1 0")
    assert result.fix == ("get the EFA device plugin running on those nodes; if it runs there, they were launched "
                          "without the launch template's EFA interfaces: replace them")


def test_a_cpu_pool_checks_its_nodes_only() -> None:
    results = check(dev(), [NodeInfo("kind-control-plane", {"kubernetes.io/os": "linux"})])
    assert results == [Finding.passed("pool cpu nodes",
                                          "1 ready nodes match kubernetes.io/os=linux (nodePools[0].nodes: 1)")]
