"""Every alert rule through promtool: `check rules` on the rules the stacks deploy, and `test rules`
with a firing and a silent case per alert (tests/alert_cases.py)."""

from __future__ import annotations

import subprocess
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.observability.alert_rules import prometheus_rule, rule_groups
from tests import promtool
from tests.alert_cases import CASES, OBSERVED, THRESHOLDS
from tests.harness import by_kind, example_stacks, plan_stack
from tests.promtool import AlertCase, Fired, render, rules_file, unit_test_file


def rules() -> dict[str, dict[str, Any]]:
    return {r["alert"]: r for group in rule_groups(OBSERVED, THRESHOLDS) for r in group["rules"]}


def run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def write_tests(tmp_path: Path, cases: tuple[AlertCase, ...]) -> Path:
    manifest = prometheus_rule(OBSERVED, THRESHOLDS, "monitoring")
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rules_file(manifest), sort_keys=False))
    tests = tmp_path / "tests.yaml"
    tests.write_text(yaml.safe_dump(unit_test_file("rules.yaml", rules(), cases), sort_keys=False))
    return tests


def test_every_alert_has_a_firing_and_a_silent_case() -> None:
    firing = Counter(c.alert for c in CASES if c.firing)
    silent = Counter(c.alert for c in CASES if not c.firing)
    assert set(firing) == set(rules())
    assert set(silent) == set(rules())


def test_the_cases_cover_the_alerts_every_stack_deploys() -> None:
    for stack in ("dev", "prod", *example_stacks()):
        for rule in by_kind(plan_stack(stack), "PrometheusRule"):
            deployed = {r["alert"] for g in rule.inputs["spec"]["groups"] for r in g["rules"]}
            assert deployed <= set(rules()), stack


def test_the_data_path_alerts_that_watch_graphs_follow_the_stack() -> None:
    """The mocker moves no KV cache and publishes no KV events: dev's graph is not watched."""
    def alerts(stack: str) -> set[str]:
        [rule] = by_kind(plan_stack(stack), "PrometheusRule")
        return {r["alert"] for g in rule.inputs["spec"]["groups"] for r in g["rules"]}

    assert {"NixlTransfersFailing", "OtelCollectorExportFailing"} <= alerts("dev")
    assert "DisaggGraphMovesNoKvBytes" not in alerts("dev")
    assert "KvEventsStalled" not in alerts("dev")
    assert "DisaggGraphMovesNoKvBytes" in alerts("prod")


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_promtool_checks_the_deployed_rules(stack: str, tmp_path: Path) -> None:
    binary = promtool.find_promtool()
    [rule] = by_kind(plan_stack(stack), "PrometheusRule")
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(rules_file(rule.inputs)))
    result = run([binary, "check", "rules", str(path)], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_runs_every_case(tmp_path: Path) -> None:
    binary = promtool.find_promtool()
    tests = write_tests(tmp_path, CASES)
    check = run([binary, "check", "rules", "rules.yaml"], tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    result = run([binary, "test", "rules", str(tests)], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_fails_a_case_that_expects_the_wrong_thing(tmp_path: Path) -> None:
    """The harness is not vacuous: a silent case that expects an alert, and a firing case that
    expects another value, both fail."""
    binary = promtool.find_promtool()
    silent = next(c for c in CASES if c.alert == "KvEventsStalled" and not c.firing)
    firing = next(c for c in CASES if c.alert == "EtcdDatabaseNearQuota" and c.firing)
    wrong = (replace(silent, fired=(Fired({"namespace": "dynamo", "label_dynamo_cluster_graph": "llama"}),)),
             replace(firing, fired=(replace(firing.fired[0], value={"humanizePercentage": "80%"}),)))
    result = run([binary, "test", "rules", str(write_tests(tmp_path, wrong))], tmp_path)
    assert result.returncode != 0
    assert result.stdout.count("FAILED") + result.stderr.count("FAILED") >= 1


def test_annotations_are_rendered_from_the_rule_templates() -> None:
    text = "{{ $labels.pod }} uses {{ $value | humanizePercentage }} ({{ $value }})"
    assert render(text, {"pod": "etcd-0"}, {"humanizePercentage": "90%", "": "0.9"}) == "etcd-0 uses 90% (0.9)"
    with pytest.raises(ValueError, match="does not render"):
        render("{{ range $x }}", {}, {})


def test_missing_promtool_skips_with_the_reason(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(promtool, "SEARCH_PATH", str(tmp_path))
    monkeypatch.delenv("REQUIRE_INTEGRATION", raising=False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        promtool.find_promtool()
    assert "Debian package prometheus" in str(skipped.value)
    assert "REQUIRE_INTEGRATION=1" in str(skipped.value)


def test_missing_promtool_fails_when_integration_is_required(monkeypatch: pytest.MonkeyPatch,
                                                             tmp_path: Path) -> None:
    monkeypatch.setattr(promtool, "SEARCH_PATH", str(tmp_path))
    monkeypatch.setenv("REQUIRE_INTEGRATION", "1")
    with pytest.raises(pytest.fail.Exception) as failed:
        promtool.find_promtool()
    assert "`promtool` is not installed" in str(failed.value)
