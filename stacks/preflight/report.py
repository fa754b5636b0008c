"""Check results and the report that prints them: what `python -m stacks preflight` is made of.

A check is anything that returns `CheckResult`s: a name that says what was checked (``eks cluster
dynamo-prod``), whether it passed, a message with the facts found, and for a failure the fix. Checks
of different kinds (AWS today, the Kubernetes API later) are lists of results; `render` turns any
number of them into one report, and `exit_code` is 0 only when every check passed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

EXIT_PASSED, EXIT_FAILED = 0, 1


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    message: str
    fix: str = ""

    @staticmethod
    def passed(name: str, message: str) -> CheckResult:
        return CheckResult(name, True, message)

    @staticmethod
    def failed(name: str, message: str, fix: str) -> CheckResult:
        return CheckResult(name, False, message, fix)


def render(title: str, results: Iterable[CheckResult]) -> str:
    """One line per check (PASS or FAIL, name, message), the fix under each failure, and a count."""
    checked = list(results)
    lines = [title]
    for result in checked:
        lines.append(f"{'PASS' if result.ok else 'FAIL'}  {result.name}: {result.message}")
        if not result.ok and result.fix:
            lines.append(f"      fix: {result.fix}")
    failed = sum(1 for r in checked if not r.ok)
    lines.append(f"{len(checked)} checks, {failed} failed" if checked else "no checks ran")
    return "\n".join(lines) + "\n"


def exit_code(results: Sequence[CheckResult]) -> int:
    return EXIT_PASSED if results and all(r.ok for r in results) else EXIT_FAILED
