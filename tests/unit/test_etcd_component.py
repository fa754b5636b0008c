"""The EtcdCluster component under mocks, and the manifests it registers."""

from typing import Any

import pulumi

from components.etcd.component import EtcdCluster
from components.etcd.manifests import EtcdSettings, command_args, quorum
from components.kit.resources import Resources, Storage
from stacks.plan.mockrun import Registry
from tests.fakes import fake_monitoring, namespace
from tests.harness import by_kind, children, manifests, named, run_resources, schema_problems


def settings(replicas: int = 3, **overrides: Any) -> EtcdSettings:
    base: dict[str, Any] = {
        "replicas": replicas, "storage": Storage("gp3", "10Gi"), "resources": Resources(cpu="1", memory="2Gi"),
        "quota_backend_bytes": 2 << 30, "auto_compaction_retention": "1h", "retain_volumes": True,
        "separate_nodes": True}
    base.update(overrides)
    return EtcdSettings(**base)


def deploy(config: EtcdSettings, with_monitoring: bool = False) -> Registry:
    def program() -> None:
        platform, workloads = namespace("platform"), namespace("workloads")
        etcd = EtcdCluster("etcd", config, namespace=platform, client_namespaces=[platform, workloads],
                           monitoring=fake_monitoring() if with_monitoring else None)
        pulumi.export("endpoints", etcd.client_endpoints)
        pulumi.export("members", etcd.members)

    return run_resources(program)


def statefulset(registry: Registry) -> dict[str, Any]:
    return dict(by_kind(registry, "StatefulSet")[0].inputs)


def test_outputs() -> None:
    outputs = deploy(settings()).stack_outputs
    assert outputs["endpoints"] == "http://etcd.platform.svc.cluster.local:2379"
    assert outputs["members"] == ["etcd-0", "etcd-1", "etcd-2"]


def test_prod_statefulset() -> None:
    spec = statefulset(deploy(settings()))["spec"]
    assert spec["replicas"] == 3
    assert spec["podManagementPolicy"] == "Parallel"
    assert spec["serviceName"] == "etcd-peers"
    assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    claim = spec["volumeClaimTemplates"][0]["spec"]
    assert claim["storageClassName"] == "gp3"
    assert claim["resources"] == {"requests": {"storage": "10Gi"}}
    pod = spec["template"]["spec"]
    assert pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0][
        "topologyKey"] == "kubernetes.io/hostname"
    assert pod["topologySpreadConstraints"][0]["topologyKey"] == "topology.kubernetes.io/zone"
    container = pod["containers"][0]
    assert container["image"] == "registry.k8s.io/etcd:3.6.6-0"
    assert container["args"] == command_args("etcd", settings())
    assert "--initial-cluster=" + ",".join(
        f"etcd-{i}=http://etcd-{i}.etcd-peers.$(POD_NAMESPACE).svc.cluster.local:2380" for i in range(3)
    ) in container["args"]
    assert {e["name"] for e in container["env"]} == {"POD_NAME", "POD_NAMESPACE", "GOMEMLIMIT"}


def test_probes_never_restart_a_member_for_a_missing_leader() -> None:
    container = statefulset(deploy(settings()))["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["startupProbe"]["httpGet"]["path"] == "/readyz"
    # a startup probe long enough for peers that start minutes apart
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 300


def test_peers_resolve_before_they_are_ready() -> None:
    registry = deploy(settings())
    services = {s.inputs["metadata"]["name"]: s.inputs["spec"] for s in by_kind(registry, "Service")}
    assert services["etcd-peers"]["clusterIP"] == "None"
    assert services["etcd-peers"]["publishNotReadyAddresses"] is True
    assert [p["port"] for p in services["etcd"]["ports"]] == [2379]


def test_disruption_budget_keeps_quorum() -> None:
    for size in (3, 5):
        pdb = by_kind(deploy(settings(size)), "PodDisruptionBudget")[0].inputs["spec"]
        assert pdb["minAvailable"] == quorum(size) == size // 2 + 1
    assert by_kind(deploy(settings(1, separate_nodes=False)), "PodDisruptionBudget") == []


def test_dev_member_prefers_separate_nodes_and_drops_its_volume_with_the_statefulset() -> None:
    spec = statefulset(deploy(settings(1, separate_nodes=False, retain_volumes=False)))["spec"]
    assert spec["replicas"] == 1
    assert "preferredDuringSchedulingIgnoredDuringExecution" in spec["template"]["spec"]["affinity"]["podAntiAffinity"]
    assert spec["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Delete"


def test_network_policy() -> None:
    rules = by_kind(deploy(settings()), "NetworkPolicy")[0].inputs["spec"]["ingress"]
    assert rules[0]["from"][0]["namespaceSelector"]["matchExpressions"][0]["values"] == ["platform", "workloads"]
    assert rules[0]["ports"] == [{"protocol": "TCP", "port": 2379}]
    assert rules[1]["ports"] == [{"protocol": "TCP", "port": 2380}]
    assert len(rules) == 2


def test_service_monitor_only_with_monitoring_and_after_its_crds() -> None:
    registry = deploy(settings(), with_monitoring=True)
    crds = named(registry, "monitoring-crds")
    monitors = by_kind(registry, "ServiceMonitor")
    assert len(monitors) == 1
    assert crds.urn in monitors[0].dependencies
    assert monitors[0].inputs["spec"]["selector"]["matchLabels"]["dynamo-cluster/etcd-service"] == "peers"
    assert crds.urn not in by_kind(registry, "StatefulSet")[0].dependencies
    rules = by_kind(registry, "NetworkPolicy")[0].inputs["spec"]["ingress"]
    assert rules[2]["ports"] == [{"protocol": "TCP", "port": 2381}]
    assert by_kind(deploy(settings()), "ServiceMonitor") == []


def test_manifests_are_valid_and_parented() -> None:
    registry = deploy(settings(), with_monitoring=True)
    assert schema_problems(manifests(registry), "1.33") == []
    component = registry.of_type("dynamo-cluster:components:EtcdCluster")[0]
    kinds = {r.inputs["kind"] for r in children(registry, component.urn)}
    assert kinds == {"StatefulSet", "Service", "PodDisruptionBudget", "NetworkPolicy", "ServiceMonitor"}
