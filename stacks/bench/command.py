"""`python -m stacks bench`: pick the graph and reach its frontend, run AIPerf at each level, write
the report (`stacks.bench.cli` has the command line)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from contextlib import ExitStack
from pathlib import Path

from components.dynamo.spec import GraphSpec
from stacks.args import stack_of
from stacks.bench.aiperf import BenchError, Level, Workload, run_level
from stacks.bench.incluster import run_job
from stacks.bench.job import JobSpec
from stacks.bench.report import BenchReport, plots
from stacks.config.load import EXIT_INVALID, load_or_say
from stacks.config.stack import StackConfig
from stacks.local.runtime import AIPERF, RuntimeInstallError, cache_root, install, installed, venv_dir
from stacks.local.state import LocalStateError, read, state_dir
from stacks.ops.cluster import kubectl_for, stack_cluster
from stacks.ops.kubectl import Kubectl, KubeError

EXIT_MEETS, EXIT_MISSES = 0, 1
LOCAL_SOURCE = ("A local run of the mocker (the real Dynamo frontend and mocker processes on a CPU): the numbers "
                "describe the mocker's simulated engine on this machine, not a model on a GPU")
CLUSTER_SOURCE = "The deployed graph, measured from this machine through a port-forward to its frontend"
IN_CLUSTER_SOURCE = ("The deployed graph, measured by an AIPerf Job in its namespace against its frontend Service "
                     "(no port-forward or load balancer in the path)")


class _Refused(Exception):
    pass


def _graph(graphs: tuple[GraphSpec, ...], name: str | None) -> GraphSpec:
    names = ", ".join(g.name for g in graphs) or "none"
    if name is None:
        if len(graphs) != 1:
            raise _Refused(f"the stack has {len(graphs)} graphs ({names}): name one with --graph")
        return graphs[0]
    for graph in graphs:
        if graph.name == name:
            return graph
    raise _Refused(f"--graph {name}: no such graph (the stack has: {names})")


def _local_url(args: argparse.Namespace, stack: str, graph: str) -> tuple[str, str]:
    directory = args.state_dir or state_dir(args.project_dir, stack)
    run = read(directory)
    for served in run.graphs:
        if served.name == graph:
            return served.url, served.model
    raise _Refused(f"the local run does not serve graph {graph} (it serves: {', '.join(g.name for g in run.graphs)})")


def _refuse_mixed(args: argparse.Namespace) -> None:
    if args.local and args.in_cluster:
        raise _Refused("--local and --in-cluster: choose one")
    if not args.in_cluster and args.image:
        raise _Refused("--image is for --in-cluster")


def _in_cluster(args: argparse.Namespace, stack: str, config: StackConfig, graph: GraphSpec,
                cleanup: ExitStack) -> list[Level]:
    namespace = config.namespaces.workloads
    kubectl = kubectl_for(stack_cluster(args.project_dir, stack), cleanup, Kubectl)
    workload = Workload(url=graph.frontend_url(namespace), model=graph.served_model_name,
                        tokenizer=args.tokenizer or graph.model, input_tokens=graph.slo.input_tokens,
                        output_tokens=graph.slo.output_tokens, requests_per_level=args.requests)
    spec = JobSpec(name=job_name(graph.name, time.time()), namespace=namespace, graph=graph.name, workload=workload,
                   levels=tuple(args.concurrency), deadline_seconds=args.deadline_minutes * 60, image=args.image or "",
                   hf_token_secret=config.dynamo.hf_secret_name if graph.use_hf_token else "")
    return list(run_job(kubectl, spec, say=lambda line: print(f"bench: {line}", file=sys.stderr, flush=True)))


def main(args: argparse.Namespace) -> int:
    stack = stack_of(args)
    config = load_or_say(args.project_dir, stack, args.config, "bench")
    if config is None:
        return EXIT_INVALID
    try:
        _refuse_mixed(args)
        graph = _graph(config.dynamo.graphs, args.graph)
        out: Path = args.out or args.project_dir / "build" / "bench" / stack / graph.name
        out.mkdir(parents=True, exist_ok=True)
        if args.in_cluster:
            with ExitStack() as cleanup:
                measured = _in_cluster(args, stack, config, graph, cleanup)
            return _report(args, stack=stack, config=config, graph=graph, model=graph.served_model_name,
                           levels=measured, out=out, source=IN_CLUSTER_SOURCE)
        if not installed(AIPERF):
            print(f"bench: installing AIPerf into {venv_dir(AIPERF)} (once)", file=sys.stderr)
        aiperf = install(AIPERF).parent / "aiperf"
        with ExitStack() as cleanup:
            if args.local:
                url, model = _local_url(args, stack, graph.name)
                tokenizer = args.tokenizer or str(cache_root() / "model")
            else:
                kubectl = kubectl_for(stack_cluster(args.project_dir, stack), cleanup, Kubectl)
                forward = kubectl.port_forward(config.namespaces.workloads, f"svc/{graph.frontend_service}",
                                               graph.frontend.http_port)
                port = cleanup.enter_context(forward)
                url, model = f"http://127.0.0.1:{port}", graph.served_model_name
                tokenizer = args.tokenizer or graph.model
            workload = Workload(url=url, model=model, tokenizer=tokenizer, input_tokens=graph.slo.input_tokens,
                                output_tokens=graph.slo.output_tokens, requests_per_level=args.requests)
            levels: list[Level] = []
            for concurrency in args.concurrency:
                print(f"bench: concurrency {concurrency} ...", file=sys.stderr, flush=True)
                levels.append(run_level(aiperf, workload, concurrency, out / f"c{concurrency}", out / "home"))
    except (_Refused, BenchError, RuntimeInstallError, LocalStateError, KubeError) as error:
        print(f"bench: {error}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        print("bench: interrupted (an in-cluster Job is deleted)", file=sys.stderr)
        return EXIT_INVALID
    return _report(args, stack=stack, config=config, graph=graph, model=model, levels=levels, out=out,
                   source=LOCAL_SOURCE if args.local else CLUSTER_SOURCE)


def job_name(graph: str, now: float) -> str:
    """A Job name unique per run: the graph's name (cut to fit) and the run's start, UTC."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now))
    return f"bench-{graph[:40].rstrip('-')}-{stamp}"


def _report(args: argparse.Namespace, *, stack: str, config: StackConfig, graph: GraphSpec, model: str,
            levels: list[Level], out: Path, source: str) -> int:
    report = BenchReport(
        stack=stack, graph=graph.name, release=config.dynamo.release.version, source=source,
        label="the mocker on this machine, not a GPU" if args.local else "the deployed graph", model=model,
        slo=graph.slo,
        gpus=sum(g.replicas * g.nodes * g.gpus_per_node for g in graph.groups),
        workers=sum(g.replicas for g in graph.groups), levels=tuple(levels))
    (out / "bench.json").write_text(json.dumps(report.to_json(), indent=1) + "\n")
    (out / "bench.md").write_text(report.markdown())
    images = plots(report, out)
    print(report.markdown())
    print(f"bench: report in {out / 'bench.json'}, {out / 'bench.md'}, " + ", ".join(str(p) for p in images))
    return EXIT_MEETS if report.best is not None else EXIT_MISSES
