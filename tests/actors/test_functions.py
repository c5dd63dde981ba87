"""actors.functions: the module shortcuts take durations by the one rule (Duration.coerce)."""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction

import pytest
from runtime_support import START

from actors import Scheduler, schedule_once
from timekit import Duration, VirtualClock


@pytest.mark.parametrize("delay", [2, 2.0, Fraction(2), timedelta(seconds=2), Duration.from_seconds(2), "2s", "PT2S"])
def test_schedule_once_takes_every_duration_form(sched: Scheduler, clock: VirtualClock, delay: object) -> None:
    sid = schedule_once(sched, print, (), delay)
    info = sched.get_schedule(sid)
    assert info is not None and info.next_execution == START + Duration.from_seconds(2)


@pytest.mark.parametrize(
    ("delay", "exc", "message"),
    [
        (-1, ValueError, r"^delay must not be negative, got -1"),
        ("-1s", ValueError, r"^delay must not be negative, got '-1s'"),
        (True, TypeError, r"^delay must be a Duration, a timedelta or a number of seconds.*not bool"),
        (None, TypeError, r"^delay must be a Duration, a timedelta or a number of seconds.*not NoneType"),
        (float("nan"), ValueError, r"^delay must be non-negative and finite"),
        ("soon", ValueError, r"^delay: Invalid duration 'soon'"),
    ],
)
def test_schedule_once_refuses_bad_delays(sched: Scheduler, delay: object, exc: type[Exception], message: str) -> None:
    with pytest.raises(exc, match=message):
        schedule_once(sched, print, (), delay)
    assert sched.list_schedules() == []  # nothing scheduled
