"""Tests for timekit.zones."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta, timezone, tzinfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from timekit.zones import get_zone, zone_name

ZONE_NAMES = sorted(zoneinfo.available_timezones())


def test_none_passes_through() -> None:
    assert get_zone(None) is None


def test_tzinfo_returned_as_is() -> None:
    tz = timezone(timedelta(hours=3))
    assert get_zone(tz) is tz
    paris = zoneinfo.ZoneInfo("Europe/Paris")
    assert get_zone(paris) is paris


@pytest.mark.parametrize("name", ["UTC", "Z"])
def test_utc_names(name: str) -> None:
    assert get_zone(name) is timezone.utc


def test_iana_name_is_cached_zoneinfo() -> None:
    tz = get_zone("Europe/Paris")
    assert isinstance(tz, zoneinfo.ZoneInfo)
    assert tz.key == "Europe/Paris"
    assert get_zone("Europe/Paris") is tz


@pytest.mark.parametrize(
    "name", ["Mars/Olympus_Mons", "Europe/Pari", "", "../etc/passwd", "/etc/localtime", "Europe/", "a\x00b", "UTC+25:00"]
)
def test_unknown_names_raise_value_error(name: str) -> None:
    with pytest.raises(ValueError) as info:
        get_zone(name)
    message = str(info.value)
    assert repr(name) in message
    if not name.startswith("UTC+"):
        assert "use an IANA name such as 'Europe/Paris' or 'UTC'" in message


@pytest.mark.parametrize("name", ["UTC+02:60", "UTC-02:99", "UTC+02:00:60"])
def test_fixed_offset_minutes_and_seconds_above_59_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="minutes and seconds must be 00-59"):
        get_zone(name)


@pytest.mark.parametrize("name", ["UTC+\u0660\u0662:00", "UTC+\uff10\uff12:00", "UTC+02:\u0663\u0660"])
def test_fixed_offsets_take_ascii_digits_only(name: str) -> None:
    with pytest.raises(ValueError, match="Unknown time zone"):
        get_zone(name)


@pytest.mark.parametrize("bad", [5, 1.5, b"UTC", timedelta(hours=1), object()])
def test_non_zone_types_raise_type_error(bad: object) -> None:
    with pytest.raises(TypeError, match="IANA name"):
        get_zone(bad)  # type: ignore[arg-type]


def test_zone_name() -> None:
    assert zone_name(timezone.utc) == "UTC"
    assert zone_name(zoneinfo.ZoneInfo("America/Sao_Paulo")) == "America/Sao_Paulo"
    assert zone_name(timezone(timedelta(hours=2))) == "UTC+02:00"
    assert zone_name(timezone(timedelta(hours=-5, minutes=-30))) == "UTC-05:30"
    assert zone_name(timezone(timedelta(minutes=9, seconds=21))) == "UTC+00:09:21"
    assert zone_name(timezone(timedelta(0), "GMT")) == "UTC"


def test_zone_name_of_other_tzinfo_is_str() -> None:
    class Custom(tzinfo):
        def utcoffset(self, dt: object) -> timedelta:
            return timedelta(hours=1)

        def dst(self, dt: object) -> timedelta:
            return timedelta(0)

        def __str__(self) -> str:
            return "custom"

    assert zone_name(Custom()) == "custom"


def test_zone_name_round_trips_every_iana_zone() -> None:
    for name in ZONE_NAMES:
        tz = get_zone(name)
        if name in ("UTC", "Z"):
            assert tz is timezone.utc
            continue
        assert isinstance(tz, zoneinfo.ZoneInfo), name
        assert zone_name(tz) == name
        assert get_zone(zone_name(tz)) is tz


@given(st.integers(min_value=-(24 * 3600 * 10**6) + 1, max_value=24 * 3600 * 10**6 - 1))
def test_fixed_offsets_round_trip(offset_us: int) -> None:
    tz = timezone(timedelta(microseconds=offset_us))
    back = get_zone(zone_name(tz))
    assert back is not None
    assert back.utcoffset(None) == tz.utcoffset(None)
