"""Parsing the project's PromQL with a real parser (promql-parser, the Rust parser's Python binding).

Grafana queries hold template variables; they are replaced by values of the same PromQL type
before parsing: `$__rate_interval` by a duration, `$$__tags` (a provisioning-escaped `$__tags`)
by nothing. Variables inside label matcher strings (`"$model"`) need no replacing.
"""

from __future__ import annotations

import re

import promql_parser

from components.observability.metrics_catalog import known

_GRAFANA = {"$__rate_interval": "5m", "$$__tags": ""}


def ungrafana(expr: str) -> str:
    for variable, value in _GRAFANA.items():
        expr = expr.replace(variable, value)
    return expr


def parse(expr: str) -> promql_parser.Expr:
    """The parsed expression; raises ValueError with the parser's message when it is not PromQL."""
    return promql_parser.parse(ungrafana(expr))


def series_names(expr: str) -> set[str]:
    """Every metric name a query selects."""
    names: set[str] = set()

    def visit(node: promql_parser.Expr) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            names.add(node.name or "")
        return True

    promql_parser.walk(parse(expr), visit)
    return names


def unknown_series(expr: str) -> set[str]:
    return series_names(expr) - known()


def variable_series(query: str) -> str:
    """The metric name of a `label_values(<selector>, <label>)` variable query."""
    match = re.fullmatch(r"label_values\(([A-Za-z_:][A-Za-z0-9_:]*)(\{[^}]*\})?, *[A-Za-z_][A-Za-z0-9_]*\)", query)
    if match is None:
        raise ValueError(f"not a label_values query: {query}")
    return match.group(1)
