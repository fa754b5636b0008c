"""What the offline commands share on their command lines: which stack, which stack file, which
project. Standard library only: building a parser loads nothing else."""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_STACK = "dev"


def stack_name_from_path(path: Path) -> str | None:
    """The stack a file is named for (``Pulumi.<stack>.yaml``), or None."""
    match = re.fullmatch(r"Pulumi\.(.+)\.ya?ml", path.name)
    return match.group(1) if match else None


def add_stack_file_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of the commands that read a stack file: which stack, which file, which project."""
    parser.add_argument("--stack", help=f"stack name (default: from --config's file name, else {DEFAULT_STACK})")
    parser.add_argument("--config", type=Path, metavar="FILE",
                        help="stack config file (default: Pulumi.<stack>.yaml in the project)")
    parser.add_argument("--project-dir", type=Path, default=PROJECT_DIR, metavar="DIR",
                        help="directory holding Pulumi.yaml (default: this project)")


def stack_of(args: argparse.Namespace) -> str:
    """The stack a command names: --stack, else the name in --config's file name, else dev."""
    config = getattr(args, "config", None)
    return str(args.stack or (stack_name_from_path(config) if config else None) or DEFAULT_STACK)


def bounded(kind: str, low: float, high: float, parse: Callable[[str], float]) -> Callable[[str], float]:
    """An argparse type: `parse(text)`, finite and from `low` to `high`, or a usage error naming `kind`."""
    def check(text: str) -> float:
        try:
            value = parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {kind}, got {text!r}") from None
        if not math.isfinite(value) or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected {kind} from {low:g} to {high:g}, got {text!r}")
        return value
    return check
