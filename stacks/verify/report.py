"""What `verify` found: findings with a status, rendered as one report, and the exit status."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum


class Status(IntEnum):
    """Also the exit status: 0 healthy, 1 degraded but serving, 2 not serving (or not checkable)."""

    OK = 0
    DEGRADED = 1
    DOWN = 2


_LABEL = {Status.OK: "ok", Status.DEGRADED: "DEGRADED", Status.DOWN: "DOWN"}
_SUMMARY = {Status.OK: "healthy", Status.DEGRADED: "degraded but serving", Status.DOWN: "not serving"}


@dataclass(frozen=True)
class Finding:
    """One check's result; `cause` names the likely cause of a problem and where to look."""

    check: str
    status: Status
    detail: str
    cause: str = ""


@dataclass(frozen=True)
class Section:
    """The findings for one system (NATS, etcd) at one address."""

    title: str
    findings: Sequence[Finding]
    note: str = ""  # instead of findings: why the system was not checked

    @property
    def status(self) -> Status:
        return max((f.status for f in self.findings), default=Status.OK)


def overall(sections: Iterable[Section]) -> Status:
    return max((s.status for s in sections), default=Status.OK)


def render(sections: Sequence[Section]) -> str:
    width = max((len(f.check) for s in sections for f in s.findings), default=0)
    lines: list[str] = []
    for section in sections:
        lines.append(f"{section.title}: {section.note or _SUMMARY[section.status]}")
        for finding in section.findings:
            lines.append(f"  {_LABEL[finding.status]:<9} {finding.check:<{width}}  {finding.detail}")
            if finding.cause and finding.status is not Status.OK:
                lines.append(f"  {'':<9} {'':<{width}}  likely cause: {finding.cause}")
        lines.append("")
    status = overall(sections)
    lines.append(f"result: {_SUMMARY[status]} (exit {int(status)})")
    return "\n".join(lines) + "\n"
