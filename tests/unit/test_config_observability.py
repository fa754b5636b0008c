"""The `observability` config section: per-environment defaults and every problem at once."""

import pytest

from components.kit.resources import Storage
from stacks.config import ConfigError
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
