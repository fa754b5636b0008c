"""The `observability` config section: per-environment defaults and every problem at once."""

from dataclasses import replace

import pytest

from components.dynamo.dgd import GRAPH_LABEL, ROLE_LABEL
from components.kit.resources import Storage
from components.observability.receivers import Receiver
from stacks.config.reader import ConfigError
from tests.harness import parse, stack_config

BASE = {"kubernetes": {"context": "kind-x"}}
PROD = {"environment": "prod", "kubernetes": {"kubeconfigPath": "/k", "context": "c"}}


def test_dev_defaults_are_small_and_without_volumes() -> None:
    obs = parse(BASE, "dev").observability
    assert obs is not None
    assert obs.prometheus.replicas == 1
    assert obs.prometheus.storage is None
    assert obs.prometheus.retention == "2d"
    assert obs.alertmanager.enabled
    assert obs.alertmanager.replicas == 1
    assert obs.alertmanager.storage is None
    assert obs.grafana.storage is None
    assert obs.tempo.storage is None
    assert obs.tempo.retention == "24h"
    assert not obs.managed_control_plane
    assert obs.observed.platform_namespace == "dynamo-system"
    assert obs.thresholds.ttft_p95_seconds == 2.0
    assert obs.thresholds.frontend_error_ratio == 0.05


def test_prod_defaults_persist_on_the_stack_storage_class() -> None:
    obs = parse(PROD | {"storageClass": "io2"}, "prod").observability
    assert obs is not None
    assert obs.prometheus.storage == Storage("io2", "200Gi")
    assert obs.prometheus.replicas == 2
    assert obs.alertmanager.replicas == 2
    assert obs.tempo.storage == Storage("io2", "100Gi")
    assert obs.grafana.storage == Storage("io2", "10Gi")
    assert obs.prometheus.retention == "15d"
    assert obs.tempo.retention == "336h"
    assert obs.managed_control_plane


def test_committed_stacks_set_the_slo() -> None:
    prod = parse(stack_config("prod"), "prod").observability
    assert prod is not None
    assert prod.thresholds.ttft_p95_seconds == 1.5
    assert prod.thresholds.frontend_error_ratio == 0.02


def test_values_from_config() -> None:
    obs = parse(BASE | {"observability": {
        "persistence": True, "managedControlPlane": True, "gpuPoolLabel": "eks.amazonaws.com/nodegroup",
        "prometheus": {"retention": "30d", "replicas": 3, "storage": {"storageClass": "fast", "size": "1Ti"},
                       "resources": {"memory": "16Gi"}},
        "grafana": {"adminUser": "ops"}, "alerts": {"ttftP95Milliseconds": 800, "gpuTemperatureCelsius": 80},
    }}, "dev").observability
    assert obs is not None
    assert obs.prometheus.storage == Storage("fast", "1Ti")
    assert (obs.prometheus.retention, obs.prometheus.replicas) == ("30d", 3)
    assert obs.prometheus.resources.memory == "16Gi"
    assert obs.grafana_admin_user == "ops"
    assert obs.observed.gpu_pool_label == "eks.amazonaws.com/nodegroup"
    assert obs.thresholds.ttft_p95_seconds == 0.8
    assert obs.thresholds.gpu_temperature_celsius == 80


def test_disabled_is_none_but_still_validated() -> None:
    assert parse(BASE | {"observability": {"enabled": False}}, "dev").observability is None
    with pytest.raises(ConfigError) as error:
        parse(BASE | {"observability": {"enabled": False, "tempo": {"retention": "14d"}}}, "dev")
    assert [p.key for p in error.value.problems] == ["observability.tempo.retention"]


def test_every_problem_is_reported_with_key_and_what_is_allowed() -> None:
    with pytest.raises(ConfigError) as error:
        parse(BASE | {"observability": {
            "enabled": "maybe",
            "gpuPoolLabel": "not a label!",
            "prometheus": {"retention": "15 days", "replicas": 0, "storage": {"size": "1Gi"}},
            "alertmanager": {"replicas": 9},
            "tempo": {"retention": "14d"},
            "alerts": {"ttftP95Milliseconds": 0, "errorRatePercent": 200},
            "grafna": {},
        }}, "dev")
    text = str(error.value)
    keys = {p.key for p in error.value.problems}
    assert keys == {
        "observability.enabled", "observability.gpuPoolLabel", "observability.prometheus.retention",
        "observability.prometheus.replicas", "observability.prometheus.storage.size",
        "observability.alertmanager.replicas", "observability.tempo.retention",
        "observability.alerts.ttftP95Milliseconds", "observability.alerts.errorRatePercent", "observability.grafna",
    }
    assert ("dynamo-cluster:observability.tempo.retention: is '14d'; allowed: hours or minutes such as 24h or "
            "336h (Tempo takes no days)") in text
    assert "observability.prometheus.replicas: is 0; allowed: an integer >= 1 and <= 3" in text
    assert "observability.prometheus.storage.size: is 1Gi; allowed: a Kubernetes quantity such as 20Gi or " \
           "512Mi, at least 5Gi" in text
    assert "observability.grafna: unknown key (did you mean 'grafana'?)" in text


def test_loki_and_the_collector_follow_the_environment() -> None:
    dev = parse(BASE, "dev").observability
    prod = parse(PROD | {"storageClass": "io2"}, "prod").observability
    assert dev is not None
    assert prod is not None
    assert (dev.loki.retention, dev.loki.storage) == ("24h", None)
    assert (prod.loki.retention, prod.loki.storage) == ("336h", Storage("io2", "100Gi"))
    assert (dev.collector.replicas, prod.collector.replicas) == (1, 2)
    assert prod.collector.resources.memory == "1Gi"
    tuned = parse(BASE | {"observability": {"loki": {"retention": "720h", "storage": {"size": "50Gi"}},
                                            "collector": {"replicas": 3, "resources": {"memory": "2Gi"}},
                                            "persistence": True}}, "dev").observability
    assert tuned is not None
    assert (tuned.loki.retention, tuned.loki.storage) == ("720h", Storage("standard", "50Gi"))
    assert (tuned.collector.replicas, tuned.collector.resources.memory) == (3, "2Gi")


def test_loki_retention_is_whole_days() -> None:
    with pytest.raises(ConfigError) as error:
        parse(BASE | {"observability": {"loki": {"retention": "30h"}, "collector": {"replicas": 9}}}, "dev")
    text = str(error.value)
    assert ("observability.loki.retention: is '30h'; allowed: whole days in hours, at least 24h, such as 24h, "
            "168h or 720h") in text
    assert "observability.collector.replicas: is 9; allowed: an integer >= 1 and <= 5" in text
    with pytest.raises(ConfigError, match=r"loki\.retention: is '14d'"):
        parse(BASE | {"observability": {"loki": {"retention": "14d"}}}, "dev")


def test_the_data_path_alerts_know_which_graphs_to_watch() -> None:
    prod = parse(stack_config("prod"), "prod").observability
    assert prod is not None
    # disaggregated graphs of real engines move KV caches, watched where their bytes are measured (SGLang
    # reports none of its own); their KV routers take events
    assert prod.observed.kv_transfer_graphs == ("deepseek-r1", "llama-405b")
    assert prod.observed.kv_event_graphs == ("deepseek-r1", "llama-405b", "kimi-k2")
    # the mocker moves no KV cache and publishes no KV events
    dev = parse(stack_config("dev"), "dev").observability
    assert dev is not None
    assert (dev.observed.kv_transfer_graphs, dev.observed.kv_event_graphs) == ((), ())
    # an aggregated graph moves no KV cache, but its KV router takes events; with the event plane off, none
    etcd = parse(stack_config("etcd-discovery"), "etcd-discovery").observability
    assert etcd is not None
    assert (etcd.observed.kv_transfer_graphs, etcd.observed.kv_event_graphs) == ((), ("llama-70b",))
    values = stack_config("etcd-discovery")
    values["dynamo"] = {**values.get("dynamo", {}), "eventPlane": "none"}
    quiet = parse(values, "etcd-discovery").observability
    assert quiet is not None
    assert quiet.observed.kv_event_graphs == ()
    # TensorRT-LLM measures its transfers only with the flag its KV-event publishers get
    values = stack_config("prod")
    values["dynamo"] = {**values.get("dynamo", {}), "eventPlane": "none"}
    no_events = parse(values, "prod").observability
    assert no_events is not None
    assert no_events.observed.kv_transfer_graphs == ("llama-405b",)
    # the labels kube-state-metrics exports are the graph builder's
    assert (prod.observed.graph_label, prod.observed.role_label) == (GRAPH_LABEL, ROLE_LABEL)


def test_receivers_are_on_when_their_secret_is_set() -> None:
    config = parse(BASE | {"observability": {"alertmanager": {"receivers": {
        "slack": {"channel": "#dynamo", "severities": ["critical"]}}}}}, "dev",
        secrets=["slackWebhookUrl", "pagerdutyRoutingKey"])
    obs = config.observability
    assert obs is not None
    assert obs.alertmanager.receivers == (Receiver("slack", ("critical",), "#dynamo"),
                                          Receiver("pagerduty", ("critical",)))
    assert set(config.receiver_secrets) == {"slack", "pagerduty"}
    assert str(config.receiver_secrets["slack"]) == "[secret]"
    assert not any("no Alertmanager receiver" in w for w in config.warnings())
    assert parse(BASE, "dev").observability.alertmanager.receivers == ()  # type: ignore[union-attr]
    assert any("no Alertmanager receiver" in w for w in parse(BASE, "dev").warnings())
    webhook = parse(BASE, "dev", secrets=["alertWebhookUrl"]).observability
    assert webhook is not None
    assert webhook.alertmanager.receivers == (Receiver("webhook", ("critical", "warning")),)


def test_receiver_problems_name_the_key_and_the_fix() -> None:
    with pytest.raises(ConfigError) as error:
        parse(BASE | {"observability": {"alertmanager": {"receivers": {
            "slack": {"channel": "dynamo alerts", "severities": ["page"]},
            "pagerduty": {"severities": []},
            "webhook": {"severities": ["critical", "critical"]},
            "email": {},
        }}}}, "dev", secrets=["slackWebhookUrl", "alertWebhookUrl"])
    text = str(error.value)
    keys = {p.key for p in error.value.problems}
    assert keys == {
        "observability.alertmanager.receivers.slack.channel", "observability.alertmanager.receivers.slack.severities",
        "observability.alertmanager.receivers.pagerduty.severities",
        "observability.alertmanager.receivers.pagerduty", "observability.alertmanager.receivers.webhook.severities",
        "observability.alertmanager.receivers.email"}
    assert ("observability.alertmanager.receivers.pagerduty: is configured but its secret pagerdutyRoutingKey is not "
            "set; allowed: `pulumi config set --secret dynamo-cluster:pagerdutyRoutingKey ...`, or no pagerduty "
            "section") in text
    assert ("observability.alertmanager.receivers.slack.severities: is ['page']; allowed: a non-empty list of "
            "critical, warning, info, each once") in text


def test_receiver_secrets_in_plain_text_are_refused() -> None:
    with pytest.raises(ConfigError) as error:
        parse(BASE | {"slackWebhookUrl": "https://hooks.slack.com/services/T/B/X"}, "dev")
    assert [str(p) for p in error.value.problems] == [
        "dynamo-cluster:slackWebhookUrl: is stored in plain text; allowed: a secret: `pulumi config set --secret "
        "dynamo-cluster:slackWebhookUrl ...`"]


def test_receiver_secrets_without_alertmanager_warn() -> None:
    config = parse(BASE | {"observability": {"alertmanager": {"enabled": False}}}, "dev",
                   secrets=["pagerdutyRoutingKey"])
    assert "Alertmanager receiver secrets are set but Alertmanager is off: nobody is notified" in config.warnings()
    assert not any("no Alertmanager receiver" in w for w in config.warnings())


def test_graphs_measured_by_nixl_telemetry_alone_are_watched_too() -> None:
    from components.dynamo.datapath import data_path
    from stacks.config.observability import kv_transfer_graphs

    config = parse(stack_config("prod"), "prod")
    [kimi] = [g for g in config.dynamo.graphs if g.name == "kimi-k2"]
    # SGLang reports no KV bytes itself, and its eight-GPU pods keep NIXL telemetry off: not watched
    assert kv_transfer_graphs([kimi], config.pool_shapes) == ()
    one_gpu = replace(kimi, groups=tuple(replace(g, gpus_per_node=1, nodes=1, tensor_parallel=1) for g in kimi.groups))
    assert all(data_path(one_gpu, g, config.pool_shapes[g.pool]).nixl_telemetry for g in one_gpu.groups)
    assert kv_transfer_graphs([one_gpu], config.pool_shapes) == ("kimi-k2",)
