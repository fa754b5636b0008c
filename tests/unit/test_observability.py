"""The Observability component under mocks, alone and wired into the dev and prod stacks."""

from pathlib import Path

import pulumi

from components.observability.component import Observability
from components.register.monitoring import Monitoring
from stacks.config.load import load
from stacks.plan import command as offline_plan
from stacks.plan.artifacts import RELEASE_TYPE, releases
from stacks.plan.mockrun import SECRET, Registered, Registry, _fake_password
from tests.harness import ROOT, by_kind, parse, plan_config, plan_stack, run_resources, stack_config, text_of

PASSWORD_RESOURCE = "observability-grafana-admin"


def by_name(registry: Registry, name: str, type_prefix: str = "kubernetes:") -> Registered:
    return next(r for r in registry.resources if r.name == name and r.type.startswith(type_prefix))


def test_dev_and_prod_plans_hold_the_releases_dashboards_and_rules() -> None:
    for stack in ("dev", "prod"):
        registry = plan_stack(stack)
        rels = {r["name"]: r for r in releases(registry) if r["namespace"] == "monitoring"}
        assert set(rels) == {"kube-prometheus-stack", "tempo", "loki", "otel-collector"}
        assert (rels["loki"]["chart"], rels["loki"]["version"]) == ("loki", "18.11.0")
        assert rels["otel-collector"]["version"] == "0.170.0"
        assert {r["namespace"] for r in rels.values()} == {"monitoring"}
        dashboards = {r.inputs["metadata"]["name"] for r in by_kind(registry, "ConfigMap")
                      if r.inputs["metadata"]["labels"].get("grafana_dashboard") == "1"}
        assert dashboards == {"dashboard-dynamo-frontend", "dashboard-dynamo-workers", "dashboard-dynamo-gpus",
                              "dashboard-dynamo-platform", "dashboard-dynamo-datapath"}
        (rule,) = by_kind(registry, "PrometheusRule")
        assert rule.inputs["metadata"]["namespace"] == "monitoring"


def test_dev_is_small_and_prod_persistent() -> None:
    dev = {r["name"]: r["values"] for r in releases(plan_stack("dev"))}
    prod = {r["name"]: r["values"] for r in releases(plan_stack("prod"))}
    dev_prom = dev["kube-prometheus-stack"]["prometheus"]["prometheusSpec"]
    prod_prom = prod["kube-prometheus-stack"]["prometheus"]["prometheusSpec"]
    assert (dev_prom["replicas"], dev_prom["retention"]) == (1, "2d")
    assert "storageSpec" not in dev_prom
    assert "persistence" not in dev["tempo"]
    assert dev["kube-prometheus-stack"]["alertmanager"]["alertmanagerSpec"]["replicas"] == 1
    assert "kubeScheduler" not in dev["kube-prometheus-stack"]
    assert (prod_prom["replicas"], prod_prom["retention"]) == (2, "15d")
    assert prod_prom["storageSpec"]["volumeClaimTemplate"]["spec"]["storageClassName"] == "gp3"
    assert prod["tempo"]["persistence"]["size"] == "100Gi"
    assert prod["kube-prometheus-stack"]["alertmanager"]["enabled"] is True
    assert prod["kube-prometheus-stack"]["kubeEtcd"] == {"enabled": False}
    assert dev["loki"]["singleBinary"]["persistence"] == {"enabled": False}
    assert dev["loki"]["loki"]["structuredConfig"]["limits_config"]["retention_period"] == "24h"
    assert prod["loki"]["singleBinary"]["persistence"]["size"] == "100Gi"
    assert prod["loki"]["singleBinary"]["persistence"]["storageClass"] == "gp3"
    assert prod["loki"]["loki"]["structuredConfig"]["limits_config"]["retention_period"] == "336h"
    assert (dev["otel-collector"]["replicaCount"], prod["otel-collector"]["replicaCount"]) == (1, 2)


def test_grafana_password_never_appears_in_values_state_or_plan_artifacts(tmp_path: Path) -> None:
    password = _fake_password(PASSWORD_RESOURCE, 32)
    stack_file, config = load(ROOT, "prod")
    plan = offline_plan.render(stack_file, config)
    assert by_name(plan.registry, PASSWORD_RESOURCE, "random:").inputs["length"] == 32  # the password mocked above
    secret = next(r for r in by_kind(plan.registry, "Secret") if r.inputs["metadata"]["name"] == "grafana-admin")
    assert secret.inputs["stringData"] == {"admin-user": SECRET, "admin-password": SECRET}
    assert password not in text_of(plan.registry)
    for name, text in plan.files().items():
        assert password not in text, name
    offline_plan.write(plan.files(), tmp_path / "out")
    for path in (tmp_path / "out").rglob("*"):
        if path.is_file():
            assert password not in path.read_text(), path
    values = next(r for r in releases(plan.registry) if r["name"] == "kube-prometheus-stack")["values"]
    assert values["grafana"]["admin"]["existingSecret"] == "grafana-admin"


def test_password_is_random_and_the_release_waits_for_its_secret() -> None:
    registry = plan_stack("dev")
    (password,) = [r for r in registry.of_type("random:index/randomPassword:RandomPassword") if "grafana" in r.name]
    assert password.inputs["length"] >= 32
    secret = by_name(registry, "observability-grafana-admin")
    assert secret.type == "kubernetes:core/v1:Secret"
    assert password.urn in secret.dependencies
    kps = by_name(registry, "observability-kube-prometheus-stack")
    assert secret.urn in kps.dependencies


def test_crd_users_wait_for_the_stack_and_dashboards_wait_for_nothing_else() -> None:
    registry = plan_stack("prod")
    kps = by_name(registry, "observability-kube-prometheus-stack")
    namespace = by_name(registry, "namespaces-monitoring")
    assert kps.type == RELEASE_TYPE
    assert kps.urn in by_name(registry, "observability-tempo").dependencies
    assert kps.urn in by_name(registry, "observability-alert-rules").dependencies
    assert kps.urn in by_name(registry, "observability-otel-collector").dependencies  # its ServiceMonitor
    assert by_name(registry, "observability-loki").dependencies == (namespace.urn,)
    for uid in ("frontend", "workers", "gpus", "platform", "datapath"):
        assert by_name(registry, f"observability-dashboard-dynamo-{uid}").dependencies == (namespace.urn,)
    component = next(r for r in registry.resources if r.type == "dynamo-cluster:components:Observability")
    children = [r for r in registry.resources if r.parent == component.urn]
    assert len(children) == 14  # + the NetworkPolicies of Prometheus and Tempo
    assert all(r.name.startswith("observability-") for r in children)


def test_typed_outputs_are_in_cluster_endpoints() -> None:
    outputs = plan_stack("dev").stack_outputs["observability"]
    assert outputs == {
        "prometheusUrl": "http://kps-prometheus.monitoring.svc.cluster.local:9090",
        "alertmanagerUrl": "http://kps-alertmanager.monitoring.svc.cluster.local:9093",
        "otlpGrpcEndpoint": "http://otel-collector.monitoring.svc.cluster.local:4317",
        "otlpHttpEndpoint": "http://otel-collector.monitoring.svc.cluster.local:4318",
        "grafanaService": "grafana",
        "grafanaUrl": "http://grafana.monitoring.svc.cluster.local:80",
        "grafanaAdminSecret": "grafana-admin",
        "lokiUrl": "http://loki.monitoring.svc.cluster.local:3100",
    }
    off = plan_config(stack_config("dev") | {"observability": {"alertmanager": {"enabled": False}}})
    assert off.stack_outputs["observability"]["alertmanagerUrl"] is None


def test_component_satisfies_the_monitoring_protocol() -> None:
    config = parse(stack_config("dev"), "dev")
    assert config.observability is not None
    settings = config.observability
    seen: dict[str, object] = {}

    def program() -> None:
        obs = Observability("obs", settings, pulumi.Output.from_input("mon"), pulumi.ResourceOptions())
        monitoring: Monitoring = obs  # mypy checks the protocol here
        seen["crds_ready"] = monitoring.crds_ready
        seen["labels"] = dict(monitoring.prometheus_pod_labels)
        pulumi.export("url", monitoring.prometheus_url)
        pulumi.export("grpc", monitoring.otlp_grpc_endpoint)
        pulumi.export("ns", monitoring.namespace)

    registry = run_resources(program)
    assert registry.stack_outputs == {"url": "http://kps-prometheus.mon.svc.cluster.local:9090",
                                      "grpc": "http://otel-collector.mon.svc.cluster.local:4317", "ns": "mon"}
    assert isinstance(seen["crds_ready"], pulumi.Resource)
    assert seen["labels"] == {"app.kubernetes.io/name": "prometheus",
                              "operator.prometheus.io/name": "kps-prometheus"}
    names = {r.name for r in registry.resources}
    assert {"obs-kube-prometheus-stack", "obs-tempo", "obs-loki", "obs-otel-collector", "obs-alert-rules",
            "obs-grafana-admin"} <= names


def test_disabled_observability_creates_nothing() -> None:
    values = stack_config("prod") | {"observability": {"enabled": False}}
    registry = plan_config(values, "prod")
    assert [r for r in registry.of_type(RELEASE_TYPE)
            if r.inputs["chart"] in ("kube-prometheus-stack", "tempo", "loki", "opentelemetry-collector")] == []
    assert by_kind(registry, "PrometheusRule") == []
    assert "observability" not in registry.stack_outputs
    assert not any(r.type == "dynamo-cluster:components:Observability" for r in registry.resources)
