"""Duration: an exact, signed span of time in integer microseconds.

Values are immutable and hashable. Every conversion from a non-integer number
rounds half-to-even to the nearest microsecond using exact rational arithmetic,
so ``Duration.from_seconds(8.2).micros == 8_200_000``.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from numbers import Rational
from typing import Any, ClassVar, Final, overload

from timekit.errors import OutOfRangeError
from timekit.textnum import MAX_DIGITS, int_text, shown

__all__ = ["Duration", "DurationLike", "coerce_us"]

#: Numbers accepted by the factories and by ``*`` and ``/``.
Number = int | float | Fraction | Decimal

MIN_MICROS: Final = -(2**63)
MAX_MICROS: Final = 2**63 - 1

_US_PER_MS: Final = 1_000
_US_PER_S: Final = 1_000_000
_US_PER_MIN: Final = 60_000_000
_US_PER_H: Final = 3_600_000_000
_US_PER_D: Final = 86_400_000_000

_new = object.__new__


def _round_div(num: int, den: int) -> int:
    """Return num / den rounded half-to-even (den must be non-zero)."""
    if den < 0:
        num, den = -num, -den
    q, r = divmod(num, den)
    r2 = r + r
    if r2 > den or (r2 == den and q & 1):
        q += 1
    return q


def _ratio(value: object, what: str) -> tuple[int, int]:
    """Return value as an exact (numerator, denominator) pair.

    Raises TypeError for bools and non-numbers and ValueError for NaN/inf.
    """
    cls = value.__class__
    if cls is int:
        return value, 1  # type: ignore[return-value]
    if cls is bool:
        raise TypeError(f"{what} must be a number, not bool ({value!r}); pass an int or float")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{what} must be finite, got {value!r}")
        return value.as_integer_ratio()
    if isinstance(value, int):
        return int(value), 1
    if isinstance(value, Rational):
        return int(value.numerator), int(value.denominator)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{what} must be finite, got {value!r}")
        return value.as_integer_ratio()
    index = getattr(cls, "__index__", None)
    if index is not None:
        return index(value), 1
    raise TypeError(
        f"{what} must be an int, float, Fraction or Decimal, not {cls.__name__} ({value!r})"
    )


def _scaled(value: object, unit: int, what: str) -> int:
    """Return value * unit rounded half-to-even to an int (exact)."""
    if value.__class__ is int:
        return value * unit
    num, den = _ratio(value, what)
    if den == 1:
        return num * unit
    return _round_div(num * unit, den)


def _overflow(micros: int) -> OutOfRangeError:
    return OutOfRangeError(
        f"Duration of {int_text(micros)} microseconds is out of range: it must lie within "
        f"[{MIN_MICROS}, {MAX_MICROS}] (a signed 64-bit integer, about +/-292,000 years)"
    )


def _make(micros: int) -> Duration:
    """Build a Duration from a range-checked int without validation."""
    d = _new(Duration)
    d._us = micros
    return d


def _checked(micros: int) -> Duration:
    if MIN_MICROS <= micros <= MAX_MICROS:
        d = _new(Duration)
        d._us = micros
        return d
    raise _overflow(micros)


# --------------------------------------------------------------------------- parsing

# ASCII digits only: ``\d`` would also take other scripts' digits ("٥s").
_NUM = r"([0-9]+(?:\.[0-9]+)?|\.[0-9]+)"
_COMPACT_UNITS: Final = {
    "d": _US_PER_D,
    "h": _US_PER_H,
    "min": _US_PER_MIN,
    "m": _US_PER_MIN,
    "s": _US_PER_S,
    "ms": _US_PER_MS,
    "us": 1,
    "\u00b5s": 1,  # micro sign
    "\u03bcs": 1,  # Greek small letter mu
}
_COMPACT_RANK: Final = {"d": 0, "h": 1, "min": 2, "m": 2, "s": 3, "ms": 4, "us": 5, "\u00b5s": 5, "\u03bcs": 5}
_COMPACT_PART = re.compile(_NUM + r"\s*(ms|min|us|\u00b5s|\u03bcs|d|h|m|s)\s*")
# re.ASCII: with Unicode case folding "S" would also match "ſ" (U+017F).
_ISO = re.compile(
    r"([+-])?P(?!$)"
    r"(?:([0-9]+(?:[.,][0-9]+)?)W)?"
    r"(?:([0-9]+(?:[.,][0-9]+)?)D)?"
    r"(?:T(?=[0-9]|[.,])"
    r"(?:([0-9]+(?:[.,][0-9]+)?)H)?"
    r"(?:([0-9]+(?:[.,][0-9]+)?)M)?"
    r"(?:([0-9]+(?:[.,][0-9]+)?)S)?)?",
    re.IGNORECASE | re.ASCII,
)
_YEARS_MONTHS = re.compile(r"[0-9]+(?:[.,][0-9]+)?[Yy]|P[^T]*[0-9]+(?:[.,][0-9]+)?[Mm]", re.ASCII)
_ISO_UNITS: Final = (7 * _US_PER_D, _US_PER_D, _US_PER_H, _US_PER_MIN, _US_PER_S)


def _parse_error(text: str, why: str = "") -> ValueError:
    extra = f" ({why})" if why else ""
    return ValueError(
        f"Invalid duration {shown(text)}{extra}: use compact text such as '1h30m', '250ms', "
        "'1.5s', '500us', '2d' or '-5s' (units d, h, m/min, s, ms, us/\u00b5s), or ISO 8601 "
        "such as 'PT1H30M', 'P1DT2H' or 'PT0.5S' (weeks, days, hours, minutes, seconds)"
    )


def _number(token: str, text: str) -> Fraction:
    """The exact value of a matched decimal token ("1.5", "1,5", ".5")."""
    if len(token) > MAX_DIGITS:
        digits = len(token) - (not token.isdigit())  # less the decimal point
        if digits > MAX_DIGITS:
            raise _parse_error(text, f"a number has {digits} digits; at most {MAX_DIGITS} are accepted")
    return Fraction(token.replace(",", "."))


def _parse(text: str) -> int:
    s = text.strip()
    if not s:
        raise _parse_error(text, "empty")
    sign = 1
    body = s
    if body[0] in "+-":
        sign = -1 if body[0] == "-" else 1
        body = body[1:].lstrip()
    if body[:1] in ("P", "p"):
        m = _ISO.fullmatch(s)
        if m is None:
            if _YEARS_MONTHS.search(s):
                raise _parse_error(text, "years and months have no fixed length")
            raise _parse_error(text)
        total = Fraction(0)
        for group, unit in zip(m.groups()[1:], _ISO_UNITS, strict=True):
            if group is not None:
                total += _number(group, text) * unit
        if m.group(1) == "-":
            total = -total
        return _round_div(total.numerator, total.denominator)
    if body == "0":
        return 0
    pos = 0
    total = Fraction(0)
    last_rank = -1
    n = len(body)
    while pos < n:
        m = _COMPACT_PART.match(body, pos)
        if m is None:
            raise _parse_error(text)
        unit_name = m.group(2)
        rank = _COMPACT_RANK[unit_name]
        if rank <= last_rank:
            raise _parse_error(text, "give each unit once, largest first")
        last_rank = rank
        total += _number(m.group(1), text) * _COMPACT_UNITS[unit_name]
        pos = m.end()
    total *= sign
    return _round_div(total.numerator, total.denominator)


# --------------------------------------------------------------------------- coercion

_ACCEPTED: Final = (
    "a Duration, a timedelta or a number of seconds (int, float, Fraction, Decimal), "
    "or duration text such as '250ms', '1h30m' or 'PT5S'"
)


def _bound_text(minimum: int | None) -> str:
    if minimum is None:
        return ""
    if minimum == 0:
        return "non-negative"
    if minimum == 1:
        return "positive"
    return f"at least {minimum} us"


def _below(value: object, us: int, what: str, minimum: int) -> ValueError:
    if minimum == 1:
        return ValueError(f"{what} must be positive, got {value!r} ({us} us); pass at least 1 microsecond")
    if minimum == 0:
        return ValueError(f"{what} must not be negative, got {value!r} ({us} us); pass 0 or more")
    return ValueError(f"{what} must be at least {minimum} us, got {value!r} ({us} us)")


def _coerce_other(value: object, what: str, minimum: int | None) -> int:
    """`coerce_us` for everything but a Duration or an int (no bound check)."""
    if isinstance(value, (float, Decimal)):
        if not (value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)):
            bound = _bound_text(minimum)
            raise ValueError(
                f"{what} must be {bound + ' and ' if bound else ''}finite, got {value!r}; "
                "pass a finite number of seconds such as 1.5, a Duration or duration text such as '250ms'"
            )
        us = _scaled(value, _US_PER_S, what)
    elif isinstance(value, Duration):
        return value._us
    elif isinstance(value, timedelta):
        us = (value.days * 86_400 + value.seconds) * _US_PER_S + value.microseconds
    elif isinstance(value, str):
        try:
            us = _parse(value)
        except ValueError as exc:
            raise ValueError(f"{what}: {exc}") from None
    elif value.__class__ is bool:
        raise TypeError(f"{what} must be {_ACCEPTED}; not bool ({value!r}): pass the seconds as an int or float")
    elif isinstance(value, (int, Rational)):
        us = _scaled(value, _US_PER_S, what)
    else:
        raise TypeError(f"{what} must be {_ACCEPTED}; not {type(value).__name__} ({value!r})")
    if MIN_MICROS <= us <= MAX_MICROS:
        return us
    raise OutOfRangeError(f"{what}: {_overflow(us)}")


def coerce_us(value: object, what: str = "duration", *, minimum: int | None = 0) -> int:
    """`Duration.coerce` as int microseconds (no Duration is built): the one rule for
    every duration parameter in timekit and the actors runtime."""
    cls = value.__class__
    if cls is Duration:
        us: int = value._us  # type: ignore[attr-defined]
    elif cls is int:
        us = value * _US_PER_S  # type: ignore[operator]
        if not MIN_MICROS <= us <= MAX_MICROS:
            raise OutOfRangeError(f"{what}: {_overflow(us)}")
    else:
        us = _coerce_other(value, what, minimum)
    if minimum is not None and us < minimum:
        raise _below(value, us, what, minimum)
    return us


# --------------------------------------------------------------------------- formatting

# (unit micros, suffix, tenths threshold at which the value rolls into the next unit)
_HUMAN_UNITS: Final = (
    (_US_PER_MS, "ms", 10_000),
    (_US_PER_S, "s", 600),
    (_US_PER_MIN, "min", 600),
    (_US_PER_H, "h", 240),
    (_US_PER_D, "d", None),
)


def _human(micros: int) -> str:
    if micros == 0:
        return "0s"
    a = -micros if micros < 0 else micros
    sign = "-" if micros < 0 else ""
    if a < _US_PER_MS:
        return f"{sign}{a}\u03bcs"
    if a < _US_PER_S:
        i = 0
    elif a < _US_PER_MIN:
        i = 1
    elif a < _US_PER_H:
        i = 2
    elif a < _US_PER_D:
        i = 3
    else:
        i = 4
    while True:
        unit, suffix, limit = _HUMAN_UNITS[i]
        tenths = _round_div(a * 10, unit)
        if limit is None or tenths < limit:
            whole, frac = divmod(tenths, 10)
            return f"{sign}{whole}.{frac}{suffix}"
        i += 1


# --------------------------------------------------------------------------- class


class Duration:
    """An immutable, exact, signed time span in integer microseconds.

    The range is that of a signed 64-bit integer; results outside it raise
    `OutOfRangeError` (an OverflowError and a ValueError). Arithmetic never clamps: ``5s - 10s == -5s``.
    """

    __slots__ = ("_us",)

    _us: int

    ZERO: ClassVar[Duration]
    MIN: ClassVar[Duration]
    MAX: ClassVar[Duration]

    def __new__(cls, micros: int) -> Duration:
        """Create a Duration of ``micros`` microseconds (an int)."""
        mc = micros.__class__
        if mc is not int:
            if mc is bool:
                raise TypeError(
                    f"Duration(micros) needs an int, not bool ({micros!r}); pass an int number of microseconds"
                )
            if isinstance(micros, float):
                raise TypeError(
                    f"Duration(micros) needs an int, not float ({micros!r}); "
                    "use Duration.from_seconds() / from_millis() / from_micros() for floats"
                )
            if not isinstance(micros, int):
                raise TypeError(
                    f"Duration(micros) needs an int number of microseconds, not {mc.__name__} "
                    f"({micros!r}); use Duration.from_seconds() or Duration.parse() for other inputs"
                )
            micros = int(micros)
        if MIN_MICROS <= micros <= MAX_MICROS:
            d = _new(cls)
            d._us = micros
            return d
        raise _overflow(micros)

    # ------------------------------------------------------------------ factories

    @classmethod
    def from_micros(cls, micros: Number) -> Duration:
        """Duration of ``micros`` microseconds (non-integers round half-to-even)."""
        return _checked(_scaled(micros, 1, "micros"))

    @classmethod
    def from_millis(cls, millis: Number) -> Duration:
        """Duration of ``millis`` milliseconds, rounded half-to-even to a microsecond."""
        return _checked(_scaled(millis, _US_PER_MS, "millis"))

    @classmethod
    def from_seconds(cls, seconds: Number) -> Duration:
        """Duration of ``seconds`` seconds, rounded half-to-even to a microsecond."""
        return _checked(_scaled(seconds, _US_PER_S, "seconds"))

    @classmethod
    def from_minutes(cls, minutes: Number) -> Duration:
        """Duration of ``minutes`` minutes, rounded half-to-even to a microsecond."""
        return _checked(_scaled(minutes, _US_PER_MIN, "minutes"))

    @classmethod
    def from_hours(cls, hours: Number) -> Duration:
        """Duration of ``hours`` hours, rounded half-to-even to a microsecond."""
        return _checked(_scaled(hours, _US_PER_H, "hours"))

    @classmethod
    def from_days(cls, days: Number) -> Duration:
        """Duration of ``days`` 24-hour days, rounded half-to-even to a microsecond."""
        return _checked(_scaled(days, _US_PER_D, "days"))

    @classmethod
    def from_timedelta(cls, td: timedelta) -> Duration:
        """Exact Duration equal to a ``datetime.timedelta``."""
        if not isinstance(td, timedelta):
            raise TypeError(
                f"from_timedelta() needs a datetime.timedelta, not {type(td).__name__} ({td!r})"
            )
        return _checked((td.days * 86_400 + td.seconds) * _US_PER_S + td.microseconds)

    @classmethod
    def parse(cls, text: str) -> Duration:
        """Parse compact text ("1h30m", "250ms", "1.5s", "-5s") or ISO 8601 ("PT1H30M").

        Digits are ASCII only, at most 100 per number; the total is rounded
        half-to-even to the microsecond.
        """
        if not isinstance(text, str):
            raise TypeError(
                f"Duration.parse() needs a str such as '1h30m' or 'PT1H30M', not {type(text).__name__}"
            )
        return _checked(_parse(text))

    @classmethod
    def coerce(cls, value: object, what: str = "duration", *, minimum: int | None = 0) -> Duration:
        """``value`` as a Duration: the rule every duration parameter follows.

        Accepted: a Duration (returned as is), a ``datetime.timedelta`` (exact), a
        finite number of seconds (int, float, Fraction, Decimal; rounded half-to-even
        to the microsecond) or duration text as :meth:`parse` reads it ("250ms",
        "1h30m", "PT5S"). A bool is refused with TypeError, NaN and infinities with
        ValueError. ``minimum`` is the smallest accepted value in microseconds:
        0 (the default) refuses negative spans, 1 refuses zero too (a positive
        span), None accepts any sign. ``what`` names the parameter in the messages
        ("Interval must be positive, got 0 (0 us); pass at least 1 microsecond").
        """
        if value.__class__ is Duration and (minimum is None or value._us >= minimum):
            return value
        return _make(coerce_us(value, what, minimum=minimum))

    # ------------------------------------------------------------------ accessors

    @property
    def micros(self) -> int:
        """The exact signed number of microseconds."""
        return self._us

    def total_seconds(self) -> float:
        """Seconds as a float (correctly rounded)."""
        return self._us / _US_PER_S

    def to_timedelta(self) -> timedelta:
        """The exact equivalent ``datetime.timedelta``."""
        return timedelta(microseconds=self._us)

    def is_zero(self) -> bool:
        """True when the span is exactly zero."""
        return self._us == 0

    def is_positive(self) -> bool:
        """True when the span is strictly greater than zero."""
        return self._us > 0

    def is_negative(self) -> bool:
        """True when the span is strictly less than zero."""
        return self._us < 0

    # ------------------------------------------------------------------ arithmetic

    # Hot paths: Duration is the only type with an ``_us`` slot (Timestamp uses ``_micros``),
    # so a failed attribute read means "not a Duration" (zero-cost try in CPython 3.11+).
    def __add__(self, other: Duration) -> Duration:
        try:
            r = self._us + other._us
        except AttributeError:
            return NotImplemented
        if -0x8000000000000000 <= r <= 0x7FFFFFFFFFFFFFFF:
            d = _new(Duration)
            d._us = r
            return d
        raise _overflow(r)

    __radd__ = __add__

    def __sub__(self, other: Duration) -> Duration:
        try:
            r = self._us - other._us
        except AttributeError:
            return NotImplemented
        if -0x8000000000000000 <= r <= 0x7FFFFFFFFFFFFFFF:
            d = _new(Duration)
            d._us = r
            return d
        raise _overflow(r)

    def __rsub__(self, other: Duration) -> Duration:
        if isinstance(other, Duration):
            return _checked(other._us - self._us)
        return NotImplemented

    def __mul__(self, other: Number) -> Duration:
        if other.__class__ is int:
            r = self._us * other
            if -0x8000000000000000 <= r <= 0x7FFFFFFFFFFFFFFF:
                d = _new(Duration)
                d._us = r
                return d
            raise _overflow(r)
        if isinstance(other, Duration):
            raise TypeError(
                "cannot multiply a Duration by a Duration; multiply by a number, "
                "or use d.micros * e.micros for a plain int"
            )
        if not isinstance(other, (int, float, Rational, Decimal)):
            return NotImplemented
        num, den = _ratio(other, "multiplier")
        return _checked(_round_div(self._us * num, den))

    __rmul__ = __mul__

    @overload
    def __truediv__(self, other: Duration) -> float: ...
    @overload
    def __truediv__(self, other: Number) -> Duration: ...
    def __truediv__(self, other: Any) -> Any:
        """Duration / number -> Duration (half-to-even); Duration / Duration -> float."""
        if isinstance(other, Duration):
            if other._us == 0:
                raise ZeroDivisionError("cannot divide by a zero Duration; check the divisor first")
            return self._us / other._us
        if not isinstance(other, (int, float, Rational, Decimal)):
            return NotImplemented
        num, den = _ratio(other, "divisor")
        if num == 0:
            raise ZeroDivisionError("cannot divide a Duration by zero; check the divisor first")
        return _checked(_round_div(self._us * den, num))

    @overload
    def __floordiv__(self, other: Duration) -> int: ...
    @overload
    def __floordiv__(self, other: int) -> Duration: ...
    def __floordiv__(self, other: Any) -> Any:
        """Duration // Duration -> int; Duration // int -> Duration (both floor)."""
        if isinstance(other, Duration):
            if other._us == 0:
                raise ZeroDivisionError("cannot floor-divide by a zero Duration; check the divisor first")
            return self._us // other._us
        if isinstance(other, int) and other.__class__ is not bool:
            if other == 0:
                raise ZeroDivisionError("cannot floor-divide a Duration by zero; check the divisor first")
            return _checked(self._us // other)
        return NotImplemented

    def __mod__(self, other: Duration) -> Duration:
        if isinstance(other, Duration):
            if other._us == 0:
                raise ZeroDivisionError("cannot take a Duration modulo a zero Duration; check the divisor first")
            return _make(self._us % other._us)
        return NotImplemented

    def __divmod__(self, other: Duration) -> tuple[int, Duration]:
        if isinstance(other, Duration):
            if other._us == 0:
                raise ZeroDivisionError("cannot divmod by a zero Duration; check the divisor first")
            q, r = divmod(self._us, other._us)
            return q, _make(r)
        return NotImplemented

    def __neg__(self) -> Duration:
        return _checked(-self._us)

    def __pos__(self) -> Duration:
        return self

    def __abs__(self) -> Duration:
        return self if self._us >= 0 else _checked(-self._us)

    def __bool__(self) -> bool:
        return self._us != 0

    # ------------------------------------------------------------------ comparison

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Duration):
            return self._us == other._us
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        if isinstance(other, Duration):
            return self._us != other._us
        return NotImplemented

    def __lt__(self, other: Duration) -> bool:
        if isinstance(other, Duration):
            return self._us < other._us
        return NotImplemented

    def __le__(self, other: Duration) -> bool:
        if isinstance(other, Duration):
            return self._us <= other._us
        return NotImplemented

    def __gt__(self, other: Duration) -> bool:
        if isinstance(other, Duration):
            return self._us > other._us
        return NotImplemented

    def __ge__(self, other: Duration) -> bool:
        if isinstance(other, Duration):
            return self._us >= other._us
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._us)

    # ------------------------------------------------------------------ text / pickle

    def format_precise(self) -> str:
        """Exact text in microseconds, e.g. "30500000μs"."""
        return f"{self._us}\u03bcs"

    def format_human_readable(self) -> str:
        """Short text in the largest fitting unit, e.g. "1.5ms", "30.0s", "2.0h"."""
        return _human(self._us)

    __str__ = format_human_readable

    def __repr__(self) -> str:
        return f"Duration(micros={self._us})"

    def __reduce__(self) -> tuple[type[Duration], tuple[int]]:
        return (Duration, (self._us,))

    def __copy__(self) -> Duration:
        return self

    def __deepcopy__(self, memo: object) -> Duration:
        return self


Duration.ZERO = _make(0)
Duration.MIN = _make(MIN_MICROS)
Duration.MAX = _make(MAX_MICROS)

#: What every duration parameter accepts (see `Duration.coerce`): a Duration, a
#: timedelta, a number of seconds or duration text ("250ms", "PT5S").
DurationLike = Duration | timedelta | int | float | Fraction | Decimal | str
