"""`python -m stacks plan`: its command line (the run: `stacks.plan.command`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from stacks.args import add_stack_file_arguments, stack_of

DESCRIPTION = ("Run the Pulumi program in-process under mocks (no cloud account, cluster or Pulumi CLI) and write "
               "resources.json, manifests/, releases.yaml, graph.mmd and summary.md. Invalid config exits 2, prints "
               "every problem and writes nothing.")
EPILOG = ("exit status: 0 planned, 1 planned but the stack's operator.version is more than one minor release from "
          "--deployed-version (summary.md lists the steps), 2 invalid config, an unreadable stack file or a refused "
          "upgrade, 3 planned with warnings under --strict (each warning is printed, and is in summary.md)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_stack_file_arguments(parser)
    parser.add_argument("--out", type=Path, metavar="DIR", help="output directory (default: build/plan/<stack>)")
    parser.add_argument("--deployed-version", metavar="X.Y.Z",
                        help="the Dynamo release the cluster runs now: summary.md then lists each step, one minor "
                             "release at a time, to the stack's operator.version and what changes at it; a move "
                             "back by more than one minor or across a CRD storage version is refused")
    parser.add_argument("--strict", action="store_true",
                        help="exit 3 when the plan has warnings (they are printed either way)")


def run(args: argparse.Namespace) -> int:
    from stacks.plan import command

    return command.run(args.project_dir, stack_of(args), args.config, args.out, args.deployed_version,
                       strict=args.strict)
