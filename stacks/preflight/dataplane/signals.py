"""Signals during a data-path preflight run: SIGTERM (what `kill`, CI cancellation and a container
stop send) raises KeyboardInterrupt as Ctrl-C does, so the run's `finally` deletes what it created
either way; while that cleanup runs, both are noted and ignored, so a second Ctrl-C does not leave
objects behind. Signal handlers belong to the main thread: elsewhere both are no-ops.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from types import FrameType

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def _handled(handler: Callable[[int, FrameType | None], None]) -> Iterator[None]:
    """SIGINT and SIGTERM go to `handler` inside the block (in the main thread: signals reach no other)."""
    if not _main_thread():
        yield
        return
    previous = {s: signal.signal(s, handler) for s in _SIGNALS}
    try:
        yield
    finally:
        for s, restored in previous.items():
            signal.signal(s, restored)


def interrupts_raise() -> AbstractContextManager[None]:
    """SIGINT and SIGTERM raise KeyboardInterrupt (named after the signal) inside the block."""
    def interrupt(signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    return _handled(interrupt)


def interrupts_deferred() -> AbstractContextManager[None]:
    """SIGINT and SIGTERM are noted on stderr and otherwise ignored inside the block."""
    def note(signum: int, _frame: FrameType | None) -> None:
        print(f"preflight: {signal.Signals(signum).name} ignored while the run cleans up", file=sys.stderr)

    return _handled(note)
