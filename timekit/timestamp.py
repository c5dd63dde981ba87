"""Timestamp: an exact instant in integer microseconds since the Unix epoch (UTC).

A Timestamp may carry a display time zone (``.tz``). It only affects conversion
and formatting; equality, ordering and hashing use the instant alone.
"""

from __future__ import annotations

import re
import time
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Any, ClassVar, Final, overload

from timekit.duration import Duration, Number, _human, _round_div, _scaled
from timekit.errors import OutOfRangeError
from timekit.textnum import MAX_DIGITS, int_text, shown
from timekit.zones import get_zone, zone_name

__all__ = ["Timestamp"]

MIN_MICROS: Final = -62_135_596_800_000_000  # 0001-01-01T00:00:00Z
MAX_MICROS: Final = 253_402_300_799_999_999  # 9999-12-31T23:59:59.999999Z

_UTC: Final = timezone.utc
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=_UTC)
_EPOCH_ORDINAL: Final = 719_163  # date(1970, 1, 1).toordinal()
_ONE_US: Final = timedelta(microseconds=1)
_US_PER_DAY: Final = 86_400_000_000
_MAX_ORDINAL: Final = date.max.toordinal()

_new = object.__new__
_time_ns = time.time_ns


def _overflow(micros: int) -> OutOfRangeError:
    return OutOfRangeError(
        f"Timestamp of {int_text(micros)} microseconds since the epoch is out of range: it must lie "
        f"within [{MIN_MICROS}, {MAX_MICROS}] (0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z)"
    )


def _make(micros: int, tz: tzinfo | None) -> Timestamp:
    t = _new(Timestamp)
    t._micros = micros
    t._tz = tz
    return t


def _checked(micros: int, tz: tzinfo | None) -> Timestamp:
    if MIN_MICROS <= micros <= MAX_MICROS:
        t = _new(Timestamp)
        t._micros = micros
        t._tz = tz
        return t
    raise _overflow(micros)


def _dt_micros(dt: datetime) -> int:
    """Exact microseconds since the epoch of an aware datetime."""
    return (dt - _EPOCH) // _ONE_US


def _local_ordinal(micros: int, zone: tzinfo) -> int:
    """Local proleptic Gregorian ordinal of an instant; beyond datetime's range -> 0 or max + 1."""
    if micros > MAX_MICROS:
        return _MAX_ORDINAL + 1
    try:
        return (_EPOCH + timedelta(microseconds=micros)).astimezone(zone).toordinal()
    except OverflowError:
        return _MAX_ORDINAL + 1 if micros > 0 else 0


def _first_on_or_after(lo: int, hi: int, ordinal: int, zone: tzinfo) -> int:
    """Smallest instant in [lo, hi] whose local date is >= ordinal (true at hi, monotone between)."""
    while lo < hi:
        mid = (lo + hi) // 2
        if _local_ordinal(mid, zone) >= ordinal:
            hi = mid
        else:
            lo = mid + 1
    return hi


# ISO 8601 / RFC 3339 date-time with a mandatory offset. ASCII digits only (``\d``
# would take other scripts' digits too); a fraction of a second of any length
# (up to MAX_DIGITS), rounded half-to-even to the microsecond.
_ISO = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]+))?)?"
    r"(?:([Zz])|([+-])([0-9]{2})(?::?([0-9]{2})(?::?([0-9]{2})(?:\.([0-9]{1,6}))?)?)?)?"
)

_PARSE_FORMS = "'2023-06-15T12:30:45Z', '2023-06-15T12:30:45.123456+02:00'"


def _iso_days(text: str, y: str, mo: str, d: str) -> int:
    """The date of an `_ISO` match: days since 1970-01-01 (a real calendar date)."""
    try:
        return date(int(y), int(mo), int(d)).toordinal() - _EPOCH_ORDINAL
    except ValueError as exc:
        raise ValueError(f"Invalid timestamp {text!r}: {exc}; use a real calendar date") from None


def _iso_seconds(text: str, hh: str, mi: str, ss: str | None, frac: str | None) -> int:
    """The time of day of an `_ISO` match in whole seconds (its fraction of a second,
    at most `MAX_DIGITS` digits, is added by `_with_fraction`)."""
    h, mnt, sec = int(hh), int(mi), int(ss or 0)
    if h > 23 or mnt > 59 or sec > 59:
        raise ValueError(
            f"Invalid timestamp {text!r}: time of day out of range (hours 00-23, minutes and "
            "seconds 00-59; leap seconds are not supported)"
        )
    if frac is not None and len(frac) > MAX_DIGITS:
        raise ValueError(
            f"Invalid timestamp {shown(text)}: the fraction of a second has {len(frac)} digits; "
            f"at most {MAX_DIGITS} are accepted (it is rounded to the microsecond anyway)"
        )
    return h * 3600 + mnt * 60 + sec


def _iso_offset(text: str, sign: str, oh: str, om: str | None, osec: str | None, ofrac: str | None) -> int:
    """The UTC offset of an `_ISO` match (``+hh[:mm[:ss[.ffffff]]]``) in signed
    microseconds, less than 24 hours."""
    omin, osecs = int(om or 0), int(osec or 0)
    if omin > 59 or osecs > 59:
        raise ValueError(
            f"Invalid timestamp {text!r}: the UTC offset's minutes and seconds must be 00-59"
        )
    off = (int(oh) * 3600 + omin * 60 + osecs) * 1_000_000
    off += int(ofrac.ljust(6, "0")) if ofrac else 0
    if off >= _US_PER_DAY:
        raise ValueError(f"Invalid timestamp {text!r}: the UTC offset must be less than 24 hours")
    return -off if sign == "-" else off


def _with_fraction(micros: int, frac: str | None) -> int:
    """``micros`` (a whole second) plus an `_ISO` fraction of a second: exact up to the
    microsecond, finer ones rounded half-to-even once, on the whole instant."""
    if not frac:
        return micros
    if len(frac) <= 6:
        return micros + int(frac.ljust(6, "0"))
    scale = 10 ** (len(frac) - 6)
    return _round_div(micros * scale + int(frac), scale)


class Timestamp:
    """An immutable instant: integer microseconds since 1970-01-01T00:00:00Z.

    Range is that of ``datetime`` (years 1 to 9999 UTC). ``tz`` is a display zone
    used by conversions and formatting; it never affects ==, <, or hash.
    """

    __slots__ = ("_micros", "_tz")

    _micros: int
    _tz: tzinfo | None

    MIN: ClassVar[Timestamp]
    MAX: ClassVar[Timestamp]

    def __new__(cls, micros: int, tz: tzinfo | str | None = None) -> Timestamp:
        """Create the instant ``micros`` microseconds after the Unix epoch."""
        mc = micros.__class__
        if mc is not int:
            if mc is bool or not isinstance(micros, int):
                hint = (
                    "use Timestamp.from_seconds() for float Unix seconds"
                    if isinstance(micros, float)
                    else "pass an int number of microseconds since the Unix epoch"
                )
                raise TypeError(f"Timestamp(micros) needs an int, not {mc.__name__} ({micros!r}); {hint}")
            micros = int(micros)
        zone = tz if tz is None else get_zone(tz)
        if MIN_MICROS <= micros <= MAX_MICROS:
            t = _new(cls)
            t._micros = micros
            t._tz = zone
            return t
        raise _overflow(micros)

    # ------------------------------------------------------------------ factories

    @classmethod
    def now(cls, tz: tzinfo | str | None = None) -> Timestamp:
        """The current instant (system clock, microsecond resolution)."""
        t = _new(Timestamp)
        t._micros = _time_ns() // 1000
        t._tz = tz if tz is None else get_zone(tz)
        return t

    @classmethod
    def epoch(cls) -> Timestamp:
        """1970-01-01T00:00:00Z."""
        return _make(0, None)

    @classmethod
    def from_micros(cls, micros: Number, tz: tzinfo | str | None = None) -> Timestamp:
        """Instant ``micros`` microseconds after the epoch (rounded half-to-even)."""
        return _checked(_scaled(micros, 1, "micros"), get_zone(tz))

    @classmethod
    def from_millis(cls, millis: Number, tz: tzinfo | str | None = None) -> Timestamp:
        """Instant ``millis`` Unix milliseconds after the epoch (rounded half-to-even)."""
        return _checked(_scaled(millis, 1_000, "millis"), get_zone(tz))

    @classmethod
    def from_seconds(cls, seconds: Number, tz: tzinfo | str | None = None) -> Timestamp:
        """Instant at Unix time ``seconds`` (floats rounded half-to-even, exactly)."""
        return _checked(_scaled(seconds, 1_000_000, "seconds"), get_zone(tz))

    @classmethod
    def from_datetime(cls, dt: datetime) -> Timestamp:
        """Exact instant of an aware datetime; its tzinfo becomes the display zone."""
        if not isinstance(dt, datetime):
            raise TypeError(f"from_datetime() needs a datetime.datetime, not {type(dt).__name__} ({dt!r})")
        if dt.tzinfo is None or dt.utcoffset() is None:
            raise ValueError(
                f"from_datetime() needs an aware datetime, got naive {dt!r}: attach a tzinfo, "
                "e.g. dt.replace(tzinfo=timezone.utc) or dt.replace(tzinfo=ZoneInfo('Europe/Paris'))"
            )
        return _checked(_dt_micros(dt), dt.tzinfo)

    @classmethod
    def parse(cls, text: str) -> Timestamp:
        """Parse ISO 8601 with an offset, e.g. "2023-06-15T12:30:45.5+02:00" or "...Z".

        The display zone is UTC for "Z"/"+00:00", else the fixed offset given. A
        fraction of a second finer than a microsecond (RFC 3339 allows any number
        of digits, here up to 100) is rounded half-to-even to the microsecond.
        """
        if not isinstance(text, str):
            raise TypeError(f"Timestamp.parse() needs a str such as {_PARSE_FORMS}, not {type(text).__name__}")
        s = text.strip()
        m = _ISO.fullmatch(s)
        if m is None:
            raise ValueError(
                f"Invalid timestamp {shown(text)}: use ISO 8601 with an offset, such as {_PARSE_FORMS}"
            )
        y, mo, d, hh, mi, ss, frac, z, sign, oh, om, osec, ofrac = m.groups()
        if z is None and sign is None:
            raise ValueError(
                f"Timestamp {text!r} has no UTC offset: add one, e.g. 'Z' or '+02:00' "
                f"({s}Z), so that it names a single instant"
            )
        days = _iso_days(text, y, mo, d)
        seconds = _iso_seconds(text, hh, mi, ss, frac)
        off = 0 if z is not None else _iso_offset(text, sign, oh, om, osec, ofrac)
        zone: tzinfo = timezone(timedelta(microseconds=off)) if off else _UTC
        return _checked(_with_fraction((days * 86_400 + seconds) * 1_000_000 - off, frac), zone)

    # ------------------------------------------------------------------ accessors

    @property
    def micros(self) -> int:
        """Microseconds since 1970-01-01T00:00:00Z."""
        return self._micros

    @property
    def tz(self) -> tzinfo | None:
        """The display time zone, or None (shown as UTC)."""
        return self._tz

    def _zone(self, tz: tzinfo | str | None) -> tzinfo:
        if tz is not None:
            return get_zone(tz)  # type: ignore[return-value]
        return self._tz if self._tz is not None else _UTC

    def to_datetime(self, tz: tzinfo | str | None = None) -> datetime:
        """Aware datetime in ``tz``, else the display zone, else UTC."""
        zone = self._zone(tz)
        return self._to_datetime(zone)

    def _to_datetime(self, zone: tzinfo) -> datetime:
        utc = _EPOCH + timedelta(microseconds=self._micros)
        if zone is _UTC:
            return utc
        try:
            return utc.astimezone(zone)
        except OverflowError:
            raise OutOfRangeError(
                f"{self!r} cannot be shown in time zone {zone_name(zone)!r}: its local date falls "
                "outside years 1-9999 of datetime; use UTC or a zone with a smaller offset"
            ) from None

    def isoformat(self, tz: tzinfo | str | None = None) -> str:
        """ISO 8601 text with an offset, e.g. "2023-06-15T12:30:45+00:00"."""
        return self._to_datetime(self._zone(tz)).isoformat()

    __str__ = isoformat

    def to_utc(self) -> Timestamp:
        """The same instant with UTC as display zone."""
        return _make(self._micros, _UTC)

    def to_timezone(self, tz: tzinfo | str) -> Timestamp:
        """The same instant with ``tz`` (tzinfo or IANA name) as display zone."""
        zone = get_zone(tz)
        if zone is None:
            raise TypeError("to_timezone() needs a tzinfo or an IANA name such as 'Europe/Paris'; use to_utc() for UTC")
        return _make(self._micros, zone)

    # ------------------------------------------------------------------ days

    def _start_of_ordinal(self, ordinal: int, zone: tzinfo) -> int:
        """Microseconds of the first instant whose local date in ``zone`` is ``ordinal``."""
        naive_midnight = (ordinal - _EPOCH_ORDINAL) * _US_PER_DAY
        if zone is _UTC:
            return naive_midnight
        if isinstance(zone, timezone):
            return naive_midnight - zone.utcoffset(None) // _ONE_US
        if ordinal > _MAX_ORDINAL:
            # Midnight after 9999-12-31: not a datetime; use the offset in force then.
            last = datetime.max.replace(tzinfo=zone)
            off = last.utcoffset()
            return naive_midnight - (off // _ONE_US if off is not None else 0)
        midnight = datetime.fromordinal(ordinal)
        candidates = []
        for fold in (0, 1):
            local = midnight.replace(tzinfo=zone, fold=fold)
            u = _dt_micros(local)
            try:
                back = _make(u, None)._to_datetime(zone) if MIN_MICROS <= u <= MAX_MICROS else None
            except OverflowError:
                back = None
            if back is not None and back.replace(tzinfo=None) == midnight:
                candidates.append(u)
        if candidates:
            return min(candidates)
        # Midnight does not exist (a DST gap): the day starts at the transition.
        a = _dt_micros(midnight.replace(tzinfo=zone, fold=1))
        b = _dt_micros(midnight.replace(tzinfo=zone, fold=0))
        return _first_on_or_after(min(a, b), max(a, b), ordinal, zone)

    def start_of_day(self, tz: tzinfo | str | None = None) -> Timestamp:
        """First instant of this instant's local calendar day (in tz/display zone/UTC).

        Correct on days whose midnight is skipped by DST (the day then starts at 01:00).
        """
        zone = self._zone(tz)
        ordinal = self._to_datetime(zone).toordinal()
        return _checked(self._start_of_ordinal(ordinal, zone), zone)

    def end_of_day(self, tz: tzinfo | str | None = None) -> Timestamp:
        """Last microsecond of this instant's local calendar day: one before the next day starts.

        If the local date repeats after the next day began (a fall-back across midnight),
        the end of the run containing this instant is returned, so start <= self <= end.
        """
        zone = self._zone(tz)
        ordinal = self._to_datetime(zone).toordinal()
        nxt = self._start_of_ordinal(ordinal + 1, zone)
        if nxt <= self._micros:
            # The local date went backwards across midnight (e.g. America/Phoenix on
            # 1943-12-31 23:01 after 1944-01-01 00:01): end this run of the date instead.
            nxt = _first_on_or_after(self._micros, self._micros + 2 * _US_PER_DAY, ordinal + 1, zone)
        return _checked(nxt - 1, zone)

    # ------------------------------------------------------------------ arithmetic

    def __add__(self, other: Duration) -> Timestamp:
        try:
            r = self._micros + other._us  # only Duration has ``_us``
        except AttributeError:
            return NotImplemented
        if -62_135_596_800_000_000 <= r <= 253_402_300_799_999_999:
            t = _new(Timestamp)
            t._micros = r
            t._tz = self._tz
            return t
        raise _overflow(r)

    __radd__ = __add__

    @overload
    def __sub__(self, other: Timestamp) -> Duration: ...
    @overload
    def __sub__(self, other: Duration) -> Timestamp: ...
    def __sub__(self, other: Any) -> Any:
        if isinstance(other, Timestamp):
            d = _new(Duration)
            d._us = self._micros - other._micros
            return d
        if isinstance(other, Duration):
            r = self._micros - other._us
            if -62_135_596_800_000_000 <= r <= 253_402_300_799_999_999:
                t = _new(Timestamp)
                t._micros = r
                t._tz = self._tz
                return t
            raise _overflow(r)
        return NotImplemented

    # ------------------------------------------------------------------ comparison

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Timestamp):
            return self._micros == other._micros
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        if isinstance(other, Timestamp):
            return self._micros != other._micros
        return NotImplemented

    def __lt__(self, other: Timestamp) -> bool:
        if isinstance(other, Timestamp):
            return self._micros < other._micros
        return NotImplemented

    def __le__(self, other: Timestamp) -> bool:
        if isinstance(other, Timestamp):
            return self._micros <= other._micros
        return NotImplemented

    def __gt__(self, other: Timestamp) -> bool:
        if isinstance(other, Timestamp):
            return self._micros > other._micros
        return NotImplemented

    def __ge__(self, other: Timestamp) -> bool:
        if isinstance(other, Timestamp):
            return self._micros >= other._micros
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._micros)

    # ------------------------------------------------------------------ text / pickle

    def format_human_readable(self, tz: tzinfo | str | None = None) -> str:
        """E.g. "2023-06-15 12:30:45 UTC" or "2023-06-15 14:30:45 CEST"."""
        dt = self._to_datetime(self._zone(tz))
        name = dt.tzname() or zone_name(dt.tzinfo)  # type: ignore[arg-type]
        return (
            f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d} "
            f"{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d} {name}"
        )

    def format_relative(self, reference: Timestamp | None = None) -> str:
        """Relative to ``reference`` (default: now): "in 1.0h", "1.5min ago" or "now"."""
        if reference is None:
            reference = Timestamp.now()
        elif not isinstance(reference, Timestamp):
            raise TypeError(f"format_relative() needs a Timestamp or None, not {type(reference).__name__}")
        diff = self._micros - reference._micros
        if diff == 0:
            return "now"
        if diff > 0:
            return f"in {_human(diff)}"
        return f"{_human(-diff)} ago"

    def __repr__(self) -> str:
        if self._tz is None:
            return f"Timestamp(micros={self._micros})"
        return f"Timestamp(micros={self._micros}, tz={zone_name(self._tz)!r})"

    def __reduce__(self) -> tuple[type[Timestamp], tuple[int, tzinfo | None]]:
        return (Timestamp, (self._micros, self._tz))

    def __copy__(self) -> Timestamp:
        return self

    def __deepcopy__(self, memo: object) -> Timestamp:
        return self


Timestamp.MIN = _make(MIN_MICROS, None)
Timestamp.MAX = _make(MAX_MICROS, None)
