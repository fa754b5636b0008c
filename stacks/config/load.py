"""A stack's config read from its stack file, as the offline commands (plan, preflight, verify) read it."""

from __future__ import annotations

from pathlib import Path

from stacks.config.stack import StackConfig, parse_config
from stacks.config.stackfile import StackFile, read_stack_file

# The exit status of every offline command when the stack file or its config is invalid.
EXIT_INVALID = 2


def load(project_dir: Path, stack: str, config_path: Path | None = None) -> tuple[StackFile, StackConfig]:
    """Read and validate a stack's config; raises StackFileError or ConfigError."""
    stack_file = read_stack_file(project_dir, stack, config_path)
    return stack_file, parse_config(stack_file.config, stack_file.secret_keys, stack,
                                    secret_paths=stack_file.secret_paths)
