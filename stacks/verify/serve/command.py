"""`python -m stacks verify --serve`: which graphs to check and how to reach them, then one report.

With ``--local`` the graphs are those a running `python -m stacks local` serves (its run.json: the
frontend's URL and every process's /metrics). With ``--stack`` they are the stack's graphs as its
config declares them (name, served model, router mode, HTTP port), each reached through
``kubectl port-forward svc/<graph>-frontend`` in the workloads namespace (the Service the Dynamo
operator names after the graph and its frontend component); the workers' own /metrics are not
forwarded there, so the per-worker checks are left to a local run and to `verify --dataplane`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from contextlib import ExitStack

from components.dynamo.spec import GraphSpec
from stacks.config.load import EXIT_INVALID, load_or_say
from stacks.local.state import LocalRun, LocalStateError, read, state_dir
from stacks.ops.cluster import kubectl_for, stack_cluster
from stacks.ops.http import get
from stacks.ops.kubectl import Kubectl, KubeError
from stacks.ops.report import VERIFY_WORDS, Report, Section, Status
from stacks.verify.command import VerifyOptions
from stacks.verify.serve.checks import ServeOptions, ServeTarget, check_graphs
from stacks.verify.serve.options import ServeCliOptions


def local_targets(run: LocalRun, logs: str) -> list[ServeTarget]:
    return [ServeTarget(graph=g.name, url=g.url, model=g.model, router_mode=g.router_mode,
                        workers=tuple((p.name, p.metrics_url) for p in g.processes if p.name != "frontend"),
                        where=f"{logs}/graphs/{g.name}/logs") for g in run.graphs]


def cluster_targets(namespace: str, graphs: Sequence[GraphSpec], ports: Sequence[int]) -> list[ServeTarget]:
    """The graphs, each at its forwarded local port."""
    return [ServeTarget(graph=g.name, url=f"http://127.0.0.1:{port}", model=g.served_model_name,
                        router_mode=g.frontend.router_mode,
                        where=f"kubectl -n {namespace} logs -l dynamo-cluster/graph={g.name} --all-containers")
            for g, port in zip(graphs, ports, strict=True)]


def _report(sections: list[Section], as_json: bool) -> int:
    report = Report("verify --serve", sections, summaries=VERIFY_WORDS)
    print(report.render(as_json), end="")
    return report.exit_code


def _chosen(targets: list[ServeTarget], graph: str | None) -> list[ServeTarget] | str:
    if graph is None:
        return targets
    chosen = [t for t in targets if t.graph == graph]
    return chosen or f"--graph {graph}: no such graph (have: {', '.join(t.graph for t in targets) or 'none'})"


def _local(options: VerifyOptions, serve: ServeCliOptions, checks: ServeOptions, stack: str) -> int:
    directory = serve.state_dir or state_dir(options.project_dir, stack)
    try:
        targets = _chosen(local_targets(read(directory), str(directory)), serve.graph)
    except LocalStateError as error:
        return _report([Section("local run", note=str(error), status_of_note=Status.FAILED)], options.as_json)
    if isinstance(targets, str):
        print(f"verify: {targets}", file=sys.stderr)
        return EXIT_INVALID
    return _report(check_graphs(targets, checks, get), options.as_json)


def _cluster(options: VerifyOptions, serve: ServeCliOptions, checks: ServeOptions, stack: str) -> int:
    config = load_or_say(options.project_dir, stack, None, "verify")
    if config is None:
        return EXIT_INVALID
    graphs = [g for g in config.dynamo.graphs if serve.graph in (None, g.name)]
    if not graphs:
        print(f"verify: --graph {serve.graph}: no such graph in stack {stack}", file=sys.stderr)
        return EXIT_INVALID
    namespace = config.namespaces.workloads
    with ExitStack() as cleanup:
        try:
            kubectl = kubectl_for(stack_cluster(options.project_dir, stack), cleanup, Kubectl)
            ports = [cleanup.enter_context(kubectl.port_forward(namespace, f"svc/{g.frontend_service}",
                                                                g.frontend.http_port)) for g in graphs]
        except KubeError as error:
            return _report([Section(f"stack {stack}", note=str(error), status_of_note=Status.FAILED)],
                           options.as_json)
        return _report(check_graphs(cluster_targets(namespace, graphs, ports), checks, get), options.as_json)


def run(options: VerifyOptions, serve: ServeCliOptions) -> int:
    checks = ServeOptions(deadline=serve.deadline, max_tokens=serve.max_tokens)
    stack = options.stack or "dev"
    return (_local if serve.local else _cluster)(options, serve, checks, stack)
