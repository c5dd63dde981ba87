"""Module-level shortcuts for the common one-liners."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from actors.scheduler import Scheduler
from timekit import Duration

__all__ = ["schedule_at", "schedule_once", "schedule_repeating"]


def schedule_once(scheduler: Scheduler, target: Callable[..., Any] | str, args: Sequence[Any], delay: Any) -> int:
    """Run ``target(*args)`` exactly once, ``delay`` from now (anything `Duration.coerce`
    takes: seconds, a Duration, a timedelta or text such as "250ms"; not negative)."""
    return scheduler.schedule_at_time(target, args, scheduler.now() + Duration.coerce(delay, "delay"))


def schedule_repeating(scheduler: Scheduler, target: Callable[..., Any] | str, args: Sequence[Any], interval: Any) -> int:
    """Run ``target(*args)`` every ``interval``, the first one interval from now."""
    return scheduler.schedule_at_interval(target, args, interval)


def schedule_at(scheduler: Scheduler, target: Callable[..., Any] | str, args: Sequence[Any], when: Any) -> int:
    """Run ``target(*args)`` once at ``when`` (Timestamp, aware datetime or Unix seconds)."""
    return scheduler.schedule_at_time(target, args, when)
