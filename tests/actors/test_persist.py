"""actors.persist: a stored record back into schedule state (policy and missed firings)."""

from __future__ import annotations

from typing import Any

from actors.persist import from_record, to_record
from actors.policy import DEFAULT_POLICY
from actors.results import ScheduleStatus
from actors.store import StoredSchedule
from timekit import ScheduleAt, Timestamp

SEC = 1_000_000
T0 = Timestamp.parse("2026-01-01T00:00:00Z").micros


def _record(trigger: ScheduleAt, **fields: Any) -> StoredSchedule:
    return StoredSchedule(
        id=7, name="job", target="job", trigger=trigger.to_dict(), created_us=T0, next_due_us=T0 + 10 * SEC, **fields
    )


def _resolve(name: str) -> Any:
    return print


def test_a_default_record_shares_the_default_policy() -> None:
    s = from_record(_record(ScheduleAt.at_interval(10, start=Timestamp(T0))), _resolve, T0)
    assert s.policy is DEFAULT_POLICY


def test_stored_durations_come_back_to_the_microsecond() -> None:
    """They used to go through float seconds, losing the last microseconds of long spans."""
    big = 10**17 + 1
    rec = _record(ScheduleAt.at_interval(10), misfire="catch_up", misfire_grace_us=big, timeout_us=big, jitter_us=3)
    p = from_record(rec, _resolve, T0).policy
    assert (p.misfire, p.grace_us, p.timeout_us, p.jitter_us) == ("catch_up", big, big, 3)
    back = to_record(from_record(rec, _resolve, T0))
    assert (back.misfire_grace_us, back.timeout_us, back.jitter_us) == (big, big, 3)


def test_skip_counts_the_firings_missed_while_down_and_continues_after_now() -> None:
    trig = ScheduleAt.at_interval(10, start=Timestamp(T0))
    s = from_record(_record(trig, misfire="skip"), _resolve, T0 + 45 * SEC)
    assert s.missed_count == 4  # 10, 20, 30, 40 s came due while nothing ran
    assert s.next_due_us == T0 + 50 * SEC
    assert s.status is ScheduleStatus.PENDING


def test_skip_walks_a_calendar_trigger_and_completes_a_past_one_shot() -> None:
    cron = ScheduleAt.cron("*/15 * * * *")
    rec = StoredSchedule(
        id=8, name="c", target="c", trigger=cron.to_dict(), created_us=T0, next_due_us=T0 + 900 * SEC, misfire="skip"
    )
    s = from_record(rec, _resolve, T0 + 3_700 * SEC)  # 00:15, 00:30, 00:45, 01:00 passed
    assert (s.missed_count, s.next_due_us) == (4, T0 + 4_500 * SEC)
    once = ScheduleAt.at_time(Timestamp(T0 + 10 * SEC))
    s = from_record(_record(once, misfire="skip"), _resolve, T0 + 20 * SEC)
    assert (s.missed_count, s.next_due_us, s.status) == (1, None, ScheduleStatus.COMPLETED)
