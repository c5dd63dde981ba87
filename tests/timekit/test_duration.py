"""Tests for timekit.duration.Duration."""

from __future__ import annotations

import copy
import math
import pickle
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from unicode_digits import NON_ASCII_DIGITS_BY_VALUE

from timekit.duration import Duration
from timekit.errors import OutOfRangeError

I64_MIN = -(2**63)
I64_MAX = 2**63 - 1

# Keep operands small enough that sums and small products stay in range.
small = st.integers(min_value=-(2**60), max_value=2**60)
durations = small.map(Duration)
any_micros = st.integers(min_value=I64_MIN, max_value=I64_MAX)


def exact_half_even(value: float | Fraction, unit: int) -> int:
    """Reference: exact half-to-even rounding via Fraction."""
    return round(Fraction(value) * unit)


# ----------------------------------------------------------------------------- construction


def test_constructor_and_accessors() -> None:
    d = Duration(1500)
    assert d.micros == 1500
    assert Duration(-7).micros == -7
    assert Duration(I64_MAX).micros == I64_MAX
    assert Duration(I64_MIN).micros == I64_MIN


@pytest.mark.parametrize("micros", [I64_MAX + 1, I64_MIN - 1, 10**30])
def test_constructor_out_of_range(micros: int) -> None:
    with pytest.raises(OverflowError, match=str(micros)):
        Duration(micros)


def test_constructor_rejects_bool() -> None:
    with pytest.raises(TypeError, match="bool"):
        Duration(True)  # type: ignore[arg-type]


def test_constructor_rejects_float_and_suggests_from_seconds() -> None:
    with pytest.raises(TypeError, match="from_seconds"):
        Duration(1.5)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["5", None, Decimal(1), [1]])
def test_constructor_rejects_non_int(bad: object) -> None:
    with pytest.raises(TypeError, match="needs an int"):
        Duration(bad)  # type: ignore[arg-type]


def test_constants() -> None:
    assert Duration.ZERO.micros == 0
    assert Duration.MAX.micros == I64_MAX
    assert Duration.MIN.micros == I64_MIN


def test_immutable() -> None:
    d = Duration(5)
    with pytest.raises(AttributeError):
        d.micros = 6  # type: ignore[misc]
    with pytest.raises(AttributeError):
        d.other = 1  # type: ignore[attr-defined]


# ----------------------------------------------------------------------------- factories


def test_factories_int() -> None:
    assert Duration.from_micros(7).micros == 7
    assert Duration.from_millis(250).micros == 250_000
    assert Duration.from_seconds(3).micros == 3_000_000
    assert Duration.from_minutes(2).micros == 120_000_000
    assert Duration.from_hours(1).micros == 3_600_000_000
    assert Duration.from_days(2).micros == 172_800_000_000


def test_from_seconds_is_exact_for_8_2() -> None:
    assert Duration.from_seconds(8.2).micros == 8_200_000
    assert Duration.from_seconds(0.1).micros == 100_000
    assert Duration.from_seconds(-8.2).micros == -8_200_000


def test_factories_round_half_to_even() -> None:
    assert Duration.from_micros(0.5).micros == 0
    assert Duration.from_micros(1.5).micros == 2
    assert Duration.from_micros(2.5).micros == 2
    assert Duration.from_micros(-2.5).micros == -2
    assert Duration.from_seconds(Fraction(1, 2_000_000)).micros == 0
    assert Duration.from_seconds(Fraction(3, 2_000_000)).micros == 2
    assert Duration.from_millis(Decimal("0.0025")).micros == 2
    assert Duration.from_millis(Decimal("1.0015")).micros == 1002


def test_factories_accept_fraction_and_decimal() -> None:
    assert Duration.from_seconds(Fraction(1, 3)).micros == 333_333
    assert Duration.from_seconds(Decimal("1.25")).micros == 1_250_000
    assert Duration.from_hours(Fraction(1, 2)) == Duration.from_minutes(30)


@given(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False))
def test_from_seconds_matches_exact_reference(x: float) -> None:
    assert Duration.from_seconds(x).micros == exact_half_even(x, 10**6)


@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False))
def test_from_millis_matches_exact_reference(x: float) -> None:
    assert Duration.from_millis(x).micros == exact_half_even(x, 10**3)


@given(st.integers(min_value=-(10**7), max_value=10**7))
def test_from_seconds_rounds_exact_halves_to_even(n: int) -> None:
    # n + 0.5 microseconds, expressed in seconds as an exact Fraction.
    value = Fraction(2 * n + 1, 2 * 10**6)
    expected = n if n % 2 == 0 else n + 1
    assert Duration.from_seconds(value).micros == expected


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, Decimal("NaN"), Decimal("Infinity")])
@pytest.mark.parametrize(
    "factory",
    [Duration.from_micros, Duration.from_millis, Duration.from_seconds, Duration.from_minutes,
     Duration.from_hours, Duration.from_days],
)
def test_factories_reject_non_finite(factory: object, bad: object) -> None:
    with pytest.raises(ValueError, match="finite"):
        factory(bad)  # type: ignore[operator]


@pytest.mark.parametrize("bad", [True, False, "1", None, object(), 1j])
def test_factories_reject_non_numbers(bad: object) -> None:
    with pytest.raises(TypeError, match="seconds must be"):
        Duration.from_seconds(bad)  # type: ignore[arg-type]


def test_factories_overflow() -> None:
    with pytest.raises(OverflowError, match="out of range"):
        Duration.from_days(10**9)
    with pytest.raises(ValueError, match="out of range") as info:  # bad input, too
        Duration.from_days(10**9)
    assert type(info.value) is OutOfRangeError
    with pytest.raises(OverflowError, match="out of range"):
        Duration.from_seconds(1e300)


def test_timedelta_round_trip_examples() -> None:
    td = timedelta(days=-3, seconds=5, microseconds=7)
    assert Duration.from_timedelta(td).to_timedelta() == td
    with pytest.raises(TypeError, match="timedelta"):
        Duration.from_timedelta(5)  # type: ignore[arg-type]


def test_from_timedelta_overflow() -> None:
    with pytest.raises(OverflowError, match="out of range"):
        Duration.from_timedelta(timedelta.max)


@given(any_micros)
def test_timedelta_round_trip(m: int) -> None:
    d = Duration(m)
    td = d.to_timedelta()
    assert td // timedelta(microseconds=1) == m
    assert Duration.from_timedelta(td) == d


# ----------------------------------------------------------------------------- parse


@pytest.mark.parametrize(
    ("text", "micros"),
    [
        ("1h30m", 5_400_000_000),
        ("1h 30m", 5_400_000_000),
        ("250ms", 250_000),
        ("1.5s", 1_500_000),
        ("500us", 500),
        ("500\u00b5s", 500),
        ("500\u03bcs", 500),
        ("2d", 172_800_000_000),
        ("-5s", -5_000_000),
        ("+5s", 5_000_000),
        ("10min", 600_000_000),
        ("1m30s", 90_000_000),
        ("1d2h3m4s5ms6us", 93_784_005_006),
        ("0", 0),
        (" 2h ", 7_200_000_000),
        (".5s", 500_000),
        ("PT1H30M", 5_400_000_000),
        ("P1DT2H", 93_600_000_000),
        ("PT0.5S", 500_000),
        ("PT0,5S", 500_000),
        ("P2W", 1_209_600_000_000),
        ("P1D", 86_400_000_000),
        ("-PT5S", -5_000_000),
        ("pt1m", 60_000_000),
        ("PT0.0000005S", 0),
        ("PT0.0000015S", 2),
    ],
)
def test_parse_valid(text: str, micros: int) -> None:
    assert Duration.parse(text).micros == micros


@pytest.mark.parametrize(
    "text", ["", "  ", "5", "1.5", "1x", "h", "1h1h", "30m1h", "1 hour", "P", "PT", "P1DT", "PT5", "1H", "--5s", "5s-"]
)
def test_parse_invalid(text: str) -> None:
    with pytest.raises(ValueError, match="Invalid duration") as info:
        Duration.parse(text)
    message = str(info.value)
    assert repr(text) in message
    assert "1h30m" in message and "PT1H30M" in message


@pytest.mark.parametrize("text", ["P1M", "P1Y", "P1Y2M3D"])
def test_parse_rejects_years_and_months(text: str) -> None:
    with pytest.raises(ValueError, match="years and months"):
        Duration.parse(text)


def test_parse_rejects_non_str() -> None:
    with pytest.raises(TypeError, match="needs a str"):
        Duration.parse(5)  # type: ignore[arg-type]




@pytest.mark.parametrize("text", ["\u0665s", "\uff15s", "PT\u0665S", "1\u0966ms", "P\U0001d7d3D", "PT5\u017f", "\u0665"])
def test_parse_rejects_non_ascii_digits_and_letters(text: str) -> None:
    with pytest.raises(ValueError, match="Invalid duration"):
        Duration.parse(text)


@given(st.integers(0, 10**9), st.integers(0, 999_999), st.sampled_from(["{}.{:06d}s", "PT{}.{:06d}S", "{}s{}us"]),
       st.data())
def test_parse_rejects_any_non_ascii_digit(whole: int, us: int, form: str, data: st.DataObject) -> None:
    text = form.format(whole, us)
    assert Duration.parse(text).micros == whole * 10**6 + us
    i = data.draw(st.sampled_from([i for i, c in enumerate(text) if c.isdigit()]))
    digit = data.draw(st.sampled_from(NON_ASCII_DIGITS_BY_VALUE[int(text[i])]))
    with pytest.raises(ValueError, match="Invalid duration"):
        Duration.parse(text[:i] + digit + text[i + 1 :])


@pytest.mark.parametrize("text", ["1" + "0" * 5000 + "s", "PT" + "1" * 5000 + "S", "0." + "1" * 5000 + "s",
                                  "1h" + "2" * 5000 + "m"])
def test_parse_huge_numbers_get_the_parse_error(text: str) -> None:
    with pytest.raises(ValueError, match=r"Invalid duration .*at most 100 are accepted") as info:
        Duration.parse(text)
    message = str(info.value)
    assert "int_max_str_digits" not in message and len(message) < 600


def test_parse_numbers_up_to_the_digit_limit() -> None:
    assert Duration.parse("0." + "0" * 98 + "1s").micros == 0
    assert Duration.parse("0" * 99 + "5s").micros == 5_000_000
    with pytest.raises(ValueError, match="a number has 101 digits"):
        Duration.parse("0" * 100 + "5s")
    with pytest.raises(ValueError, match="a number has 101 digits"):
        Duration.parse("0." + "0" * 99 + "5s")
    with pytest.raises(OverflowError, match=r"about 1\.0e105 microseconds is out of range"):
        Duration.parse("1" + "0" * 99 + "s")


def test_out_of_range_message_with_a_huge_int() -> None:
    with pytest.raises(OverflowError, match=r"about -1\.0e5000 microseconds"):
        Duration(-(10**5000))
    with pytest.raises(OverflowError, match="out of range"):
        Duration.from_seconds(10**5000)


def test_parse_overflow() -> None:
    with pytest.raises(OverflowError, match="out of range"):
        Duration.parse("999999999999d")


@given(st.integers(min_value=0, max_value=10**6), st.integers(0, 23), st.integers(0, 59), st.integers(0, 59),
       st.integers(0, 999_999))
def test_parse_compact_and_iso_agree(days: int, h: int, m: int, s: int, us: int) -> None:
    expected = ((days * 24 + h) * 60 + m) * 60 * 10**6 + s * 10**6 + us
    frac = f"{s}.{us:06d}"
    assert Duration.parse(f"{days}d{h}h{m}m{frac}s").micros == expected
    assert Duration.parse(f"P{days}DT{h}H{m}M{frac}S").micros == expected


# ----------------------------------------------------------------------------- arithmetic


def test_subtraction_is_signed_never_clamped() -> None:
    assert Duration.from_seconds(5) - Duration.from_seconds(10) == Duration.from_seconds(-5)
    assert (Duration(5) - Duration(10)).is_negative()


def test_arithmetic_examples() -> None:
    s = Duration.from_seconds
    assert s(1) + s(2) == s(3)
    assert s(2) * 3 == s(6)
    assert 3 * s(2) == s(6)
    assert s(1) * 1.5 == Duration(1_500_000)
    assert s(1) * Fraction(1, 3) == Duration(333_333)
    assert Duration(3) * 0.5 == Duration(2)  # 1.5 -> 2 (half to even)
    assert Duration(5) * 0.5 == Duration(2)  # 2.5 -> 2
    assert s(3) / 2 == Duration(1_500_000)
    assert Duration(5) / 2 == Duration(2)
    assert Duration(7) / 2 == Duration(4)
    assert Duration(1) / 3 == Duration(0)
    assert s(1) / 0.5 == s(2)
    assert s(3) / s(2) == 1.5
    assert s(7) // s(2) == 3
    assert isinstance(s(7) // s(2), int)
    assert s(7) // 2 == Duration(3_500_000)
    assert Duration(-7) // 2 == Duration(-4)
    assert s(7) % s(2) == s(1)
    assert divmod(s(7), s(2)) == (3, s(1))
    assert -s(1) == Duration(-1_000_000)
    assert +s(1) == s(1)
    assert abs(Duration(-4)) == Duration(4)
    assert bool(Duration(0)) is False
    assert bool(Duration(-1)) is True


def test_arithmetic_type_errors() -> None:
    d = Duration(5)
    with pytest.raises(TypeError, match="multiply by a number"):
        d * d  # type: ignore[operator]
    with pytest.raises(TypeError):
        d + 1  # type: ignore[operator]
    with pytest.raises(TypeError):
        d - 1  # type: ignore[operator]
    with pytest.raises(TypeError):
        d * "2"  # type: ignore[operator]
    with pytest.raises(TypeError, match="bool"):
        d * True
    with pytest.raises(TypeError):
        d // 1.5  # type: ignore[operator]
    with pytest.raises(TypeError):
        d % 2  # type: ignore[operator]
    with pytest.raises(TypeError):
        1 / d  # type: ignore[operator]


def test_multiply_and_divide_reject_non_finite() -> None:
    with pytest.raises(ValueError, match="finite"):
        Duration(5) * math.nan
    with pytest.raises(ValueError, match="finite"):
        Duration(5) / math.inf


@pytest.mark.parametrize(
    "op",
    [
        lambda d: d / 0,
        lambda d: d / 0.0,
        lambda d: d / Duration(0),
        lambda d: d // 0,
        lambda d: d // Duration(0),
        lambda d: d % Duration(0),
        lambda d: divmod(d, Duration(0)),
    ],
)
def test_zero_divisor(op: object) -> None:
    with pytest.raises(ZeroDivisionError, match="zero"):
        op(Duration(5))  # type: ignore[operator]


def test_arithmetic_overflow() -> None:
    with pytest.raises(OverflowError, match=str(I64_MAX + 1)):
        Duration.MAX + Duration(1)
    with pytest.raises(OverflowError, match="out of range"):
        Duration.MIN - Duration(1)
    with pytest.raises(OverflowError, match="out of range"):
        -Duration.MIN
    with pytest.raises(OverflowError, match="out of range"):
        abs(Duration.MIN)
    with pytest.raises(OverflowError, match="out of range"):
        Duration.MAX * 2
    with pytest.raises(OverflowError, match="out of range"):
        Duration.MAX * 1.5
    with pytest.raises(OverflowError, match="out of range"):
        Duration.MIN // -1


@given(durations, durations)
def test_add_sub_inverse(a: Duration, b: Duration) -> None:
    assert (a + b) - b == a
    assert a - b == -(b - a)
    assert (a - b).micros == a.micros - b.micros


@given(durations, durations, durations)
def test_add_associative(a: Duration, b: Duration, c: Duration) -> None:
    assert (a + b) + c == a + (b + c)


@given(durations, durations)
def test_add_commutative(a: Duration, b: Duration) -> None:
    assert a + b == b + a


@given(st.integers(-(2**40), 2**40).map(Duration), st.integers(0, 30))
def test_multiply_equals_repeated_addition(a: Duration, n: int) -> None:
    total = Duration.ZERO
    for _ in range(n):
        total = total + a
    assert a * n == total
    assert n * a == total


@given(durations, st.integers(min_value=1, max_value=2**40).map(Duration))
def test_divmod_identity_positive_divisor(a: Duration, b: Duration) -> None:
    q, r = divmod(a, b)
    assert isinstance(q, int)
    assert b * q + r == a
    assert Duration.ZERO <= r < b
    assert a // b == q
    assert a % b == r


@given(durations, st.integers(min_value=-(2**40), max_value=2**40).filter(bool).map(Duration))
def test_divmod_identity_any_divisor(a: Duration, b: Duration) -> None:
    q, r = divmod(a, b)
    assert b * q + r == a


@given(st.integers(-(2**50), 2**50).map(Duration), st.floats(min_value=-1e3, max_value=1e3, allow_nan=False))
def test_multiply_by_float_is_exact_half_even(a: Duration, x: float) -> None:
    assert (a * x).micros == round(a.micros * Fraction(x))


@given(st.integers(-(2**50), 2**50).map(Duration), st.floats(min_value=1e-3, max_value=1e3))
def test_divide_by_float_is_exact_half_even(a: Duration, x: float) -> None:
    assert (a / x).micros == round(a.micros / Fraction(x))


@given(durations, st.integers(min_value=-(10**6), max_value=10**6).filter(bool))
def test_floordiv_int_is_floor(a: Duration, n: int) -> None:
    assert (a // n).micros == a.micros // n


# ----------------------------------------------------------------------------- comparison and hashing


@given(any_micros, any_micros)
def test_order_consistent_with_micros(x: int, y: int) -> None:
    a, b = Duration(x), Duration(y)
    assert (a < b) == (x < y)
    assert (a <= b) == (x <= y)
    assert (a > b) == (x > y)
    assert (a >= b) == (x >= y)
    assert (a == b) == (x == y)
    assert (a != b) == (x != y)


@given(any_micros, any_micros)
def test_hash_consistent_with_eq(x: int, y: int) -> None:
    a, b = Duration(x), Duration(y)
    if a == b:
        assert hash(a) == hash(b)
    assert hash(Duration(x)) == hash(a)


def test_comparison_with_other_types() -> None:
    d = Duration(5)
    assert (d == 5) is False
    assert (d != 5) is True
    assert d != timedelta(microseconds=5)
    with pytest.raises(TypeError):
        d < 5  # type: ignore[operator]
    with pytest.raises(TypeError):
        d >= None  # type: ignore[operator]


def test_usable_as_dict_key() -> None:
    assert {Duration(5): "x"}[Duration.from_micros(5)] == "x"
    assert len({Duration(1), Duration(1), Duration(2)}) == 2


# ----------------------------------------------------------------------------- predicates and conversion


def test_predicates() -> None:
    assert Duration(0).is_zero() and not Duration(1).is_zero()
    assert Duration(1).is_positive() and not Duration(0).is_positive()
    assert Duration(-1).is_negative() and not Duration(0).is_negative()


def test_total_seconds() -> None:
    assert Duration(1_500_000).total_seconds() == 1.5
    assert Duration(-1).total_seconds() == -1e-6
    assert Duration(8_200_000).total_seconds() == 8.2


# ----------------------------------------------------------------------------- formatting


def test_format_precise() -> None:
    assert Duration(30_500_000).format_precise() == "30500000\u03bcs"
    assert Duration(-5).format_precise() == "-5\u03bcs"


@pytest.mark.parametrize(
    ("micros", "text"),
    [
        (0, "0s"),
        (1, "1\u03bcs"),
        (500, "500\u03bcs"),
        (999, "999\u03bcs"),
        (1_000, "1.0ms"),
        (1_500, "1.5ms"),
        (999_949, "999.9ms"),
        (999_950, "1.0s"),  # 999.95 rounds to 1000.0 ms -> next unit
        (999_999, "1.0s"),
        (1_000_000, "1.0s"),
        (30_000_000, "30.0s"),
        (59_949_999, "59.9s"),
        (59_960_000, "1.0min"),
        (90_000_000, "1.5min"),
        (3_594_000_000, "59.9min"),
        (3_597_000_000, "1.0h"),  # 59.95 min rounds (half to even) to 60.0 -> next unit
        (1_250, "1.2ms"),  # display rounding is half to even too
        (1_350, "1.4ms"),
        (3_599_999_999, "1.0h"),
        (7_200_000_000, "2.0h"),
        (86_399_000_000, "1.0d"),
        (172_800_000_000, "2.0d"),
        (2**63 - 1, "106751991.2d"),
        (-1_500, "-1.5ms"),
        (-500, "-500\u03bcs"),
        (-59_960_000, "-1.0min"),
        (-(2**63), "-106751991.2d"),
    ],
)
def test_format_human_readable(micros: int, text: str) -> None:
    d = Duration(micros)
    assert d.format_human_readable() == text
    assert str(d) == text


def test_format_zero() -> None:
    assert str(Duration.ZERO) == "0s"
    assert Duration.ZERO.format_precise() == "0\u03bcs"


@given(any_micros)
def test_format_human_readable_never_shows_rollover_values(m: int) -> None:
    text = Duration(m).format_human_readable().lstrip("-")
    for suffix, limit in (("ms", 1000), ("min", 60), ("h", 24)):
        if text.endswith(suffix) and not text.endswith("\u03bcs"):
            assert float(text[: -len(suffix)]) < limit
    if text.endswith("s") and not text.endswith(("ms", "\u03bcs")):
        assert float(text[:-1]) < 60


# ----------------------------------------------------------------------------- repr, pickle, copy


@given(any_micros)
def test_repr_round_trips(m: int) -> None:
    d = Duration(m)
    assert repr(d) == f"Duration(micros={m})"
    assert eval(repr(d), {"Duration": Duration}) == d


@given(any_micros)
def test_pickle_round_trips(m: int) -> None:
    d = Duration(m)
    assert pickle.loads(pickle.dumps(d)) == d


def test_copy() -> None:
    d = Duration(42)
    assert copy.copy(d) == d
    assert copy.deepcopy(d) == d


def test_sum_with_start() -> None:
    assert sum([Duration(1), Duration(2)], Duration.ZERO) == Duration(3)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_from_seconds_range_or_overflow(x: float) -> None:
    expected = exact_half_even(x, 10**6)
    if I64_MIN <= expected <= I64_MAX:
        assert Duration.from_seconds(x).micros == expected
    else:
        with pytest.raises(OverflowError):
            Duration.from_seconds(x)
