"""The metric catalog (components/observability/metrics_catalog.py) against what real processes expose."""

from __future__ import annotations

from collections.abc import Iterable, Set

from components.observability.metrics_catalog import HISTOGRAM_SUFFIXES, Group


def _series(group: Group, names: Iterable[str]) -> set[str]:
    histograms = set(group.histograms)
    return {f"{n}{suffix}" for n in names if n in histograms for suffix in HISTOGRAM_SUFFIXES} | {
        n for n in names if n not in histograms}


def unexposed(groups: Iterable[Group], exposed: Set[str]) -> list[str]:
    """Series of the groups the suite's graphs run that no process exposed, leaving out the
    conditional ones (each group says when those appear)."""
    out: list[str] = []
    for group in groups:
        if group.served_here:
            wanted = _series(group, set(group.names) | set(group.histograms)) - _series(group, group.conditional)
            out += sorted(wanted - exposed)
    return out


def listed_as_conditional_but_exposed(groups: Iterable[Group], exposed: Set[str]) -> list[str]:
    """Conditional names the graphs exposed anyway: their condition is written wrong."""
    return sorted(n for g in groups if g.served_here for n in _series(g, g.conditional) if n in exposed)
