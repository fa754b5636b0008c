"""GpuPlatform: the operator and EFA plugin releases, their values, and the DCGM ServiceMonitor."""


import pulumi
import pulumi_kubernetes as k8s

from components.gpu_platform.component import GpuPlatform
from components.gpu_platform.values import GpuPlatformSettings, gpu_operator_values, platform_tolerations
from components.kit.charts import EFA_DEVICE_PLUGIN, GPU_OPERATOR
from components.nodes.shape import PoolShape
from stacks.plan.mockrun import Registry
from tests.fakes import FakeMonitoring, Marker
from tests.harness import by_kind, manifests, named, run_resources, schema_problems

GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
EFA_POOL = PoolShape(name="h100", gpus_per_node=8, gpu_model="H100", gpu_memory_gib=80, min_nodes=1, max_nodes=2,
                     tolerations=(GPU_TOLERATION,), efa_interfaces=32)
TAINTED = PoolShape(name="l4", gpus_per_node=1, gpu_model="L4", gpu_memory_gib=22, min_nodes=1, max_nodes=1,
                    tolerations=({"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"},))


def run(pools: list[PoolShape], *, monitored: bool, settings: GpuPlatformSettings | None = None) -> Registry:
    def program() -> None:
        provider = k8s.Provider("k", kubeconfig="/dev/null", context="c")
        opts = pulumi.ResourceOptions(providers={"kubernetes": provider})
        monitoring = (FakeMonitoring(crds=Marker("crds"), ns=pulumi.Output.from_input("monitoring"))
                      if monitored else None)
        GpuPlatform("gpu-platform", settings or GpuPlatformSettings(), pools=pools, monitoring=monitoring, opts=opts)
    return run_resources(program)


def releases(registry: Registry) -> dict[str, dict[str, object]]:
    return {r.inputs["name"]: dict(r.inputs) for r in registry.of_type("kubernetes:helm.sh/v3:Release")}


def test_charts_are_pinned() -> None:
    assert (GPU_OPERATOR.version, GPU_OPERATOR.repository) == ("v26.7.0", "https://helm.ngc.nvidia.com/nvidia")
    assert (EFA_DEVICE_PLUGIN.version, EFA_DEVICE_PLUGIN.repository) == ("v0.5.30", "https://aws.github.io/eks-charts")


def test_operator_and_efa_plugin_with_an_efa_pool() -> None:
    registry = run([EFA_POOL], monitored=False)
    found = releases(registry)
    assert set(found) == {"gpu-operator", "aws-efa-k8s-device-plugin"}
    assert found["gpu-operator"]["version"] == "v26.7.0"
    assert found["gpu-operator"]["namespace"] == "gpu-operator"
    assert found["aws-efa-k8s-device-plugin"]["values"] == {"tolerations": [GPU_TOLERATION]}
    [namespace] = by_kind(registry, "Namespace")
    assert namespace.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    assert not by_kind(registry, "ServiceMonitor")


def test_no_efa_plugin_without_efa() -> None:
    assert set(releases(run([TAINTED], monitored=False))) == {"gpu-operator"}


def test_driver_and_toolkit_off_unless_asked() -> None:
    values = gpu_operator_values(GpuPlatformSettings(), [GPU_TOLERATION])
    assert values["driver"] == {"enabled": False}
    assert values["toolkit"] == {"enabled": False}
    asked = gpu_operator_values(GpuPlatformSettings(install_driver=True, install_toolkit=True), [GPU_TOLERATION])
    assert (asked["driver"], asked["toolkit"]) == ({"enabled": True}, {"enabled": True})


def test_operands_tolerate_every_pool_taint_once() -> None:
    tolerations = platform_tolerations([EFA_POOL, TAINTED, EFA_POOL])
    assert tolerations == [GPU_TOLERATION, dict(TAINTED.tolerations[0])]
    values = releases(run([EFA_POOL, TAINTED], monitored=False))["gpu-operator"]["values"]
    assert values["daemonsets"] == {"tolerations": tolerations}  # type: ignore[index]
    workers = values["node-feature-discovery"]["worker"]["tolerations"]  # type: ignore[index]
    assert workers[0]["key"] == "node-role.kubernetes.io/control-plane"
    assert workers[1:] == tolerations
    assert values["dcgmExporter"] == {"enabled": True, "serviceMonitor": {"enabled": False}}  # type: ignore[index]


def test_dcgm_service_monitor_waits_for_the_monitoring_crds_and_the_operator() -> None:
    registry = run([EFA_POOL], monitored=True, settings=GpuPlatformSettings(scrape_interval="30s"))
    [monitor] = by_kind(registry, "ServiceMonitor")
    crds = named(registry, "crds")
    operator = named(registry, "gpu-platform-gpu-operator")
    assert {crds.urn, operator.urn} <= set(monitor.dependencies)
    spec = monitor.inputs["spec"]
    assert spec["selector"] == {"matchLabels": {"app": "nvidia-dcgm-exporter"}}
    assert spec["namespaceSelector"] == {"matchNames": ["gpu-operator"]}
    assert spec["endpoints"][0]["port"] == "gpu-metrics"
    assert spec["endpoints"][0]["interval"] == "30s"
    assert monitor.inputs["metadata"]["namespace"] == "gpu-operator"


def test_manifests_are_valid() -> None:
    assert schema_problems(manifests(run([EFA_POOL], monitored=True)), "1.33") == []
