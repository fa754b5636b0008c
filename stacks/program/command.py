"""The Pulumi program: what `__main__.py` runs under the engine and the plan runs under mocks."""

from __future__ import annotations

import pulumi

from stacks.config import StackConfig, load_stack_config
from stacks.program.environment import Environment, build_environment


def main(config: StackConfig | None = None) -> Environment:
    """Build the environment from `config` (or the running stack's) and export its outputs."""
    environment = build_environment(config if config is not None else load_stack_config())
    for key, value in environment.outputs().to_dict().items():
        pulumi.export(key, value)
    return environment
