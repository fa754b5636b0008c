"""`python -m stacks open`: its command line (the run: `stacks.open.command`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from stacks.args import PROJECT_DIR
from stacks.open.targets import TARGETS

DESCRIPTION = ("Port-forward to the UI of a deployed stack, or to a graph's frontend (`frontend [--graph NAME]`: "
               "the OpenAI API, with a first request printed), through kubectl, with the stack's own kubeconfig and "
               "context, and print its local URL. For Grafana, also say where the admin password is (the Secret and "
               "the kubectl command that reads it); the password itself is never read or printed. Where each UI "
               "runs comes from the stack's outputs (`pulumi stack output`). Stops on Ctrl-C.")
EPILOG = ("exit status: 0 the port-forward ran and was stopped, 2 nothing to open or the stack or cluster cannot be "
          "reached")


def add_arguments(parser: argparse.ArgumentParser, project_dir: Path = PROJECT_DIR) -> None:
    parser.add_argument("target", choices=TARGETS, help="what to open")
    parser.add_argument("--stack", default="dev", help="the deployed stack (default: dev)")
    parser.add_argument("--graph", metavar="NAME", help="with frontend: the graph (default: the stack's only one)")
    parser.add_argument("--port", type=int, default=0, metavar="N",
                        help="local port to listen on (default: a free one kubectl picks)")
    parser.add_argument("--project-dir", type=Path, default=project_dir, metavar="DIR", help=argparse.SUPPRESS)



def run(args: argparse.Namespace) -> int:
    from stacks.open import command

    return command.main(args)
