"""A secret config value: kept out of reprs, logs and plan artifacts until it becomes an `Output.secret`."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SecretValue:
    """The plain text lives only in memory; `repr`, `str` and equality never show it."""

    key: str
    value: str = field(repr=False, compare=False)

    def __str__(self) -> str:
        return "[secret]"
