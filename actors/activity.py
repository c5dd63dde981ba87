"""Counting work in flight, so `Scheduler.wait_idle` knows when everything due has run."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["Activity"]


class Activity:
    """A counter of outstanding work with a wait-for-zero.

    Every unit of work the runtime starts (a tick sent, a schedule actor starting)
    holds one token until its last effect is visible: the execution ran, its result
    was recorded and callbacks ran, and the next deadline was told to the clock actor.
    """

    __slots__ = ("_cond", "_count", "_lock", "on_zero", "ops")

    def __init__(self) -> None:
        # add/done take the raw lock (a C-level context manager); waiters use the
        # condition built on that same lock.
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._count = 0
        #: Tokens added and released so far: changes whenever work makes progress.
        self.ops = 0
        #: Called (outside the lock) each time the count drops to zero.
        self.on_zero: Callable[[], None] | None = None

    def add(self, n: int = 1) -> None:
        with self._lock:
            self._count += n
            self.ops += 1

    def done(self, n: int = 1) -> None:
        with self._lock:
            self._count -= n
            self.ops += 1
            if self._count > 0:
                return
            self._count = 0
            self._cond.notify_all()
        if self.on_zero is not None:
            self.on_zero()

    @property
    def count(self) -> int:
        return self._count

    def wait_zero(self, deadline: float | None) -> bool:
        """Block until the count is zero or ``deadline`` (time.monotonic) passes."""
        with self._cond:
            while self._count > 0:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True
