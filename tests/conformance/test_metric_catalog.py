"""The metric names the dashboards and alert rules use (they must be in the catalog: tests/unit) are
the names each release's real frontend, router and workers expose; a name that appears only under a
condition the suite's graphs do not meet (a failure, a real engine) is listed with that condition."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from components.observability.metrics_catalog import GROUPS, Group
from tests.conformance.catalog import listed_as_conditional_but_exposed, unexposed
from tests.conformance.runtime import RUNTIME_RELEASES
from tests.conformance.serving import STACKS, Served


def _exposed(run_graph: Callable[[str, str], Served], version: str) -> set[str]:
    names: set[str] = set()
    for stack in STACKS:
        for samples in run_graph(version, stack).after.values():
            names |= {sample.name for sample in samples}
    return names


@pytest.mark.parametrize("version", RUNTIME_RELEASES)
def test_every_catalog_name_of_the_runtime_is_exposed(version: str, run_graph: Callable[[str, str], Served]) -> None:
    assert unexposed(GROUPS, _exposed(run_graph, version)) == []


@pytest.mark.parametrize("version", RUNTIME_RELEASES)
def test_conditional_names_are_not_exposed_without_their_condition(
        version: str, run_graph: Callable[[str, str], Served]) -> None:
    assert listed_as_conditional_but_exposed(GROUPS, _exposed(run_graph, version)) == []


def test_a_dashboard_name_the_runtime_does_not_expose_fails_the_check() -> None:
    """Broken on purpose: a renamed series in a group the graphs run is reported, by its series."""
    renamed = Group("Dynamo frontend", source="a test", names=("dynamo_frontend_requests_total",),
                    histograms=("dynamo_frontend_time_to_first_token_secs",), served_here=True)
    exposed = {"dynamo_frontend_requests_total", "dynamo_frontend_time_to_first_token_seconds_bucket"}
    assert unexposed([renamed], exposed) == [f"dynamo_frontend_time_to_first_token_secs{s}"
                                              for s in ("_bucket", "_count", "_sum")]
    assert unexposed([Group("elsewhere", source="a test", names=("x_total",))], exposed) == []
