"""The command-line flags of `verify --serve`, kept apart from the run so that building the parser
imports nothing else."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from stacks.args import bounded

DEFAULT_DEADLINE = 60.0
DEFAULT_MAX_TOKENS = 32


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "serving", "With --serve, verify checks only that each graph serves (--graph picks one).")
    group.add_argument("--serve", action="store_true",
                       help="check each graph serves: its model listed, a unary and a streamed chat completion "
                            "within the deadline (time to first token and inter-token latency reported), its router "
                            "routing; through a port-forward to each graph's frontend Service (--stack), or against "
                            "`python -m stacks local` (--local)")
    group.add_argument("--local", action="store_true",
                       help="with --serve: the graphs a running `python -m stacks local` serves (default stack dev)")
    group.add_argument("--state-dir", type=Path, metavar="DIR",
                       help="with --local: the local run's directory, if it was started with one")
    group.add_argument("--deadline", type=bounded("seconds", 1, 600, float), metavar="SECONDS",
                       help=f"with --serve: how long each request may take (default {DEFAULT_DEADLINE:g})")
    group.add_argument("--max-tokens", type=bounded("a whole number", 1, 4096, int), metavar="N",
                       help=f"with --serve: tokens each completion asks for (default {DEFAULT_MAX_TOKENS})")


@dataclass(frozen=True)
class ServeCliOptions:
    local: bool
    graph: str | None
    state_dir: Path | None
    deadline: float
    max_tokens: int

    @staticmethod
    def from_args(args: argparse.Namespace) -> ServeCliOptions:
        return ServeCliOptions(local=args.local, graph=args.graph, state_dir=args.state_dir,
                               deadline=DEFAULT_DEADLINE if args.deadline is None else args.deadline,
                               max_tokens=DEFAULT_MAX_TOKENS if args.max_tokens is None else int(args.max_tokens))


def problem(args: argparse.Namespace) -> str | None:
    """What is wrong with the serving flags on this command line, or None."""
    if not args.serve:
        given = [flag for flag, value in (("--local", args.local or None), ("--state-dir", args.state_dir),
                                          ("--deadline", args.deadline),
                                          ("--max-tokens", args.max_tokens)) if value is not None]
        return f"{', '.join(given)}: only with --serve" if given else None
    if args.dataplane:
        return "--serve and --dataplane are two runs: give one"
    if args.nats or args.etcd:
        return "--serve checks the graphs only: check NATS and etcd in a run without it (--nats/--etcd)"
    if args.state_dir is not None and not args.local:
        return "--state-dir: only with --local"
    if not args.local and not args.stack:
        return "--serve needs --stack NAME (a deployed stack) or --local (a running `python -m stacks local`)"
    return None
