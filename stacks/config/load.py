"""A stack's config read from its stack file, as the offline commands (plan, preflight, verify) read it."""

from __future__ import annotations

import sys
from pathlib import Path

from stacks.config.reader import ConfigError
from stacks.config.stack import StackConfig, parse_config
from stacks.config.stackfile import StackFile, StackFileError, read_stack_file

# The exit status of every offline command when the stack file or its config is invalid.
EXIT_INVALID = 2


def load(project_dir: Path, stack: str, config_path: Path | None = None) -> tuple[StackFile, StackConfig]:
    """Read and validate a stack's config; raises StackFileError or ConfigError."""
    stack_file = read_stack_file(project_dir, stack, config_path)
    return stack_file, parse_config(stack_file.config, stack_file.secret_keys, stack,
                                    secret_paths=stack_file.secret_paths)


def load_or_say(project_dir: Path, stack: str, config_path: Path | None, command: str) -> StackConfig | None:
    """The stack's config, or None after printing why it cannot be read (every problem, prefixed with
    the command's name) on standard error: the offline commands then exit `EXIT_INVALID`."""
    try:
        return load(project_dir, stack, config_path)[1]
    except (StackFileError, ConfigError) as error:
        print(f"{command}: {error}", file=sys.stderr)
        return None
