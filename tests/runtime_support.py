"""Shared helpers for runtime tests (importable because pytest's pythonpath has tests/)."""

from __future__ import annotations

from actors import Scheduler
from timekit import Duration, Timestamp, VirtualClock

#: A Monday, so weekday cron expressions are easy to count.
START = Timestamp.parse("2026-01-05T00:00:00Z")


def run_for(sched: Scheduler, clock: VirtualClock, seconds: float) -> None:
    """Advance virtual time and wait until everything due has run."""
    clock.advance(Duration.from_seconds(seconds))
    assert sched.wait_idle(timeout=60), "the runtime did not go idle"
