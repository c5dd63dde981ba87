"""The one duration rule (`Duration.coerce` / `coerce_us`) and the one trigger rule
(`ScheduleAt.coerce`), with the helpers built on them (`first_due`, `coalesce`)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import timekit.schedule
from timekit import Duration, OutOfRangeError, ScheduleAt, Timestamp
from timekit.duration import coerce_us

# --------------------------------------------------------------------------- Duration.coerce


@pytest.mark.parametrize(
    ("value", "micros"),
    [
        (Duration(7), 7),
        (timedelta(milliseconds=3, microseconds=1), 3_001),
        (2, 2_000_000),
        (0.25, 250_000),
        (8.2, 8_200_000),  # exact half-to-even, never 8199999
        (Fraction(1, 3), 333_333),
        (Decimal("1.5"), 1_500_000),
        ("250ms", 250_000),
        ("1h30m", 5_400_000_000),
        ("PT5S", 5_000_000),
        (" 2s ", 2_000_000),
        ("0", 0),
    ],
)
def test_coerce_accepts_every_duration_form(value: object, micros: int) -> None:
    assert Duration.coerce(value) == Duration(micros)
    assert coerce_us(value) == micros


def test_a_duration_that_meets_the_bound_is_returned_as_is() -> None:
    d = Duration(5)
    assert Duration.coerce(d, minimum=1) is d
    assert Duration.coerce(d) is d


def test_fraction_and_decimal_pass_where_policy_used_to_refuse_them() -> None:
    """The six old converters disagreed: a Fraction passed timekit's and failed policy.py's."""
    assert coerce_us(Fraction(3, 2), "timeout", minimum=1) == 1_500_000
    assert coerce_us(Decimal("0.000001"), "timeout", minimum=1) == 1


@pytest.mark.parametrize("minimum", [0, 1, None])
@pytest.mark.parametrize("value", [True, False])
def test_bool_is_refused_with_type_error_whatever_the_bound(value: bool, minimum: int | None) -> None:
    with pytest.raises(TypeError, match=r"^delay must be a Duration, a timedelta or a number of seconds.*not bool"):
        Duration.coerce(value, "delay", minimum=minimum)


@pytest.mark.parametrize("value", [None, b"5s", [1], object(), 1j, Timestamp(0)])
def test_other_types_are_refused_saying_what_to_pass(value: object) -> None:
    with pytest.raises(TypeError, match=r"^jitter must be a Duration, a timedelta or a number of seconds .*'250ms'"):
        coerce_us(value, "jitter")


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, Decimal("NaN"), Decimal("-Infinity")])
def test_non_finite_numbers_are_refused(value: object) -> None:
    with pytest.raises(ValueError, match=r"^Interval must be positive and finite"):
        coerce_us(value, "Interval", minimum=1)
    with pytest.raises(ValueError, match=r"^timeout must be non-negative and finite"):
        coerce_us(value, "timeout")
    with pytest.raises(ValueError, match=r"^by must be finite, got"):
        coerce_us(value, "by", minimum=None)


def test_the_lower_bound_is_a_parameter() -> None:
    assert coerce_us(0, "grace") == 0
    assert coerce_us(-5, "offset", minimum=None) == -5_000_000
    assert coerce_us("-5s", "offset", minimum=None) == -5_000_000
    with pytest.raises(ValueError, match=r"^grace must not be negative, got -1 \(-1000000 us\); pass 0 or more"):
        coerce_us(-1, "grace")
    with pytest.raises(ValueError, match=r"^Interval must be positive, got 0 \(0 us\); pass at least 1 microsecond"):
        coerce_us(0, "Interval", minimum=1)
    with pytest.raises(ValueError, match=r"^Interval must be positive, got 1e-09 \(0 us\)"):
        coerce_us(1e-9, "Interval", minimum=1)  # rounds to zero microseconds
    with pytest.raises(ValueError, match=r"^Interval must be positive, got '0s'"):
        coerce_us("0s", "Interval", minimum=1)
    with pytest.raises(ValueError, match=r"^Interval must be positive, got Duration\(micros=-3\)"):
        Duration.coerce(Duration(-3), "Interval", minimum=1)
    with pytest.raises(ValueError, match=r"^step must be at least 1000 us, got 0.0005 \(500 us\)"):
        coerce_us(0.0005, "step", minimum=1000)


def test_bad_text_names_the_parameter_and_the_accepted_forms() -> None:
    with pytest.raises(ValueError, match=r"^timeout: Invalid duration '5 parsecs': use compact text"):
        coerce_us("5 parsecs", "timeout")
    with pytest.raises(ValueError, match=r"^timeout: Invalid duration '5'"):
        coerce_us("5", "timeout")  # text needs a unit: a bare number is not a duration


def test_out_of_range_names_the_parameter() -> None:
    with pytest.raises(OutOfRangeError, match=r"^Interval: Duration of .* is out of range"):
        coerce_us(1e30, "Interval", minimum=1)
    with pytest.raises(OutOfRangeError, match=r"^Interval: Duration of .* is out of range"):
        coerce_us(10**13, "Interval", minimum=1)  # an int: the fast path checks the range too
    with pytest.raises(OutOfRangeError, match=r"^d: Duration of"):
        coerce_us(timedelta.max, "d")


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.integers(-(10**9), 10**9),
        st.floats(-1e9, 1e9, allow_nan=False),
        st.fractions(max_denominator=10**7).filter(lambda f: abs(f) < 10**9),
        st.decimals(-(10**9), 10**9, allow_nan=False, allow_infinity=False, places=7),
        st.timedeltas(min_value=timedelta(days=-10**8), max_value=timedelta(days=10**8)),
    )
)
def test_coerce_agrees_with_the_exact_factories(value: object) -> None:
    expected = Duration.from_timedelta(value) if isinstance(value, timedelta) else Duration.from_seconds(value)  # type: ignore[arg-type]
    assert Duration.coerce(value, minimum=None) == expected
    assert Duration.coerce(expected.format_precise(), minimum=None) == expected  # and its text


# --------------------------------------------------------------------------- ScheduleAt.coerce


def test_trigger_coerce_keeps_a_schedule_and_turns_instants_into_one_shots() -> None:
    cron = ScheduleAt.cron("*/5 * * * *")
    assert ScheduleAt.coerce(cron) is cron
    assert ScheduleAt.coerce(Timestamp(5)) == ScheduleAt.at_time(Timestamp(5))
    aware = datetime(2026, 1, 1, tzinfo=UTC)
    assert ScheduleAt.coerce(aware) == ScheduleAt.at_time(aware)
    with pytest.raises(ValueError, match="attach a tzinfo"):
        ScheduleAt.coerce(datetime(2026, 1, 1))


@pytest.mark.parametrize("when", [2, 2.0, Fraction(2), Decimal(2), timedelta(seconds=2), Duration(2_000_000), "2s", "PT2S"])
def test_trigger_coerce_turns_durations_into_unanchored_intervals(when: object) -> None:
    t = ScheduleAt.coerce(when)
    assert t == ScheduleAt.at_interval(2)
    assert t.start is None


@pytest.mark.parametrize("when", [0, -1, "0s", "-1s", math.nan, timedelta(0), Duration(0)])
def test_trigger_coerce_refuses_non_positive_intervals(when: object) -> None:
    with pytest.raises(ValueError, match=r"^Interval must be positive"):
        ScheduleAt.coerce(when)


@pytest.mark.parametrize("when", [True, None, [1], b"1s", object()])
def test_trigger_coerce_type_errors_name_the_parameter(when: object) -> None:
    with pytest.raises(TypeError, match=r"^trigger must be a ScheduleAt, a Timestamp or an aware datetime \(once\)"):
        ScheduleAt.coerce(when, "trigger")


def test_at_interval_takes_duration_text_like_every_duration_parameter() -> None:
    assert ScheduleAt.at_interval("250ms") == ScheduleAt.at_interval(Duration.from_millis(250))
    assert ScheduleAt.at_interval(Fraction(1, 4)) == ScheduleAt.at_interval(0.25)
    with pytest.raises(ValueError, match=r"^Interval: Invalid duration '5'"):
        ScheduleAt.at_interval("5")


# --------------------------------------------------------------------------- first_due

NOW = Timestamp.parse("2026-03-29T00:00:00Z").micros


def test_first_due_anchors_an_unanchored_interval_at_now() -> None:
    first, t = ScheduleAt.at_interval(10).first_due(NOW)
    assert first == NOW + 10_000_000
    assert t == ScheduleAt.at_interval(10, start=Timestamp(NOW))
    assert t.next_fire_us(first) == first + 10_000_000


def test_first_due_keeps_an_anchored_interval_on_its_grid() -> None:
    start = Timestamp(NOW - 25_000_000)
    trig = ScheduleAt.at_interval(10, start=start)
    assert trig.first_due(NOW) == (NOW + 5_000_000, trig)


def test_first_due_of_other_kinds_is_their_first_firing_and_the_same_trigger() -> None:
    past = ScheduleAt.at_time(Timestamp(NOW - 1))
    assert past.first_due(NOW) == (NOW - 1, past)  # a time already past fires at once
    daily = ScheduleAt.daily(2, 30, tz="Europe/Paris")
    assert daily.first_due(NOW) == (daily.first_fire_us(NOW), daily)
    cron = ScheduleAt.cron("0 9 * * 1-5")
    assert cron.first_due(NOW)[1] is cron


def test_first_due_refuses_a_trigger_that_would_never_run() -> None:
    with pytest.raises(ValueError, match="would never run"):
        ScheduleAt.at_interval(Duration.MAX).first_due(NOW)
    with pytest.raises(TypeError, match=r"first_due\(\) needs int microseconds"):
        ScheduleAt.at_interval(1).first_due(1.5)  # type: ignore[arg-type]
    with pytest.raises(OutOfRangeError):
        ScheduleAt.at_interval(1).first_due(Timestamp.MIN.micros - 1)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 10**12), st.integers(Timestamp.MIN.micros, Timestamp.MAX.micros))
def test_first_due_is_first_fire_us_and_anchored(every_us: int, now_us: int) -> None:
    """The interval fast path answers as the general definition does, errors included."""
    trig = ScheduleAt.at_interval(Duration(every_us))
    try:
        expected = (trig.first_fire_us(now_us), trig.anchored(Timestamp(now_us)))
    except ValueError as exc:
        with pytest.raises(type(exc), match="would never run"):
            trig.first_due(now_us)
        return
    assert trig.first_due(now_us) == expected


# --------------------------------------------------------------------------- coalesce


def test_coalesce_an_interval_in_one_step() -> None:
    trig = ScheduleAt.at_interval(10, start=Timestamp(0))
    assert trig.coalesce(10_000_000, 10_000_000) == (10_000_000, 1)  # only the due one
    assert trig.coalesce(10_000_000, 45_000_000) == (40_000_000, 4)
    assert trig.coalesce(10_000_000, 10**15) == (10**15, 10**8 - 1 + 1)


def test_coalesce_walks_a_calendar_trigger() -> None:
    cron = ScheduleAt.cron("*/15 * * * *")
    due = Timestamp.parse("2026-01-01T00:00:00Z").micros
    now = Timestamp.parse("2026-01-01T01:07:00Z").micros
    assert cron.coalesce(due, now) == (Timestamp.parse("2026-01-01T01:00:00Z").micros, 5)
    once = ScheduleAt.at_time(Timestamp(due))
    assert once.coalesce(due, now) == (due, 1)


def test_coalesce_stops_walking_at_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timekit.schedule, "_COALESCE_WALK_LIMIT", 3)
    cron = ScheduleAt.cron("* * * * *")
    latest, count = cron.coalesce(0, 3_600_000_000)
    assert (latest, count) == (120_000_000, 3)  # three firings reached, still before now
    assert cron.next_fire_us(latest) == 180_000_000


def test_coalesce_checks_its_arguments() -> None:
    trig = ScheduleAt.at_interval(1, start=Timestamp(0))
    with pytest.raises(ValueError, match=r"coalesce\(\) needs due_us <= now_us"):
        trig.coalesce(5, 4)
    with pytest.raises(ValueError, match=r"coalesce\(\) needs due_us <= now_us"):
        ScheduleAt.cron("* * * * *").coalesce(5, 4)
    with pytest.raises(TypeError, match=r"coalesce\(\) needs int microseconds"):
        trig.coalesce(1.0, 4)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(
    every_us=st.integers(1, 10**9),
    start_us=st.integers(-(10**12), 10**12),
    k=st.integers(1, 50),
    gap_us=st.integers(0, 10**10),
)
def test_coalesce_of_an_interval_matches_walking_it(every_us: int, start_us: int, k: int, gap_us: int) -> None:
    """The interval's one-step answer is what walking its firings gives (the general rule)."""
    trig = ScheduleAt.at_interval(Duration(every_us), start=Timestamp(start_us))
    due = start_us + k * every_us
    now = due + min(gap_us, every_us * 200)  # keep the walk short
    latest, count = trig.coalesce(due, now)
    assert (latest, count) == ScheduleAt.coalesce(trig, due, now)  # the walking base method
    assert due <= latest <= now < latest + every_us
    assert count == (latest - due) // every_us + 1


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["*/7 * * * *", "0 9 * * 1-5", "30 2 * * *"]), st.integers(0, 10 * 86_400_000_000))
def test_coalesce_of_a_calendar_trigger_returns_the_latest_due_firing(expr: str, gap_us: int) -> None:
    cron = ScheduleAt.cron(expr, tz="Europe/Paris")
    due = cron.next_fire_us(NOW)
    assert due is not None
    now = due + gap_us
    latest, count = cron.coalesce(due, now)
    assert due <= latest <= now
    nxt = cron.next_fire_us(latest)
    assert nxt is None or nxt > now
    walked, n = due, 1
    while walked != latest:
        walked = cron.next_fire_us(walked)  # type: ignore[assignment]
        n += 1
    assert n == count
