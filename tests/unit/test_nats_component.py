"""The NatsJetStream component under mocks: what it registers, what it outputs, and secrets."""

import hashlib

import pulumi

from components.kit.resources import Resources, Storage
from components.nats.component import NatsJetStream
from components.nats.settings import NatsSettings
from stacks.plan.mockrun import SECRET, Registry
from tests.fakes import fake_monitoring, namespace
from tests.harness import by_kind, children, manifests, named, run_resources, schema_problems, text_of

SETTINGS = NatsSettings(replicas=3, max_payload=15 * 2**20, storage=Storage("gp3", "20Gi"),
                        resources=Resources(cpu="1", memory="2Gi", cpu_limit="1"), retain_volumes=True,
                        separate_nodes=True)
RELEASE = "kubernetes:helm.sh/v3:Release"


def deploy(with_monitoring: bool) -> Registry:
    def program() -> None:
        platform, workloads = namespace("platform"), namespace("workloads")
        monitoring = fake_monitoring() if with_monitoring else None
        nats = NatsJetStream("nats", SETTINGS, namespace=platform, client_namespaces=[platform, workloads],
                             monitoring=monitoring)
        pulumi.export("url", nats.client_url)
        pulumi.export("secret", nats.auth_secret_name)
        pulumi.export("env", nats.client_env())
        pulumi.export("sizes", {"replicas": nats.replicas, "maxPayload": nats.max_payload})

    return run_resources(program)


def test_outputs() -> None:
    outputs = deploy(False).stack_outputs
    assert outputs["url"] == "nats://nats.platform.svc.cluster.local:4222"
    assert outputs["secret"] == "nats-auth"
    assert outputs["sizes"] == {"replicas": 3, "maxPayload": 15 * 2**20}
    assert [e["valueFrom"]["secretKeyRef"] for e in outputs["env"]] == [
        {"name": "nats-auth", "key": "NATS_AUTH_USERNAME"}, {"name": "nats-auth", "key": "NATS_AUTH_PASSWORD"}]


def test_auth_secret_in_the_server_namespace_and_each_client_namespace_once() -> None:
    registry = deploy(False)
    secrets = [s for s in by_kind(registry, "Secret") if s.inputs["metadata"]["name"] == "nats-auth"]
    assert sorted(s.inputs["metadata"]["namespace"] for s in secrets) == ["platform", "workloads"]
    for secret in secrets:
        assert secret.inputs["stringData"] == {"NATS_AUTH_USERNAME": SECRET, "NATS_AUTH_PASSWORD": SECRET}
    [verify] = [s for s in by_kind(registry, "Secret") if s.inputs["metadata"]["name"] == "nats-verify-auth"]
    assert verify.inputs["metadata"]["namespace"] == "platform"  # verify's user: never in a client namespace
    assert verify.inputs["stringData"] == {"NATS_AUTH_USERNAME": SECRET, "NATS_AUTH_PASSWORD": SECRET}


def test_the_password_is_generated_and_never_in_plain_text() -> None:
    registry = deploy(False)
    password = registry.of_type("random:index/randomPassword:RandomPassword")[0]
    assert password.inputs["length"] >= 32
    # what the mocks generate for it: it must appear nowhere in what was registered or exported
    generated = hashlib.sha256(b"nats-password").hexdigest()[:40]
    assert generated not in text_of(registry)
    # no secret flows into the Helm values at all (it would be stored in the release in plain text)
    assert SECRET not in str(registry.of_type(RELEASE)[0].inputs["values"])


def test_the_release_reads_credentials_from_the_secret_and_depends_on_it() -> None:
    registry = deploy(False)
    release = registry.of_type(RELEASE)[0]
    server_secret = named(registry, "nats-auth")
    assert server_secret.urn in release.dependencies
    env = release.inputs["values"]["container"]["env"]
    assert env["NATS_AUTH_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "nats-auth"
    assert release.inputs["namespace"] == "platform"
    assert release.inputs["version"] == "2.14.2"


def test_network_policy_admits_clients_and_peers_only() -> None:
    policy = by_kind(deploy(False), "NetworkPolicy")[0].inputs
    rules = policy["spec"]["ingress"]
    assert rules[0]["from"][0]["namespaceSelector"]["matchExpressions"][0]["values"] == ["platform", "workloads"]
    assert rules[0]["ports"] == [{"protocol": "TCP", "port": 4222}]
    assert rules[1]["ports"] == [{"protocol": "TCP", "port": 6222}]
    assert len(rules) == 2
    assert policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/instance"] == "nats"


def test_with_monitoring_a_pod_monitor_waits_for_the_crds_and_prometheus_may_scrape() -> None:
    registry = deploy(True)
    crds = named(registry, "monitoring-crds")
    monitors = by_kind(registry, "PodMonitor")
    assert len(monitors) == 1
    assert crds.urn in monitors[0].dependencies
    release = registry.of_type(RELEASE)[0]
    assert release.inputs["values"]["promExporter"]["enabled"] is True
    assert crds.urn not in release.dependencies  # NATS itself does not wait for observability
    rules = by_kind(registry, "NetworkPolicy")[0].inputs["spec"]["ingress"]
    scrape = rules[2]
    assert scrape["ports"] == [{"protocol": "TCP", "port": 7777}]
    assert scrape["from"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "monitoring"}


def test_without_monitoring_no_monitoring_objects() -> None:
    registry = deploy(False)
    assert by_kind(registry, "PodMonitor") == []
    assert by_kind(registry, "ServiceMonitor") == []


def test_children_are_parented_and_manifests_valid() -> None:
    registry = deploy(True)
    component = registry.of_type("dynamo-cluster:components:NatsJetStream")[0]
    kids = children(registry, component.urn)
    assert {c.type for c in kids} >= {RELEASE, "random:index/randomPassword:RandomPassword",
                                          "kubernetes:core/v1:Secret", "kubernetes:networking.k8s.io/v1:NetworkPolicy"}
    assert schema_problems(manifests(registry), "1.33") == []
