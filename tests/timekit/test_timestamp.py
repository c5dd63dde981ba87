"""Tests for timekit.timestamp.Timestamp."""

from __future__ import annotations

import copy
import math
import pickle
import time
import zoneinfo
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from unicode_digits import NON_ASCII_DIGITS_BY_VALUE

from timekit.duration import Duration
from timekit.errors import OutOfRangeError
from timekit.timestamp import Timestamp

MIN = -62_135_596_800_000_000
MAX = 253_402_300_799_999_999
DAY = 86_400_000_000
ONE_US = timedelta(microseconds=1)
NAIVE_EPOCH = datetime(1970, 1, 1)

ZONE_NAMES = sorted(zoneinfo.available_timezones())
zones = st.sampled_from(ZONE_NAMES).map(zoneinfo.ZoneInfo)
all_micros = st.integers(min_value=MIN, max_value=MAX)
# Two days away from both ends: every zone's local date is a valid datetime there.
inner_micros = st.integers(min_value=MIN + 2 * DAY, max_value=MAX - 2 * DAY)
PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def reference_micros(dt: datetime) -> int:
    """Independent reference: local wall time minus the UTC offset, in integers."""
    offset = dt.utcoffset()
    assert offset is not None
    return (dt.replace(tzinfo=None) - NAIVE_EPOCH) // ONE_US - offset // ONE_US


# ----------------------------------------------------------------------------- construction


def test_constructor() -> None:
    t = Timestamp(1_500)
    assert t.micros == 1_500
    assert t.tz is None
    assert Timestamp(0, "Europe/Paris").tz is PARIS
    assert Timestamp(0, timezone.utc).tz is timezone.utc
    assert Timestamp(0, "UTC").tz is timezone.utc


def test_min_max() -> None:
    assert Timestamp.MIN.micros == MIN
    assert Timestamp.MAX.micros == MAX
    assert Timestamp.MIN.isoformat() == "0001-01-01T00:00:00+00:00"
    assert Timestamp.MAX.isoformat() == "9999-12-31T23:59:59.999999+00:00"
    assert Timestamp(MIN) == Timestamp.MIN
    assert Timestamp(MAX) == Timestamp.MAX


@pytest.mark.parametrize("micros", [MIN - 1, MAX + 1, 10**30])
def test_constructor_out_of_range(micros: int) -> None:
    with pytest.raises(OverflowError, match=str(micros)):
        Timestamp(micros)


def test_constructor_type_errors() -> None:
    with pytest.raises(TypeError, match="bool"):
        Timestamp(True)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="from_seconds"):
        Timestamp(1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="needs an int"):
        Timestamp("0")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="IANA name"):
        Timestamp(0, 5)  # type: ignore[arg-type]


def test_unknown_zone_names_it() -> None:
    with pytest.raises(ValueError, match=r"'Mars/Base'.*Europe/Paris"):
        Timestamp(0, "Mars/Base")
    with pytest.raises(ValueError, match="'Nowhere/Land'"):
        Timestamp(0).to_timezone("Nowhere/Land")
    with pytest.raises(ValueError, match="'Nowhere/Land'"):
        Timestamp(0).isoformat("Nowhere/Land")


def test_immutable() -> None:
    t = Timestamp(5)
    with pytest.raises(AttributeError):
        t.micros = 6  # type: ignore[misc]
    with pytest.raises(AttributeError):
        t.tz = None  # type: ignore[misc]
    with pytest.raises(AttributeError):
        t.other = 1  # type: ignore[attr-defined]


# ----------------------------------------------------------------------------- factories


def test_epoch() -> None:
    assert Timestamp.epoch() == Timestamp(0)
    assert Timestamp.epoch().isoformat() == "1970-01-01T00:00:00+00:00"


def test_now_is_current_and_fine_grained() -> None:
    before = time.time_ns() // 1000
    a = Timestamp.now()
    time.sleep(0.001)
    b = Timestamp.now()
    after = time.time_ns() // 1000
    assert before <= a.micros < b.micros <= after
    assert b - a >= Duration.from_millis(1)
    assert Timestamp.now("Europe/Paris").tz is PARIS


def test_from_units() -> None:
    assert Timestamp.from_micros(5).micros == 5
    assert Timestamp.from_millis(5).micros == 5_000
    assert Timestamp.from_seconds(5).micros == 5_000_000
    assert Timestamp.from_seconds(8.2).micros == 8_200_000
    assert Timestamp.from_seconds(1686832245.5).micros == 1_686_832_245_500_000
    assert Timestamp.from_seconds(Fraction(1, 2_000_000)).micros == 0
    assert Timestamp.from_seconds(Fraction(3, 2_000_000)).micros == 2
    assert Timestamp.from_seconds(Decimal("1.0000025")).micros == 1_000_002
    assert Timestamp.from_seconds(0, "Europe/Paris").tz is PARIS


@given(st.floats(min_value=-6.2e10, max_value=2.5e11, allow_nan=False))
def test_from_seconds_matches_exact_reference(x: float) -> None:
    assert Timestamp.from_seconds(x).micros == round(Fraction(x) * 10**6)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_from_seconds_rejects_non_finite(bad: float) -> None:
    with pytest.raises(ValueError, match="finite"):
        Timestamp.from_seconds(bad)


@pytest.mark.parametrize("bad", [True, "1", None])
def test_from_seconds_rejects_non_numbers(bad: object) -> None:
    with pytest.raises(TypeError, match="seconds must be"):
        Timestamp.from_seconds(bad)  # type: ignore[arg-type]


def test_from_seconds_out_of_range() -> None:
    with pytest.raises(OverflowError, match="out of range"):
        Timestamp.from_seconds(1e12)
    with pytest.raises(ValueError, match="out of range") as info:  # bad input, too
        Timestamp.from_seconds(1e12)
    assert type(info.value) is OutOfRangeError


def test_from_datetime() -> None:
    dt = datetime(2023, 6, 15, 14, 30, 45, 123456, tzinfo=PARIS)
    t = Timestamp.from_datetime(dt)
    assert t.micros == 1_686_832_245_123_456
    assert t.tz is PARIS
    assert t.to_datetime() == dt
    assert t.to_datetime().tzinfo is PARIS


def test_from_datetime_naive_is_rejected_with_advice() -> None:
    with pytest.raises(ValueError, match=r"naive.*tzinfo.*timezone\.utc.*ZoneInfo"):
        Timestamp.from_datetime(datetime(2023, 1, 1))


def test_from_datetime_type_error() -> None:
    with pytest.raises(TypeError, match="datetime"):
        Timestamp.from_datetime("2023-01-01")  # type: ignore[arg-type]


def test_from_datetime_out_of_range_near_edges() -> None:
    plus5 = timezone(timedelta(hours=5))
    with pytest.raises(OverflowError, match="out of range"):
        Timestamp.from_datetime(datetime(1, 1, 1, 0, 0, tzinfo=plus5))
    with pytest.raises(OverflowError, match="out of range"):
        Timestamp.from_datetime(datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5))))


def test_to_datetime_overflow_near_edges() -> None:
    with pytest.raises(OverflowError, match="America/New_York"):
        Timestamp.MIN.to_datetime("America/New_York")
    with pytest.raises(OverflowError, match="Asia/Tokyo"):
        Timestamp.MAX.to_datetime("Asia/Tokyo")
    with pytest.raises(OverflowError, match="outside years 1-9999"):
        Timestamp.MAX.isoformat("Asia/Tokyo")


# ----------------------------------------------------------------------------- round trips


@given(all_micros, zones)
def test_timestamp_datetime_round_trip_whole_range(m: int, zone: zoneinfo.ZoneInfo) -> None:
    t = Timestamp(m)
    try:
        dt = t.to_datetime(zone)
    except OverflowError:
        # Only possible when the local date leaves years 1..9999, i.e. near an edge.
        assert m - MIN < 2 * DAY or MAX - m < 2 * DAY
        return
    assert dt.tzinfo is zone
    assert reference_micros(dt) == m
    back = Timestamp.from_datetime(dt)
    assert back == t
    assert back.tz is zone


@given(st.datetimes(timezones=zones))
def test_datetime_timestamp_round_trip(dt: datetime) -> None:
    expected = reference_micros(dt)
    if not MIN <= expected <= MAX:
        with pytest.raises(OverflowError):
            Timestamp.from_datetime(dt)
        return
    t = Timestamp.from_datetime(dt)
    assert t.micros == expected
    again = t.to_datetime()
    assert Timestamp.from_datetime(again) == t
    if dt.astimezone(timezone.utc).astimezone(dt.tzinfo).replace(tzinfo=None) == dt.replace(tzinfo=None):
        # dt is a real (non-imaginary) local time: the wall clock comes back unchanged.
        assert again.replace(tzinfo=None) == dt.replace(tzinfo=None)


@given(all_micros, st.one_of(st.none(), zones))
def test_iso_round_trip(m: int, zone: zoneinfo.ZoneInfo | None) -> None:
    t = Timestamp(m, zone)
    try:
        text = t.isoformat()
    except OverflowError:
        assert m - MIN < 2 * DAY or MAX - m < 2 * DAY
        return
    parsed = Timestamp.parse(text)
    assert parsed == t
    assert parsed.isoformat() == text
    assert datetime.fromisoformat(text) == t.to_datetime()


@given(all_micros)
def test_utc_iso_format_shape(m: int) -> None:
    text = Timestamp(m).isoformat()
    assert text.endswith("+00:00")
    if m % 1_000_000:
        assert len(text) == len("0001-01-01T00:00:00.000000+00:00")
    else:
        assert len(text) == len("0001-01-01T00:00:00+00:00")


# ----------------------------------------------------------------------------- parse


@pytest.mark.parametrize(
    ("text", "micros", "tzname"),
    [
        ("2023-06-15T12:30:45Z", 1_686_832_245_000_000, "UTC"),
        ("2023-06-15T12:30:45z", 1_686_832_245_000_000, "UTC"),
        ("2023-06-15T12:30:45+00:00", 1_686_832_245_000_000, "UTC"),
        ("2023-06-15T12:30:45-00:00", 1_686_832_245_000_000, "UTC"),
        ("2023-06-15T14:30:45+02:00", 1_686_832_245_000_000, "UTC+02:00"),
        ("2023-06-15T14:30:45+0200", 1_686_832_245_000_000, "UTC+02:00"),
        ("2023-06-15T14:30:45+02", 1_686_832_245_000_000, "UTC+02:00"),
        ("2023-06-15 07:00:45-05:30", 1_686_832_245_000_000, "UTC-05:30"),
        ("2023-06-15T12:30:45.5Z", 1_686_832_245_500_000, "UTC"),
        ("2023-06-15T12:30:45,123Z", 1_686_832_245_123_000, "UTC"),
        ("2023-06-15T12:30:45.000001Z", 1_686_832_245_000_001, "UTC"),
        ("2023-06-15T12:30Z", 1_686_832_200_000_000, "UTC"),
        ("1970-01-01T00:00:00Z", 0, "UTC"),
        ("0001-01-01T00:00:00Z", MIN, "UTC"),
        ("9999-12-31T23:59:59.999999Z", MAX, "UTC"),
        ("  2023-06-15T12:30:45Z  ", 1_686_832_245_000_000, "UTC"),
        ("0001-01-01T00:09:21+00:09:21", MIN, "UTC+00:09:21"),
    ],
)
def test_parse_valid(text: str, micros: int, tzname: str) -> None:
    t = Timestamp.parse(text)
    assert t.micros == micros
    assert t.tz is not None
    assert t.to_datetime().tzname() == tzname


def test_parse_missing_offset_says_add_one() -> None:
    with pytest.raises(ValueError, match="no UTC offset: add one"):
        Timestamp.parse("2023-06-15T12:30:45")
    with pytest.raises(ValueError, match="add one"):
        Timestamp.parse("2023-06-15T12:30:45.5")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "yesterday",
        "2023-06-15",
        "2023-06-15T12:30:45+2:00",
        "2023-6-15T12:30:45Z",
        "2023-06-15T12:30:45ZZ",
        "12:30:45Z",
    ],
)
def test_parse_invalid(text: str) -> None:
    with pytest.raises(ValueError, match=r"Invalid timestamp .*ISO 8601 with an offset"):
        Timestamp.parse(text)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("2023-02-30T00:00:00Z", "real calendar date"),
        ("0000-01-01T00:00:00Z", "real calendar date"),
        ("2023-06-15T24:00:00Z", "time of day out of range"),
        ("2023-06-15T23:60:00Z", "time of day out of range"),
        ("2016-12-31T23:59:60Z", "leap seconds"),
        ("2023-06-15T12:00:00+24:00", "less than 24 hours"),
    ],
)
def test_parse_invalid_fields(text: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        Timestamp.parse(text)


# Decimal digits of other scripts: Arabic-Indic, Devanagari, fullwidth, mathematical bold.


@pytest.mark.parametrize(
    ("text", "micros"),
    [
        ("2023-06-15T12:30:45.1234567Z", 1_686_832_245_123_457),  # 7 digits: up
        ("2023-06-15T12:30:45.1234565Z", 1_686_832_245_123_456),  # a tie: to even
        ("2023-06-15T12:30:45.1234575Z", 1_686_832_245_123_458),  # a tie: to even
        ("2023-06-15T12:30:45.12345650000000001Z", 1_686_832_245_123_457),  # just above the tie
        ("2023-06-15T12:30:45.123456499999999Z", 1_686_832_245_123_456),
        ("2023-06-15T12:30:59.9999999Z", 1_686_832_260_000_000),  # carries into the next minute
        ("9999-12-31T23:59:59.9999994Z", MAX),
        ("2023-06-15T14:30:45.0000005+02:00", 1_686_832_245_000_000),
    ],
)
def test_parse_rounds_long_fractions_half_to_even(text: str, micros: int) -> None:
    assert Timestamp.parse(text).micros == micros


@given(inner_micros, st.text("0123456789", min_size=1, max_size=40), st.sampled_from(["Z", "+05:30", "-11:00"]))
def test_parse_fraction_of_any_length_is_the_exact_instant_rounded(m: int, digits: str, offset: str) -> None:
    whole = Timestamp(m - m % 1_000_000)
    local = whole.isoformat("UTC" if offset == "Z" else f"UTC{offset}")[:19]  # no fraction, no offset
    expected = round(Fraction(whole.micros) + Fraction(int(digits) * 10**6, 10 ** len(digits)))  # half-to-even
    assert Timestamp.parse(f"{local}.{digits}{offset}").micros == expected


@given(inner_micros, st.data())
def test_parse_rejects_non_ascii_digits(m: int, data: st.DataObject) -> None:
    text = Timestamp(m).isoformat("UTC+02:00")
    assert Timestamp.parse(text).micros == m
    positions = [i for i, c in enumerate(text) if c.isdigit()]
    i = data.draw(st.sampled_from(positions))
    digit = data.draw(st.sampled_from(NON_ASCII_DIGITS_BY_VALUE[int(text[i])]))
    with pytest.raises(ValueError, match="Invalid timestamp"):
        Timestamp.parse(text[:i] + digit + text[i + 1 :])


@pytest.mark.parametrize("text", ["\u0662\u0660\u0662\u0666-01-01T00:00:00Z", "\uff12\uff10\uff12\uff16-01-01T00:00:00Z"])
def test_parse_rejects_non_ascii_digit_years(text: str) -> None:
    with pytest.raises(ValueError, match="ISO 8601 with an offset"):
        Timestamp.parse(text)


@given(st.integers(60, 99), st.sampled_from(["+02:{}", "-02{}", "+02:00:{}"]))
def test_parse_rejects_offset_minutes_or_seconds_above_59(n: int, form: str) -> None:
    with pytest.raises(ValueError, match="minutes and seconds must be 00-59"):
        Timestamp.parse("2026-01-01T00:00:00" + form.format(n))


def test_parse_huge_fraction_gets_the_parse_error() -> None:
    with pytest.raises(ValueError, match=r"5000 digits; at most 100 are accepted") as info:
        Timestamp.parse("2026-01-01T00:00:00." + "1" * 5000 + "Z")
    assert "int_max_str_digits" not in str(info.value)
    assert len(str(info.value)) < 300
    assert Timestamp.parse("2026-01-01T00:00:00." + "9" * 100 + "Z").micros == 1_767_225_601_000_000


def test_out_of_range_message_with_a_huge_int() -> None:
    with pytest.raises(OverflowError, match=r"about 1\.0e5000 microseconds"):
        Timestamp(10**5000)


def test_parse_out_of_range() -> None:
    with pytest.raises(OverflowError, match="out of range"):
        Timestamp.parse("0001-01-01T00:00:00+01:00")
    with pytest.raises(OverflowError, match="out of range"):
        Timestamp.parse("9999-12-31T23:59:59-01:00")


def test_parse_type_error() -> None:
    with pytest.raises(TypeError, match="needs a str"):
        Timestamp.parse(0)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- conversion


def test_to_datetime_zone_precedence() -> None:
    t = Timestamp(1_686_832_245_000_000, "Europe/Paris")
    assert t.to_datetime().tzinfo is PARIS
    assert t.to_datetime().hour == 14
    assert t.to_datetime("UTC").hour == 12
    assert t.to_datetime("UTC").tzinfo is timezone.utc
    assert Timestamp(0).to_datetime().tzinfo is timezone.utc


def test_isoformat() -> None:
    t = Timestamp(1_686_832_245_000_000)
    assert t.isoformat() == "2023-06-15T12:30:45+00:00"
    assert str(t) == "2023-06-15T12:30:45+00:00"
    assert t.isoformat("Europe/Paris") == "2023-06-15T14:30:45+02:00"
    assert (t + Duration(500_000)).isoformat() == "2023-06-15T12:30:45.500000+00:00"
    assert t.to_timezone("America/New_York").isoformat() == "2023-06-15T08:30:45-04:00"


def test_to_utc_and_to_timezone_keep_the_instant() -> None:
    t = Timestamp(123_456, "Europe/Paris")
    u = t.to_utc()
    assert u == t and u.tz is timezone.utc
    ny = t.to_timezone("America/New_York")
    assert ny == t and ny.tz is zoneinfo.ZoneInfo("America/New_York")
    fixed = timezone(timedelta(hours=3))
    assert t.to_timezone(fixed).tz is fixed
    with pytest.raises(TypeError, match="to_utc"):
        t.to_timezone(None)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- arithmetic


def test_arithmetic() -> None:
    t = Timestamp(1_000_000, "Europe/Paris")
    d = Duration.from_seconds(2)
    assert (t + d).micros == 3_000_000
    assert (d + t).micros == 3_000_000
    assert (t + d).tz is PARIS
    assert (t - d).micros == -1_000_000
    assert (t - d).tz is PARIS
    assert t - Timestamp(4_000_000) == Duration.from_seconds(-3)
    assert Timestamp(4_000_000) - t == Duration.from_seconds(3)
    assert isinstance(t - t, Duration)


def test_arithmetic_type_errors() -> None:
    t = Timestamp(0)
    with pytest.raises(TypeError):
        t + t  # type: ignore[operator]
    with pytest.raises(TypeError):
        t + 5  # type: ignore[operator]
    with pytest.raises(TypeError):
        t - 5  # type: ignore[operator]
    with pytest.raises(TypeError):
        Duration(1) - t  # type: ignore[operator]
    with pytest.raises(TypeError):
        t + timedelta(seconds=1)  # type: ignore[operator]


def test_arithmetic_overflow_names_value() -> None:
    with pytest.raises(OverflowError, match=str(MAX + 1)):
        Timestamp.MAX + Duration(1)
    with pytest.raises(OverflowError, match=str(MIN - 1)):
        Timestamp.MIN - Duration(1)
    with pytest.raises(OverflowError, match="out of range"):
        Timestamp(0) + Duration.MAX


@given(all_micros, all_micros)
def test_difference_is_signed_and_inverts(a: int, b: int) -> None:
    ta, tb = Timestamp(a), Timestamp(b)
    d = ta - tb
    assert d.micros == a - b
    assert tb + d == ta
    assert ta - d == tb


# ----------------------------------------------------------------------------- comparison and hashing


@given(all_micros, all_micros)
def test_order_consistent_with_micros(x: int, y: int) -> None:
    a, b = Timestamp(x), Timestamp(y, "Asia/Tokyo")
    assert (a < b) == (x < y)
    assert (a <= b) == (x <= y)
    assert (a > b) == (x > y)
    assert (a >= b) == (x >= y)
    assert (a == b) == (x == y)
    assert (a != b) == (x != y)


@given(all_micros, st.one_of(st.none(), zones), st.one_of(st.none(), zones))
def test_tz_ignored_by_eq_and_hash(m: int, z1: zoneinfo.ZoneInfo | None, z2: zoneinfo.ZoneInfo | None) -> None:
    a, b = Timestamp(m, z1), Timestamp(m, z2)
    assert a == b
    assert hash(a) == hash(b)
    assert len({a, b}) == 1


def test_comparison_with_other_types() -> None:
    t = Timestamp(0)
    assert (t == 0) is False
    assert t != datetime(1970, 1, 1, tzinfo=timezone.utc)
    assert t != Duration(0)
    with pytest.raises(TypeError):
        t < 0  # type: ignore[operator]
    with pytest.raises(TypeError):
        t > Duration(0)  # type: ignore[operator]


# ----------------------------------------------------------------------------- formatting


@pytest.mark.parametrize(
    ("tz", "text"),
    [
        (None, "2023-06-15 12:30:45 UTC"),
        ("UTC", "2023-06-15 12:30:45 UTC"),
        ("Europe/Paris", "2023-06-15 14:30:45 CEST"),
        ("America/New_York", "2023-06-15 08:30:45 EDT"),
        ("Asia/Kolkata", "2023-06-15 18:00:45 IST"),
        (timezone(timedelta(hours=2)), "2023-06-15 14:30:45 UTC+02:00"),
    ],
)
def test_format_human_readable(tz: object, text: str) -> None:
    t = Timestamp(1_686_832_245_999_999)
    assert t.format_human_readable(tz) == text  # type: ignore[arg-type]


def test_format_human_readable_uses_display_zone_and_pads_years() -> None:
    assert Timestamp(1_673_784_000_000_000, "Europe/Paris").format_human_readable() == "2023-01-15 13:00:00 CET"
    assert Timestamp.MIN.format_human_readable() == "0001-01-01 00:00:00 UTC"


@pytest.mark.parametrize(
    ("offset", "text"),
    [
        (0, "now"),
        (3_600_000_000, "in 1.0h"),
        (-90_000_000, "1.5min ago"),
        (500, "in 500\u03bcs"),
        (-1_500, "1.5ms ago"),
        (999_999, "in 1.0s"),
        (2 * DAY, "in 2.0d"),
    ],
)
def test_format_relative(offset: int, text: str) -> None:
    ref = Timestamp(1_686_832_245_000_000)
    assert (ref + Duration(offset)).format_relative(ref) == text


def test_format_relative_defaults_to_now() -> None:
    assert (Timestamp.now() + Duration.from_hours(1)).format_relative() == "in 1.0h"
    assert (Timestamp.now() - Duration.from_minutes(90)).format_relative() == "1.5h ago"
    with pytest.raises(TypeError, match="Timestamp or None"):
        Timestamp.now().format_relative(5)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- days


def iso(t: Timestamp) -> str:
    return t.isoformat()


def test_start_end_of_day_utc_and_display_zone() -> None:
    t = Timestamp.parse("2023-06-15T12:30:45.5Z")
    assert iso(t.start_of_day()) == "2023-06-15T00:00:00+00:00"
    assert iso(t.end_of_day()) == "2023-06-15T23:59:59.999999+00:00"
    assert iso(t.start_of_day("Asia/Tokyo")) == "2023-06-15T00:00:00+09:00"
    assert iso(t.to_timezone("America/Los_Angeles").start_of_day()) == "2023-06-15T00:00:00-07:00"
    late = Timestamp.parse("2023-06-15T23:30:00Z")
    assert iso(late.start_of_day("Europe/Paris")) == "2023-06-16T00:00:00+02:00"
    assert late.start_of_day("Europe/Paris").tz is PARIS
    fixed = Timestamp.parse("2023-06-15T01:00:00+05:30")
    assert iso(fixed.start_of_day()) == "2023-06-15T00:00:00+05:30"
    assert iso(fixed.end_of_day()) == "2023-06-15T23:59:59.999999+05:30"


@pytest.mark.parametrize(
    ("zone", "instant", "start", "end"),
    [
        # Midnight does not exist: clocks jump 00:00 -> 01:00, the day starts at 01:00.
        ("America/Sao_Paulo", "2018-11-04T12:00:00-02:00", "2018-11-04T01:00:00-02:00",
         "2018-11-04T23:59:59.999999-02:00"),
        ("America/Sao_Paulo", "2018-11-04T01:00:00-02:00", "2018-11-04T01:00:00-02:00",
         "2018-11-04T23:59:59.999999-02:00"),
        ("America/Santiago", "2022-09-11T12:00:00-03:00", "2022-09-11T01:00:00-03:00",
         "2022-09-11T23:59:59.999999-03:00"),
        # The day before such a day ends one microsecond before the 01:00 start.
        ("America/Sao_Paulo", "2018-11-03T12:00:00-03:00", "2018-11-03T00:00:00-03:00",
         "2018-11-03T23:59:59.999999-03:00"),
        # Fall back at midnight (Sao Paulo 2019-02-17: 00:00 -> 23:00 of the 16th).
        ("America/Sao_Paulo", "2019-02-16T12:00:00-02:00", "2019-02-16T00:00:00-02:00",
         "2019-02-16T23:59:59.999999-03:00"),
        # Havana falls back 01:00 -> 00:00: midnight happens twice, the day starts at the first.
        ("America/Havana", "2022-11-06T12:00:00-05:00", "2022-11-06T00:00:00-04:00",
         "2022-11-06T23:59:59.999999-05:00"),
        # Ordinary 23- and 25-hour days.
        ("Europe/Paris", "2023-03-26T12:00:00+02:00", "2023-03-26T00:00:00+01:00",
         "2023-03-26T23:59:59.999999+02:00"),
        ("Europe/Paris", "2023-10-29T12:00:00+01:00", "2023-10-29T00:00:00+02:00",
         "2023-10-29T23:59:59.999999+01:00"),
    ],
)
def test_start_end_of_day_dst(zone: str, instant: str, start: str, end: str) -> None:
    t = Timestamp.parse(instant).to_timezone(zone)
    assert iso(t.start_of_day()) == start
    assert iso(t.end_of_day()) == end
    assert t.start_of_day().tz is zoneinfo.ZoneInfo(zone)
    assert iso(Timestamp.parse(instant).start_of_day(zone)) == start


def test_end_of_day_when_the_local_date_repeats() -> None:
    # Phoenix 1944-01-01 00:01 (-06:00) fell back to 1943-12-31 23:01 (-07:00): the 31st
    # recurs after the 1st began. The end returned is never before the instant itself.
    zone = "America/Phoenix"
    first = Timestamp.parse("1943-12-31T12:00:00-06:00").to_timezone(zone)
    assert iso(first.end_of_day()) == "1943-12-31T23:59:59.999999-06:00"
    second = Timestamp.parse("1943-12-31T23:30:00-07:00").to_timezone(zone)
    assert iso(second.start_of_day()) == "1943-12-31T00:00:00-06:00"
    assert iso(second.end_of_day()) == "1943-12-31T23:59:59.999999-07:00"
    assert second.start_of_day() <= second <= second.end_of_day()


def test_day_lengths_around_dst() -> None:
    t = Timestamp.parse("2018-11-04T12:00:00-02:00").to_timezone("America/Sao_Paulo")
    assert t.end_of_day() - t.start_of_day() == Duration.from_hours(23) - Duration(1)
    p = Timestamp.parse("2023-10-29T12:00:00+01:00").to_timezone("Europe/Paris")
    assert p.end_of_day() - p.start_of_day() == Duration.from_hours(25) - Duration(1)


@given(inner_micros, zones)
def test_start_end_of_day_properties(m: int, zone: zoneinfo.ZoneInfo) -> None:
    t = Timestamp(m, zone)
    day = t.to_datetime().date()
    start, end = t.start_of_day(), t.end_of_day()
    assert start <= t <= end
    assert start.to_datetime().date() == day
    assert end.to_datetime().date() == day
    assert (start - Duration(1)).to_datetime().date() < day
    assert (end + Duration(1)).to_datetime().date() > day
    assert start.tz is zone and end.tz is zone


def test_end_of_last_day() -> None:
    assert Timestamp.MAX.end_of_day() == Timestamp.MAX
    assert Timestamp.MIN.start_of_day() == Timestamp.MIN
    tokyo = (Timestamp.MAX - Duration.from_hours(10)).end_of_day("Asia/Tokyo")
    assert iso(tokyo) == "9999-12-31T23:59:59.999999+09:00"
    with pytest.raises(OverflowError, match="out of range"):
        Timestamp.MAX.end_of_day("America/New_York")
    with pytest.raises(OverflowError, match="out of range"):
        Timestamp.MIN.start_of_day(timezone(timedelta(hours=5)))


# ----------------------------------------------------------------------------- repr, pickle, copy


@given(all_micros, st.one_of(st.none(), zones))
def test_repr_round_trips(m: int, zone: zoneinfo.ZoneInfo | None) -> None:
    t = Timestamp(m, zone)
    back = eval(repr(t), {"Timestamp": Timestamp})
    assert back == t
    if zone is not None and zone.key == "UTC":
        assert back.tz is timezone.utc  # the name 'UTC' always maps to timezone.utc
    else:
        assert back.tz is zone


def test_repr_of_zoneinfo_utc_round_trips_to_timezone_utc() -> None:
    back = eval(repr(Timestamp(7, zoneinfo.ZoneInfo("UTC"))), {"Timestamp": Timestamp})
    assert back == Timestamp(7) and back.tz is timezone.utc


def test_repr_format() -> None:
    assert repr(Timestamp(5)) == "Timestamp(micros=5)"
    assert repr(Timestamp(5, "Europe/Paris")) == "Timestamp(micros=5, tz='Europe/Paris')"
    assert repr(Timestamp(5, "UTC")) == "Timestamp(micros=5, tz='UTC')"
    fixed = Timestamp.parse("2023-06-15T12:30:45+05:30")
    assert repr(fixed) == "Timestamp(micros=1686812445000000, tz='UTC+05:30')"
    assert eval(repr(fixed), {"Timestamp": Timestamp}).isoformat() == fixed.isoformat()


@given(all_micros, st.one_of(st.none(), zones))
def test_pickle_round_trips(m: int, zone: zoneinfo.ZoneInfo | None) -> None:
    t = Timestamp(m, zone)
    back = pickle.loads(pickle.dumps(t))
    assert back == t
    assert back.tz is zone


def test_copy() -> None:
    t = Timestamp(5, "Europe/Paris")
    assert copy.copy(t) == t and copy.copy(t).tz is PARIS
    assert copy.deepcopy(t) == t and copy.deepcopy(t).tz is PARIS
