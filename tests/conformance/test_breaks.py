"""The serving checks fail when what the plan renders is wrong for the release: a frontend told to
route with a router mode its release does not have, and a worker given a flag it does not know, each
made on purpose from the dev stack's rendered graph on the newest release with wheels."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from stacks.local.model import make_model
from stacks.local.processes import nats_server, running
from stacks.local.rendered import LocalGraphError, Rendered, plan_dgds, rendered
from stacks.local.transpose import Site
from tests.conformance.runtime import RUNTIME_RELEASES, runtime_python
from tests.conformance.serving import NATS_PASSWORD, NATS_USER, SECRETS, STACKS

NEWEST = RUNTIME_RELEASES[-1]


def _with_args(renders: list[Rendered], module: str, args: tuple[str, ...]) -> list[Rendered]:
    return [dataclasses.replace(r, args=args) if r.module == module and r.component != "decode" else r
            for r in renders]


def _run(renders: list[Rendered], tmp: Path) -> None:
    with nats_server(tmp, NATS_USER, NATS_PASSWORD) as url:
        site = Site(python=runtime_python(NEWEST), state=tmp / "state", model_dir=make_model(tmp / "model"),
                    secrets=SECRETS, nats_url=url)
        with running(renders, site, timeout=30):
            pass


@pytest.fixture
def dev_graph(tmp_path: Path) -> list[Rendered]:
    runtime_python(NEWEST)
    return rendered(plan_dgds(STACKS["dev"][0], tmp_path / "plan", NEWEST)[0])


def test_the_unchanged_graph_starts(dev_graph: list[Rendered], tmp_path: Path) -> None:
    _run(dev_graph, tmp_path)


def test_a_router_mode_the_release_lacks_is_caught(dev_graph: list[Rendered], tmp_path: Path) -> None:
    frontend = next(r for r in dev_graph if r.module == "dynamo.frontend")
    args = list(frontend.args)
    args[args.index("--router-mode") + 1] = "prefix-affinity"
    with pytest.raises(LocalGraphError, match=r"frontend exited before the model was served(?s:.*)prefix-affinity"):
        _run(_with_args(dev_graph, "dynamo.frontend", tuple(args)), tmp_path)


def test_a_worker_flag_the_release_lacks_is_caught(dev_graph: list[Rendered], tmp_path: Path) -> None:
    prefill = next(r for r in dev_graph if r.component == "prefill")
    with pytest.raises(LocalGraphError, match=r"prefill exited(?s:.*)--kv-cache-shards"):
        _run(_with_args(dev_graph, "dynamo.mocker", (*prefill.args, "--kv-cache-shards", "4")), tmp_path)
