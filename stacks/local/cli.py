"""`python -m stacks local`: its command line (the run: `stacks.local.command`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from stacks.args import add_stack_file_arguments

DESCRIPTION = (
    "Run the stack's mocker graphs on this machine as the real Dynamo processes of its release: the frontend "
    "and mocker workers with the command lines and environment of the DynamoGraphDeployments `python -m stacks "
    "plan` renders, changing only what a cluster provides (discovery through files, loopback ports, a local "
    "nats-server when a plane uses NATS, a small tokenizer made here as the model; no model hub is reached). The "
    "release's `ai-dynamo` and `ai-dynamo-runtime` wheels are installed into a venv of their own on first use. "
    "Prints each graph's endpoint and a first request; stops everything it started on Ctrl-C. Graphs of real "
    "engines (vLLM, SGLang, TensorRT-LLM) need GPUs and are listed as not run.")
EPILOG = ("exit status: 0 stopped on Ctrl-C, 1 stopped on Ctrl-C after a process of a graph had exited (the rest "
          "keeps running, as in a cluster, so `verify --serve --local` sees the graph without it), 2 nothing could be "
          "started (invalid stack, no mocker graph, a runtime that cannot be installed, a graph that did not serve)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_stack_file_arguments(parser)
    parser.add_argument("--graph", action="append", metavar="NAME", help="run only this graph (repeatable)")
    parser.add_argument("--state-dir", type=Path, metavar="DIR",
                        help="where the run keeps its plan, logs and run.json (default: build/local/<stack>)")
    parser.add_argument("--timeout", type=float, default=120.0, metavar="SECONDS",
                        help="how long a graph may take to serve its model (default: 120)")


def run(args: argparse.Namespace) -> int:
    from stacks.local import command

    return command.main(args)
