"""What the API accepts as a schedule's ``when``, as a `ScheduleAt`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from timekit import Duration, ScheduleAt, Timestamp

__all__ = ["first_due", "to_trigger"]


def to_trigger(when: Any) -> ScheduleAt:
    """What `Scheduler.schedule` accepts as ``when``, as a `ScheduleAt`.

    A ScheduleAt is used as is; a Timestamp or aware datetime fires once; a
    Duration, timedelta, number of seconds or duration text ("250ms") repeats.
    """
    if isinstance(when, ScheduleAt):
        return when
    if isinstance(when, Timestamp | datetime):
        return ScheduleAt.at_time(when)
    if isinstance(when, str):
        try:
            every = Duration.parse(when)
        except ValueError:
            raise ValueError(
                f"when={when!r} is not a duration; pass a ScheduleAt, Timestamp, aware datetime, "
                "Duration, timedelta or seconds"
            ) from None
        return ScheduleAt.at_interval(every)
    if isinstance(when, bool) or not isinstance(when, Duration | timedelta | int | float):
        raise TypeError(
            f"when must be a ScheduleAt, Timestamp, aware datetime, Duration, timedelta or seconds, "
            f"not {type(when).__name__}"
        )
    return ScheduleAt.at_interval(when)


def first_due(trigger: ScheduleAt, now: int) -> tuple[int, ScheduleAt]:
    """The first firing of a schedule created (or updated) at ``now``, and its
    trigger with an unanchored interval anchored at ``now``. ValueError for a
    trigger that would never fire (`ScheduleAt.first_fire_us`)."""
    first = trigger.first_fire_us(now)  # a time already past fires at once
    if trigger.is_interval() and trigger.start is None:
        trigger = trigger.anchored(Timestamp.from_micros(now))
    return first, trigger
