"""What `verify --dataplane` asks of the cluster (`Cluster`, which `discovery.Kubectl` is), and the
time limit of the whole run (`Deadline`), which caps every call's own timeout."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol


class Cluster(Protocol):
    def pods(self, namespace: str, selector: str, *, timeout: float | None = None) -> list[dict[str, Any]]: ...

    def logs(self, namespace: str, pod: str, container: str, *, tail: int | None = None,
             limit_bytes: int | None = None, timeout: float | None = None) -> str: ...

    def exec(self, namespace: str, pod: str, container: str, argv: Sequence[str], *,
             timeout: float | None = None) -> str: ...

    def port_forward(self, namespace: str, target: str, port: int) -> AbstractContextManager[int]: ...


class OutOfTime(Exception):
    """The run's time limit is spent: what is left is reported as not checked."""


@dataclass
class Deadline:
    seconds: float
    clock: Callable[[], float] = time.monotonic
    start: float = field(init=False)

    def __post_init__(self) -> None:
        self.start = self.clock()

    def remaining(self) -> float:
        return self.seconds - (self.clock() - self.start)

    def cap(self, timeout: float) -> float:
        """`timeout`, or what is left of the run when that is less; OutOfTime when nothing is."""
        left = self.remaining()
        if left <= 0:
            raise OutOfTime(f"the run's time limit of {self.seconds:g} s is spent (--dataplane-timeout)")
        return min(timeout, left)
