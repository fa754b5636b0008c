"""What the operations commands find, and how they say it: one result model and one renderer for
`preflight`, `verify` and `open`.

A `Finding` is one check's result: what was checked, a `Status`, the facts found, and where a
problem was found its likely cause and the fix. Findings are grouped in `Section`s (a system, a
pool, a graph), and a `Report` is the sections of one run. It renders as text for a terminal or as
JSON (``--json``) for a pipeline; both carry the run's exit status, which each command derives from
the findings its own way (`Report.exit_code`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Literal


class Status(IntEnum):
    """How a check came out, in order of gravity: healthy, degraded but working, failed (or not
    checkable)."""

    OK = 0
    DEGRADED = 1
    FAILED = 2


LABELS = {Status.OK: "ok", Status.DEGRADED: "DEGRADED", Status.FAILED: "FAIL"}
WORDS = {Status.OK: "ok", Status.DEGRADED: "degraded", Status.FAILED: "failed"}


@dataclass(frozen=True)
class Finding:
    """One check's result. `cause` names the likely cause of a problem and where to look; `fix`
    says what to do."""

    check: str
    status: Status
    detail: str
    cause: str = ""
    fix: str = ""

    @property
    def ok(self) -> bool:
        return self.status is Status.OK

    @staticmethod
    def passed(check: str, detail: str) -> Finding:
        return Finding(check, Status.OK, detail)

    @staticmethod
    def failed(check: str, detail: str, fix: str = "", *, cause: str = "") -> Finding:
        return Finding(check, Status.FAILED, detail, cause=cause, fix=fix)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"check": self.check, "status": WORDS[self.status], "detail": self.detail}
        if self.cause:
            out["cause"] = self.cause
        if self.fix:
            out["fix"] = self.fix
        return out


@dataclass(frozen=True)
class Section:
    """The findings about one thing (NATS at an address, the AWS account, a graph); `note` stands in
    for findings when the thing was not checked, and says why."""

    title: str
    findings: Sequence[Finding] = ()
    note: str = ""
    status_of_note: Status = Status.OK  # a note's own status (a system that could not be checked)

    @property
    def status(self) -> Status:
        return max((f.status for f in self.findings), default=self.status_of_note)


ExitPolicy = Literal["any-problem-fails", "gravity"]
# What a preflight's and a verify's overall status mean, in their reports' words.
PREFLIGHT_WORDS = {Status.OK: "passed", Status.DEGRADED: "passed with warnings", Status.FAILED: "failed"}
VERIFY_WORDS = {Status.OK: "healthy", Status.DEGRADED: "degraded but serving", Status.FAILED: "not serving"}


@dataclass(frozen=True)
class Report:
    """One run's sections. `policy` turns them into the exit status: ``any-problem-fails`` exits 1
    when a finding is not ok (and when nothing was checked: nothing says it passed), ``gravity``
    exits with the gravest status (0, 1 or 2)."""

    title: str
    sections: Sequence[Section] = ()
    policy: ExitPolicy = "gravity"
    summaries: dict[Status, str] = field(default_factory=dict)  # what each overall status means here

    @property
    def findings(self) -> list[Finding]:
        return [f for s in self.sections for f in s.findings]

    @property
    def status(self) -> Status:
        return max((s.status for s in self.sections), default=Status.OK)

    @property
    def exit_code(self) -> int:
        if self.policy == "any-problem-fails":
            found = self.findings
            return 0 if found and all(f.ok for f in found) else 1
        return int(self.status)

    def outcome(self) -> str:
        counts = {status: sum(1 for f in self.findings if f.status is status) for status in Status}
        tally = ", ".join(f"{counts[s]} {WORDS[s]}" for s in Status if counts[s] or s is Status.OK)
        meaning = self.summaries.get(self.status, WORDS[self.status])
        checks = len(self.findings)
        return (f"{checks} check{'s' if checks != 1 else ''}: {tally}; result: {meaning} (exit {self.exit_code})"
                if checks else f"no checks ran (exit {self.exit_code})")

    def text(self) -> str:
        """Each section with its findings, one line each (label, check, detail), the cause and the fix
        under a problem, and the outcome."""
        width = max((len(f.check) for f in self.findings), default=0)
        lines = [self.title]
        for section in self.sections:
            head = section.note or self.summaries.get(section.status, WORDS[section.status])
            lines.append(f"{section.title}: {head}")
            for finding in section.findings:
                lines.append(f"  {LABELS[finding.status]:<9} {finding.check:<{width}}  {finding.detail}")
                pad = f"  {'':<9} {'':<{width}}  "
                if finding.cause and not finding.ok:
                    lines.append(f"{pad}likely cause: {finding.cause}")
                if finding.fix and not finding.ok:
                    lines.append(f"{pad}fix: {finding.fix}")
        lines.append(self.outcome())
        return "\n".join(lines) + "\n"

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "status": WORDS[self.status], "exit": self.exit_code,
                "sections": [{"title": s.title, "status": WORDS[s.status], **({"note": s.note} if s.note else {}),
                              "findings": [f.to_json() for f in s.findings]} for s in self.sections]}

    def render(self, as_json: bool = False) -> str:
        return json.dumps(self.to_json(), indent=2) + "\n" if as_json else self.text()


def overall(sections: Iterable[Section]) -> Status:
    return max((s.status for s in sections), default=Status.OK)
