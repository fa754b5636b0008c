"""The EtcdCluster component under mocks, and the manifests it registers."""

from typing import Any

import pulumi

from components.etcd import tls
from components.etcd.component import EtcdCluster
from components.etcd.manifests import TLS_REVISION_ANNOTATION, command
from components.etcd.settings import EtcdSettings, quorum
from components.kit.resources import Resources, Storage
from stacks.plan.mockrun import Registry
from tests.fakes import fake_monitoring, namespace
from tests.harness import by_kind, children, manifests, named, run_resources, schema_problems, text_of


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
        pulumi.export("client_env", etcd.client_env())

    return run_resources(program)


def statefulset(registry: Registry) -> dict[str, Any]:
    return dict(by_kind(registry, "StatefulSet")[0].inputs)


def test_outputs() -> None:
    outputs = deploy(settings()).stack_outputs
    assert outputs["endpoints"] == "https://etcd.platform.svc.cluster.local:2379"
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
    assert container["command"] == command("etcd", settings())
    assert "args" not in container  # every flag where scanners read them
    assert "--initial-cluster=" + ",".join(
        f"etcd-{i}=https://etcd-{i}.etcd-peers.$(POD_NAMESPACE).svc.cluster.local:2380" for i in range(3)
    ) in container["command"]
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
    kinds = {r.inputs["kind"] for r in children(registry, component.urn) if not r.type.startswith("tls:")}
    assert kinds == {"StatefulSet", "Service", "PodDisruptionBudget", "NetworkPolicy", "ServiceMonitor", "Secret"}


def test_client_and_peer_traffic_is_tls_with_client_certificates() -> None:
    """What checkov's CKV_K8S_116/117/119 look for: the flags in `command`, after the element etcd."""
    container = statefulset(deploy(settings()))["spec"]["template"]["spec"]["containers"][0]
    cmd = container["command"]
    assert cmd[0] == "etcd"
    for flag in ("--cert-file=/etc/etcd/tls/tls.crt", "--key-file=/etc/etcd/tls/tls.key", "--client-cert-auth=true",
                 "--trusted-ca-file=/etc/etcd/tls/ca.crt", "--peer-cert-file=/etc/etcd/tls/tls.crt",
                 "--peer-key-file=/etc/etcd/tls/tls.key", "--peer-client-cert-auth=true",
                 "--peer-trusted-ca-file=/etc/etcd/tls/ca.crt"):
        assert flag in cmd
    assert not any(a.startswith("--auto-tls") or a.startswith("--peer-auto-tls") for a in cmd)
    urls = [a.split("=", 1)[1] for a in cmd if a.startswith(("--listen-client", "--advertise-client",
                                                               "--listen-peer", "--initial-advertise-peer"))]
    assert urls
    assert all(u.startswith("https://") for u in urls)
    assert next(a for a in cmd if a.startswith("--listen-metrics-urls=")).endswith("=http://0.0.0.0:2381")
    assert {"name": "tls", "mountPath": "/etc/etcd/tls", "readOnly": True} in container["volumeMounts"]


def test_certificates_are_secret_and_reach_members_and_clients_through_secrets() -> None:
    registry = deploy(settings())
    secrets = {(s.inputs["metadata"]["namespace"], s.inputs["metadata"]["name"]): s
               for s in by_kind(registry, "Secret")}
    assert set(secrets) == {("platform", "etcd-server-tls"), ("platform", "etcd-client-tls"),
                            ("workloads", "etcd-client-tls")}
    for secret in secrets.values():
        assert set(secret.inputs["stringData"].values()) == {"[secret]"}  # keys included: never plain text
    assert "offline-plan-private-key" not in text_of(registry)
    pod = statefulset(registry)["spec"]["template"]
    [volume] = pod["spec"]["volumes"]
    assert volume["secret"] == {"secretName": "etcd-server-tls", "defaultMode": 0o440}
    assert pod["metadata"]["annotations"][TLS_REVISION_ANNOTATION]
    keys = {r.type for r in registry.resources if r.type.startswith("tls:")}
    assert keys == {"tls:index/privateKey:PrivateKey", "tls:index/selfSignedCert:SelfSignedCert",
                    "tls:index/certRequest:CertRequest", "tls:index/locallySignedCert:LocallySignedCert"}
    assert registry.stack_outputs["client_env"] == [
        {"name": key, "valueFrom": {"secretKeyRef": {"name": "etcd-client-tls", "key": key}}}
        for key in ("ETCD_AUTH_CA", "ETCD_AUTH_CLIENT_CERT", "ETCD_AUTH_CLIENT_KEY")]


def test_the_member_certificate_names_every_address_members_and_clients_use() -> None:
    names = tls.member_dns_names("etcd", "etcd-peers", "platform")
    for name in ("*.etcd-peers.platform.svc.cluster.local", "*.etcd-peers.platform.svc",
                 "etcd.platform.svc.cluster.local", "etcd.platform.svc", "localhost"):
        assert name in names
