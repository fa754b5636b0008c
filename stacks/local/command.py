"""`python -m stacks local`: plan the stack, run its mocker graphs as real Dynamo processes, print
where they serve, and stop everything on Ctrl-C (`stacks.local.cli` has the command line)."""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from components.nats.settings import PASSWORD_KEY, USERNAME_KEY
from stacks.args import stack_of
from stacks.config.load import EXIT_INVALID, load_or_say
from stacks.local import state
from stacks.local.model import make_model
from stacks.local.processes import RunningGraph, nats_server, running
from stacks.local.rendered import LocalGraphError, Rendered, plan_dgds, rendered
from stacks.local.runtime import RuntimeInstallError, cache_root, install, installed
from stacks.local.transpose import Site

EXIT_STOPPED, EXIT_DIED = 0, 1
MOCKER = "dynamo.mocker"


@dataclass(frozen=True)
class Graphs:
    """The stack's graphs this machine can run (mocker graphs), and the others with why not."""

    runnable: Mapping[str, list[Rendered]]
    not_run: Mapping[str, str]


def choose(dgds: Sequence[Mapping[str, object]], wanted: Sequence[str] | None) -> Graphs:
    runnable: dict[str, list[Rendered]] = {}
    not_run: dict[str, str] = {}
    for dgd in dgds:
        renders = rendered(dgd)
        name = renders[0].graph
        engines = sorted({r.module for r in renders if r.module not in ("dynamo.frontend", MOCKER)})
        if wanted and name not in wanted:
            continue
        if engines:
            not_run[name] = f"its workers run {', '.join(engines)}, an engine that needs GPUs"
        else:
            runnable[name] = renders
    unknown = sorted(set(wanted or ()) - set(runnable) - set(not_run))
    if unknown:
        known = ", ".join(d["metadata"]["name"] for d in dgds) or "none"  # type: ignore[index]
        raise LocalGraphError(f"--graph {', '.join(unknown)}: no such graph in the stack (it has: {known})")
    return Graphs(runnable, not_run)


def local_secrets(renders: Sequence[Rendered]) -> dict[tuple[str, str], str]:
    """Values for the Secrets the pods read: the NATS account, made up for this run (the cluster's
    comes from pulumi-random). Any other Secret is one a local run has no value for."""
    refs = {value for r in renders for _, value in r.env if isinstance(value, tuple)}
    made = {USERNAME_KEY: "dynamo", PASSWORD_KEY: secrets.token_urlsafe(24)}
    missing = sorted(f"{name}/{key}" for name, key in refs if key not in made)
    if missing:
        raise LocalGraphError(f"the graph reads Secret keys a local run has no value for: {', '.join(missing)}")
    return {(name, key): made[key] for name, key in refs}


def uses_nats(renders: Sequence[Rendered]) -> bool:
    return any(name in ("DYN_EVENT_PLANE", "DYN_REQUEST_PLANE") and value == "nats"
               for r in renders for name, value in r.env)


class _Stop(Exception):
    pass


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[None]:
    def stop(_signum: int, _frame: FrameType | None) -> None:
        raise _Stop

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _describe(run: state.LocalRun, graphs: Graphs, release: str) -> str:
    lines = [f"local {run.stack}: Dynamo {release} (real frontend and mocker processes; the model is a small local "
             "tokenizer served under the graph's model name, so answers are random tokens)"]
    for graph in run.graphs:
        lines += [f"  graph {graph.name}: {graph.url}  (router {graph.router_mode}, model {graph.model})",
                  f"    curl -s {graph.url}/v1/chat/completions -H 'content-type: application/json' "
                  f"-d '{{\"model\": \"{graph.model}\", \"messages\": [{{\"role\": \"user\", \"content\": "
                  f"\"Hello\"}}], \"max_tokens\": 16}}'"]
    for name, why in graphs.not_run.items():
        lines.append(f"  graph {name}: not run here: {why}")
    lines.append("Ctrl-C stops every process this run started.")
    return "\n".join(lines)


def _router_mode(renders: Sequence[Rendered]) -> str:
    frontend = next(r for r in renders if r.module == "dynamo.frontend")
    args = list(frontend.args)
    return args[args.index("--router-mode") + 1] if "--router-mode" in args else "round-robin"


def _state_of(stack: str, release: str, running_graphs: Mapping[str, RunningGraph],
              renders: Mapping[str, list[Rendered]]) -> state.LocalRun:
    graphs = []
    for name, graph in running_graphs.items():
        processes = [state.LocalProcess(graph.frontend.name, f"{graph.url}/metrics")]
        processes += [state.LocalProcess(w.name, f"http://127.0.0.1:{w.system_port}/metrics") for w in graph.workers]
        graphs.append(state.LocalGraph(name=name, url=graph.url, model=graph.model,
                                       router_mode=_router_mode(renders[name]), processes=tuple(processes)))
    return state.LocalRun(stack=stack, release=release, pid=os.getpid(), graphs=tuple(graphs))


def _exited(running_graphs: Mapping[str, RunningGraph]) -> dict[str, str]:
    """(graph/process) -> what to say, for every process of the run that has exited."""
    out: dict[str, str] = {}
    for name, graph in running_graphs.items():
        for process in graph.processes:
            if process.popen is not None and process.popen.poll() is not None:
                out[f"{name}/{process.name}"] = (f"graph {name}: {process.name} exited ({process.popen.returncode}); "
                                                 f"the rest keeps running until Ctrl-C. Its log: {process.log}")
    return out


def main(args: argparse.Namespace) -> int:
    stack = stack_of(args)
    project_dir: Path = args.project_dir
    config = load_or_say(project_dir, stack, args.config, "local")
    if config is None:
        return EXIT_INVALID
    release = config.dynamo.release.version
    directory: Path = args.state_dir or state.state_dir(project_dir, stack)
    stack_file: Path = args.config or project_dir / f"Pulumi.{stack}.yaml"
    try:
        graphs = choose(plan_dgds(stack_file, directory / "plan"), args.graph)
        if not graphs.runnable:
            reasons = "; ".join(f"{name}: {why}" for name, why in graphs.not_run.items()) or "the stack has none"
            raise LocalGraphError(f"no mocker graph to run ({reasons})")
        if not installed(release):
            print(f"local: installing the Dynamo {release} runtime (ai-dynamo, ai-dynamo-runtime) into "
                  f"{cache_root()} (once)", file=sys.stderr)
        python = install(release)
        model = make_model(cache_root() / "model")
        all_renders = [r for renders in graphs.runnable.values() for r in renders]
        secret_values = local_secrets(all_renders)
    except (LocalGraphError, RuntimeInstallError) as error:
        print(f"local: {error}", file=sys.stderr)
        return EXIT_INVALID
    user = secret_values.get(("nats-auth", USERNAME_KEY), "dynamo")
    password = next((v for (_, key), v in secret_values.items() if key == PASSWORD_KEY), secrets.token_urlsafe(24))
    state_file = directory / state.STATE_FILE
    try:
        with _stop_on_signals(), contextlib.ExitStack() as stack_:
            nats_url = (stack_.enter_context(nats_server(directory, user, password))
                        if uses_nats(all_renders) else None)
            running_graphs: dict[str, RunningGraph] = {}
            for name, renders in graphs.runnable.items():
                site = Site(python=python, state=directory / "graphs" / name, model_dir=model,
                            secrets=secret_values, nats_url=nats_url)
                running_graphs[name] = stack_.enter_context(running(renders, site, timeout=args.timeout))
            run = _state_of(stack, release, running_graphs, graphs.runnable)
            state.write(directory, run)
            print(_describe(run, graphs, release), flush=True)
            reported: set[str] = set()
            try:
                while True:  # a process that exits is reported, and the run goes on as a cluster's would
                    for key, text in _exited(running_graphs).items():
                        if key not in reported:
                            reported.add(key)
                            print(f"local: {text}", file=sys.stderr, flush=True)
                    time.sleep(0.5)
            except _Stop:
                print("local: stopped" + (f"; {len(reported)} process(es) had exited" if reported else ""),
                      file=sys.stderr)
                return EXIT_DIED if reported else EXIT_STOPPED
    except _Stop:
        print("local: stopped", file=sys.stderr)
        return EXIT_STOPPED
    except LocalGraphError as error:
        print(f"local: {error}", file=sys.stderr)
        return EXIT_INVALID
    finally:
        state_file.unlink(missing_ok=True)
