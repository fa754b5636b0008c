"""`python -m stacks bench`: its command line (the run: `stacks.bench.command`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from stacks.args import add_stack_file_arguments

DESCRIPTION = (
    "Benchmark one graph with AIPerf at several concurrency levels, with the prompt and answer lengths of the "
    "graph's SLO (graphs[].slo), and write a report: bench.json, a Markdown table and two PNG plots (time to first "
    "token and inter-token latency against concurrency; throughput per GPU against latency), naming the highest "
    "concurrency that meets the SLO. Against a deployed stack from this machine through a port-forward to the "
    "graph's frontend Service, or from inside the cluster as a Job next to the graph (--in-cluster), or against a "
    "running `python -m stacks local` (--local). AIPerf is installed into a venv of its own on first use.")
EPILOG = "exit status: 0 a level meets the SLO, 1 none does, 2 the benchmark could not run"


def _levels(text: str) -> tuple[int, ...]:
    try:
        levels = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected concurrency levels such as 1,2,4,8, got {text!r}") from None
    if not levels or any(not 1 <= level <= 4096 for level in levels) or len(set(levels)) != len(levels):
        raise argparse.ArgumentTypeError(f"expected distinct levels from 1 to 4096, got {text!r}")
    return tuple(sorted(levels))


def _count(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 100_000:
        raise argparse.ArgumentTypeError(f"expected a number of requests from 1 to 100000, got {text!r}")
    return int(text)


def _minutes(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 1440:
        raise argparse.ArgumentTypeError(f"expected minutes from 1 to 1440, got {text!r}")
    return int(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_stack_file_arguments(parser)
    parser.add_argument("--graph", metavar="NAME", help="the graph (default: the stack's only one)")
    parser.add_argument("--local", action="store_true", help="the graph a running `python -m stacks local` serves")
    parser.add_argument("--in-cluster", action="store_true",
                        help="run AIPerf as a Job in the graph's namespace against its frontend Service (the Job is "
                             "deleted when the report is read)")
    parser.add_argument("--image", metavar="IMAGE",
                        help="with --in-cluster: an image with `aiperf` on its PATH (default: a pinned Python image "
                             "that installs the pinned AIPerf when the Job starts, which needs a package index)")
    parser.add_argument("--deadline-minutes", type=_minutes, default=60, metavar="N",
                        help="with --in-cluster: how long the Job may run (default: 60)")
    parser.add_argument("--state-dir", type=Path, metavar="DIR", help="with --local: the local run's directory")
    parser.add_argument("--concurrency", type=_levels, default=(1, 2, 4, 8), metavar="N,N,...",
                        help="concurrency levels (default: 1,2,4,8)")
    parser.add_argument("--requests", type=_count, default=32, metavar="N",
                        help="requests per level, at least the level's concurrency (default: 32)")
    parser.add_argument("--tokenizer", metavar="DIR|MODEL",
                        help="the tokenizer AIPerf counts tokens with (default: a local run's model directory, else "
                             "the graph's model, which AIPerf fetches)")
    parser.add_argument("--out", type=Path, metavar="DIR", help="where the report goes (default: "
                                                                "build/bench/<stack>/<graph>)")


def run(args: argparse.Namespace) -> int:
    from stacks.bench import command

    return command.main(args)
