"""Alertmanager receivers: routed by severity, their credentials in a mounted Secret, never in values."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from components.kit.resources import Resources
from components.observability import settings as s
from components.observability import values as v
from components.observability.receivers import (
    RECEIVERS_SECRET,
    Receiver,
    alertmanager_config,
    receivers_secret,
    secret_file,
)
from stacks.config.load import load
from stacks.config.stackfile import PLACEHOLDER_PREFIX
from stacks.plan import command as offline_plan
from stacks.plan.artifacts import releases
from stacks.plan.mockrun import SECRET, Registry
from tests.harness import ROOT, by_kind, named, plan_config, plan_stack, schema_problems, stack_config, text_of

ALL = (Receiver("slack", ("critical", "warning"), "#dynamo"), Receiver("pagerduty", ("critical",)),
       Receiver("webhook", ("warning", "info")))


def test_each_receiver_reads_its_credential_from_the_mounted_secret() -> None:
    config = alertmanager_config(ALL)
    by_name = {r["name"]: r for r in config["receivers"]}
    assert set(by_name) == {"null", "slack", "pagerduty", "webhook"}  # the chart's discarding receiver stays
    assert by_name["slack"]["slack_configs"] == [{
        "api_url_file": "/etc/alertmanager/secrets/alertmanager-receivers/slack-webhook-url",
        "send_resolved": True, "channel": "#dynamo"}]
    assert by_name["pagerduty"]["pagerduty_configs"] == [{
        "routing_key_file": "/etc/alertmanager/secrets/alertmanager-receivers/pagerduty-routing-key",
        "send_resolved": True}]
    assert by_name["webhook"]["webhook_configs"] == [{
        "url_file": "/etc/alertmanager/secrets/alertmanager-receivers/webhook-url", "send_resolved": True}]
    assert secret_file("slack").startswith(f"/etc/alertmanager/secrets/{RECEIVERS_SECRET}/")


def test_routes_go_by_severity_and_every_matching_receiver_is_told() -> None:
    routes = alertmanager_config(ALL)["route"]["routes"]
    assert routes[0] == {"receiver": "null", "matchers": ['alertname = "Watchdog"']}  # kept from the chart
    assert routes[1:] == [
        {"receiver": "slack", "matchers": ['severity =~ "critical|warning"'], "continue": True},
        {"receiver": "pagerduty", "matchers": ['severity =~ "critical"'], "continue": True},
        {"receiver": "webhook", "matchers": ['severity =~ "warning|info"'], "continue": True},
    ]
    # the route's own receiver, grouping and the inhibition rules stay the chart's (Helm merges maps)
    assert set(alertmanager_config(ALL)["route"]) == {"routes"}
    assert set(alertmanager_config(ALL)) == {"route", "receivers"}


def test_a_receiver_is_checked() -> None:
    with pytest.raises(ValueError, match="no severity"):
        Receiver("slack", ())
    with pytest.raises(ValueError, match="only Slack"):
        Receiver("pagerduty", ("critical",), "#x")
    with pytest.raises(ValueError, match="listed twice"):
        alertmanager_config((Receiver("slack", ("critical",)), Receiver("slack", ("warning",))))


def am(receivers: tuple[Receiver, ...], secret: str | None) -> dict[str, Any]:
    return v.alertmanager_values(s.AlertmanagerSettings(True, 2, Resources("50m", "128Mi"), None, receivers), secret)


def test_alertmanager_mounts_the_secret_only_with_receivers() -> None:
    values = am(ALL, RECEIVERS_SECRET)
    assert values["alertmanagerSpec"]["secrets"] == [RECEIVERS_SECRET]
    assert values["config"] == alertmanager_config(ALL)
    bare = am((), None)
    assert "config" not in bare  # the chart's own configuration
    assert "secrets" not in bare["alertmanagerSpec"]
    with pytest.raises(ValueError, match="need the Secret"):
        am(ALL, None)


def test_the_secret_manifest_is_valid_and_keyed_per_receiver() -> None:
    manifest = receivers_secret({"slack": "https://hooks.example/1", "webhook": "https://hooks.example/2"},
                                "monitoring")
    assert manifest["stringData"] == {"slack-webhook-url": "https://hooks.example/1",
                                      "webhook-url": "https://hooks.example/2"}
    assert schema_problems([manifest], "1.33") == []


def plan_with_receivers() -> Registry:
    values = stack_config("prod") | {"observability": {
        **stack_config("prod")["observability"],
        "alertmanager": {"receivers": {"slack": {"channel": "#dynamo"}}}}}
    return plan_config(values, "prod", secrets=["slackWebhookUrl", "pagerdutyRoutingKey", "alertWebhookUrl"])


def test_the_plan_holds_the_receivers_without_their_credentials() -> None:
    registry = plan_with_receivers()
    [secret] = [r for r in by_kind(registry, "Secret") if r.inputs["metadata"]["name"] == RECEIVERS_SECRET]
    assert secret.inputs["metadata"]["namespace"] == "monitoring"
    assert secret.inputs["stringData"] == {"slack-webhook-url": SECRET, "pagerduty-routing-key": SECRET,
                                           "webhook-url": SECRET}
    assert PLACEHOLDER_PREFIX not in text_of(registry)
    [kps] = [r for r in releases(registry) if r["name"] == "kube-prometheus-stack"]
    alertmanager = kps["values"]["alertmanager"]
    assert alertmanager["alertmanagerSpec"]["secrets"] == [RECEIVERS_SECRET]
    assert {r["name"] for r in alertmanager["config"]["receivers"]} == {"null", "slack", "pagerduty", "webhook"}
    assert "https://" not in yaml.safe_dump(alertmanager["config"])  # only file paths
    # the release waits for the Secret it mounts
    assert secret.urn in named(registry, "observability-kube-prometheus-stack").dependencies


def test_without_receivers_nothing_is_mounted_and_the_plan_warns() -> None:
    registry = plan_stack("prod")
    assert [r for r in by_kind(registry, "Secret") if r.inputs["metadata"]["name"] == RECEIVERS_SECRET] == []
    [kps] = [r for r in releases(registry) if r["name"] == "kube-prometheus-stack"]
    assert "config" not in kps["values"]["alertmanager"]
    stack_file, config = load(ROOT, "prod")
    summary = offline_plan.render(stack_file, config).files()["summary.md"]
    assert "no Alertmanager receiver (slackWebhookUrl, pagerdutyRoutingKey, alertWebhookUrl unset)" in summary
