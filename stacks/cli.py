"""The command line of the offline tools: ``python -m stacks COMMAND [ARGS]``.

The commands are a table of names and the modules that implement them. A command's module, and
everything it imports, loads only when that command runs, so ``--help`` and each command pay for
themselves alone (as pip does it). A command module (`CommandModule`) names its DESCRIPTION and
EPILOG, adds its arguments to a parser and runs with the parsed arguments, returning the exit status;
its arguments are declared with the standard library only, and what the run needs is imported by
`run`.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, cast

PROG = "python -m stacks"


class CommandModule(Protocol):
    DESCRIPTION: str
    EPILOG: str

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


@dataclass(frozen=True)
class Command:
    module: str  # implements CommandModule
    summary: str


COMMANDS: Mapping[str, Command] = {
    "plan": Command("stacks.plan.cli", "render a stack offline into build/plan/<stack>/"),
    "preflight": Command("stacks.preflight.cli",
                         "check the cluster (and with --aws the cloud account) before `pulumi up`"),
    "verify": Command("stacks.verify.cli",
                      "check a deployed stack's NATS and etcd, or with --dataplane its graphs' EFA data path"),
    "open": Command("stacks.open.cli", "port-forward to Grafana, Prometheus or Alertmanager of a deployed stack"),
    "bench": Command("stacks.bench.cli", "benchmark a graph with AIPerf against its SLO: JSON, a table and plots"),
    "local": Command("stacks.local.cli",
                     "run the stack's mocker graphs here as the real Dynamo processes of its release"),
}


def load(name: str) -> CommandModule:
    return cast(CommandModule, importlib.import_module(COMMANDS[name].module))


def command_parser(name: str, module: CommandModule) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"{PROG} {name}", description=module.DESCRIPTION, epilog=module.EPILOG)
    module.add_arguments(parser)
    return parser


def _top_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="dynamo-cluster offline tools.",
        epilog=f"`{PROG} COMMAND --help` describes each command's arguments and exit status.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, command in COMMANDS.items():
        commands.add_parser(name, help=command.summary, add_help=False)
    return parser


def main(argv: Sequence[str]) -> int:
    if argv and argv[0] in COMMANDS:
        module = load(argv[0])
        return module.run(command_parser(argv[0], module).parse_args(argv[1:]))
    _top_parser().parse_args(argv)  # prints the help, or says what is wrong, and exits
    raise AssertionError("argparse exits for anything but a command")
