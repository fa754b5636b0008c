"""Each release's real frontend and mocker serve the graphs the plan renders (`serving.py` says how):
the model is listed, a unary and a streamed chat completion complete, and the frontend's, the KV
router's and every worker's request counters move."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from stacks.ops.metrics import total
from tests.conformance.runtime import RUNTIME_RELEASES
from tests.conformance.serving import MAX_TOKENS, STACKS, Served


@pytest.fixture(params=[(v, s) for v in RUNTIME_RELEASES for s in STACKS], ids=lambda p: f"{p[0]}-{p[1]}")
def served(request: pytest.FixtureRequest, run_graph: Callable[[str, str], Served]) -> Served:
    version, stack = request.param
    return run_graph(version, stack)


def test_the_model_is_listed(served: Served) -> None:
    assert served.models == (served.model,)


def test_a_unary_chat_completion_completes(served: Served) -> None:
    choice = served.unary["choices"][0]  # type: ignore[index]
    assert choice["finish_reason"] == "length"
    assert choice["message"]["content"], "the mocker's tokens decode to text with the test's tokenizer"
    assert served.unary["usage"]["completion_tokens"] == MAX_TOKENS  # type: ignore[index]


def test_a_streamed_chat_completion_completes(served: Served) -> None:
    assert served.stream_done, "the stream ends with data: [DONE]"
    chunks = [c for c in served.stream if c.get("choices")]
    text = "".join(str(c["choices"][0]["delta"].get("content") or "") for c in chunks)  # type: ignore[index]
    assert text
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"  # type: ignore[index]
    usage = [c["usage"] for c in served.stream if c.get("usage")]
    assert usage
    assert usage[-1]["completion_tokens"] == MAX_TOKENS  # type: ignore[index]


def _moved(served: Served, process: str, name: str) -> float:
    return (total(served.after[process], name) or 0.0) - (total(served.before[process], name) or 0.0)


def test_the_frontend_counts_the_requests(served: Served) -> None:
    assert _moved(served, "frontend", "dynamo_frontend_requests_total") == 4


def test_the_kv_router_routed_them(served: Served) -> None:
    """The graph's router mode is what served them: the KV router's own counters moved."""
    assert _moved(served, "frontend", "dynamo_component_router_requests_total") >= 4
    assert (total(served.after["frontend"], "dynamo_component_router_kv_hit_rate_count") or 0.0) >= 4


def test_every_worker_served(served: Served) -> None:
    workers = [name for name in served.after if name != "frontend"]
    assert sorted(workers) == (["decode", "prefill"] if served.shape == "disagg" else ["worker"])
    for name in workers:
        assert _moved(served, name, "dynamo_component_requests_total") >= 4, name
