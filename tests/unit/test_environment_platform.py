"""NATS and etcd in the environment (the stacks with a transport plan that deploys both): wiring,
stack outputs, data safety, independent branches."""

import hashlib

from stacks.plan.mockrun import Registry
from tests.harness import ROOT, by_kind, plan_config, plan_servers, servers_config

RELEASE = "kubernetes:helm.sh/v3:Release"


def platform_namespace(registry: Registry) -> dict[str, object]:
    found = [r for r in by_kind(registry, "Namespace")
             if r.inputs["metadata"]["labels"]["dynamo-cluster/role"] == "platform"]
    return dict(found[0].options)


def test_stack_outputs_for_verify() -> None:
    outputs = plan_servers("prod").stack_outputs
    assert outputs["nats"] == {
        "clientUrl": "nats://nats.dynamo-system.svc.cluster.local:4222", "authSecretName": "nats-auth",
        "namespace": "dynamo-system", "service": "nats", "replicas": 3, "maxPayload": 15 * 2**20,
        "verifySecretName": "nats-verify-auth"}
    assert outputs["etcd"] == {
        "clientEndpoints": "https://etcd.dynamo-system.svc.cluster.local:2379", "namespace": "dynamo-system",
        "members": ["etcd-0", "etcd-1", "etcd-2"], "replicas": 3, "clientSecretName": "etcd-client-tls"}


def test_both_run_in_the_platform_namespace_and_serve_the_workloads_namespace() -> None:
    registry = plan_servers("prod")
    [release] = [r for r in registry.of_type(RELEASE) if r.inputs["chart"] == "nats"]
    assert release.inputs["namespace"] == "dynamo-system"
    assert by_kind(registry, "StatefulSet")[0].inputs["metadata"]["namespace"] == "dynamo-system"
    secrets = {s.inputs["metadata"]["namespace"] for s in by_kind(registry, "Secret")
               if s.inputs["metadata"]["name"] == "nats-auth"}
    assert secrets == {"dynamo-system", "dynamo"}


def test_nats_and_etcd_do_not_wait_for_each_other() -> None:
    registry = plan_servers("prod")
    index = registry.by_urn()
    nats = registry.of_type("dynamo-cluster:components:NatsJetStream")[0].urn
    etcd = registry.of_type("dynamo-cluster:components:EtcdCluster")[0].urn

    def under(urn: str, root: str) -> bool:
        return urn == root or root in registry.ancestors(urn)

    for r in registry.resources:
        for dep in r.dependencies:
            if dep in index:
                assert not (under(r.urn, nats) and under(dep, etcd)), (r.name, dep)
                assert not (under(r.urn, etcd) and under(dep, nats)), (r.name, dep)


def test_prod_keeps_the_platform_namespace_and_volumes_on_destroy() -> None:
    registry = plan_servers("prod")
    assert platform_namespace(registry) == {"retainOnDelete": True}
    # the monitoring (metrics history) and workload (model cache) namespaces hold volumes too
    other = [r.options for r in by_kind(registry, "Namespace")
             if r.inputs["metadata"]["labels"].get("dynamo-cluster/role") in ("monitoring", "workloads")]
    assert other == [{"retainOnDelete": True}, {"retainOnDelete": True}]
    statefulset = by_kind(registry, "StatefulSet")[0].inputs
    assert statefulset["spec"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Retain"
    [nats] = [r for r in registry.of_type(RELEASE) if r.inputs["chart"] == "nats"]
    values = nats.inputs["values"]
    assert values["statefulSet"]["merge"]["spec"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Retain"


def test_allow_data_loss_and_dev_let_data_go() -> None:
    for registry in (plan_config(servers_config("prod") | {"allowDataLoss": True}, "prod"), plan_servers("dev")):
        assert platform_namespace(registry) == {}
        statefulset = by_kind(registry, "StatefulSet")[0].inputs
        assert statefulset["spec"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Delete"


def test_without_etcd_nothing_of_it_is_deployed() -> None:
    registry = plan_config(servers_config("prod") | {"dynamo": {"eventPlane": "nats"}}, "prod")
    assert by_kind(registry, "StatefulSet") == []
    assert registry.of_type("dynamo-cluster:components:EtcdCluster") == []
    assert registry.stack_outputs["etcd"] is None
    assert registry.of_type(RELEASE)


def test_no_plan_artifact_holds_the_nats_password() -> None:
    from stacks.config.load import load
    from stacks.plan import command as plan

    stack_file, config = load(ROOT, "prod")
    files = plan.render(stack_file, config).files()
    generated = hashlib.sha256(b"nats-password").hexdigest()[:40]  # the mocks' value for the password
    assert not any(generated in text for text in files.values())
    secret = files["manifests/dynamo-system/secret.core-nats-auth.yaml"]
    assert "NATS_AUTH_PASSWORD: '[secret]'" in secret
