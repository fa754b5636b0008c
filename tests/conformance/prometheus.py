"""Prometheus text exposition, read into samples: enough to see which series a process exposes and
how a counter moved."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})?\s+(?P<value>\S+)(?:\s+\S+)?$")


@dataclass
class Samples:
    """Series name -> the values of its samples (one per label set)."""

    values: dict[str, list[float]] = field(default_factory=dict)

    def names(self) -> set[str]:
        return set(self.values)

    def total(self, name: str) -> float:
        """The sum over the series' label sets (0 when it is not exposed)."""
        return sum(self.values.get(name, ()))


def parse(text: str) -> Samples:
    """The samples of a /metrics page. A line that is neither a comment nor a sample is an error."""
    samples = Samples()
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        if match is None:
            raise ValueError(f"not a Prometheus sample: {line!r}")
        value = match.group("value")
        number = float("nan") if value == "NaN" else float(value.replace("+Inf", "inf").replace("-Inf", "-inf"))
        samples.values.setdefault(match.group("name"), []).append(number)
    return samples
