"""`verify --serve`: its flags, and the targets it derives from a stack (the checks themselves run
against the real frontend and mocker in tests/conformance/test_local.py)."""

from __future__ import annotations

import argparse

import pytest

from stacks.verify.cli import add_arguments
from stacks.verify.serve.command import cluster_targets
from stacks.verify.serve.options import problem
from tests.harness import parse, stack_config


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


@pytest.mark.parametrize(("argv", "wrong"), [
    (("--serve",), "--serve needs --stack NAME (a deployed stack) or --local"),
    (("--serve", "--local", "--dataplane", "--stack", "dev"), "--serve and --dataplane are two runs"),
    (("--local",), "--local: only with --serve"),
    (("--deadline", "5"), "--deadline: only with --serve"),
    (("--serve", "--stack", "dev", "--state-dir", "x"), "--state-dir: only with --local"),
    (("--serve", "--stack", "dev", "--nats", "nats://x:4222"), "--serve checks the graphs only"),
])
def test_serve_flags_are_refused_where_they_mean_nothing(argv: tuple[str, ...], wrong: str) -> None:
    found = problem(_args(*argv))
    assert found is not None
    assert found.startswith(wrong)


def test_serve_flags_that_fit() -> None:
    assert problem(_args("--serve", "--local")) is None
    assert problem(_args("--serve", "--stack", "prod", "--graph", "kimi-k2", "--deadline", "120")) is None


def test_a_deployed_graph_is_reached_through_its_frontend_service() -> None:
    config = parse(stack_config("prod"), "prod")
    targets = cluster_targets(config.namespaces.workloads, config.dynamo.graphs, [31001, 31002, 31003])
    assert [(t.graph, t.url, t.model, t.router_mode) for t in targets] == [
        (g.name, f"http://127.0.0.1:{port}", g.served_model_name, g.frontend.router_mode)
        for g, port in zip(config.dynamo.graphs, [31001, 31002, 31003], strict=True)]
    assert targets[0].where == f"kubectl -n dynamo logs -l dynamo-cluster/graph={targets[0].graph} --all-containers"
    assert targets[0].workers == ()
