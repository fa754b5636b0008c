"""`verify --serve`: whether a graph serves, in checks a user can act on.

Per graph: its frontend lists the configured model; a unary and a streamed chat completion complete
within the deadline (the streamed one timed on this side: time to first token, mean inter-token
latency); the frontend's router routed them (its request counters moved between the /metrics page
read before and the one read after); and where each process's /metrics can be read (a local run),
each worker served a share.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from stacks.ops.metrics import MetricsError, Sample, parse_exposition, total
from stacks.ops.report import Finding, Section, Status
from stacks.verify.serve.client import Completion, ServeError, Streamed, models, streamed, unary

PROMPT = "In one sentence: what does a disaggregated inference graph do with a request?"
# The KV router's own request counter, and the frontend's for any router (Dynamo's metrics catalog).
KV_ROUTER_REQUESTS = "dynamo_component_router_requests_total"
FRONTEND_REQUESTS = "dynamo_frontend_requests_total"
WORKER_REQUESTS = "dynamo_component_requests_total"

Fetch = Callable[[str], str]  # URL -> body (a /metrics page)


@dataclass(frozen=True)
class ServeTarget:
    """One graph's frontend, as verify reaches it (a local run, or a port-forward to its Service)."""

    graph: str
    url: str
    model: str
    router_mode: str
    workers: tuple[tuple[str, str], ...] = ()  # (process, its /metrics URL), when they can be reached
    where: str = ""  # how the logs are read, for the fixes


@dataclass(frozen=True)
class ServeOptions:
    deadline: float = 60.0  # seconds a request may take
    max_tokens: int = 32


def _samples(fetch: Fetch, url: str) -> list[Sample] | str:
    try:
        return parse_exposition(fetch(url))
    except (OSError, MetricsError) as error:
        return f"{url}: {error}"


def _listed(target: ServeTarget, options: ServeOptions) -> Finding:
    check = "model listed"
    try:
        listed = models(target.url, options.deadline)
    except ServeError as error:
        return Finding.failed(check, str(error), cause="the frontend is down or not reachable",
                              fix=f"look at the frontend's log ({target.where})")
    if target.model in listed:
        return Finding.passed(check, f"/v1/models lists {target.model}")
    return Finding.failed(check, f"/v1/models lists {', '.join(listed) or 'no model'}, not {target.model}",
                          cause="no worker of the graph has registered the model: a worker is down, still loading, "
                                "or serves another name", fix=f"look at the workers' logs ({target.where})")


def _unary(target: ServeTarget, options: ServeOptions) -> Finding:
    check = "unary chat completion"
    try:
        answer: Completion = unary(target.url, target.model, PROMPT, options.max_tokens, options.deadline)
    except ServeError as error:
        return Finding.failed(check, str(error), fix=f"look at the frontend's log ({target.where})")
    if answer.status != 200 or not answer.completion_tokens:
        return Finding.failed(check, f"HTTP {answer.status}, {answer.completion_tokens or 0} tokens: {answer.error}",
                              cause="the frontend could not reach a worker that serves the model",
                              fix=f"look at the workers' logs ({target.where})")
    return Finding.passed(check, f"{answer.completion_tokens} tokens in {answer.seconds * 1000:.0f} ms "
                                 f"(finish_reason {answer.finish_reason})")


def _streamed(target: ServeTarget, options: ServeOptions) -> Finding:
    check = "streamed chat completion"
    try:
        answer: Streamed = streamed(target.url, target.model, PROMPT, options.max_tokens, options.deadline)
    except ServeError as error:
        return Finding.failed(check, str(error), fix=f"look at the frontend's log ({target.where})")
    if answer.status != 200 or not answer.done or answer.ttft is None:
        return Finding.failed(check, f"HTTP {answer.status}, {len(answer.token_times)} tokens streamed: "
                                     f"{answer.error or 'no content'}",
                              cause="a worker stopped answering while it streamed, or none serves the model",
                              fix=f"look at the workers' logs ({target.where})")
    itl = f"{answer.itl * 1000:.1f} ms" if answer.itl is not None else "n/a (one chunk)"
    return Finding.passed(check, f"{len(answer.token_times)} chunks, time to first token "
                                 f"{answer.ttft * 1000:.0f} ms, inter-token latency {itl} (measured here)")


def _moved(before: list[Sample], after: list[Sample], name: str) -> float:
    return (total(after, name) or 0.0) - (total(before, name) or 0.0)


def _routed(target: ServeTarget, before: list[Sample] | str, after: list[Sample] | str) -> Finding:
    check = f"routed ({target.router_mode})"
    if isinstance(before, str) or isinstance(after, str):
        problem = before if isinstance(before, str) else after
        return Finding.failed(check, f"the frontend's /metrics cannot be read: {problem}")
    counter = KV_ROUTER_REQUESTS if target.router_mode == "kv" else FRONTEND_REQUESTS
    moved = _moved(before, after, counter)
    if moved >= 2:
        return Finding.passed(check, f"{counter} rose by {moved:g}")
    return Finding.failed(check, f"{counter} rose by {moved:g} over two completed requests",
                          cause="the frontend did not route the requests through its router",
                          fix=f"look at the frontend's log ({target.where})")


def _workers(target: ServeTarget, fetch: Fetch, before: dict[str, list[Sample] | str]) -> list[Finding]:
    out = []
    for name, url in target.workers:
        check = f"{name} served"
        after = _samples(fetch, url)
        was = before.get(name)
        if isinstance(after, str) or isinstance(was, str) or was is None:
            problem = after if isinstance(after, str) else was
            out.append(Finding.failed(check, f"its /metrics cannot be read: {problem}",
                                      cause="the worker's process is down", fix=f"look at its log ({target.where})"))
            continue
        moved = _moved(was, after, WORKER_REQUESTS)
        out.append(Finding.passed(check, f"{WORKER_REQUESTS} rose by {moved:g}") if moved >= 1 else Finding(
            check, Status.DEGRADED, f"{WORKER_REQUESTS} did not move",
            cause="the router sent it nothing: the graph serves without it", fix=f"look at its log ({target.where})"))
    return out


def check_graph(target: ServeTarget, options: ServeOptions, fetch: Fetch) -> Section:
    title = f"graph {target.graph} at {target.url}"
    listed = _listed(target, options)
    if not listed.ok:
        return Section(title, [listed])
    frontend_before = _samples(fetch, f"{target.url}/metrics")
    workers_before = {name: _samples(fetch, url) for name, url in target.workers}
    findings = [listed, _unary(target, options), _streamed(target, options)]
    findings.append(_routed(target, frontend_before, _samples(fetch, f"{target.url}/metrics")))
    findings += _workers(target, fetch, workers_before)
    return Section(title, findings)


def check_graphs(targets: Sequence[ServeTarget], options: ServeOptions, fetch: Fetch) -> list[Section]:
    return [check_graph(target, options, fetch) for target in targets]
