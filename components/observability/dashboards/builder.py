"""A small typed builder for Grafana dashboards.

Dashboards are frozen values (rows of panels with PromQL queries and template variables);
`Dashboard.to_json()` lays them out on Grafana's 24-column grid, numbers the panels and returns
the dashboard model Grafana's file provisioning loads. Only what this project's dashboards use is
modelled: time series, stat and table panels on one Prometheus datasource variable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

GRID_WIDTH = 24
SCHEMA_VERSION = 39
# Grafana's range for rate(): at least four scrape intervals, adjusted to the panel's resolution.
RATE = "$__rate_interval"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}

PanelKind = Literal["timeseries", "stat", "table"]


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""


@dataclass(frozen=True)
class Threshold:
    """A colour step: values at or above `value` are drawn in `color`."""

    value: float
    color: str


@dataclass(frozen=True)
class Panel:
    title: str
    queries: tuple[Query, ...]
    unit: str = "short"
    kind: PanelKind = "timeseries"
    description: str = ""
    width: int = 12
    height: int = 8
    minimum: float | None = None
    maximum: float | None = None
    thresholds: tuple[Threshold, ...] = ()

    def __post_init__(self) -> None:
        if not self.queries:
            raise ValueError(f"panel {self.title!r} has no query")
        if not 1 <= self.width <= GRID_WIDTH:
            raise ValueError(f"panel {self.title!r}: width {self.width} is not 1..{GRID_WIDTH}")

    def to_json(self, panel_id: int, x: int, y: int) -> dict[str, Any]:
        defaults: dict[str, Any] = {"unit": self.unit}
        if self.minimum is not None:
            defaults["min"] = self.minimum
        if self.maximum is not None:
            defaults["max"] = self.maximum
        steps: list[dict[str, Any]] = [{"color": "green", "value": None}]
        steps += [{"color": t.color, "value": t.value} for t in self.thresholds]
        defaults["thresholds"] = {"mode": "absolute", "steps": steps}
        if self.kind == "timeseries" and self.thresholds:
            defaults["custom"] = {"thresholdsStyle": {"mode": "line"}}
        out: dict[str, Any] = {
            "id": panel_id,
            "type": self.kind,
            "title": self.title,
            "description": self.description,
            "datasource": dict(DATASOURCE),
            "gridPos": {"h": self.height, "w": self.width, "x": x, "y": y},
            "fieldConfig": {"defaults": defaults, "overrides": []},
            "targets": [{
                "refId": chr(ord("A") + index),
                "datasource": dict(DATASOURCE),
                "expr": q.expr,
                "legendFormat": q.legend or "__auto",
                "range": self.kind != "table",
                "instant": self.kind == "table",
            } for index, q in enumerate(self.queries)],
        }
        if self.kind == "stat":
            out["options"] = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                              "colorMode": "value", "graphMode": "area"}
        elif self.kind == "timeseries":
            out["options"] = {"legend": {"displayMode": "table", "placement": "bottom",
                                         "calcs": ["mean", "max", "lastNotNull"]},
                              "tooltip": {"mode": "multi", "sort": "desc"}}
        return out


@dataclass(frozen=True)
class Row:
    title: str
    panels: tuple[Panel, ...]


@dataclass(frozen=True)
class Variable:
    """A query variable: `label_values(<series selector>, <label>)`."""

    name: str
    label: str
    series: str
    label_name: str
    multi: bool = True

    @property
    def query(self) -> str:
        return f"label_values({self.series}, {self.label_name})"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "type": "query",
            "datasource": dict(DATASOURCE),
            "query": {"query": self.query, "refId": f"var-{self.name}"},
            "definition": self.query,
            "refresh": 2,
            "sort": 1,
            "multi": self.multi,
            "includeAll": self.multi,
            "allValue": ".*" if self.multi else None,
            "current": {"text": "All", "value": "$__all"} if self.multi else {},
            "hide": 0,
            "options": [],
        }


def _datasource_variable() -> dict[str, Any]:
    return {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
            "current": {"text": "Prometheus", "value": "prometheus"}, "hide": 0, "refresh": 1,
            "options": [], "regex": ""}


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    description: str
    rows: tuple[Row, ...]
    variables: tuple[Variable, ...] = ()
    tags: tuple[str, ...] = field(default=("dynamo-cluster",))
    refresh: str = "30s"
    time_from: str = "now-3h"

    def panels(self) -> list[Panel]:
        return [p for row in self.rows for p in row.panels]

    def to_json(self) -> dict[str, Any]:
        """The dashboard model: rows become row panels; panels flow left to right and wrap."""
        panels: list[dict[str, Any]] = []
        next_id, y = 1, 0
        for row in self.rows:
            panels.append({"id": next_id, "type": "row", "title": row.title, "collapsed": False,
                           "gridPos": {"h": 1, "w": GRID_WIDTH, "x": 0, "y": y}, "panels": []})
            next_id += 1
            y += 1
            x, line_height = 0, 0
            for panel in row.panels:
                if x + panel.width > GRID_WIDTH:
                    x, y, line_height = 0, y + line_height, 0
                panels.append(panel.to_json(next_id, x, y))
                next_id += 1
                x += panel.width
                line_height = max(line_height, panel.height)
            y += line_height
        return {
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": list(self.tags),
            "editable": False,
            "graphTooltip": 1,
            "schemaVersion": SCHEMA_VERSION,
            "version": 1,
            "refresh": self.refresh,
            "time": {"from": self.time_from, "to": "now"},
            "timezone": "utc",
            "annotations": {"list": []},
            "links": [],
            "templating": {"list": [_datasource_variable(), *(v.to_json() for v in self.variables)]},
            "panels": panels,
        }
