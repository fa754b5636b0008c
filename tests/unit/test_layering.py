"""Layers: components never import stacks (DESIGN.md: stacks -> components, never back); the offline
commands preflight and verify import neither each other, nor the program, nor the plan, nor the
Kubernetes SDK. `make lint` enforces the same with import-linter contracts (pyproject.toml)."""

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


@pytest.mark.parametrize("module", ["stacks.preflight.command", "stacks.preflight.dataplane.command",
                                    "stacks.verify.command", "stacks.open.command", "stacks.config.load"])
def test_offline_commands_do_not_load_the_kubernetes_sdk(module: str) -> None:
    """preflight and verify run without the Pulumi Kubernetes SDK (it costs about a second to import)."""
    sdks = "{'pulumi_kubernetes', 'pulumi_aws', 'pulumi_random'}"
    probe = f"import sys, {module}; print(sorted({{m.split('.')[0] for m in sys.modules}} & {sdks}))"
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_preflight_verify_and_open_do_not_import_each_other_or_the_program() -> None:
    commands = ("preflight", "verify", "open")
    for package in commands:
        others = tuple(f"stacks.{other}" for other in commands if other != package)
        for path in sorted((ROOT / "stacks" / package).rglob("*.py")):
            rel = str(path.relative_to(ROOT))
            banned = {m for m in imported_modules(rel) if m.startswith((*others, "stacks.program", "stacks.plan"))}
            assert banned == set(), rel


def test_the_shared_kubectl_plumbing_imports_no_command() -> None:
    for path in sorted((ROOT / "stacks" / "kube").rglob("*.py")):
        rel = str(path.relative_to(ROOT))
        banned = {m for m in imported_modules(rel)
                  if m.startswith(("stacks.preflight", "stacks.verify", "stacks.open", "stacks.program",
                                   "stacks.plan", "stacks.cli"))}
        assert banned == set(), rel
