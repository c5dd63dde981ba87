"""ScheduleState: the per-schedule lateness window and the rarely-set fields."""

from __future__ import annotations

from actors.state import LATENCY_WINDOW, ScheduleState
from timekit import ScheduleAt


def _state() -> ScheduleState:
    return ScheduleState(
        1, name="t", target=print, fn=print, args=(), kwargs={}, trigger=ScheduleAt.at_interval(1),
        created_us=0, first_due_us=1_000_000, metadata={},
    )


def test_lateness_window_keeps_the_last_executions_exactly() -> None:
    s = _state()
    hour = 3_600_000_000
    s.record_lateness(5)
    assert s.late_ring is not None and s.late_ring.typecode == "i"  # 32-bit while values fit
    s.record_lateness(hour)
    s.record_lateness(-hour)
    assert s.late_max == hour  # exact
    # Beyond ±35 minutes the window widens to 64 bits: the percentiles used to read
    # 2**31 - 1 µs (35.8 min) here.
    assert s.late_ring.typecode == "q"  # type: ignore[union-attr]
    assert s.lateness_percentile(1.0) == hour
    assert s.lateness_percentile(0.0) == -hour
    assert s.lateness_percentile(0.5) == 5
    for i in range(LATENCY_WINDOW):
        s.record_lateness(i)
    assert sorted(s.late_ring or []) == list(range(LATENCY_WINDOW))
    assert s.lateness_percentile(0.5) in (31, 32)
    years = 26 * 365 * 86_400_000_000
    s.record_lateness(years)  # into a full window: replaces the oldest
    assert sorted(s.late_ring or [])[-1] == years and len(s.late_ring or []) == LATENCY_WINDOW
    assert s.lateness_percentile(1.0) == years


def test_a_window_filled_with_32_bit_values_widens_in_place() -> None:
    s = _state()
    for i in range(LATENCY_WINDOW):
        s.record_lateness(i)
    assert s.late_ring is not None and s.late_ring.typecode == "i"
    s.record_lateness(2**40)
    assert s.late_ring.typecode == "q"  # type: ignore[union-attr]
    assert sorted(s.late_ring or []) == list(range(1, LATENCY_WINDOW)) + [2**40]


def test_rare_fields_cost_nothing_until_set() -> None:
    s = _state()
    assert s._rare is None
    assert (s.message, s.retries, s.last_error, s.metadata, s.unresolved) == (None, 0, None, {}, False)
    s.catch_up_run = 0  # a default: still nothing allocated
    assert s._rare is None
    s.retries = 2
    assert s._rare is not None and s.retries == 2 and s.message is None
    assert not s.is_async and s.kind == "call"
