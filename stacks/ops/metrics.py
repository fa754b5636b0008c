"""Metric samples, from the two places the commands read them (`verify`, the local runs and the
conformance suite): pure parsers.

- A ``/metrics`` page in Prometheus's text exposition format 0.0.4 (Prometheus docs, "Exposition
  formats"): ``# HELP`` / ``# TYPE`` comments, then one sample a line,
  ``name{label="value",...} value [timestamp]``, label values escaped with ``\\\\``, ``\\"`` and
  ``\\n``, values as Go floats (``NaN``, ``+Inf``, ``-Inf`` included). Metric names may hold colons
  (vLLM's ``vllm:...``).
- An answer of Prometheus's HTTP API to an instant query (``GET /api/v1/query``, Prometheus docs,
  "HTTP API"): ``{"status": "success", "data": {"resultType": "vector", "result": [{"metric":
  {labels}, "value": [<unix time>, "<value as a string>"]}, ...]}}``, or ``{"status": "error",
  "errorType": ..., "error": ...}``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,)?')
_UNESCAPE = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}


class MetricsError(ValueError):
    """The text is not what the format allows."""


@dataclass(frozen=True)
class Sample:
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    value: float = 0.0


def _unescape(text: str) -> str:
    return re.sub(r"\\[\\\"n]", lambda m: _UNESCAPE[m.group(0)], text)


def _value(text: str, line: str) -> float:
    try:
        return float(text)  # float() reads Go's NaN, +Inf and -Inf spellings too
    except ValueError:
        raise MetricsError(f"not a sample value: {line!r}") from None


def parse_exposition(text: str) -> list[Sample]:
    """Every sample of a text exposition page; raises MetricsError on a line the format does not allow."""
    samples: list[Sample] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name = _NAME.match(line)
        if name is None:
            raise MetricsError(f"not a sample line: {line!r}")
        rest = line[name.end():]
        labels: dict[str, str] = {}
        if rest.startswith("{"):
            pos = 1
            while True:
                while pos < len(rest) and rest[pos] == " ":
                    pos += 1
                if rest.startswith("}", pos):
                    pos += 1
                    break
                label = _LABEL.match(rest, pos)
                if label is None:
                    raise MetricsError(f"bad labels: {line!r}")
                labels[label.group(1)] = _unescape(label.group(2))
                pos = label.end()
                if label.group(3) is None:
                    if not rest.startswith("}", pos):
                        raise MetricsError(f"bad labels: {line!r}")
                    pos += 1
                    break
            rest = rest[pos:]
        fields = rest.split()
        if not fields or len(fields) > 2:
            raise MetricsError(f"not a sample line: {line!r}")
        samples.append(Sample(name.group(0), labels, _value(fields[0], line)))
    return samples


def parse_query_answer(text: str) -> list[Sample]:
    """The samples of an instant-vector answer of ``/api/v1/query`` (each named after its
    ``__name__`` label, "" when the query aggregated it away); raises MetricsError for an error
    answer, or any other shape, with Prometheus's own message where it gave one."""
    try:
        answer = json.loads(text)
    except ValueError:
        raise MetricsError("the answer is not JSON") from None
    if not isinstance(answer, dict):
        raise MetricsError("the answer is not a JSON object")
    if answer.get("status") != "success":
        raise MetricsError(f"{answer.get('errorType', 'error')}: {answer.get('error', 'no reason given')}")
    data = answer.get("data")
    if not isinstance(data, dict) or data.get("resultType") != "vector" or not isinstance(data.get("result"), list):
        raise MetricsError("the answer is not an instant vector")
    samples: list[Sample] = []
    for item in data["result"]:
        try:
            labels = {str(k): str(v) for k, v in item["metric"].items()}
            value = float(item["value"][1])
        except (KeyError, IndexError, TypeError, ValueError, AttributeError):
            raise MetricsError(f"a result the API does not give: {item!r}") from None
        samples.append(Sample(labels.pop("__name__", ""), labels, value))
    return samples


def total(samples: Iterable[Sample], name: str, **match: str) -> float | None:
    """The sum of the samples named `name` whose labels include `match`; None when there is none
    (a series that does not exist is not a zero). NaN samples count as nothing."""
    values = [s.value for s in samples if s.name == name and all(s.labels.get(k) == v for k, v in match.items())]
    if not values:
        return None
    return sum(v for v in values if not math.isnan(v))
