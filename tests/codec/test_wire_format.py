"""Golden bytes: every claim of the README's "Wire format" section, checked byte for byte.

If one of these fails, the wire format changed: fix the code or the README (and tell
the peers), never just the expected bytes.
"""

from __future__ import annotations

import enum
import math
import struct

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from msgspec.msgpack import Ext

from codec import (
    DecodeError,
    Float32,
    Float64,
    FrameReader,
    Int8,
    Int32,
    Int64,
    Message,
    Protocol,
    UInt64,
    protocol,
)
from timekit import Duration, Timestamp

P = Protocol()


@protocol(P)
class Status(Message):
    node: str
    seq: Int32
    uptime_us: Int64


@protocol(P)
class Ints(Message):
    i: Int64
    u: UInt64 = 0


@protocol(P)
class Floats(Message):
    f: Float32
    d: Float64


@protocol(P)
class Scalars(Message):
    text: str
    raw: bytes
    flag: bool
    maybe: Int8 | None = None


@protocol(P)
class Times(Message):
    at: Timestamp
    took: Duration


@protocol(P)
class Defaults(Message):
    seq: Int32
    note: str = "nightly"
    level: Int8 = 5


class Color(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 2


@protocol(P)
class Point(Message):
    x: Int8


@protocol(P)
class Shape(Message):
    points: list[Point]
    color: Color
    level: Level
    tags: dict[str, Int8]


def h(text: str) -> bytes:
    return bytes.fromhex(text)


# ----------------------------------------------------------------------------- layout


def test_a_message_is_an_array_of_its_type_name_then_its_fields_in_declared_order() -> None:
    data = P.encode(Status("edge-1", 7, 10**9))
    # fixarray(4), fixstr(6) "Status", fixstr(6) "edge-1", positive fixint 7, uint32 10**9
    assert data == h("94 a6 537461747573 a6 656467652d31 07 ce 3b9aca00")
    assert P.decode(data) == Status("edge-1", 7, 10**9)


def test_nested_messages_lists_enums_and_dicts() -> None:
    data = P.encode(Shape([Point(1), Point(-1)], Color.RED, Level.HIGH, {"a": 1}))
    assert data == h(
        "95 a5 5368617065"  # [ "Shape",
        " 92 92 a5 506f696e74 01 92 a5 506f696e74 ff"  # [["Point", 1], ["Point", -1]],
        " a3 726564 02"  # "red", 2  (an enum travels as its value)
        " 81 a1 61 01"  # {"a": 1} (a dict is a map)
    )


# ----------------------------------------------------------------------------- ints


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (0, "00"),
        (127, "7f"),  # positive fixint
        (128, "cc 80"),  # uint 8
        (256, "cd 0100"),  # uint 16
        (65_536, "ce 00010000"),  # uint 32
        (2**32, "cf 0000000100000000"),  # uint 64
        (-1, "ff"),  # negative fixint
        (-32, "e0"),
        (-33, "d0 df"),  # int 8
        (-129, "d1 ff7f"),  # int 16
        (-32_769, "d2 ffff7fff"),  # int 32
        (-(2**31) - 1, "d3 ffffffff7fffffff"),  # int 64
        (2**63 - 1, "cf 7fffffffffffffff"),  # non-negative: always an unsigned form
        (-(2**63), "d3 8000000000000000"),
    ],
)
def test_ints_use_the_smallest_msgpack_form(value: int, wire: str) -> None:
    data = P.encode(Ints(value))
    assert data == h("93 a4 496e7473") + h(wire) + h("00")
    assert P.decode(data).i == value


def test_uint64_top_and_ints_of_any_width_decode() -> None:
    assert P.encode(Ints(0, 2**64 - 1)) == h("93 a4 496e7473 00 cf ffffffffffffffff")
    # A peer may send a small value in a wide form: accepted if it is in range.
    assert P.decode(h("93 a4 496e7473 d3 0000000000000007 cd 0001")) == Ints(7, 1)
    with pytest.raises(DecodeError, match="Expected `int`, got `bool`"):
        P.decode(h("93 a4 496e7473 c3 00"))


# ----------------------------------------------------------------------------- floats


def test_float_and_double_both_travel_as_float64() -> None:
    data = P.encode(Floats(1.5, 0.1))
    assert data == h("93 a6 466c6f617473 cb 3ff8000000000000 cb 3fb999999999999a")
    assert len(data) == 1 + 7 + 9 + 9
    # double carries NaN and infinity (the encoder's NaN is the quiet NaN 0x7ff8...)
    assert P.encode(Floats(0.0, math.nan)).endswith(h("cb 7ff8000000000000"))
    assert P.encode(Floats(0.0, -math.inf)).endswith(h("cb fff0000000000000"))


def test_float_values_are_not_rounded_to_float32() -> None:
    # A `float` field only limits the range: 0.1 keeps all 64 bits, it is not float32(0.1).
    assert P.decode(P.encode(Floats(0.1, 0.0))).f == 0.1


def test_floats_decode_from_float32_and_int_forms() -> None:
    assert P.decode(h("93 a6 466c6f617473 ca 3fc00000 ca 3fc00000")) == Floats(1.5, 1.5)
    assert P.decode(h("93 a6 466c6f617473 01 ff")) == Floats(1.0, -1.0)


# ----------------------------------------------------------------------------- str, bytes, bool, nil


def test_str_is_utf8_bytes_is_bin_bool_and_none() -> None:
    data = P.encode(Scalars("é", b"\x00\xff", True, None))
    assert data == h("95 a7 5363616c617273 a2 c3a9 c4 02 00ff c3 c0")
    assert P.encode(Scalars("x" * 32, b"", False, -1)) == (
        h("95 a7 5363616c617273 d9 20") + b"x" * 32 + h("c4 00 c2 ff")
    )
    with pytest.raises(DecodeError, match="Expected `bytes`, got `str`"):
        P.decode(h("95 a7 5363616c617273 a0 a0 c2 c0"))
    with pytest.raises(DecodeError, match="Expected `str`, got `bytes`"):
        P.decode(h("95 a7 5363616c617273 c4 00 c4 00 c2 c0"))


# ----------------------------------------------------------------------------- timekit values


def test_timestamp_is_ext_84_and_duration_ext_68_with_8_byte_big_endian_microseconds() -> None:
    data = P.encode(Times(Timestamp(1_767_225_600_000_001), Duration(-1)))
    assert data == h("93 a5 54696d6573 d7 54 0006474846204001 d7 44 ffffffffffffffff")
    assert struct.unpack(">q", h("0006474846204001"))[0] == 1_767_225_600_000_001
    assert P.encode(Times(Timestamp.MIN, Duration.MAX)).endswith(
        h("d7 54") + struct.pack(">q", Timestamp.MIN.micros) + h("d7 44 7fffffffffffffff")
    )
    # The display zone is not sent.
    assert P.encode(Times(Timestamp(5, tz="Europe/Paris"), Duration(0))) == P.encode(Times(Timestamp(5), Duration(0)))
    # The ext 8 form (c7 08 54 ...) of the same value is read too.
    assert P.decode(h("93 a5 54696d6573 c7 08 54 0000000000000005 d7 44 0000000000000006")) == Times(
        Timestamp(5), Duration(6)
    )


# ----------------------------------------------------------------------------- defaults


def test_defaults_are_always_sent_and_may_be_left_out_at_the_end() -> None:
    assert P.encode(Defaults(1)) == h("94 a8 44656661756c7473 01 a7 6e696768746c79 05")
    assert P.decode(h("92 a8 44656661756c7473 01")) == Defaults(1, "nightly", 5)
    assert P.decode(h("93 a8 44656661756c7473 01 a1 78")) == Defaults(1, "x", 5)
    with pytest.raises(DecodeError, match="at least length 2"):
        P.decode(h("91 a8 44656661756c7473"))  # a field without a default is required


# ----------------------------------------------------------------------------- what is refused


@pytest.mark.parametrize(
    ("wire", "reason"),
    [
        ("92 a4 4e6f7065 01", "Invalid value 'Nope'"),  # an unknown type name
        ("95 a8 44656661756c7473 01 a0 05 05", "at most length 3, got 4"),  # an extra field
        ("81 a3 736571 01", "Expected `array`"),  # a map, not an array
        ("92 c4 02 4e6f 01", "Expected `str`"),  # the type name as bin
        ("93 a4 496e7473 00 00 00", "trailing characters"),  # bytes after the message
    ],
)
def test_unknown_types_and_malformed_arrays_are_decode_errors(wire: str, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason):
        P.decode(h(wire))


# ----------------------------------------------------------------------------- framing


def test_a_frame_is_a_4_byte_big_endian_length_then_the_message() -> None:
    msg = Status("", 0, 0)
    assert P.encode(msg) == h("94 a6 537461747573 a0 00 00")
    assert P.frame(msg) == h("0000000b 94 a6 537461747573 a0 00 00")
    big = Status("x" * 300, 0, 0)
    assert P.frame(big)[:4] == struct.pack(">I", len(P.encode(big))) == h("00000139")
    assert FrameReader(P).feed(P.frame(msg) + P.frame(big)) == [msg, big]


# ----------------------------------------------------------------------------- ext -1


def std(seconds: int, nanos: int = 0, form: int = 12) -> bytes:
    """MessagePack's timestamp extension (-1) in the 4-, 8- or 12-byte form."""
    if form == 4:
        return h("d6 ff") + struct.pack(">I", seconds)
    if form == 8:
        return h("d7 ff") + struct.pack(">Q", nanos << 34 | seconds)
    return h("c7 0c ff") + struct.pack(">Iq", nanos, seconds)


def times(at: bytes) -> bytes:
    return h("93 a5 54696d6573") + at + h("d7 44 0000000000000000")


@pytest.mark.parametrize(
    ("wire", "micros"),
    [
        (std(1, form=4), 1_000_000),
        (std(2**32 - 1, form=4), (2**32 - 1) * 10**6),
        (std(5, 1000, form=8), 5_000_001),
        (std(2**34 - 1, 999_999_000, form=8), (2**34 - 1) * 10**6 + 999_999),
        (std(-5, 2000), -4_999_998),  # nanoseconds are added to (negative) seconds
        (std(-62_135_596_800), Timestamp.MIN.micros),
        (std(253_402_300_799, 999_999_000), Timestamp.MAX.micros),
        (h("c7 04 ff") + struct.pack(">I", 7), 7_000_000),  # the 4-byte form in an ext 8 header
    ],
)
def test_standard_timestamp_ext_minus_1_is_read_as_a_timestamp(wire: bytes, micros: int) -> None:
    assert P.decode(times(wire)) == Times(Timestamp(micros), Duration(0))


@given(st.integers(Timestamp.MIN.micros, Timestamp.MAX.micros), st.sampled_from([8, 12]))
def test_standard_timestamp_round_trips_every_instant(micros: int, form: int) -> None:
    seconds, us = divmod(micros, 10**6)
    if form == 8 and not 0 <= seconds < 2**34:
        form = 12
    assert P.decode(times(std(seconds, us * 1000, form))).at == Timestamp(micros)


@pytest.mark.parametrize(
    ("wire", "reason"),
    [
        (std(5, 1, form=8), "has 1 nanoseconds, not a whole number of microseconds"),
        (std(5, 1500), "has 1500 nanoseconds"),
        (std(5, 999_999_999), "has 999999999 nanoseconds"),
        (std(5, 10**9), "nanoseconds out of range"),
        (std(5, 2**30 - 1, form=8), "nanoseconds out of range"),
        (h("d5 ff 0001"), "Invalid MessagePack timestamp"),  # 2 bytes
        (h("c7 00 ff"), "Invalid MessagePack timestamp"),  # empty
        (h("c7 05 ff 0000000001"), "Invalid MessagePack timestamp"),
        (h("d8 ff") + bytes(16), "Invalid MessagePack timestamp"),
        (std(-62_135_596_801), "out of range"),  # before year 1
        (std(253_402_300_800), "out of range"),  # after 9999
    ],
)
def test_malformed_or_inexact_ext_minus_1_is_a_decode_error(wire: bytes, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason):
        P.decode(times(wire))


@protocol(P)
class Mixed(Message):
    blob: bytes
    ats: list[Timestamp]
    text: str = ""


@given(
    st.lists(st.integers(-62_135_596_800, 253_402_300_799), max_size=4),
    st.binary(max_size=40).map(lambda b: b + h("d7 ff c7 0c ff d6 ff")),
    st.integers(0, 999_999),
)
def test_ext_minus_1_check_walks_the_message_not_its_bytes(secs: list[int], blob: bytes, us: int) -> None:
    # Header-like bytes inside a bin field or another ext never count; only real ext -1 values do.
    wire = [blob, [Ext(-1, struct.pack(">Iq", us * 1000, s)) for s in secs], "\u00d7\u00ff"]
    back = P.decode(msgspec.msgpack.encode(["Mixed", *wire]))
    assert back == Mixed(blob, [Timestamp(s * 10**6 + us) for s in secs], "\u00d7\u00ff")
    if secs:
        wire[1][-1] = Ext(-1, struct.pack(">Iq", us * 1000 + 1, secs[-1]))
        with pytest.raises(DecodeError, match="not a whole number of microseconds"):
            P.decode(msgspec.msgpack.encode(["Mixed", *wire]))


def test_encoding_always_sends_ext_84() -> None:
    decoded = P.decode(times(std(1, form=4)))
    assert P.encode(decoded) == times(h("d7 54 00000000000f4240"))


def test_ext_minus_1_in_frames_and_after_a_failed_decode() -> None:
    good, inexact = times(std(1, 1000)), times(std(1, 1001))
    with pytest.raises(DecodeError, match="truncated"):
        P.decode(good[:-1])  # fails after reading the ext -1 value
    assert P.decode(times(h("d7 54 0000000000000001"))).at == Timestamp(1)
    reader = FrameReader(P)
    frames = b"".join(P.frame(Times(Timestamp(2), Duration(0))) if f is None else struct.pack(">I", len(f)) + f
                      for f in (good, None, inexact))
    with pytest.raises(DecodeError, match="1001 nanoseconds") as info:
        reader.feed(frames)
    assert info.value.messages == [Times(Timestamp(1_000_001), Duration(0)), Times(Timestamp(2), Duration(0))]
