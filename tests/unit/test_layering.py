"""Layers: components never import stacks (DESIGN.md: stacks -> components, never back); the offline
commands preflight, verify and open import neither each other, nor the program, nor the plan, nor
any Pulumi SDK; a command's `--help` loads its argument module and nothing of its run. `make lint`
enforces the import graph with import-linter contracts (pyproject.toml); these tests check what the
interpreter actually loads."""

import ast
import subprocess
import sys

import pytest

from tests.harness import ROOT


def imported_modules(path: str) -> set[str]:
    tree = ast.parse((ROOT / path).read_text())
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


def test_components_do_not_import_stacks() -> None:
    offenders = {}
    for path in sorted((ROOT / "components").rglob("*.py")):
        rel = str(path.relative_to(ROOT))
        bad = {m for m in imported_modules(rel) if m == "stacks" or m.startswith("stacks.")}
        if bad:
            offenders[rel] = bad
    assert offenders == {}


OFFLINE = ["stacks.preflight.command", "stacks.preflight.dataplane.command", "stacks.verify.command",
           "stacks.verify.dataplane.command", "stacks.open.command", "stacks.config.load", "stacks.ops.cluster",
           "stacks.ops.aws", "stacks.cli"]


def loaded_by(code: str) -> set[str]:
    """The top-level modules loaded after running `code` in a fresh interpreter."""
    probe = f"import sys\n{code}\nprint(sorted({{m.split('.')[0] for m in sys.modules}}))"
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(ast.literal_eval(result.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("module", OFFLINE)
def test_offline_commands_load_no_pulumi_sdk(module: str) -> None:
    """preflight, verify and open run without Pulumi: not its SDK (grpc, protobuf, opentelemetry), not
    its provider SDKs."""
    pulumi = {m for m in loaded_by(f"import {module}") if m.startswith("pulumi") or m in ("grpc", "google")}
    assert pulumi == set()


@pytest.mark.parametrize("command", ["", "plan", "preflight", "verify", "open"])
def test_help_loads_the_arguments_alone(command: str) -> None:
    """`python -m stacks [COMMAND] --help` builds its parser from standard-library modules and the
    command's argument module: no config, no builders, no YAML, no cloud SDK."""
    argv = [*(command.split()), "--help"]
    code = (f"import contextlib, io\nfrom stacks.cli import main\nwith contextlib.suppress(SystemExit), "
            f"contextlib.redirect_stdout(io.StringIO()):\n    main({argv!r})")
    loaded = loaded_by(code)
    assert loaded & {"yaml", "pulumi", "boto3", "botocore", "nats", "jsonschema"} == set()
    result = subprocess.run([sys.executable, "-X", "importtime", "-c", code], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    ours = {line.split("|")[-1].strip() for line in result.stderr.splitlines()
            if line.split("|")[-1].strip().startswith(("stacks.", "components."))}
    assert not any(m.startswith(("stacks.config", "stacks.ops", "stacks.program", "components.dynamo"))
                   for m in ours), sorted(ours)


def test_preflight_verify_and_open_do_not_import_each_other_or_the_program() -> None:
    commands = ("preflight", "verify", "open")
    for package in commands:
        others = tuple(f"stacks.{other}" for other in commands if other != package)
        for path in sorted((ROOT / "stacks" / package).rglob("*.py")):
            rel = str(path.relative_to(ROOT))
            banned = {m for m in imported_modules(rel) if m.startswith((*others, "stacks.program", "stacks.plan"))}
            assert banned == set(), rel


def test_the_operations_toolkit_imports_no_command() -> None:
    for path in sorted((ROOT / "stacks" / "ops").rglob("*.py")):
        rel = str(path.relative_to(ROOT))
        banned = {m for m in imported_modules(rel)
                  if m.startswith(("stacks.preflight", "stacks.verify", "stacks.open", "stacks.program",
                                   "stacks.plan", "stacks.cli"))}
        assert banned == set(), rel
