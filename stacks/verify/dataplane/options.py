"""The command-line flags of `verify --dataplane`, kept apart from the run so that building the
parser imports nothing else."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_SAMPLE_SECONDS = 15.0
DEFAULT_TIME_LIMIT = 300.0


def _seconds(minimum: float, strict: bool) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
        if not math.isfinite(value) or value < minimum or (strict and value == minimum):
            raise argparse.ArgumentTypeError(f"must be {'more than' if strict else 'at least'} {minimum:g}, "
                                             f"got {text}")
        return value
    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "data plane", "With --dataplane (and --stack), verify checks only the EFA data path of the stack's graphs.")
    group.add_argument("--dataplane", action="store_true",
                       help="check each graph's EFA data path as Dynamo's EFA guide does (NIXL backend, LIBFABRIC "
                            "plugin, library path, NCCL network, KV transfers and failures, decode hits, router KV "
                            "events) instead of NATS and etcd")
    group.add_argument("--graph", metavar="NAME", help="with --dataplane or --serve: only this graph")
    group.add_argument("--sample-seconds", type=_seconds(0, strict=False), metavar="SECONDS",
                       help="with --dataplane, when the counters are read from the pods (no Prometheus): seconds "
                            f"between the two reads that show them rising (default {DEFAULT_SAMPLE_SECONDS:g})")
    group.add_argument("--dataplane-timeout", type=_seconds(0, strict=True), metavar="SECONDS",
                       help="with --dataplane: the whole run's time limit; what is left unread when it is spent is "
                            f"reported as not read (default {DEFAULT_TIME_LIMIT:g})")


@dataclass(frozen=True)
class DataplaneOptions:
    graph: str | None
    sample_seconds: float
    time_limit: float

    @staticmethod
    def from_args(args: argparse.Namespace) -> DataplaneOptions:
        return DataplaneOptions(
            graph=args.graph,
            sample_seconds=DEFAULT_SAMPLE_SECONDS if args.sample_seconds is None else args.sample_seconds,
            time_limit=DEFAULT_TIME_LIMIT if args.dataplane_timeout is None else args.dataplane_timeout)


def problem(args: argparse.Namespace) -> str | None:
    """What is wrong with the data-plane flags on this command line, or None."""
    if not args.dataplane:
        given = [flag for flag, value in (("--sample-seconds", args.sample_seconds),
                                          ("--dataplane-timeout", args.dataplane_timeout)) if value is not None]
        if args.graph is not None and not getattr(args, "serve", False):
            given.insert(0, "--graph")
        return f"{', '.join(given)}: only with --dataplane" + (" or --serve" if "--graph" in given else "") \
            if given else None
    if not args.stack:
        return "--dataplane needs --stack NAME: the graphs, their pools and namespace come from the stack"
    if args.nats or args.etcd:
        return ("--dataplane checks the graphs' data path only: check NATS and etcd in a run without it "
                "(--nats/--etcd)")
    return None
