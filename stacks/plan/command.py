"""`python -m stacks plan`: render a stack offline, with no cloud account, cluster or Pulumi CLI.

The real program runs in-process under Pulumi mocks; what it registers becomes the files of
DESIGN.md's "offline plan". Invalid config exits 2, prints every problem and writes nothing. With
`--deployed-version`, a move the plan refuses exits 2 and writes nothing; a move of more than one
minor release writes the plan, whose Upgrade section lists the steps, and exits 1 (docs/decisions.md,
"Dynamo moves one minor release at a time").
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from components.dynamo.capacity import capacity_table
from stacks.config.load import EXIT_INVALID, load
from stacks.config.reader import ConfigError
from stacks.config.stack import StackConfig
from stacks.config.stackfile import StackFile, StackFileError
from stacks.plan import artifacts
from stacks.plan.mockrun import STACK_TYPE, Registry, run_program
from stacks.plan.sections import (
    data_path_lines,
    endpoint_lines,
    model_storage_lines,
    release_lines,
    transport_lines,
)
from stacks.plan.upgrade import Install, Upgrade, UpgradeRefused, upgrade

EXIT_OK = 0
# Planned, with warnings, and --strict asked for none (CI on a pull request).
EXIT_WARNINGS = 3
# Planned, but the stack's release is more than one minor from the deployed one: `pulumi up` as
# configured would skip a minor release (summary.md's Upgrade section lists the steps).
EXIT_SKIPS_A_MINOR = 1


@dataclass(frozen=True)
class OfflinePlan:
    stack_file: StackFile
    config: StackConfig
    registry: Registry
    upgrade: tuple[str, ...] = ()  # the summary's upgrade section, when a deployed version was given

    def files(self) -> dict[str, str]:
        """relative path -> text of every file the plan writes."""
        out = {
            "resources.json": artifacts.resources_json(self.registry),
            "releases.yaml": artifacts.releases_yaml(self.registry),
            "graph.mmd": artifacts.mermaid(self.registry),
            "summary.md": artifacts.summary(
                self.registry, stack=self.config.stack, environment=self.config.environment,
                capacity=capacity_lines(self.config), warnings=self.config.warnings(), sections=self.sections()),
        }
        out.update({f"manifests/{path}": text for path, text in artifacts.manifests(self.registry).items()})
        return out


    def sections(self) -> list[tuple[str, list[str]]]:
        out = [("Dynamo release", release_lines(self.config)), ("Transport plan", transport_lines(self.config)),
               ("Data path", data_path_lines(self.config)), ("Model storage", model_storage_lines(self.config)),
               ("Endpoints", endpoint_lines(self.config))]
        if self.upgrade:
            out.append(("Upgrade", list(self.upgrade)))
        return out


def capacity_lines(config: StackConfig) -> list[str]:
    """The summary's GPU capacity section: the pools, and what the graphs placed on them hold."""
    return capacity_table(config.pool_shapes, config.worker_demands)


def render(stack_file: StackFile, config: StackConfig, upgrade: tuple[str, ...] = ()) -> OfflinePlan:
    """Run the program under mocks with the stack's config."""
    from stacks.program.command import main

    registry = run_program(lambda: main(config), project=stack_file.project, stack=config.stack,
                           config=stack_file.config, secret_keys=stack_file.secret_keys)
    return OfflinePlan(stack_file, config, registry, upgrade)


def write(files: dict[str, str], out: Path) -> None:
    """Write all files, replacing `out` only once every file is written."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        for rel, text in files.items():
            target = staging / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def plan_upgrade(config: StackConfig, deployed_version: str) -> Upgrade:
    """The move from the deployed release to the stack's (raises `UpgradeRefused`)."""
    operator = config.dynamo.operator
    install = Install(release_name=operator.release_name, namespace=config.namespaces.platform,
                      repository=operator.chart.repository)
    return upgrade(deployed_version, config.dynamo.release, config.transport, install)


def run(project_dir: Path, stack: str, config_path: Path | None, out: Path | None,
        deployed_version: str | None = None, *, strict: bool = False) -> int:
    try:
        stack_file, config = load(project_dir, stack, config_path)
        move = None if deployed_version is None else plan_upgrade(config, deployed_version)
    except (StackFileError, ConfigError, UpgradeRefused) as error:
        print(f"plan: {error}", file=sys.stderr)
        return EXIT_INVALID
    plan = render(stack_file, config, () if move is None else move.lines)
    files = plan.files()
    target = out if out is not None else project_dir / "build" / "plan" / stack
    write(files, target)
    kinds = sum(1 for f in files if f.startswith("manifests/"))
    resources = sum(1 for r in plan.registry.resources if r.type != STACK_TYPE)  # as summary.md counts
    print(f"plan {stack}: {resources} resources, {kinds} manifests, "
          f"{len(artifacts.releases(plan.registry))} releases -> {target}")
    warnings = config.warnings()
    for warning in warnings:
        print(f"plan: warning: {warning}", file=sys.stderr)
    if move is not None and move.skips:
        print(f"plan: {move.skip_message()}", file=sys.stderr)
        return EXIT_SKIPS_A_MINOR
    if strict and warnings:
        print(f"plan: {len(warnings)} warning(s) and --strict: the plan is written, but not accepted", file=sys.stderr)
        return EXIT_WARNINGS
    return EXIT_OK
