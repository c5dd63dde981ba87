"""ScheduleAt: immutable trigger values that answer "when is the next firing?".

Four kinds, built with the factories::

    ScheduleAt.at_time(when)                      # once
    ScheduleAt.at_interval(every, start=None)     # start + k*every, k = 1, 2, ...
    ScheduleAt.daily(hour, minute, second, tz=)   # a wall-clock time every day
    ScheduleAt.cron("*/5 * * * *", tz=)           # standard 5-field cron

``next_fire(after)`` returns the first firing strictly after ``after`` (or None);
``next_fire_us(after_us)`` is the same on plain int microseconds for hot loops.
``ScheduleAt.coerce(when)`` is the one rule for what a scheduling method's ``when``
may be (a ScheduleAt, an instant, or any duration `Duration.coerce` takes);
``first_due(now_us)`` and ``coalesce(due_us, now_us)`` answer a scheduler's two
questions (when does a new schedule first fire; which firings has it missed).

Wall-clock times and DST (daily and cron)
-----------------------------------------
A local wall-clock time ``n`` is turned into an instant the way ``zoneinfo``
resolves ``fold=0`` (PEP 495):

* spring forward (a gap): a time inside the gap fires at the instant the gap
  ends plus its distance into the gap, i.e. shifted by the gap length (02:30 in
  a 02:00->03:00 jump fires at 03:30 local). It is never skipped.
* fall back (an overlap): an ambiguous time fires once, at its first occurrence.
  It is never doubled.

Cron expressions whose *hour* field starts with ``*`` (``*``, ``*/2``) describe an
elapsed-time cadence rather than wall-clock times, so, like Debian/Vixie cron,
they also fire at the second occurrence of ambiguous times: ``0 * * * *`` fires
25 times on a fall-back day and ``*/15 * * * *`` keeps firing every 15 real
minutes through the repeated hour. Every other expression (``30 2 * * *``,
``*/15 1 * * *``) gets exactly the daily guarantees above. Firings that fall on
the same instant (``30 2,3 * * *`` on a spring-forward day) fire once.

Why cronsim
-----------
Cron fields are matched with `cronsim <https://github.com/cuu508/cronsim>`_
(chosen over croniter: small, no dependencies, DST-correct, actively maintained
by healthchecks.io). cronsim is used only as a matcher on *naive* local
wall-clock time; the DST policy above is applied here, because cronsim's own
DST handling differs from it (for ``30 2 * * *`` it fires at the end of the gap,
03:00, and for ``*/15 2 * * *`` it skips the whole missing hour and fires twice
in a repeated one). The parsed expression is cached and cloned per call rather
than re-parsed (parsing costs about 8-12 us, cloning about 1 us).

Cost of ``next_fire_us`` (CPython 3.11, one warm call): at_time and interval
about 0.1-0.3 us, daily 0.3 us in a fixed-offset zone and about 1-4 us in a DST
zone (zone offset changes are found by daily probes plus bisection and cached
per zone in 32-day blocks; the first call in a new block costs ~100 us), cron
about 6-25 us, nearly all of it cronsim's field iteration.

Values are immutable, hashable and compare by value; ``to_dict``/``from_dict``
give a plain-data (ints and strings) round trip.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Any, ClassVar, Final, NoReturn
from zoneinfo import ZoneInfo

from cronsim import CronSim, CronSimError

from timekit.duration import Duration, DurationLike, coerce_us
from timekit.timestamp import Timestamp
from timekit.zones import get_zone, zone_name

__all__ = ["ScheduleAt", "TriggerLike"]

_US: Final = timedelta(microseconds=1)
_DAY_US: Final = 86_400_000_000
_EPOCH_NAIVE: Final = datetime(1970, 1, 1)
_NAIVE_MIN_US: Final = (datetime.min - _EPOCH_NAIVE) // _US
_NAIVE_MAX_US: Final = (datetime.max - _EPOCH_NAIVE) // _US
_MIN_US: Final = Timestamp.MIN.micros
_MAX_US: Final = Timestamp.MAX.micros
_UTC: Final = timezone.utc

_new = object.__new__
_setattr = object.__setattr__

_KINDS: Final = ("time", "interval", "daily", "cron")

#: `ScheduleAt.coalesce` walks at most this many firings of a calendar trigger per call.
_COALESCE_WALK_LIMIT: Final = 100_000


# --------------------------------------------------------------------------- zone helpers


def _offset_at(tz: tzinfo, t_us: int) -> int:
    """UTC offset (us) of ``tz`` in force at the instant ``t_us``."""
    utc = (_EPOCH_NAIVE + timedelta(microseconds=t_us)).replace(tzinfo=tz)
    return tz.fromutc(utc).utcoffset() // _US  # type: ignore[operator]


def _fold0(tz: tzinfo, naive_us: int) -> int:
    """Instant of the local wall time ``naive_us`` resolved with fold=0."""
    local = (_EPOCH_NAIVE + timedelta(microseconds=naive_us)).replace(tzinfo=tz)
    return naive_us - tz.utcoffset(local) // _US  # type: ignore[operator]


def _bisect_change(tz: tzinfo, lo: int, hi: int, o_lo: int) -> int:
    """First instant in (lo, hi] whose offset differs from ``o_lo``.

    Requires offset(lo) == o_lo != offset(hi), with lo and hi on whole seconds
    and a single change in between.
    """
    # tzdata changes fall on whole seconds: bisect seconds, then confirm.
    lo_s, hi_s = lo // 1_000_000, hi // 1_000_000
    while hi_s - lo_s > 1:
        mid = (lo_s + hi_s) // 2
        if _offset_at(tz, mid * 1_000_000) == o_lo:
            lo_s = mid
        else:
            hi_s = mid
    lo, hi = lo_s * 1_000_000, hi_s * 1_000_000
    if _offset_at(tz, hi - 1) == o_lo:
        return hi
    while hi - lo > 1:  # a change off the whole second (custom tzinfo)
        mid = (lo + hi) // 2
        if _offset_at(tz, mid) == o_lo:
            lo = mid
        else:
            hi = mid
    return hi


#: Offset changes are cached per zone in blocks of this many UTC days.
_BLOCK_DAYS: Final = 32
_BLOCK_US: Final = _BLOCK_DAYS * _DAY_US

_Change = tuple[int, int, int]  # (instant, offset before, offset after)


def _block_uncached(tz: tzinfo, b: int) -> tuple[int, tuple[_Change, ...]]:
    """Offset at b*BLOCK and the offset changes in (b*BLOCK, (b+1)*BLOCK], probing daily.

    tzdata never has two offset changes less than ~4 days apart, so a daily probe
    cannot miss a change that is undone before the next probe.
    """
    lo = b * _BLOCK_US
    first = prev_o = _offset_at(tz, lo)
    prev_t = lo
    changes: list[_Change] = []
    for i in range(1, _BLOCK_DAYS + 1):
        t = lo + i * _DAY_US
        o = _offset_at(tz, t)
        if o != prev_o:
            changes.append((_bisect_change(tz, prev_t, t, prev_o), prev_o, o))
        prev_t, prev_o = t, o
    return first, tuple(changes)


_block_cached = lru_cache(maxsize=8_192)(_block_uncached)


def _block(tz: tzinfo, b: int) -> tuple[int, tuple[_Change, ...]]:
    try:
        return _block_cached(tz, b)
    except TypeError:  # an unhashable custom tzinfo
        return _block_uncached(tz, b)


def _offset(tz: tzinfo, t: int) -> int:
    """Offset (us) in force at instant ``t`` (cached)."""
    o, changes = _block(tz, (t - 1) // _BLOCK_US)
    for when, _, after in changes:
        if t < when:
            break
        o = after
    return o


def _first_change(tz: tzinfo, x: int, y: int) -> _Change | None:
    """The first offset change at an instant in (x, y], or None (cached)."""
    for b in range(x // _BLOCK_US, (y - 1) // _BLOCK_US + 1):
        for ch in _block(tz, b)[1]:
            if ch[0] > y:
                return None
            if ch[0] > x:
                return ch
    return None


def _fixed_offset(tz: tzinfo) -> int | None:
    """The constant offset (us) of a fixed-offset zone, else None."""
    if isinstance(tz, timezone):
        return tz.utcoffset(None) // _US
    return None


def _resolve_zone(tz: tzinfo | str | None) -> tzinfo:
    zone = get_zone(tz)
    return _UTC if zone is None else zone


def _zone_key(tz: tzinfo) -> object:
    """What schedules compare by: the name for zoneinfo/fixed zones, else the object."""
    if isinstance(tz, (ZoneInfo, timezone)):
        return zone_name(tz)
    return tz


# --------------------------------------------------------------------------- cron matcher


class _CronFields:
    """A parsed cron expression used as a matcher on naive local wall time."""

    __slots__ = ("_expr", "_state")

    _clone_ok: ClassVar[bool | None] = None

    def __init__(self, expr: str) -> None:
        self._expr = expr
        tmpl = CronSim(expr, _EPOCH_NAIVE)  # raises CronSimError
        self._state = dict(tmpl.__dict__) if hasattr(tmpl, "__dict__") else None

    def _fresh(self, dt: datetime) -> CronSim:
        return CronSim(self._expr, dt)

    def _clone(self, dt: datetime) -> CronSim:
        it = _new(CronSim)
        it.__dict__.update(self._state)  # type: ignore[arg-type]
        it.dt = dt.replace(microsecond=0)
        return it

    def after(self, naive_us: int) -> int | None:
        """First matching naive wall time strictly after ``naive_us`` (None: none within 50 years)."""
        if naive_us < _NAIVE_MIN_US:
            naive_us = _NAIVE_MIN_US
        elif naive_us >= _NAIVE_MAX_US:
            return None
        dt = _EPOCH_NAIVE + timedelta(microseconds=naive_us)
        ok = _CronFields._clone_ok
        if ok is None:
            ok = _CronFields._check_clone()
        it = self._clone(dt) if ok and self._state is not None else self._fresh(dt)
        try:
            r = next(it)
        except (StopIteration, OverflowError):
            return None
        return (r - _EPOCH_NAIVE) // _US

    @staticmethod
    def _check_clone() -> bool:
        """Verify once that cloning a parsed CronSim behaves like constructing one."""
        try:
            probe = _CronFields("7,37 */3 1-20 * MON-FRI")
            dt = datetime(2021, 3, 4, 5, 6, 7, 8)
            ok = probe._state is not None and all(
                next(probe._clone(dt + timedelta(hours=h))) == next(probe._fresh(dt + timedelta(hours=h)))
                for h in (0, 7, 500)
            )
        except Exception:  # noqa: BLE001  # pragma: no cover - a future cronsim with other internals
            ok = False
        _CronFields._clone_ok = ok
        return ok


def _standard_field(field: str) -> str:
    """Rewrite ``a-a/n`` as ``a``: cronsim reads a one-value range with a step as ``a/n``
    (a to the end of the field), standard cron as the single value ``a``."""
    parts = field.split(",")
    for i, part in enumerate(parts):
        rng, slash, _ = part.partition("/")
        lo, dash, hi = rng.partition("-")
        if slash and dash and lo and lo.upper() == hi.upper():
            parts[i] = lo
    return ",".join(parts)


def _parse_cron(expression: object) -> tuple[str, _CronFields, bool]:
    """Validate a 5-field expression: (normalised text, matcher, hour field is a wildcard)."""
    if not isinstance(expression, str):
        raise TypeError(
            f"Cron expression must be a str such as '*/5 * * * *', not {type(expression).__name__} ({expression!r})"
        )
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(
            f"Invalid cron expression {expression!r}: expected 5 fields "
            f"(minute hour day-of-month month day-of-week), got {len(fields)}; "
            "seconds fields and @nicknames are not supported, e.g. use '0 0 * * *' for @daily"
        )
    text = " ".join(fields)
    try:
        fields_obj = _CronFields(" ".join(_standard_field(f) for f in fields))
    except CronSimError as exc:
        raise ValueError(f"Invalid cron expression {expression!r}: {exc}") from None
    except (ValueError, IndexError, KeyError, TypeError) as exc:  # defensive: cronsim internals
        raise ValueError(f"Invalid cron expression {expression!r}: {exc or type(exc).__name__}") from None
    return text, fields_obj, fields[1].startswith("*")


# --------------------------------------------------------------------------- input coercion


def _instant_us(value: object, what: str) -> int:
    """Microseconds of a Timestamp, aware datetime or Unix seconds (int/float)."""
    if isinstance(value, Timestamp):
        return value.micros
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                f"{what} got a naive datetime {value!r}: attach a tzinfo, "
                "e.g. dt.replace(tzinfo=timezone.utc) or dt.replace(tzinfo=ZoneInfo('Europe/Paris'))"
            )
        return Timestamp.from_datetime(value).micros
    if isinstance(value, (int, float, Fraction, Decimal)) and not isinstance(value, bool):
        return Timestamp.from_seconds(value).micros
    raise TypeError(
        f"{what} needs a Timestamp, an aware datetime or Unix seconds (int/float), "
        f"not {type(value).__name__} ({value!r})"
    )


def _check_int(name: str, value: object, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int in {lo}..{hi}, not {type(value).__name__} ({value!r})")
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be in {lo}..{hi}, got {value}")
    return int(value)


def _as_int(after_us: object, what: str = "next_fire_us()") -> int:
    """Coerce an int subclass; reject anything else (next_fire_us takes int microseconds)."""
    if isinstance(after_us, int) and not isinstance(after_us, bool):
        return int(after_us)
    raise TypeError(
        f"{what} needs int microseconds since the epoch, not {type(after_us).__name__} ({after_us!r}); "
        "use next_fire() for Timestamps"
    )


def _gap(due_us: object, now_us: object) -> tuple[int, int]:
    """`ScheduleAt.coalesce`'s arguments as ints, checked (due_us <= now_us)."""
    due, now = _as_int(due_us, "coalesce()"), _as_int(now_us, "coalesce()")
    if due > now:
        raise ValueError(f"coalesce() needs due_us <= now_us (a firing that is due), got {due} > {now}")
    return due, now


def _immutable(*_: object) -> NoReturn:
    raise AttributeError("ScheduleAt values are immutable: build a new one with a ScheduleAt factory")


# --------------------------------------------------------------------------- the value


class ScheduleAt:
    """An immutable trigger: when a piece of work should fire.

    Build one with :meth:`at_time`, :meth:`at_interval`, :meth:`daily` or :meth:`cron`.
    """

    __slots__ = ()

    kind: ClassVar[str] = ""

    def __new__(cls, *args: object, **kwargs: object) -> ScheduleAt:
        raise TypeError(
            "ScheduleAt cannot be instantiated directly: use ScheduleAt.at_time(), "
            "at_interval(), daily() or cron()"
        )

    __setattr__ = _immutable
    __delattr__ = _immutable

    # ------------------------------------------------------------------ factories

    @staticmethod
    def at_time(when: Timestamp | datetime | int | float) -> ScheduleAt:
        """Fire once at ``when`` (Timestamp, aware datetime or Unix seconds)."""
        return _AtTime._make(_instant_us(when, "ScheduleAt.at_time()"))

    @staticmethod
    def at_interval(every: DurationLike, *, start: Timestamp | datetime | None = None) -> ScheduleAt:
        """Fire at ``start + k*every`` for k = 1, 2, ... (anchored grid, no drift).

        ``every`` is anything `Duration.coerce` takes (a Duration, timedelta, seconds
        or text such as "250ms"); it must be positive and finite (ValueError
        "Interval must be positive ..."). With ``start=None``
        the schedule is unanchored: ``next_fire(after) == after + every`` until
        :meth:`anchored` pins it (the runtime anchors it when it is scheduled).
        """
        us = coerce_us(every, "Interval", minimum=1)
        start_us = None
        if start is not None:
            if not isinstance(start, (Timestamp, datetime)):
                raise TypeError(
                    f"at_interval(start=) needs a Timestamp, an aware datetime or None, "
                    f"not {type(start).__name__} ({start!r})"
                )
            start_us = _instant_us(start, "ScheduleAt.at_interval(start=)")
        return _Interval._make(us, start_us)

    @staticmethod
    def daily(hour: int, minute: int = 0, second: int = 0, *, tz: tzinfo | str | None = "UTC") -> ScheduleAt:
        """Fire every day at ``hour:minute:second`` wall-clock time in ``tz``.

        DST: a time inside a spring-forward gap fires shifted by the gap length
        (02:30 in a 02:00->03:00 jump fires at 03:30); an ambiguous time on a
        fall-back day fires once, at its first occurrence. Never skipped, never
        doubled. ``tz`` is a tzinfo or an IANA name (None means UTC).
        """
        h = _check_int("daily() hour", hour, 0, 23)
        m = _check_int("daily() minute", minute, 0, 59)
        s = _check_int("daily() second", second, 0, 59)
        return _Daily._make(h, m, s, _resolve_zone(tz))

    @staticmethod
    def cron(expression: str, *, tz: tzinfo | str | None = "UTC") -> ScheduleAt:
        """Fire on a standard 5-field cron expression evaluated in ``tz``.

        Same DST guarantees as :meth:`daily`; expressions whose hour field starts
        with ``*`` also fire in the repeated hour of a fall-back day (see module
        docs). Invalid expressions raise ValueError with cronsim's reason.
        """
        text, fields, wild = _parse_cron(expression)
        return _Cron._make(text, fields, wild, _resolve_zone(tz))

    @staticmethod
    def coerce(when: object, what: str = "when") -> ScheduleAt:
        """``when`` as a trigger: the rule of every scheduling method's ``when``.

        A ScheduleAt is returned as is; a Timestamp or aware datetime fires once
        (:meth:`at_time`); anything `Duration.coerce` takes (a Duration, timedelta,
        seconds, or text such as "250ms" or "PT5S") repeats that often, unanchored
        (:meth:`at_interval`). ``what`` names the parameter in the TypeError.
        """
        if isinstance(when, ScheduleAt):
            return when
        if isinstance(when, (Timestamp, datetime)):
            return _AtTime._make(_instant_us(when, "ScheduleAt.at_time()"))
        try:
            us = coerce_us(when, "Interval", minimum=1)
        except TypeError:
            raise TypeError(
                f"{what} must be a ScheduleAt, a Timestamp or an aware datetime (once), or a Duration, "
                "a timedelta, a number of seconds or duration text such as '250ms' (repeating), "
                f"not {type(when).__name__} ({when!r})"
            ) from None
        return _Interval._make(us, None)

    @staticmethod
    def from_dict(data: dict[str, Any]) -> ScheduleAt:
        """Rebuild a schedule from :meth:`to_dict` output."""
        if not isinstance(data, dict):
            raise TypeError(f"ScheduleAt.from_dict() needs a dict, not {type(data).__name__}")
        kind = data.get("kind")
        spec = _DICT_KEYS.get(kind) if isinstance(kind, str) else None
        if spec is None:
            raise ValueError(f"ScheduleAt.from_dict(): 'kind' must be one of {_KINDS}, got {kind!r}")
        required, optional = spec
        keys = set(data) - {"kind"}
        missing = sorted(k for k, _ in required if k not in data)
        extra = sorted(keys - {k for k, _ in required} - {k for k, _ in optional})
        if missing or extra:
            raise ValueError(
                f"ScheduleAt.from_dict() for kind {kind!r}: missing keys {missing}, unexpected keys {extra}; "
                "pass the dict produced by to_dict()"
            )
        for k, typ in (*required, *optional):
            if k in data and (not isinstance(data[k], typ) or isinstance(data[k], bool)):
                raise ValueError(
                    f"ScheduleAt.from_dict(): {k!r} must be {typ.__name__}, got {type(data[k]).__name__} ({data[k]!r})"
                )
        if kind == "time":
            return _AtTime._make(Timestamp(data["micros"]).micros)
        if kind == "interval":
            start = data.get("start_us")
            return ScheduleAt.at_interval(
                Duration(data["every_us"]), start=None if start is None else Timestamp(start)
            )
        if kind == "daily":
            return ScheduleAt.daily(data["hour"], data["minute"], data["second"], tz=data["tz"])
        return ScheduleAt.cron(data["expression"], tz=data["tz"])

    # ------------------------------------------------------------------ queries

    def next_fire(self, after: Timestamp) -> Timestamp | None:
        """The first firing strictly after ``after`` (same display zone), or None."""
        if not isinstance(after, Timestamp):
            raise TypeError(
                f"next_fire() needs a Timestamp, not {type(after).__name__} ({after!r}); "
                "convert with Timestamp.from_datetime() or use next_fire_us() for int microseconds"
            )
        us = self.next_fire_us(after.micros)
        return None if us is None else Timestamp(us, after.tz)

    def next_fire_us(self, after_us: int) -> int | None:
        """The first firing strictly after ``after_us`` (int us since the epoch), or None."""
        raise NotImplementedError  # pragma: no cover

    def first_fire_us(self, now_us: int) -> int:
        """When a schedule made at ``now_us`` with this trigger first fires (int us).

        A one-shot time fires at its time (a time already past: at once, so it is
        returned as is); an interval one interval after ``now_us`` (or after its
        ``start``), daily and cron at their next firing after ``now_us``. A
        repeating trigger with no firing left in the Timestamp range (its first
        one would fall after 9999-12-31T23:59:59.999999Z) raises ValueError: such a
        schedule could never run. This is the check every scheduling path shares.
        """
        now_us = _as_int(now_us)
        if self.kind == "time":
            return self._at  # type: ignore[attr-defined,no-any-return]
        first = self.anchored(Timestamp(now_us)).next_fire_us(now_us) if self.kind == "interval" else self.next_fire_us(now_us)
        if first is not None:
            return first
        when = f"after {Timestamp(now_us).isoformat()}"
        if self.kind == "interval":
            why = (
                f"its first firing {when} falls after {Timestamp.MAX.isoformat()}, the last instant "
                "a Timestamp holds; use a shorter interval"
            )
        else:
            why = f"it has no firing {when} up to {Timestamp.MAX.isoformat()}, the last instant a Timestamp holds"
        raise ValueError(f"{self} would never run: {why}")

    def first_due(self, now_us: int) -> tuple[int, ScheduleAt]:
        """The first firing of a schedule created (or rescheduled) at ``now_us``, and the
        trigger it runs on: an unanchored interval anchored at ``now_us``, any other
        trigger unchanged. The first firing is :meth:`first_fire_us` (ValueError for a
        trigger that would never fire)."""
        return self.first_fire_us(now_us), self

    def coalesce(self, due_us: int, now_us: int) -> tuple[int, int]:
        """The latest firing in ``[due_us, now_us]`` and how many firings that range holds.

        ``due_us`` is a firing of this trigger and ``due_us <= now_us`` (ValueError
        otherwise). Intervals answer in one step; other triggers walk their firings,
        at most ``_COALESCE_WALK_LIMIT`` of them: past that the latest one reached is
        returned (it is still before ``now_us``, so a caller that runs it and re-arms
        coalesces the rest of the gap on its next turn).
        """
        if due_us.__class__ is not int or now_us.__class__ is not int or due_us > now_us:
            due_us, now_us = _gap(due_us, now_us)
        latest, count = due_us, 1
        limit = _COALESCE_WALK_LIMIT
        nxt = self.next_fire_us
        while count < limit:
            after = nxt(latest)
            if after is None or after > now_us:
                break
            latest, count = after, count + 1
        return latest, count

    def anchored(self, start: Timestamp | datetime) -> ScheduleAt:
        """An unanchored interval pinned to ``start``; any other schedule is returned unchanged."""
        return self

    def to_dict(self) -> dict[str, Any]:
        """Plain data (ints and strings only) that :meth:`from_dict` turns back into this value."""
        raise NotImplementedError  # pragma: no cover

    def is_time(self) -> bool:
        """True for :meth:`at_time` schedules."""
        return self.kind == "time"

    def is_interval(self) -> bool:
        """True for :meth:`at_interval` schedules."""
        return self.kind == "interval"

    def is_daily(self) -> bool:
        """True for :meth:`daily` schedules."""
        return self.kind == "daily"

    def is_cron(self) -> bool:
        """True for :meth:`cron` schedules."""
        return self.kind == "cron"

    @property
    def tz(self) -> tzinfo | None:
        """The zone of a daily or cron schedule; None for the other kinds."""
        return None

    def _missing(self, name: str, owner: str) -> AttributeError:
        return AttributeError(f"a {self.kind!r} schedule has no .{name}; only {owner} schedules do")

    @property
    def when(self) -> Timestamp:
        """The instant of an at_time schedule."""
        raise self._missing("when", "at_time")

    @property
    def every(self) -> Duration:
        """The period of an interval schedule."""
        raise self._missing("every", "at_interval")

    @property
    def start(self) -> Timestamp | None:
        """The anchor of an interval schedule (None while unanchored)."""
        raise self._missing("start", "at_interval")

    @property
    def expression(self) -> str:
        """The (whitespace-normalised) expression of a cron schedule."""
        raise self._missing("expression", "cron")

    # ------------------------------------------------------------------ value protocol

    def _key(self) -> tuple[object, ...]:
        raise NotImplementedError  # pragma: no cover

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ScheduleAt):
            return type(self) is type(other) and self._key() == other._key()
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        if isinstance(other, ScheduleAt):
            return not (type(self) is type(other) and self._key() == other._key())
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.kind, self._key()))

    def __copy__(self) -> ScheduleAt:
        return self

    def __deepcopy__(self, memo: object) -> ScheduleAt:
        return self


_DICT_KEYS: Final[dict[str, tuple[tuple[tuple[str, type], ...], tuple[tuple[str, type], ...]]]] = {
    "time": ((("micros", int),), ()),
    "interval": ((("every_us", int),), (("start_us", int),)),
    "daily": ((("hour", int), ("minute", int), ("second", int), ("tz", str)), ()),
    "cron": ((("expression", str), ("tz", str)), ()),
}


def _tz_name_for_dict(tz: tzinfo) -> str:
    name = zone_name(tz)
    try:
        back = get_zone(name)
    except ValueError:
        back = None
    if back is None or _zone_key(back) != _zone_key(tz):
        raise ValueError(
            f"cannot serialise time zone {tz!r}: it has no name that get_zone() resolves; "
            "build the schedule with an IANA name such as 'Europe/Paris' or a fixed timezone"
        )
    return name


def _rebuild(kind: str, *args: Any) -> ScheduleAt:
    """Unpickling helper."""
    if kind == "time":
        return _AtTime._make(*args)
    if kind == "interval":
        return _Interval._make(*args)
    if kind == "daily":
        return ScheduleAt.daily(args[0], args[1], args[2], tz=args[3])
    return ScheduleAt.cron(args[0], tz=args[1])


# --------------------------------------------------------------------------- kinds


class _AtTime(ScheduleAt):
    __slots__ = ("_at",)
    kind: ClassVar[str] = "time"
    _at: int

    @classmethod
    def _make(cls, at: int) -> _AtTime:
        s = _new(cls)
        _setattr(s, "_at", at)
        return s

    def next_fire_us(self, after_us: int) -> int | None:
        if after_us.__class__ is not int:
            after_us = _as_int(after_us)
        return self._at if self._at > after_us else None

    @property
    def when(self) -> Timestamp:
        return Timestamp(self._at)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "time", "micros": self._at}

    def _key(self) -> tuple[object, ...]:
        return (self._at,)

    def __reduce__(self) -> tuple[Callable[..., ScheduleAt], tuple[Any, ...]]:
        return (_rebuild, ("time", self._at))

    def __repr__(self) -> str:
        return f"ScheduleAt.at_time({Timestamp(self._at)!r})"

    def __str__(self) -> str:
        return f"once at {Timestamp(self._at).isoformat()}"


class _Interval(ScheduleAt):
    __slots__ = ("_every", "_start")
    kind: ClassVar[str] = "interval"
    _every: int
    _start: int | None

    @classmethod
    def _make(cls, every: int, start: int | None) -> _Interval:
        s = _new(cls)
        _setattr(s, "_every", every)
        _setattr(s, "_start", start)
        return s

    def next_fire_us(self, after_us: int) -> int | None:
        if after_us.__class__ is not int:
            after_us = _as_int(after_us)
        every = self._every
        start = self._start
        if start is None:
            r = after_us + every
        elif after_us < start:
            r = start + every
        else:
            r = start + ((after_us - start) // every + 1) * every
        return r if r <= _MAX_US else None

    def first_due(self, now_us: int) -> tuple[int, ScheduleAt]:
        if now_us.__class__ is not int:
            now_us = _as_int(now_us, "first_due()")
        if self._start is not None:
            return self.first_fire_us(now_us), self
        first = now_us + self._every
        if now_us >= _MIN_US and first <= _MAX_US:
            return first, _Interval._make(self._every, now_us)
        # Out of range: first_fire_us raises, saying why (no such instant, or it would never run).
        return self.first_fire_us(now_us), self.anchored(Timestamp(now_us))

    def coalesce(self, due_us: int, now_us: int) -> tuple[int, int]:
        if due_us.__class__ is not int or now_us.__class__ is not int or due_us > now_us:
            due_us, now_us = _gap(due_us, now_us)
        every = self._every
        k = (now_us - due_us) // every
        return due_us + k * every, k + 1

    def anchored(self, start: Timestamp | datetime) -> ScheduleAt:
        if self._start is not None:
            return self
        if not isinstance(start, (Timestamp, datetime)):
            raise TypeError(f"anchored() needs a Timestamp or an aware datetime, not {type(start).__name__} ({start!r})")
        return _Interval._make(self._every, _instant_us(start, "anchored()"))

    @property
    def every(self) -> Duration:
        return Duration(self._every)

    @property
    def start(self) -> Timestamp | None:
        return None if self._start is None else Timestamp(self._start)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": "interval", "every_us": self._every}
        if self._start is not None:
            d["start_us"] = self._start
        return d

    def _key(self) -> tuple[object, ...]:
        return (self._every, self._start)

    def __reduce__(self) -> tuple[Callable[..., ScheduleAt], tuple[Any, ...]]:
        return (_rebuild, ("interval", self._every, self._start))

    def __repr__(self) -> str:
        if self._start is None:
            return f"ScheduleAt.at_interval({Duration(self._every)!r})"
        return f"ScheduleAt.at_interval({Duration(self._every)!r}, start={Timestamp(self._start)!r})"

    def __str__(self) -> str:
        text = f"every {Duration(self._every).format_human_readable()}"
        if self._start is not None:
            text += f" from {Timestamp(self._start).isoformat()}"
        return text


class _Zoned(ScheduleAt):
    __slots__ = ("_tz", "_fixed")
    _tz: tzinfo
    _fixed: int | None

    @property
    def tz(self) -> tzinfo:
        return self._tz

    def _tz_text(self) -> str:
        return zone_name(self._tz)


class _Daily(_Zoned):
    __slots__ = ("_h", "_m", "_s", "_sod")
    kind: ClassVar[str] = "daily"
    _h: int
    _m: int
    _s: int
    _sod: int

    @classmethod
    def _make(cls, h: int, m: int, s: int, tz: tzinfo) -> _Daily:
        d = _new(cls)
        for name, value in (
            ("_h", h),
            ("_m", m),
            ("_s", s),
            ("_sod", (h * 3600 + m * 60 + s) * 1_000_000),
            ("_tz", tz),
            ("_fixed", _fixed_offset(tz)),
        ):
            _setattr(d, name, value)
        return d

    def next_fire_us(self, after_us: int) -> int | None:
        if after_us.__class__ is not int:
            after_us = _as_int(after_us)
        sod = self._sod
        off = self._fixed
        try:
            if off is not None:
                n = (after_us + off) // _DAY_US * _DAY_US + sod
                if n - off <= after_us:
                    n += _DAY_US
                r = n - off
            else:
                tz = self._tz
                o = _offset(tz, after_us)
                local = after_us + o
                n = local // _DAY_US * _DAY_US + sod
                if n <= local:
                    n += _DAY_US
                r = n - o
                if _first_change(tz, after_us - _DAY_US, r) is None:
                    # One offset over the whole window: the fixed-offset answer is exact.
                    return r if r <= _MAX_US else None
                day = local // _DAY_US
                # Start a day early: a time in a gap just before midnight is shifted into
                # the next day. fold=0 resolution is monotonic over days, so the first
                # candidate after `after_us` is the next firing.
                n = (day - 1) * _DAY_US + sod
                while True:
                    r = _fold0(tz, n)
                    if r > after_us:
                        break
                    n += _DAY_US
        except OverflowError:
            return None
        return r if r <= _MAX_US else None

    @property
    def hour(self) -> int:
        """The local hour (0-23)."""
        return self._h

    @property
    def minute(self) -> int:
        """The local minute (0-59)."""
        return self._m

    @property
    def second(self) -> int:
        """The local second (0-59)."""
        return self._s

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "daily",
            "hour": self._h,
            "minute": self._m,
            "second": self._s,
            "tz": _tz_name_for_dict(self._tz),
        }

    def _key(self) -> tuple[object, ...]:
        return (self._h, self._m, self._s, _zone_key(self._tz))

    def __reduce__(self) -> tuple[Callable[..., ScheduleAt], tuple[Any, ...]]:
        return (_rebuild, ("daily", self._h, self._m, self._s, self._tz))

    def __repr__(self) -> str:
        return f"ScheduleAt.daily({self._h}, {self._m}, {self._s}, tz={self._tz_text()!r})"

    def __str__(self) -> str:
        return f"daily at {self._h:02d}:{self._m:02d}:{self._s:02d} ({self._tz_text()})"


class _Cron(_Zoned):
    __slots__ = ("_expr", "_fields", "_wild")
    kind: ClassVar[str] = "cron"
    _expr: str
    _fields: _CronFields
    _wild: bool

    @classmethod
    def _make(cls, expr: str, fields: _CronFields, wild: bool, tz: tzinfo) -> _Cron:
        c = _new(cls)
        for name, value in (
            ("_expr", expr),
            ("_fields", fields),
            ("_wild", wild),
            ("_tz", tz),
            ("_fixed", _fixed_offset(tz)),
        ):
            _setattr(c, name, value)
        return c

    def next_fire_us(self, after_us: int) -> int | None:
        if after_us.__class__ is not int:
            after_us = _as_int(after_us)
        try:
            off = self._fixed
            if off is not None:
                n = self._fields.after(after_us + off)
                r = None if n is None else n - off
            else:
                r = self._next_zoned(after_us)
        except OverflowError:
            return None
        return r if r is not None and r <= _MAX_US else None

    def _next_zoned(self, a: int) -> int | None:
        """Smallest firing > a, walking the zone's constant-offset segments from a.

        In a segment [T, next change) with offset o entered from offset p, a naive
        match n fires at n - o when n >= T + max(o, p); a match in the gap
        [T + p, T + o) (spring forward) fires at n - p (fold=0); a match in the
        overlap [T + o, T + p) (fall back) fires at n - o only for wildcard-hour
        expressions (its first occurrence belongs to the previous segment).
        """
        tz = self._tz
        after = self._fields.after
        o = _offset(tz, a)
        seg_lo = a
        ch = _first_change(tz, a - _DAY_US, a)  # gaps/overlaps are at most a day long
        if ch is not None:
            t0, o_pre = ch[0], ch[1]
        else:
            t0, o_pre = 0, o
        while True:
            best = None
            normal_from = a + o
            if o != o_pre:
                lo_n, hi_n = t0 + min(o, o_pre), t0 + max(o, o_pre)
                if o > o_pre or self._wild:
                    shift = o_pre if o > o_pre else o
                    n = after(max(lo_n - 1, a + shift))
                    if n is not None and n < hi_n:
                        best = n - shift
                normal_from = max(normal_from, hi_n - 1)
            n = after(normal_from)
            if n is None:
                return best
            c = n - o
            if best is not None and best < c:
                return best
            nxt = _first_change(tz, seg_lo, c)
            if nxt is None:
                return c
            if best is not None:
                return best
            t0, o_pre, o = nxt
            seg_lo = t0

    @property
    def expression(self) -> str:
        return self._expr

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "cron", "expression": self._expr, "tz": _tz_name_for_dict(self._tz)}

    def _key(self) -> tuple[object, ...]:
        return (self._expr, _zone_key(self._tz))

    def __reduce__(self) -> tuple[Callable[..., ScheduleAt], tuple[Any, ...]]:
        return (_rebuild, ("cron", self._expr, self._tz))

    def __repr__(self) -> str:
        return f"ScheduleAt.cron({self._expr!r}, tz={self._tz_text()!r})"

    def __str__(self) -> str:
        return f"cron {self._expr!r} ({self._tz_text()})"


#: What `ScheduleAt.coerce` turns into a trigger: a ScheduleAt (as is), an instant
#: (fires once) or a duration (repeats).
TriggerLike = ScheduleAt | Timestamp | datetime | DurationLike
