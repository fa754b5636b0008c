"""A secret value: kept out of reprs, logs and plan artifacts until it becomes an `Output.secret`.
Config readers make them from `pulumi config set --secret` values; components take them where a
secret goes into a Kubernetes Secret."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SecretValue:
    """The plain text lives only in memory; `repr`, `str` and equality never show it."""

    key: str
    value: str = field(repr=False, compare=False)

    def __str__(self) -> str:
        return "[secret]"
