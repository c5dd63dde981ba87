"""Tests for timekit.schedule.ScheduleAt."""

from __future__ import annotations

import copy
import math
import pickle
from datetime import date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from timekit import Duration, ScheduleAt, Timestamp

UTC = timezone.utc
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US_PER_DAY = 86_400_000_000
MAX_US = Timestamp.MAX.micros

#: IANA zones with DST (current or historic), including odd ones: 30-min DST
#: (Lord_Howe), DST at midnight (Havana, Sao_Paulo, Santiago, Asuncion), negative
#: DST (Dublin), 2-hour DST (Troll), Ramadan suspensions (Casablanca, Gaza),
#: +12:45 (Chatham), -03:30 (St_Johns).
DST_ZONES = [
    "Europe/Paris",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Lisbon",
    "Europe/Chisinau",
    "Europe/Moscow",
    "America/New_York",
    "America/Los_Angeles",
    "America/St_Johns",
    "America/Sao_Paulo",
    "America/Santiago",
    "America/Havana",
    "America/Asuncion",
    "America/Nuuk",
    "America/Scoresbysund",
    "Australia/Sydney",
    "Australia/Adelaide",
    "Australia/Lord_Howe",
    "Pacific/Auckland",
    "Pacific/Chatham",
    "Asia/Tehran",
    "Asia/Jerusalem",
    "Asia/Gaza",
    "Asia/Amman",
    "Africa/Casablanca",
    "Antarctica/Troll",
]

YEAR_1970_US = 0
YEAR_2100_US = int((datetime(2100, 1, 1, tzinfo=UTC) - EPOCH) / timedelta(microseconds=1))


def us_of(dt: datetime) -> int:
    return (dt - EPOCH) // timedelta(microseconds=1)


def dt_of(us: int, tz: object = UTC) -> datetime:
    return (EPOCH + timedelta(microseconds=us)).astimezone(tz)  # type: ignore[arg-type]


def fold0_us(naive: datetime, tz: ZoneInfo) -> int:
    return us_of(naive.replace(tzinfo=tz, fold=0))


def is_imaginary(naive: datetime, tz: ZoneInfo) -> bool:
    return dt_of(fold0_us(naive, tz), tz).replace(tzinfo=None) != naive


def iterate(s: ScheduleAt, after_us: int, n: int) -> list[int]:
    out = []
    for _ in range(n):
        nxt = s.next_fire_us(after_us)
        if nxt is None:
            break
        assert nxt > after_us
        out.append(nxt)
        after_us = nxt
    return out


# =========================================================================== construction / errors


def test_direct_instantiation_is_refused() -> None:
    with pytest.raises(TypeError, match=r"use ScheduleAt\.at_time"):
        ScheduleAt()


def test_values_are_immutable() -> None:
    s = ScheduleAt.daily(3)
    with pytest.raises(AttributeError, match="immutable"):
        s._h = 4  # type: ignore[attr-defined]
    with pytest.raises(AttributeError, match="immutable"):
        s.foo = 1  # type: ignore[attr-defined]
    with pytest.raises(AttributeError, match="immutable"):
        del s._h  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "when",
    [
        Timestamp(1_700_000_000_000_000),
        datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC),
        datetime(2023, 11, 14, 23, 13, 20, tzinfo=ZoneInfo("Europe/Paris")),
        1_700_000_000,
        1_700_000_000.0,
    ],
)
def test_at_time_accepts_instants(when: object) -> None:
    s = ScheduleAt.at_time(when)  # type: ignore[arg-type]
    assert s.when == Timestamp(1_700_000_000_000_000)
    assert s.is_time() and s.kind == "time"


@pytest.mark.parametrize(
    ("when", "exc", "fragment"),
    [
        (datetime(2024, 1, 1), ValueError, "attach a tzinfo"),
        (True, TypeError, "bool"),
        ("2024-01-01", TypeError, "Timestamp, an aware datetime or Unix seconds"),
        (None, TypeError, "Timestamp, an aware datetime or Unix seconds"),
        (math.nan, ValueError, "finite"),
        (math.inf, ValueError, "finite"),
        (1e20, OverflowError, "out of range"),
    ],
)
def test_at_time_rejects_bad_input(when: object, exc: type[Exception], fragment: str) -> None:
    with pytest.raises(exc, match=fragment):
        ScheduleAt.at_time(when)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "every",
    [0, -1, 0.0, -0.5, 1e-9, math.nan, math.inf, -math.inf, timedelta(0), timedelta(seconds=-1), Duration(0), Duration(-5)],
)
def test_interval_must_be_positive(every: object) -> None:
    with pytest.raises(ValueError, match=r"^Interval must be positive"):
        ScheduleAt.at_interval(every)  # type: ignore[arg-type]


@pytest.mark.parametrize("every", [True, False, b"5s", None, [1], object()])
def test_interval_type_errors(every: object) -> None:
    with pytest.raises(TypeError, match="Interval must be a Duration, a timedelta or a number of seconds"):
        ScheduleAt.at_interval(every)  # type: ignore[arg-type]


def test_interval_start_errors() -> None:
    with pytest.raises(ValueError, match="attach a tzinfo"):
        ScheduleAt.at_interval(5, start=datetime(2024, 1, 1))
    with pytest.raises(TypeError, match=r"start=.*Timestamp"):
        ScheduleAt.at_interval(5, start=1_700_000_000)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "every", [Duration.from_seconds(2.5), timedelta(seconds=2.5), 2.5, 2.5000004]
)
def test_interval_accepts_spans(every: object) -> None:
    assert ScheduleAt.at_interval(every).every == Duration(2_500_000)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "exc", "fragment"),
    [
        ((24,), ValueError, "hour must be in 0..23"),
        ((-1,), ValueError, "hour must be in 0..23"),
        ((1, 60), ValueError, "minute must be in 0..59"),
        ((1, 0, 60), ValueError, "second must be in 0..59"),
        ((1.0,), TypeError, "hour must be an int"),
        ((True,), TypeError, "hour must be an int"),
        ((1, "5"), TypeError, "minute must be an int"),
    ],
)
def test_daily_rejects_bad_times(args: tuple[object, ...], exc: type[Exception], fragment: str) -> None:
    with pytest.raises(exc, match=fragment):
        ScheduleAt.daily(*args)  # type: ignore[arg-type]


def test_zone_errors() -> None:
    with pytest.raises(ValueError, match="Unknown time zone 'Mars/Olympus'"):
        ScheduleAt.daily(1, tz="Mars/Olympus")
    with pytest.raises(ValueError, match="Unknown time zone"):
        ScheduleAt.cron("* * * * *", tz="Nowhere")
    with pytest.raises(TypeError, match="Time zone must be a tzinfo"):
        ScheduleAt.daily(1, tz=5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("expr", "fragment"),
    [
        ("", "expected 5 fields"),
        ("* * * *", "expected 5 fields"),
        ("0 * * * * *", "expected 5 fields"),
        ("@daily", "expected 5 fields"),
        ("61 * * * *", "Bad minute"),
        ("* 24 * * *", "Bad hour"),
        ("* * 0 * *", "Bad day-of-month"),
        ("* * * 13 *", "Bad month"),
        ("* * * * 8", "Bad day-of-week"),
        ("*/0 * * * *", "Bad minute"),
        ("5-1 * * * *", "Bad minute"),
        ("a b c d e", "Bad minute"),
        ("0 0 31 2 *", "Bad day-of-month"),
        ("1, * * * *", "Bad minute"),
    ],
)
def test_cron_rejects_bad_expressions(expr: str, fragment: str) -> None:
    with pytest.raises(ValueError, match="Invalid cron expression") as info:
        ScheduleAt.cron(expr)
    assert fragment in str(info.value)
    assert repr(expr) in str(info.value)


def test_cron_type_error() -> None:
    with pytest.raises(TypeError, match="Cron expression must be a str"):
        ScheduleAt.cron(5)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789*/-,#LW ?MONFRIJAN\t", max_size=30))
def test_cron_fuzz_only_raises_value_error(text: str) -> None:
    try:
        s = ScheduleAt.cron(text)
    except ValueError as exc:
        assert str(exc).startswith("Invalid cron expression")
        return
    nxt = s.next_fire_us(0)
    assert nxt is None or nxt > 0


def test_next_fire_argument_types() -> None:
    s = ScheduleAt.at_interval(1)
    with pytest.raises(TypeError, match="next_fire\\(\\) needs a Timestamp"):
        s.next_fire(5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="next_fire_us\\(\\) needs int microseconds"):
        s.next_fire_us(1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="next_fire_us\\(\\) needs int microseconds"):
        ScheduleAt.daily(1).next_fire_us(True)
    with pytest.raises(TypeError, match="next_fire_us\\(\\) needs int microseconds"):
        ScheduleAt.cron("* * * * *").next_fire_us("0")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="next_fire_us\\(\\) needs int microseconds"):
        ScheduleAt.at_time(5).next_fire_us(None)  # type: ignore[arg-type]


def test_wrong_kind_properties() -> None:
    with pytest.raises(AttributeError, match="only at_interval schedules"):
        ScheduleAt.daily(1).every
    with pytest.raises(AttributeError, match="only cron schedules"):
        ScheduleAt.at_interval(1).expression
    with pytest.raises(AttributeError, match="only at_time schedules"):
        ScheduleAt.cron("* * * * *").when
    with pytest.raises(AttributeError, match="only at_interval schedules"):
        ScheduleAt.at_time(1).start


# =========================================================================== value semantics


def sample_schedules() -> list[ScheduleAt]:
    return [
        ScheduleAt.at_time(Timestamp(123_456_789)),
        ScheduleAt.at_interval(Duration.from_millis(1500)),
        ScheduleAt.at_interval(90, start=Timestamp(1_000_000)),
        ScheduleAt.daily(2, 30, tz="Europe/Paris"),
        ScheduleAt.daily(23, 59, 59),
        ScheduleAt.daily(7, tz=timezone(timedelta(hours=-3, minutes=-30))),
        ScheduleAt.cron("*/5  * * * *", tz="America/New_York"),
        ScheduleAt.cron("0 9 * * MON-FRI"),
    ]


def test_kinds_and_predicates() -> None:
    kinds = [s.kind for s in sample_schedules()]
    assert kinds == ["time", "interval", "interval", "daily", "daily", "daily", "cron", "cron"]
    for s in sample_schedules():
        flags = (s.is_time(), s.is_interval(), s.is_daily(), s.is_cron())
        assert sum(flags) == 1
        assert flags[("time", "interval", "daily", "cron").index(s.kind)]


def test_equality_and_hash_by_value() -> None:
    a, b = sample_schedules(), sample_schedules()
    for x, y in zip(a, b, strict=True):
        assert x == y and hash(x) == hash(y) and x is not y
    assert len(set(a)) == len(a)
    assert ScheduleAt.daily(2, 30, tz="Europe/Paris") == ScheduleAt.daily(2, 30, 0, tz=ZoneInfo("Europe/Paris"))
    assert ScheduleAt.daily(2, tz=None) == ScheduleAt.daily(2, tz="UTC")
    assert ScheduleAt.cron("0  0 * * *") == ScheduleAt.cron(" 0 0 * * * ")
    assert ScheduleAt.daily(2) != ScheduleAt.daily(2, tz="Europe/Paris")
    assert ScheduleAt.at_interval(5) != ScheduleAt.at_interval(5, start=Timestamp(0))
    assert ScheduleAt.at_time(5) != ScheduleAt.at_interval(5)
    assert ScheduleAt.at_time(5) != "at 5"


def test_str_and_repr() -> None:
    assert repr(ScheduleAt.daily(2, 30, tz="Europe/Paris")) == "ScheduleAt.daily(2, 30, 0, tz='Europe/Paris')"
    assert str(ScheduleAt.daily(2, 30, tz="Europe/Paris")) == "daily at 02:30:00 (Europe/Paris)"
    assert repr(ScheduleAt.cron("*/5 * * * *")) == "ScheduleAt.cron('*/5 * * * *', tz='UTC')"
    assert str(ScheduleAt.cron("*/5 * * * *")) == "cron '*/5 * * * *' (UTC)"
    assert repr(ScheduleAt.at_interval(90)) == "ScheduleAt.at_interval(Duration(micros=90000000))"
    assert str(ScheduleAt.at_interval(90)) == "every 1.5min"
    anchored = ScheduleAt.at_interval(90, start=Timestamp(0))
    assert "start=Timestamp(micros=0)" in repr(anchored)
    assert str(anchored) == "every 1.5min from 1970-01-01T00:00:00+00:00"
    assert repr(ScheduleAt.at_time(0)) == "ScheduleAt.at_time(Timestamp(micros=0))"
    assert str(ScheduleAt.at_time(0)) == "once at 1970-01-01T00:00:00+00:00"


@pytest.mark.parametrize("s", sample_schedules(), ids=repr)
def test_dict_pickle_copy_round_trip(s: ScheduleAt) -> None:
    d = s.to_dict()
    assert all(type(v) in (int, str) for v in d.values()), d
    assert ScheduleAt.from_dict(d) == s
    assert ScheduleAt.from_dict(dict(d)).to_dict() == d
    assert pickle.loads(pickle.dumps(s)) == s
    assert copy.copy(s) is s and copy.deepcopy(s) is s


def test_to_dict_shapes() -> None:
    assert ScheduleAt.at_time(Timestamp(7)).to_dict() == {"kind": "time", "micros": 7}
    assert ScheduleAt.at_interval(1).to_dict() == {"kind": "interval", "every_us": 1_000_000}
    assert ScheduleAt.at_interval(1, start=Timestamp(3)).to_dict() == {
        "kind": "interval",
        "every_us": 1_000_000,
        "start_us": 3,
    }
    assert ScheduleAt.daily(1, 2, 3, tz="Asia/Tehran").to_dict() == {
        "kind": "daily",
        "hour": 1,
        "minute": 2,
        "second": 3,
        "tz": "Asia/Tehran",
    }
    assert ScheduleAt.cron("0 0 * * *", tz="UTC").to_dict() == {"kind": "cron", "expression": "0 0 * * *", "tz": "UTC"}


@pytest.mark.parametrize(
    ("data", "exc", "fragment"),
    [
        ([], TypeError, "needs a dict"),
        ({}, ValueError, "'kind' must be one of"),
        ({"kind": "weekly"}, ValueError, "'kind' must be one of"),
        ({"kind": "time"}, ValueError, "missing keys \\['micros'\\]"),
        ({"kind": "time", "micros": 1, "x": 2}, ValueError, "unexpected keys \\['x'\\]"),
        ({"kind": "time", "micros": "1"}, ValueError, "'micros' must be int"),
        ({"kind": "time", "micros": True}, ValueError, "'micros' must be int"),
        ({"kind": "interval", "every_us": 0}, ValueError, "Interval must be positive"),
        ({"kind": "daily", "hour": 25, "minute": 0, "second": 0, "tz": "UTC"}, ValueError, "hour must be in"),
        ({"kind": "daily", "hour": 1, "minute": 0, "second": 0, "tz": "Nope/Zone"}, ValueError, "Unknown time zone"),
        ({"kind": "cron", "expression": "* * *", "tz": "UTC"}, ValueError, "expected 5 fields"),
    ],
)
def test_from_dict_errors(data: object, exc: type[Exception], fragment: str) -> None:
    with pytest.raises(exc, match=fragment):
        ScheduleAt.from_dict(data)  # type: ignore[arg-type]


def test_to_dict_refuses_unnamed_zone() -> None:
    class Odd(tzinfo):
        def utcoffset(self, dt: object) -> timedelta:
            return timedelta(hours=1)

        def dst(self, dt: object) -> timedelta:
            return timedelta(0)

        def tzname(self, dt: object) -> str:
            return "ODD"

    s = ScheduleAt.daily(1, tz=Odd())
    assert s.next_fire_us(0) == 3_600_000_000 * 24  # 01:00 at +01:00 is 00:00Z
    with pytest.raises(ValueError, match="cannot serialise time zone"):
        s.to_dict()


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.builds(ScheduleAt.at_time, st.integers(-(10**9), 10**10)),
        st.builds(
            lambda e, s: ScheduleAt.at_interval(Duration(e), start=None if s is None else Timestamp(s)),
            st.integers(1, 10**12),
            st.none() | st.integers(-(10**15), 10**17),
        ),
        st.builds(
            lambda h, m, s, z: ScheduleAt.daily(h, m, s, tz=z),
            st.integers(0, 23),
            st.integers(0, 59),
            st.integers(0, 59),
            st.sampled_from(DST_ZONES + ["UTC", "UTC+05:30"]),
        ),
        st.builds(
            lambda e, z: ScheduleAt.cron(e, tz=z),
            st.sampled_from(["* * * * *", "0 0 1 1 *", "*/7 3-5 * * 1,3", "15 10 L * *"]),
            st.sampled_from(DST_ZONES[:5] + ["UTC"]),
        ),
    )
)
def test_dict_round_trip_property(s: ScheduleAt) -> None:
    d = s.to_dict()
    back = ScheduleAt.from_dict(d)
    assert back == s and hash(back) == hash(s)
    assert back.next_fire_us(10**15) == s.next_fire_us(10**15)


# =========================================================================== at_time


def test_at_time_fires_once() -> None:
    s = ScheduleAt.at_time(Timestamp(1000))
    assert s.next_fire(Timestamp(999)) == Timestamp(1000)
    assert s.next_fire(Timestamp(1000)) is None
    assert s.next_fire(Timestamp(5000)) is None
    assert s.next_fire_us(-5) == 1000


def test_next_fire_keeps_display_zone() -> None:
    paris = ZoneInfo("Europe/Paris")
    r = ScheduleAt.at_interval(60).next_fire(Timestamp(0, paris))
    assert r is not None and r.tz is paris and r.micros == 60_000_000


# =========================================================================== intervals


def test_interval_anchored_grid() -> None:
    s = ScheduleAt.at_interval(10, start=Timestamp.from_seconds(100))
    sec = 1_000_000
    assert s.next_fire_us(0) == 110 * sec  # before start: start + every
    assert s.next_fire_us(100 * sec) == 110 * sec
    assert s.next_fire_us(109 * sec) == 110 * sec
    assert s.next_fire_us(110 * sec) == 120 * sec
    assert s.next_fire_us(10**6 * sec + 3) == (10**6 + 10) * sec  # late: no drift, no catch-up walk
    assert s.start == Timestamp.from_seconds(100) and s.every == Duration.from_seconds(10)


def test_interval_unanchored_and_anchored_copy() -> None:
    s = ScheduleAt.at_interval(timedelta(minutes=1))
    assert s.start is None
    assert s.next_fire_us(12_345) == 12_345 + 60_000_000
    a = s.anchored(Timestamp(5))
    assert a.start == Timestamp(5) and a.every == s.every and a != s
    assert a.next_fire_us(12_345) == 60_000_005
    assert a.anchored(Timestamp(99)) is a  # already anchored: unchanged
    assert s.anchored(datetime(1970, 1, 1, tzinfo=UTC)).start == Timestamp(0)
    daily = ScheduleAt.daily(1)
    assert daily.anchored(Timestamp(5)) is daily
    with pytest.raises(TypeError, match="anchored\\(\\) needs a Timestamp"):
        s.anchored(5)  # type: ignore[arg-type]


def test_interval_end_of_time() -> None:
    s = ScheduleAt.at_interval(10, start=Timestamp(0))
    assert s.next_fire_us(MAX_US - 1) is None
    assert ScheduleAt.at_interval(10).next_fire(Timestamp.MAX) is None


@settings(max_examples=400, deadline=None)
@given(
    every=st.integers(1, 10**13),
    start=st.integers(-(10**16), 10**17),
    after=st.integers(-(10**16), 10**17),
)
def test_interval_smallest_grid_point_after(every: int, start: int, after: int) -> None:
    s = ScheduleAt.at_interval(Duration(every), start=Timestamp(start))
    t = s.next_fire_us(after)
    assert t is not None and t > after
    assert (t - start) % every == 0 and t - start >= every  # on the grid, k >= 1
    if after >= start:
        assert t - every <= after  # the smallest such point
    else:
        assert t == start + every
    seq = iterate(s, after, 20)
    assert all(b - a == every for a, b in zip(seq, seq[1:], strict=False))


# =========================================================================== daily


def test_daily_utc_and_fixed_offset() -> None:
    s = ScheduleAt.daily(9, 15, 30)
    base = us_of(datetime(2024, 5, 5, tzinfo=UTC))
    assert s.next_fire_us(base) == us_of(datetime(2024, 5, 5, 9, 15, 30, tzinfo=UTC))
    assert s.next_fire_us(us_of(datetime(2024, 5, 5, 9, 15, 30, tzinfo=UTC))) == us_of(
        datetime(2024, 5, 6, 9, 15, 30, tzinfo=UTC)
    )
    fixed = timezone(timedelta(hours=5, minutes=30))
    s2 = ScheduleAt.daily(1, tz=fixed)
    assert s2.next_fire_us(base) == us_of(datetime(2024, 5, 6, 1, tzinfo=fixed))
    assert s2.next_fire_us(us_of(datetime(1900, 3, 1, tzinfo=UTC))) == us_of(datetime(1900, 3, 2, 1, tzinfo=fixed))


def test_daily_paris_0230_for_a_year() -> None:
    paris = ZoneInfo("Europe/Paris")
    s = ScheduleAt.daily(2, 30, tz="Europe/Paris")
    start = us_of(datetime(2023, 1, 1, 3, tzinfo=paris))
    end = us_of(datetime(2024, 1, 1, 3, tzinfo=paris))
    fires = [t for t in iterate(s, start, 400) if t < end]
    assert len(fires) == 365
    local = [dt_of(t, paris) for t in fires]
    assert [d.date() for d in local] == [date(2023, 1, 2) + timedelta(days=i) for i in range(365)]
    odd = [d for d in local if (d.hour, d.minute) != (2, 30)]
    assert [d.isoformat() for d in odd] == ["2023-03-26T03:30:00+02:00"]  # spring forward: shifted by the gap
    fall = [d for d in local if d.date() == date(2023, 10, 29)]
    assert [d.isoformat() for d in fall] == ["2023-10-29T02:30:00+02:00"]  # fall back: first occurrence only


@pytest.mark.parametrize(
    ("zone", "day", "hms", "expected"),
    [
        ("America/New_York", date(2024, 3, 10), (2, 30, 0), "2024-03-10T03:30:00-04:00"),
        ("America/New_York", date(2024, 11, 3), (1, 30, 0), "2024-11-03T01:30:00-04:00"),
        ("Australia/Lord_Howe", date(2024, 10, 6), (2, 15, 0), "2024-10-06T02:45:00+11:00"),
        ("Australia/Lord_Howe", date(2024, 4, 7), (1, 45, 0), "2024-04-07T01:45:00+11:00"),
        ("America/Havana", date(2024, 3, 10), (0, 0, 0), "2024-03-10T01:00:00-04:00"),
        ("America/Havana", date(2024, 3, 10), (0, 59, 59), "2024-03-10T01:59:59-04:00"),
        ("Antarctica/Troll", date(2024, 3, 31), (1, 30, 0), "2024-03-31T03:30:00+02:00"),
        ("Pacific/Apia", date(2011, 12, 30), (12, 0, 0), "2011-12-31T12:00:00+14:00"),
    ],
)
def test_daily_dst_edges(zone: str, day: date, hms: tuple[int, int, int], expected: str) -> None:
    tz = ZoneInfo(zone)
    s = ScheduleAt.daily(*hms, tz=zone)
    before = us_of(datetime.combine(day, datetime.min.time(), tz) - timedelta(hours=6))
    got = s.next_fire(Timestamp(before))
    assert got is not None and got.isoformat(zone) == expected
    # ...and it is the only firing of that nominal day: the next one is a day later.
    nxt = s.next_fire(got)
    assert nxt is not None and (nxt - got) >= Duration.from_hours(22)
    assert dt_of(got.micros, tz).astimezone(UTC) == datetime.fromisoformat(expected)


def nominal_day(f: int, hms: tuple[int, int, int], tz: ZoneInfo) -> date:
    """The calendar day a daily firing belongs to, per the documented DST rules."""
    local = dt_of(f, tz)
    if (local.hour, local.minute, local.second) == hms:
        # the requested wall time, and it must be its first occurrence (fold=0)
        assert fold0_us(local.replace(tzinfo=None), tz) == f, local
        return local.date()
    for d in (local.date(), local.date() - timedelta(days=1)):
        naive = datetime(d.year, d.month, d.day, *hms)
        if is_imaginary(naive, tz) and fold0_us(naive, tz) == f:
            return d
    raise AssertionError(f"firing {local.isoformat()} is neither {hms} nor a gap-shifted {hms}")


@settings(max_examples=60, deadline=None)
@given(
    zone=st.sampled_from(DST_ZONES),
    start=st.integers(YEAR_1970_US, YEAR_2100_US),
    hour=st.integers(0, 23),
    minute=st.sampled_from([0, 1, 15, 29, 30, 31, 45, 59]),
    second=st.sampled_from([0, 0, 30, 59]),
)
def test_daily_one_firing_per_local_day(zone: str, start: int, hour: int, minute: int, second: int) -> None:
    tz = ZoneInfo(zone)
    hms = (hour, minute, second)
    s = ScheduleAt.daily(*hms, tz=zone)
    fires = iterate(s, start, 400)
    assert len(fires) == 400
    days = [nominal_day(f, hms, tz) for f in fires]
    for prev_f, prev_d, f, d in zip(fires, days, fires[1:], days[1:], strict=False):
        assert f > prev_f
        # consecutive days; a skipped day only if that day's time did not exist and
        # resolves onto the same instant (e.g. Samoa skipping 2011-12-30)
        skipped = prev_d + timedelta(days=1)
        while skipped < d:
            naive = datetime(skipped.year, skipped.month, skipped.day, *hms)
            assert is_imaginary(naive, tz) and fold0_us(naive, tz) in (prev_f, f), (zone, skipped)
            skipped += timedelta(days=1)
        assert skipped == d
    first_day = nominal_day(fires[0], hms, tz)
    # the first firing is the first one strictly after start
    before = datetime(first_day.year, first_day.month, first_day.day, *hms) - timedelta(days=1)
    assert fold0_us(before, tz) <= start


@settings(max_examples=40, deadline=None)
@given(
    zone=st.sampled_from(DST_ZONES),
    start=st.integers(YEAR_1970_US, YEAR_2100_US),
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
)
def test_daily_equals_cron_at_same_time(zone: str, start: int, hour: int, minute: int) -> None:
    d = ScheduleAt.daily(hour, minute, tz=zone)
    c = ScheduleAt.cron(f"{minute} {hour} * * *", tz=zone)
    assert iterate(d, start, 60) == iterate(c, start, 60)


def test_daily_end_of_time() -> None:
    assert ScheduleAt.daily(1).next_fire_us(MAX_US - 1000) is None
    assert ScheduleAt.daily(1, tz="Pacific/Auckland").next_fire_us(MAX_US - 1000) is None


# =========================================================================== cron: brute force

MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]


def _value(text: str, names: list[str] | None, base: int) -> int:
    if names and text.upper() in names:
        return names.index(text.upper()) + base
    return int(text)


def _field(text: str, lo: int, hi: int, names: list[str] | None = None) -> set[int]:
    out: set[int] = set()
    for item in text.split(","):
        part, _, step_text = item.partition("/")
        step = int(step_text) if step_text else 1
        if part == "*":
            a, b = lo, hi
        elif "-" in part:
            x, y = part.split("-")
            a, b = _value(x, names, lo), _value(y, names, lo)
        else:
            a = _value(part, names, lo)
            b = hi if step != 1 else a
        out.update(range(a, b + 1, step))
    return out


class BruteCron:
    """An independent 5-field matcher (Vixie rules: DOM/DOW are OR-ed when both restricted)."""

    def __init__(self, expr: str) -> None:
        f = expr.split()
        self.minutes = _field(f[0], 0, 59)
        self.hours = _field(f[1], 0, 23)
        self.dom = _field(f[2], 1, 31)
        self.months = _field(f[3], 1, 12, MONTHS)
        self.dow = {d % 7 for d in _field(f[4], 0, 7, DAYS)}
        self.day_or = not (f[2].startswith("*") or f[4].startswith("*"))
        self.wild_hour = f[1].startswith("*")

    def match(self, dt: datetime) -> bool:
        if dt.minute not in self.minutes or dt.hour not in self.hours or dt.month not in self.months:
            return False
        dom = dt.day in self.dom
        dow = dt.isoweekday() % 7 in self.dow
        return (dom or dow) if self.day_or else (dom and dow)

    def utc_firings(self, lo_us: int, hi_us: int) -> list[int]:
        """Minute-by-minute scan over UTC minutes in (lo, hi]."""
        m = 60_000_000
        t = (lo_us // m + 1) * m
        out = []
        while t <= hi_us:
            if self.match(dt_of(t)):
                out.append(t)
            t += m
        return out

    def zoned_firings(self, tz: ZoneInfo, lo_us: int, hi_us: int) -> list[int]:
        """The documented DST policy, by brute force over naive local minutes."""
        naive = (dt_of(lo_us, tz).replace(tzinfo=None) - timedelta(days=2)).replace(second=0, microsecond=0)
        end = dt_of(hi_us, tz).replace(tzinfo=None) + timedelta(days=2)
        out: set[int] = set()
        while naive <= end:
            if self.match(naive):
                u0 = fold0_us(naive, tz)
                out.add(u0)
                u1 = us_of(naive.replace(tzinfo=tz, fold=1))
                if self.wild_hour and u1 != u0 and not is_imaginary(naive, tz):
                    out.add(u1)  # second occurrence of an ambiguous time
            naive += timedelta(minutes=1)
        return sorted(t for t in out if lo_us < t <= hi_us)


def _atom(lo: int, hi: int) -> st.SearchStrategy[str]:
    return st.one_of(
        st.just("*"),
        st.integers(1, max(1, (hi - lo) // 2)).map(lambda n: f"*/{n}"),
        st.integers(lo, hi).map(str),
        st.tuples(st.integers(lo, hi), st.integers(lo, hi)).map(lambda p: f"{min(p)}-{max(p)}"),
        st.tuples(st.integers(lo, hi), st.integers(lo, hi), st.integers(1, 5)).map(
            lambda p: f"{min(p[:2])}-{max(p[:2])}/{p[2]}"
        ),
    )


def _cron_field(lo: int, hi: int) -> st.SearchStrategy[str]:
    return st.one_of(_atom(lo, hi), st.lists(st.integers(lo, hi), min_size=1, max_size=4).map(
        lambda v: ",".join(map(str, v))
    ))


cron_expressions = st.tuples(
    _cron_field(0, 59),
    st.one_of(st.just("*"), _cron_field(0, 23)),
    st.one_of(st.just("*"), st.just("*"), _cron_field(1, 28)),
    st.one_of(st.just("*"), st.just("*"), _cron_field(1, 12)),
    st.one_of(st.just("*"), st.just("*"), _cron_field(0, 7), st.just("MON-FRI")),
).map(" ".join)


@settings(max_examples=100, deadline=None)
@given(expr=cron_expressions, start=st.integers(YEAR_1970_US, YEAR_2100_US))
def test_cron_matches_brute_force_in_utc(expr: str, start: int) -> None:
    s = ScheduleAt.cron(expr)
    brute = BruteCron(expr)
    horizon = start + 3 * US_PER_DAY
    expected = brute.utc_firings(start, horizon)
    got = [t for t in iterate(s, start, len(expected) + 1) if t <= horizon]
    assert got == expected
    if not expected:  # nothing in the window: the next firing (if any) is beyond it
        nxt = s.next_fire_us(start)
        assert nxt is None or nxt > horizon
        if nxt is not None:
            assert brute.match(dt_of(nxt))


@pytest.mark.parametrize(
    ("expr", "after", "expected"),
    [
        ("0 0 29 2 *", "2021-03-01T00:00:00+00:00", "2024-02-29T00:00:00+00:00"),
        ("0 12 13 * 5", "2024-01-01T00:00:00+00:00", "2024-01-05T12:00:00+00:00"),  # DOM OR DOW
        ("0 12 */5 * 5", "2024-01-01T00:00:00+00:00", "2024-01-26T12:00:00+00:00"),  # "*"-led DOM: AND
        ("59 23 31 12 *", "1999-12-31T23:59:00+00:00", "2000-12-31T23:59:00+00:00"),
        ("0 9 * * MON-FRI", "2024-05-03T09:00:00+00:00", "2024-05-06T09:00:00+00:00"),
        ("0 0 * * 7", "2024-05-06T00:00:00+00:00", "2024-05-12T00:00:00+00:00"),  # 7 = Sunday
        ("* * * * *", "2024-05-06T00:00:59.999999+00:00", "2024-05-06T00:01:00+00:00"),
    ],
)
def test_cron_examples(expr: str, after: str, expected: str) -> None:
    got = ScheduleAt.cron(expr).next_fire(Timestamp.from_datetime(datetime.fromisoformat(after)))
    assert got is not None and got.isoformat() == expected


def test_cron_fixed_offset_zone() -> None:
    s = ScheduleAt.cron("30 2 * * *", tz="UTC+05:30")
    got = s.next_fire(Timestamp.from_datetime(datetime(2024, 5, 5, tzinfo=UTC)))
    assert got is not None and got.isoformat() == "2024-05-05T21:00:00+00:00"


def test_cron_end_of_time() -> None:
    assert ScheduleAt.cron("0 0 * * *").next_fire_us(MAX_US - 10) is None
    assert ScheduleAt.cron("0 0 * * *", tz="America/New_York").next_fire_us(MAX_US - 10) is None


# =========================================================================== cron: DST


def firings_between(s: ScheduleAt, tz: ZoneInfo, lo: datetime, hi: datetime) -> list[str]:
    out = []
    t = us_of(lo)
    while True:
        nxt = s.next_fire_us(t)
        assert nxt is not None and nxt > t
        if nxt >= us_of(hi):
            return out
        out.append(dt_of(nxt, tz).isoformat()[11:])
        t = nxt


PARIS = ZoneInfo("Europe/Paris")
SPRING = (datetime(2024, 3, 31, 0, 0, tzinfo=PARIS), datetime(2024, 3, 31, 5, 0, tzinfo=PARIS))
FALL = (datetime(2024, 10, 27, 0, 0, tzinfo=PARIS), datetime(2024, 10, 27, 5, 0, tzinfo=PARIS))


@pytest.mark.parametrize(
    ("expr", "window", "expected"),
    [
        # a fixed time in the gap is shifted by the gap length, like daily
        ("30 2 * * *", SPRING, ["03:30:00+02:00"]),
        # every firing of the missing hour survives, shifted
        ("*/15 2 * * *", SPRING, ["03:00:00+02:00", "03:15:00+02:00", "03:30:00+02:00", "03:45:00+02:00"]),
        ("0,30 2 * * *", SPRING, ["03:00:00+02:00", "03:30:00+02:00"]),
        # times that coincide after the shift fire once
        ("30 2,3 * * *", SPRING, ["03:30:00+02:00"]),
        # fixed-hour expressions never double in the repeated hour
        ("30 2 * * *", FALL, ["02:30:00+02:00"]),
        ("*/30 2 * * *", FALL, ["02:00:00+02:00", "02:30:00+02:00"]),
        # wildcard-hour expressions keep their elapsed-time cadence
        ("0 * * * *", SPRING, ["01:00:00+01:00", "03:00:00+02:00", "04:00:00+02:00"]),
        (
            "0 * * * *",
            FALL,
            ["01:00:00+02:00", "02:00:00+02:00", "02:00:00+01:00", "03:00:00+01:00", "04:00:00+01:00"],
        ),
        (
            "*/30 * * * *",
            FALL,
            [
                "00:30:00+02:00", "01:00:00+02:00", "01:30:00+02:00", "02:00:00+02:00", "02:30:00+02:00",
                "02:00:00+01:00", "02:30:00+01:00", "03:00:00+01:00", "03:30:00+01:00", "04:00:00+01:00",
                "04:30:00+01:00",
            ],
        ),
    ],
)
def test_cron_paris_dst(expr: str, window: tuple[datetime, datetime], expected: list[str]) -> None:
    assert firings_between(ScheduleAt.cron(expr, tz="Europe/Paris"), PARIS, *window) == expected


def test_cron_hourly_counts_on_dst_days() -> None:
    s = ScheduleAt.cron("0 * * * *", tz="Europe/Paris")
    spring = iterate(s, us_of(datetime(2024, 3, 31, tzinfo=PARIS)) - 1, 30)
    fall = iterate(s, us_of(datetime(2024, 10, 27, tzinfo=PARIS)) - 1, 30)
    assert len([t for t in spring if t < us_of(datetime(2024, 4, 1, tzinfo=PARIS))]) == 23
    assert len([t for t in fall if t < us_of(datetime(2024, 10, 28, tzinfo=PARIS))]) == 25
    daily = ScheduleAt.cron("0 3 * * *", tz="Europe/Paris")
    assert len(iterate(daily, us_of(datetime(2024, 1, 1, tzinfo=PARIS)) - 1, 366)) == 366


def test_cron_restart_inside_repeated_hour() -> None:
    # After the second 02:10 (fold=1) the next '30 2' firing is the next day: the
    # first 02:30 already happened, so it is neither returned (it is earlier) nor doubled.
    after = us_of(datetime(2024, 10, 27, 2, 10, tzinfo=PARIS, fold=1))
    got = ScheduleAt.cron("30 2 * * *", tz="Europe/Paris").next_fire_us(after)
    assert got is not None and dt_of(got, PARIS).isoformat() == "2024-10-28T02:30:00+01:00"
    got = ScheduleAt.cron("*/20 * * * *", tz="Europe/Paris").next_fire_us(after)
    assert got is not None and dt_of(got, PARIS).isoformat() == "2024-10-27T02:20:00+01:00"


DST_EXPRESSIONS = [
    "*/15 * * * *",
    "0 * * * *",
    "20 * * * *",
    "30 2 * * *",
    "*/15 2 * * *",
    "0,30 2 * * *",
    "30 2,3 * * *",
    "5 */2 * * *",
    "0 0 * * *",
    "45 23 * * *",
    "15 1 * * *",
    "*/7 0-3 * * *",
    "59 23 28-31 * *",
    "10 0-2 * * *",
    "0 12 * * MON",
]


def _transitions(tz: ZoneInfo, year: int) -> list[int]:
    """UTC micros of the offset changes of ``tz`` in ``year`` (daily probes + bisection)."""
    out = []
    t = us_of(datetime(year, 1, 1, tzinfo=UTC))
    prev = dt_of(t, tz).utcoffset()
    for _ in range(366):
        nxt = t + US_PER_DAY
        off = dt_of(nxt, tz).utcoffset()
        if off != prev:
            lo, hi = t, nxt
            while hi - lo > 1_000_000:
                mid = (lo + hi) // 2
                if dt_of(mid, tz).utcoffset() == prev:
                    lo = mid
                else:
                    hi = mid
            out.append(hi)
        t, prev = nxt, off
    return out


@settings(max_examples=100, deadline=None)
@given(
    zone=st.sampled_from(DST_ZONES),
    year=st.integers(1970, 2100),
    pick=st.integers(0, 10),
    jitter_min=st.integers(-3 * 1440, 1440),
    expr=st.sampled_from(DST_EXPRESSIONS),
)
def test_cron_dst_policy_matches_brute_force(zone: str, year: int, pick: int, jitter_min: int, expr: str) -> None:
    tz = ZoneInfo(zone)
    changes = _transitions(tz, year)
    assume(changes)
    start = changes[pick % len(changes)] + jitter_min * 60_000_000
    horizon = start + 4 * US_PER_DAY
    expected = BruteCron(expr).zoned_firings(tz, start, horizon)
    got = [t for t in iterate(ScheduleAt.cron(expr, tz=zone), start, len(expected) + 1) if t <= horizon]
    assert got == expected


@settings(max_examples=40, deadline=None)
@given(
    zone=st.sampled_from(DST_ZONES),
    start=st.integers(YEAR_1970_US, YEAR_2100_US),
    expr=st.sampled_from(DST_EXPRESSIONS),
)
def test_cron_strictly_increasing_anywhere(zone: str, start: int, expr: str) -> None:
    s = ScheduleAt.cron(expr, tz=zone)
    fires = iterate(s, start, 200)
    assert len(fires) == 200
    assert all(a < b for a, b in zip(fires, fires[1:], strict=False))
    brute = BruteCron(expr)
    tz = ZoneInfo(zone)
    for f in fires:
        local = dt_of(f, tz).replace(tzinfo=None)
        if not brute.match(local):  # only a gap-shifted time may read differently
            assert any(
                brute.match(local - shift) and is_imaginary(local - shift, tz)
                for shift in (timedelta(minutes=30), timedelta(hours=1), timedelta(hours=2))
            ), (zone, expr, local)


# =========================================================================== generic properties


any_schedule = st.one_of(
    st.builds(ScheduleAt.at_time, st.integers(0, 4 * 10**9)),
    st.builds(
        lambda e, s: ScheduleAt.at_interval(Duration(e), start=None if s is None else Timestamp(s)),
        st.integers(1, 10**11),
        st.none() | st.integers(0, YEAR_2100_US),
    ),
    st.builds(
        lambda h, m, z: ScheduleAt.daily(h, m, tz=z),
        st.integers(0, 23),
        st.integers(0, 59),
        st.sampled_from(DST_ZONES + ["UTC"]),
    ),
    st.builds(lambda e, z: ScheduleAt.cron(e, tz=z), st.sampled_from(DST_EXPRESSIONS), st.sampled_from(DST_ZONES)),
)


@settings(max_examples=80, deadline=None)
@given(s=any_schedule, after=st.integers(YEAR_1970_US, YEAR_2100_US))
def test_next_fire_strictly_after_and_increasing(s: ScheduleAt, after: int) -> None:
    fires = iterate(s, after, 50)
    if s.is_time():
        assert len(fires) <= 1
    else:
        assert len(fires) == 50
    assert all(a < b for a, b in zip([after, *fires], fires, strict=False))
    nf = s.next_fire(Timestamp(after))
    assert (nf.micros if nf is not None else None) == s.next_fire_us(after)


def test_first_fire_us_is_the_first_firing_of_a_schedule_made_now_or_a_value_error() -> None:
    now = Timestamp.parse("2026-01-01T00:00:00Z").micros
    assert ScheduleAt.at_interval(2).first_fire_us(now) == now + 2_000_000
    assert ScheduleAt.at_time(Timestamp(0)).first_fire_us(now) == 0  # past: at once, as is
    assert ScheduleAt.daily(1).first_fire_us(now) == now + 3_600_000_000
    with pytest.raises(ValueError, match=r"every .* would never run: its first firing after 2026-01-01"):
        ScheduleAt.at_interval(Duration.from_days(4_000_000)).first_fire_us(now)
    end = Timestamp.parse("9999-12-31T23:00:00Z").micros
    with pytest.raises(ValueError, match="has no firing after 9999-12-31T23:00:00"):
        ScheduleAt.cron("0 22 * * *").first_fire_us(end)
    assert ScheduleAt.at_interval(Duration(Timestamp.MAX.micros - end)).first_fire_us(end) == Timestamp.MAX.micros
