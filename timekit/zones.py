"""Time zone lookup: IANA names and fixed offsets to ``tzinfo`` objects.

``zoneinfo`` reads the system database and falls back to the ``tzdata`` package.
"""

from __future__ import annotations

import re
from datetime import timedelta, timezone, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["get_zone", "zone_name"]

_UTC = timezone.utc
_OFFSET = re.compile(r"UTC([+-])([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{6}))?)?")  # ASCII digits


def _unknown(name: str) -> ValueError:
    return ValueError(f"Unknown time zone {name!r}: use an IANA name such as 'Europe/Paris' or 'UTC'")


@cache
def _lookup(name: str) -> tzinfo:
    if name in ("UTC", "Z"):
        return _UTC
    m = _OFFSET.fullmatch(name)
    if m is not None:
        sign, hh, mm, ss, us = m.groups()
        if int(mm) > 59 or int(ss or 0) > 59:
            raise ValueError(f"Invalid UTC offset in time zone {name!r}: minutes and seconds must be 00-59")
        delta = timedelta(hours=int(hh), minutes=int(mm), seconds=int(ss or 0), microseconds=int(us or 0))
        if delta >= timedelta(hours=24):
            raise ValueError(f"Invalid UTC offset in time zone {name!r}: offsets must be less than 24 hours")
        if not delta:
            return _UTC
        return timezone(-delta if sign == "-" else delta)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError, UnicodeError):
        raise _unknown(name) from None


def get_zone(tz: tzinfo | str | None) -> tzinfo | None:
    """Resolve ``tz`` to a tzinfo.

    None -> None; a tzinfo is returned as is; "UTC"/"Z" -> ``timezone.utc``;
    "UTC+02:00"-style fixed offsets (as produced by ``zone_name``) -> ``timezone``;
    any other str -> ``ZoneInfo(name)`` (cached). Unknown names raise ValueError.
    """
    if tz is None or isinstance(tz, tzinfo):
        return tz
    if isinstance(tz, str):
        if not tz or "\x00" in tz:
            raise _unknown(tz)
        return _lookup(tz)
    raise TypeError(
        f"Time zone must be a tzinfo, an IANA name such as 'Europe/Paris', or None, "
        f"not {type(tz).__name__} ({tz!r})"
    )


def zone_name(tz: tzinfo) -> str:
    """Name of a zone that ``get_zone`` maps back to an equivalent zone where possible.

    ZoneInfo -> its key; ``timezone.utc`` -> "UTC"; other fixed ``timezone`` objects ->
    "UTC+HH:MM" by offset; any other tzinfo -> ``str(tz)``.
    """
    if tz is _UTC:
        return "UTC"
    if isinstance(tz, ZoneInfo):
        key = tz.key
        return key if key is not None else str(tz)
    if isinstance(tz, timezone):
        off = tz.utcoffset(None)
        if not off:
            return "UTC"
        sign = "-" if off < timedelta(0) else "+"
        off = abs(off)
        hours, rem = divmod(off.seconds, 3600)
        minutes, seconds = divmod(rem, 60)
        text = f"UTC{sign}{hours:02d}:{minutes:02d}"
        if seconds or off.microseconds:
            text += f":{seconds:02d}"
            if off.microseconds:
                text += f".{off.microseconds:06d}"
        return text
    return str(tz)
