"""The environment graph: explicit provider, namespaces from config, valid manifests."""

from stacks.plan.mockrun import SECRET, Registry
from tests.harness import by_kind, manifests, plan_config, plan_stack, schema_problems, stack_config

PROVIDER = "pulumi:providers:kubernetes"


def test_every_kubernetes_resource_uses_the_stacks_provider() -> None:
    for stack in ("dev", "prod"):
        registry = plan_stack(stack)
        providers = registry.of_type(PROVIDER)
        assert len(providers) == 1
        kube = [r for r in registry.resources if r.custom and r.type.startswith("kubernetes:")]
        assert kube
        assert {r.provider for r in kube} == {providers[0].urn}


def test_provider_reads_the_configured_kubeconfig_and_context_only() -> None:
    registry = plan_stack("dev")
    provider = registry.of_type(PROVIDER)[0]
    assert provider.inputs["context"] == "kind-dynamo"
    assert provider.inputs["kubeconfig"].endswith("/.kube/config")
    assert not provider.inputs["kubeconfig"].startswith("~")


def test_inline_kubeconfig_stays_secret() -> None:
    registry = plan_config({"environment": "prod"}, "prod", secrets=["kubeconfig"])
    provider = registry.of_type(PROVIDER)[0]
    assert provider.inputs["kubeconfig"] == SECRET
    assert "context" not in provider.inputs


def test_namespaces_come_from_config_and_carry_their_role() -> None:
    values = stack_config("dev") | {"namespaces": {"platform": "p", "monitoring": "m", "workloads": "w"}}
    registry = plan_config(values)
    namespaces = {r.inputs["metadata"]["name"]: r.inputs["metadata"]["labels"]["dynamo-cluster/role"]
                  for r in by_kind(registry, "Namespace")}
    assert namespaces == {"p": "platform", "m": "monitoring", "w": "workloads"}
    assert registry.stack_outputs["namespaces"] == {"platform": "p", "monitoring": "m", "workloads": "w"}


def test_manifests_are_valid_for_the_target_kubernetes_version() -> None:
    for stack in ("dev", "prod"):
        registry = plan_stack(stack)
        version = stack_config(stack)["kubernetes"]["version"]
        assert schema_problems(manifests(registry), version) == []


def test_components_have_parents_and_typed_tokens() -> None:
    registry = plan_stack("prod")
    for r in registry.resources:
        if r.is_component:
            assert r.type.startswith("dynamo-cluster:components:")
        if r.type != "pulumi:pulumi:Stack":
            assert r.parent is not None


def test_prod_namespaces_survive_destroy_unless_data_loss_is_allowed() -> None:
    def retained(registry: Registry) -> set[bool]:
        ours = {"dynamo-system", "monitoring", "dynamo"}  # the data-holding ones; not e.g. gpu-operator
        return {bool(r.options.get("retainOnDelete")) for r in by_kind(registry, "Namespace")
                if r.inputs["metadata"]["name"] in ours}

    assert retained(plan_stack("prod")) == {True}
    assert retained(plan_stack("dev")) == {False}
    assert retained(plan_config(stack_config("prod") | {"allowDataLoss": True}, "prod")) == {False}
