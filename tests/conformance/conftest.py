"""One run per (release, stack) for the whole suite: the serving and the metric-catalog tests read
the same runs."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.conformance.serving import Served, serve


@pytest.fixture(scope="package")
def run_graph(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, str], Served]:
    """(release, stack) -> what its planned mocker graph served, run once."""
    runs: dict[tuple[str, str], Served] = {}

    def get(version: str, stack: str) -> Served:
        if (version, stack) not in runs:
            runs[version, stack] = serve(version, stack, tmp_path_factory.mktemp(f"{version}-{stack}"))
        return runs[version, stack]

    return get
