"""The Pulumi program: what `__main__.py` runs under the engine and the plan runs under mocks."""

from __future__ import annotations

from collections.abc import Set
from typing import Any

import pulumi

from stacks.config.reader import ConfigError
from stacks.config.stack import StackConfig, parse_config
from stacks.program.environment import Environment, build_environment


def main(config: StackConfig | None = None) -> Environment:
    """Build the environment from `config` (or the running stack's) and export its outputs."""
    environment = build_environment(config if config is not None else load_stack_config())
    for key, value in environment.outputs().to_dict().items():
        pulumi.export(key, value)
    return environment


def load_stack_config() -> StackConfig:
    """The running program's config, from the Pulumi runtime."""
    from pulumi.runtime import config as runtime_config

    raw: dict[str, Any] = dict(runtime_config.get_config_env())
    raw.update(runtime_config.CONFIG.get())
    secret_keys = {k for k in raw if runtime_config.is_config_secret(k)}
    secret_keys.update(runtime_config.get_config_secret_keys_env())
    stack = pulumi.get_stack()
    return parse_config(raw, secret_keys, stack, secret_paths=_stack_file_secret_paths(stack, secret_keys))


def _stack_file_secret_paths(stack: str, secret_keys: Set[str]) -> frozenset[str] | None:
    """Which values of the running stack are secrets, leaf by leaf, from its stack file in the
    project directory (the Pulumi CLI runs the program there and marks secret only whole top-level
    keys). None when the file cannot be read or disagrees with the runtime's secret keys: every
    secret key is then secret as a whole."""
    from pathlib import Path

    from stacks.config.stackfile import StackFileError, read_stack_file

    try:
        stack_file = read_stack_file(Path.cwd(), stack)
    except (StackFileError, ConfigError, OSError):
        return None
    if set(stack_file.secret_keys) != set(secret_keys):
        return None
    return stack_file.secret_paths
