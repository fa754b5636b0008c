"""`python -m stacks preflight`: check, before `pulumi up`, what the stack takes for granted.

Each kind of check is chosen by a flag (``--aws`` today) and returns `CheckResult`s; they are printed
as one report (`stacks.report`). Exit 0 when every check passed, 1 when one failed, 2 when the stack's
config is invalid or no kind of check was chosen.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from stacks.config import ConfigError
from stacks.config.aws import AwsConfig
from stacks.plan import EXIT_INVALID, load
from stacks.preflight_aws import AwsClients, aws_checks, connect
from stacks.report import CheckResult, exit_code, render
from stacks.stackfile import StackFileError


def run(project_dir: Path, stack: str, config_path: Path | None, *, aws: bool,
        connect_aws: Callable[[AwsConfig], AwsClients] = connect) -> int:
    if not aws:
        print("preflight: choose what to check: --aws", file=sys.stderr)
        return EXIT_INVALID
    try:
        _, config = load(project_dir, stack, config_path)
    except (StackFileError, ConfigError) as error:
        print(f"preflight: {error}", file=sys.stderr)
        return EXIT_INVALID
    results: list[CheckResult] = []
    if aws:
        results += aws_checks(config, connect_aws)
    print(render(f"preflight {stack}:", results), end="")
    return exit_code(results)
