"""Module-level shortcuts for the common one-liners."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from actors.scheduler import Scheduler

__all__ = ["schedule_at", "schedule_once", "schedule_repeating"]


def schedule_once(scheduler: Scheduler, target: Callable[..., Any] | str, args: Sequence[Any], delay: Any) -> int:
    """Run ``target(*args)`` exactly once, ``delay`` (seconds, Duration or timedelta) from now."""
    from timekit import Duration

    if isinstance(delay, bool):
        raise TypeError("delay must be seconds, a Duration or a timedelta, not bool")
    if isinstance(delay, Duration):
        d = delay
    elif hasattr(delay, "total_seconds"):
        d = Duration.from_timedelta(delay)
    else:
        d = Duration.from_seconds(delay)
    if d.micros < 0:
        raise ValueError(f"delay must not be negative, got {d}")
    return scheduler.schedule_at_time(target, args, scheduler.now() + d)


def schedule_repeating(scheduler: Scheduler, target: Callable[..., Any] | str, args: Sequence[Any], interval: Any) -> int:
    """Run ``target(*args)`` every ``interval``, the first one interval from now."""
    return scheduler.schedule_at_interval(target, args, interval)


def schedule_at(scheduler: Scheduler, target: Callable[..., Any] | str, args: Sequence[Any], when: Any) -> int:
    """Run ``target(*args)`` once at ``when`` (Timestamp, aware datetime or Unix seconds)."""
    return scheduler.schedule_at_time(target, args, when)
