"""Running the project's alert rules through promtool: `promtool check rules` and `promtool test rules`.

promtool takes the plain rule-file format (``{groups: [...]}``), not a PrometheusRule object, so the
object's `spec` is written out alone. Unit tests in promtool's format are built from `AlertCase`s:
input series, an evaluation time and the alerts expected then (none for a silent case), with their
labels and rendered annotations. promtool compares annotations exactly, so each case says how its
alert's value renders (`{{ $value }}` and the `humanize*` functions the rules use) and the expected
annotations are the rule's own templates filled in (`render`).

promtool ships in Debian's `prometheus` package. Without it the tests skip with that line, or fail
with REQUIRE_INTEGRATION=1 (as CI sets).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/bin", "/usr/local/bin"])
PACKAGE = "prometheus"
INTERVAL = "1m"


def find_promtool() -> str:
    path = shutil.which("promtool", path=SEARCH_PATH)
    if path is not None:
        return path
    reason = f"`promtool` is not installed (Debian package {PACKAGE}: apt-get install -y {PACKAGE})"
    if os.environ.get("REQUIRE_INTEGRATION") == "1":
        pytest.fail(f"{reason}; REQUIRE_INTEGRATION=1 makes this a failure")
    pytest.skip(f"{reason}; set REQUIRE_INTEGRATION=1 to fail instead of skipping")


def rules_file(prometheus_rule: Mapping[str, Any]) -> dict[str, Any]:
    """A PrometheusRule object reduced to the rule file promtool reads."""
    return {"groups": list(prometheus_rule["spec"]["groups"])}


@dataclass(frozen=True)
class Fired:
    """One expected alert: the labels of the series it fires for (the rule's labels are added), and
    how `{{ $value }}` renders in its annotations, per template function ("" for none)."""

    labels: Mapping[str, str]
    value: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AlertCase:
    alert: str
    name: str
    series: Mapping[str, str]  # series selector -> promtool's expanding notation
    eval_time: str
    fired: tuple[Fired, ...] = ()  # empty: the alert must be silent at eval_time

    @property
    def firing(self) -> bool:
        return bool(self.fired)


_TEMPLATE = re.compile(r"\{\{\s*(.*?)\s*\}\}")


def render(text: str, labels: Mapping[str, str], value: Mapping[str, str]) -> str:
    """Fill in the template forms the rules use: ``$labels.<name>``, ``$value`` and ``$value | f``."""
    def one(match: re.Match[str]) -> str:
        expr = match.group(1)
        if expr.startswith("$labels."):
            return labels[expr[len("$labels."):]]
        parts = [p.strip() for p in expr.split("|")]
        if parts[0] == "$value" and len(parts) <= 2:
            return value[parts[1] if len(parts) == 2 else ""]
        raise ValueError(f"a template form tests/promtool.py does not render: {{{{ {expr} }}}}")
    return _TEMPLATE.sub(one, text)


def expected_alerts(rule: Mapping[str, Any], case: AlertCase) -> list[dict[str, Any]]:
    out = []
    for fired in case.fired:
        labels = {**fired.labels, **rule["labels"]}
        out.append({"exp_labels": labels,
                    "exp_annotations": {k: render(t, labels, fired.value) for k, t in rule["annotations"].items()}})
    return out


def unit_test_file(rule_file: str, rules: Mapping[str, Mapping[str, Any]],
                   cases: Sequence[AlertCase]) -> dict[str, Any]:
    """promtool's unit-test file: one test group per case, against `rule_file`."""
    return {
        "rule_files": [rule_file],
        "evaluation_interval": INTERVAL,
        "tests": [{
            "name": f"{case.alert}: {case.name}",
            "interval": INTERVAL,
            "input_series": [{"series": s, "values": v} for s, v in case.series.items()],
            "alert_rule_test": [{"eval_time": case.eval_time, "alertname": case.alert,
                                 "exp_alerts": expected_alerts(rules[case.alert], case)}],
        } for case in cases],
    }
