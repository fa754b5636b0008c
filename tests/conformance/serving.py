"""Serve a planned graph with a release's real frontend and mocker, and record what it answered.

For every release of the table with published wheels, two committed stacks are planned on that
release and their mocker graph is run with the command lines and environment of its
DynamoGraphDeployment (`graph.transpose` changes only what a cluster provides): the dev stack's
disaggregated graph (KV router, KV events over a real nats-server with the stack's NATS account) and
the dynamo-1-5 example's aggregated one (KV router without events, requests over NATS). Each must
list its model, answer a unary and a streamed chat completion, and move the frontend's, the
router's and each worker's request counters. The metric names the dashboards and alert rules use
are checked against what the processes expose (`test_metric_catalog.py`). The tests read the
record (`Served`); `conftest.run_graph` runs each (release, stack) once.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from stacks.local.model import make_model
from stacks.local.processes import nats_server, running
from stacks.local.rendered import LocalGraphError, plan_dgds, rendered
from stacks.local.transpose import Site
from stacks.ops.http import get, post
from stacks.ops.metrics import Sample, parse_exposition
from tests.conformance.runtime import runtime_python

ROOT = Path(__file__).resolve().parents[2]
# Stack files whose mocker graphs the suite serves: (file, the graph's shape).
STACKS = {"dev": (ROOT / "Pulumi.dev.yaml", "disagg"),
          "dynamo-1-5": (ROOT / "examples" / "Pulumi.dynamo-1-5.yaml", "agg")}
# The values the test gives the Secrets the graph's pods read.
NATS_USER, NATS_PASSWORD = "dynamo", "conformance-only-password"
SECRETS = {("nats-auth", "NATS_AUTH_USERNAME"): NATS_USER, ("nats-auth", "NATS_AUTH_PASSWORD"): NATS_PASSWORD}
PROMPT = "Summarise the plan of the graph in one line, please, for the operators on call tonight."
MAX_TOKENS = 12


@dataclass(frozen=True)
class Served:
    """What one run of a planned graph answered, and its metrics before and after the requests."""

    version: str
    stack: str
    shape: str
    models: tuple[str, ...]
    model: str
    unary: Mapping[str, object]
    stream: tuple[Mapping[str, object], ...]
    stream_done: bool
    before: Mapping[str, list[Sample]]  # process name -> its samples
    after: Mapping[str, list[Sample]]
    logs: str


def _chat(url: str, model: str, stream: bool) -> tuple[int, str]:
    body: dict[str, object] = {"model": model, "messages": [{"role": "user", "content": PROMPT}],
                               "max_tokens": MAX_TOKENS}
    if stream:
        body |= {"stream": True, "stream_options": {"include_usage": True}}
    return post(f"{url}/v1/chat/completions", body)


def _events(text: str) -> tuple[tuple[dict[str, object], ...], bool]:
    lines = [line[len("data: "):] for line in text.splitlines() if line.startswith("data: ")]
    return tuple(json.loads(line) for line in lines if line != "[DONE]"), bool(lines) and lines[-1] == "[DONE]"


def serve(version: str, stack: str, tmp: Path) -> Served:
    python = runtime_python(version)
    stack_file, shape = STACKS[stack]
    dgds = plan_dgds(stack_file, tmp / "plan", version)
    mockers = [d for d in dgds if any(r.module == "dynamo.mocker" for r in rendered(d))]
    if len(mockers) != 1:
        raise LocalGraphError(f"{stack}: expected one mocker graph, found {len(mockers)}")
    renders = rendered(mockers[0])
    planes = {value for r in renders for name, value in r.env if name in ("DYN_EVENT_PLANE", "DYN_REQUEST_PLANE")}
    model_dir = make_model(tmp / "model")
    with contextlib.ExitStack() as stack_:
        nats_url = stack_.enter_context(nats_server(tmp, NATS_USER, NATS_PASSWORD)) if "nats" in planes else None
        site = Site(python=python, state=tmp / "state", model_dir=model_dir, secrets=SECRETS, nats_url=nats_url)
        with running(renders, site) as graph:
            models = json.loads(get(f"{graph.url}/v1/models"))
            before = {name: parse_exposition(text) for name, text in graph.metrics().items()}
            answers = [_chat(graph.url, graph.model, stream=stream) for stream in (False, True, False, False)]
            for status, body in answers:  # the same prompt four times: the KV router sees its blocks cached
                if status != 200:
                    raise LocalGraphError(f"chat completion: HTTP {status}: {body}\n{graph.logs()}")
            unary, streamed = answers[0][1], answers[1][1]
            after = {name: parse_exposition(text) for name, text in graph.metrics().items()}
            events, done = _events(streamed)
            return Served(version=version, stack=stack, shape=shape,
                          models=tuple(m["id"] for m in models["data"]), model=graph.model,
                          unary=json.loads(unary), stream=events, stream_done=done, before=before, after=after,
                          logs=graph.logs())
