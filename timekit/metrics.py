"""Precise elapsed-time measurement: PrecisionTimer and TimeMetrics.

Both read ``time.perf_counter_ns`` and report exact :class:`Duration` values
(nanoseconds rounded half-to-even to microseconds).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

from timekit.duration import Duration

__all__ = ["MeasurementToken", "PrecisionTimer", "TimeMetrics"]

_perf_ns = time.perf_counter_ns


def _ns_to_us(ns: int) -> int:
    """Nanoseconds to microseconds, rounded half-to-even."""
    q, r = divmod(ns, 1000)
    if r > 500 or (r == 500 and q & 1):
        q += 1
    return q


class PrecisionTimer:
    """A stopwatch on ``time.perf_counter_ns``; also a context manager.

    ``start()`` begins a new measurement, ``stop()`` ends it and returns it,
    ``elapsed()`` reads it while running or after stopping, ``reset()`` forgets
    it. Not meant to be shared between threads.
    """

    __slots__ = ("_start", "_stop")

    def __init__(self) -> None:
        self._start: int | None = None
        self._stop: int | None = None

    @property
    def running(self) -> bool:
        """True between start() and stop()."""
        return self._start is not None and self._stop is None

    def start(self) -> PrecisionTimer:
        """Start a new measurement (RuntimeError if one is running)."""
        if self.running:
            raise RuntimeError("PrecisionTimer is already running: call stop() or reset() before start()")
        self._stop = None
        self._start = _perf_ns()
        return self

    def stop(self) -> Duration:
        """Stop the running measurement and return it."""
        now = _perf_ns()
        if self._start is None:
            raise RuntimeError("PrecisionTimer.stop() called before start(): call start() first")
        if self._stop is not None:
            raise RuntimeError("PrecisionTimer.stop() called on a stopped timer: call start() to measure again")
        self._stop = now
        return Duration(_ns_to_us(now - self._start))

    def elapsed(self) -> Duration:
        """Time since start() (running) or between start() and stop() (stopped)."""
        if self._start is None:
            raise RuntimeError("PrecisionTimer.elapsed() called before start(): call start() first")
        end = self._stop if self._stop is not None else _perf_ns()
        return Duration(_ns_to_us(end - self._start))

    def reset(self) -> None:
        """Forget any measurement; the timer is as new."""
        self._start = None
        self._stop = None

    def __enter__(self) -> PrecisionTimer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.running:
            self.stop()

    def __repr__(self) -> str:
        if self._start is None:
            return "PrecisionTimer(not started)"
        state = "running" if self._stop is None else "stopped"
        return f"PrecisionTimer({state}, elapsed={self.elapsed().format_human_readable()})"


class MeasurementToken:
    """Handle for one in-flight measurement from :meth:`TimeMetrics.start_measurement`."""

    __slots__ = ("_id", "_owner", "name", "start_ns")

    def __init__(self, owner: TimeMetrics, ident: int, name: str, start_ns: int) -> None:
        self._owner = owner
        self._id = ident
        self.name = name
        self.start_ns = start_ns

    def __repr__(self) -> str:
        return f"MeasurementToken(name={self.name!r}, id={self._id})"


def _check_name(name: object, what: str) -> str:
    if not isinstance(name, str):
        raise TypeError(f"{what} needs a str measurement name, not {type(name).__name__} ({name!r})")
    return name


class TimeMetrics:
    """Named elapsed-time measurements; safe to use from many threads (one lock).

    Overlapping measurements of one name are fine: each ``start_measurement``
    returns its own token for ``end_measurement``.
    """

    __slots__ = ("_durations", "_ids", "_lock", "_open")


    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._durations: dict[str, list[int]] = {}
        self._open: set[int] = set()
        self._ids = itertools.count()

    def start_measurement(self, name: str) -> MeasurementToken:
        """Start measuring ``name``; pass the token to :meth:`end_measurement`."""
        _check_name(name, "start_measurement()")
        with self._lock:
            ident = next(self._ids)
            self._open.add(ident)
        return MeasurementToken(self, ident, name, _perf_ns())

    def end_measurement(self, token: MeasurementToken) -> Duration:
        """End a measurement, record it under its name and return it."""
        end = _perf_ns()
        if not isinstance(token, MeasurementToken):
            raise TypeError(
                f"end_measurement() needs the token returned by start_measurement(), not {type(token).__name__}"
            )
        if token._owner is not self:
            raise ValueError("end_measurement(): this token was started by another TimeMetrics; end it there")
        us = _ns_to_us(end - token.start_ns)
        with self._lock:
            if token._id not in self._open:
                raise ValueError(
                    f"end_measurement(): measurement {token.name!r} was already ended; "
                    "start a new one with start_measurement()"
                )
            self._open.discard(token._id)
            self._durations.setdefault(token.name, []).append(us)
        return Duration(us)

    @contextmanager
    def measure(self, name: str) -> Iterator[MeasurementToken]:
        """Context manager recording the time spent in its block (also when it raises)."""
        token = self.start_measurement(name)
        try:
            yield token
        finally:
            self.end_measurement(token)

    def get_measurements(self, name: str) -> list[Duration]:
        """All recorded durations of ``name``, oldest first ([] if none)."""
        _check_name(name, "get_measurements()")
        with self._lock:
            values = list(self._durations.get(name, ()))
        return [Duration(v) for v in values]

    def get_total_duration(self, name: str) -> Duration:
        """Sum of the recorded durations of ``name`` (zero if none)."""
        _check_name(name, "get_total_duration()")
        with self._lock:
            total = sum(self._durations.get(name, ()))
        return Duration(total)

    def get_average_duration(self, name: str) -> Duration | None:
        """Mean of the recorded durations (rounded half-to-even), or None if none."""
        _check_name(name, "get_average_duration()")
        with self._lock:
            values = self._durations.get(name)
            if not values:
                return None
            total, n = sum(values), len(values)
        q, r = divmod(total, n)
        if 2 * r > n or (2 * r == n and q & 1):
            q += 1
        return Duration(q)

    def names(self) -> list[str]:
        """Names with at least one recorded measurement, in first-recorded order."""
        with self._lock:
            return [k for k, v in self._durations.items() if v]

    def clear(self, name: str | None = None) -> None:
        """Forget the recorded durations of ``name``, or of every name when None.

        Measurements still in flight stay valid and are recorded when ended.
        """
        if name is not None:
            _check_name(name, "clear()")
        with self._lock:
            if name is None:
                self._durations.clear()
            else:
                self._durations.pop(name, None)

    def __repr__(self) -> str:
        with self._lock:
            counts = {k: len(v) for k, v in self._durations.items() if v}
            in_flight = len(self._open)
        return f"TimeMetrics(counts={counts}, in_flight={in_flight})"
