"""Components never import stacks (DESIGN.md: stacks -> components, never back)."""

import ast

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
