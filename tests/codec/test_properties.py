"""Property tests: round trips of generated messages, and fuzzing decode and FrameReader."""

import enum
import math
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codec import (
    FLOAT32_MAX,
    DecodeError,
    Float32,
    Float64,
    FrameReader,
    Int8,
    Int16,
    Int32,
    Int64,
    Message,
    Protocol,
    UInt8,
    UInt16,
    UInt32,
    UInt64,
    make_message_type,
    protocol,
)
from codec.validation import same
from timekit import Duration, Timestamp

P = Protocol()


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Point(Message):  # nested only, not registered itself
    x: Int16
    y: Int16


@protocol(P)
class Everything(Message):
    i8: Int8
    i16: Int16
    i32: Int32
    i64: Int64
    u8: UInt8
    u16: UInt16
    u32: UInt32
    u64: UInt64
    f32: Float32
    f64: Float64
    flag: bool
    text: str
    blob: bytes
    at: Timestamp
    span: Duration
    color: Color
    level: Level
    point: Point
    points: list[Point]
    numbers: list[Int32]
    maybe_point: Point | None = None
    maybe_at: Timestamp | None = None
    maybe_span: Duration | None = None
    note: str = "default"


@protocol(P)
class Tree(Message):  # recursive
    value: Int32
    children: "list[Tree]" = []


@protocol(P)
class Mixed(Message):  # kinds outside the generated fast check: validated by decoding
    tags: dict[str, Int8]
    pair: tuple[UInt8, str]
    either: Int8 | str


Declared = make_message_type(
    "Declared",
    {"seq": "uint(32)", "ts": {"type": "int(64)"}, "ratio": "float", "big": "double",
     "ok": "bool", "node": "str", "raw": "bytes", "small": {"type": "int(8)", "default": -1}},
    protocol=P,
)


@protocol(P)
class Stamped(Message):
    at: Timestamp


@protocol(P)
class Heartbeat(Message):
    timestamp: Int64
    sequence: Int32
    name: str


def ints(bits: int, signed: bool = True) -> st.SearchStrategy[int]:
    if signed:
        return st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    return st.integers(0, 2**bits - 1)


f32s = st.floats(-FLOAT32_MAX, FLOAT32_MAX)
f64s = st.floats(allow_nan=False)
timestamps = st.integers(Timestamp.MIN.micros, Timestamp.MAX.micros).map(Timestamp.from_micros)
durations = ints(64).map(Duration)
points = st.builds(Point, x=ints(16), y=ints(16))

everything = st.builds(
    Everything,
    i8=ints(8), i16=ints(16), i32=ints(32), i64=ints(64),
    u8=ints(8, False), u16=ints(16, False), u32=ints(32, False), u64=ints(64, False),
    f32=f32s, f64=f64s, flag=st.booleans(), text=st.text(max_size=20), blob=st.binary(max_size=20),
    at=timestamps, span=durations, color=st.sampled_from(Color), level=st.sampled_from(Level),
    point=points, points=st.lists(points, max_size=4), numbers=st.lists(ints(32), max_size=5),
    maybe_point=st.none() | points, maybe_at=st.none() | timestamps, maybe_span=st.none() | durations,
    note=st.text(max_size=5),
)
trees = st.recursive(
    st.builds(Tree, value=ints(32)),
    lambda kids: st.builds(Tree, value=ints(32), children=st.lists(kids, max_size=3)),
    max_leaves=8,
)
mixed = st.builds(
    Mixed,
    tags=st.dictionaries(st.text(max_size=3), ints(8), max_size=3),
    pair=st.tuples(ints(8, False), st.text(max_size=3)),
    either=ints(8) | st.text(max_size=3),
)
declared = st.builds(
    Declared,
    seq=ints(32, False), ts=ints(64), ratio=f32s, big=f64s, ok=st.booleans(),
    node=st.text(max_size=8), raw=st.binary(max_size=8), small=ints(8),
)
heartbeats = st.builds(Heartbeat, timestamp=ints(64), sequence=ints(32), name=st.text(max_size=10))
messages = st.one_of(everything, trees, mixed, declared, heartbeats)


@settings(max_examples=300, deadline=None)
@given(messages)
def test_decode_of_encode_is_identity(msg: Message) -> None:
    data = P.encode(msg)
    back = P.decode(data)
    assert type(back) is type(msg)
    assert back == msg
    assert P.validate(msg)
    assert P.encode(back) == data


@settings(max_examples=100, deadline=None)
@given(st.lists(messages, max_size=8), st.lists(st.integers(1, 64), min_size=1), st.data())
def test_frame_reader_yields_exactly_what_was_sent(
    sent: list[Message], sizes: list[int], data: st.DataObject
) -> None:
    stream = b"".join(P.frame(m) for m in sent)
    reader = FrameReader(P)
    got: list[Message] = []
    pos = i = 0
    while pos < len(stream):
        size = sizes[i % len(sizes)]
        got.extend(reader.feed(stream[pos : pos + size]))
        pos += size
        i += 1
        if data.draw(st.booleans(), label="empty chunk"):
            assert reader.feed(b"") == []
    assert got == sent
    assert reader.buffered == 0


# ---------------------------------------------------------------- fuzzing


def assert_error_or_valid(data: bytes) -> None:
    """decode(data) is DecodeError or an instance of a registered type that is valid."""
    try:
        msg = P.decode(data)
    except DecodeError:
        return
    assert type(msg) in P.types.values()
    again = P.encode(msg)  # a decoded message is always a valid one
    assert P.encode(P.decode(again)) == again


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(P.encode(draw(messages)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "byte", "splice"]))
        pos = draw(st.integers(0, len(data)))
        if op == "flip" and pos < len(data):
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "truncate":
            del data[pos:]
        elif op == "insert":
            data[pos:pos] = P.encode(draw(messages))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 8))]
        elif op == "byte" and pos < len(data):
            data[pos] = draw(st.sampled_from([0xC0, 0xC1, 0xDC, 0xDD, 0xDE, 0xDF, 0xC6, 0xDB, 0xD7, 0xFF, 0x00, 0x7F]))
        elif op == "splice":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=9))
    return bytes(data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=64))
def test_random_bytes_only_raise_decode_error(data: bytes) -> None:
    assert_error_or_valid(data)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_encodings_only_raise_decode_error(data: bytes) -> None:
    assert_error_or_valid(data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(messages, max_size=4), mutated(), st.binary(max_size=16), st.integers(1, 40))
def test_frame_reader_fuzz(sent: list[Message], bad: bytes, noise: bytes, chunk: int) -> None:
    stream = b"".join(P.frame(m) for m in sent)
    stream += len(bad).to_bytes(4, "big") + bad + noise
    reader = FrameReader(P, max_frame_size=4096)
    got: list[Message] = []
    try:
        for pos in range(0, len(stream), chunk):
            got.extend(reader.feed(stream[pos : pos + chunk]))
    except DecodeError as exc:
        got.extend(exc.messages)
        assert reader.poisoned
    assert got[: len(sent)] == sent
    for msg in got[len(sent):]:
        assert type(msg) in P.types.values()
        P.check(msg)


def test_nan_round_trips_in_float64_fields() -> None:
    msg = Heartbeat(0, 0, "")
    tricky = Declared(seq=0, ts=0, ratio=0.0, big=math.nan, ok=False, node="", raw=b"")
    back = P.decode(P.encode(tricky))
    assert math.isnan(back.big)
    assert P.decode(P.encode(msg)) == msg


def _nested_tree_bytes(depth: int) -> bytes:
    return b"\x93\xa4Tree\x00\x91" * depth + b"\x92\xa4Tree\x00"


def test_deep_nesting_is_a_decode_error_not_a_crash() -> None:
    assert P.decode(_nested_tree_bytes(100)).value == 0
    for depth in (2_000, 1_000_000):
        with pytest.raises(DecodeError, match="nested too deeply"):
            P.decode(_nested_tree_bytes(depth))
    # deep nesting where the schema has none: a Timestamp field is decoded as "any" first
    for opener in (b"\x91", b"\x81\xa1k"):
        with pytest.raises(DecodeError, match="nested too deeply"):
            P.decode(b"\x92\xa7Stamped" + opener * 100_000 + b"\xc0")


def test_encode_and_decode_agree_on_how_deep_is_too_deep() -> None:
    for depth in (50, 300, 450, 700, 3_000):
        tree = Tree(0)
        for i in range(depth):
            tree = Tree(i, [tree])
        try:
            data = P.encode(tree)
        except ValueError as exc:
            assert "nested too deeply" in str(exc)
            with pytest.raises(DecodeError):
                P.decode(_nested_tree_bytes(depth))
        else:
            assert P.decode(data) == tree


def test_huge_declared_lengths_do_not_allocate() -> None:
    tracemalloc.start()
    try:
        for header in (b"\xdd", b"\xdf", b"\xdb", b"\xc6", b"\xc9"):
            data = b"\x94\xa9Heartbeat\x01\x02" + header + b"\xff\xff\xff\xf0" + b"\x00" * 8
            with pytest.raises(DecodeError):
                P.decode(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000


junk = st.one_of(
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.booleans(),
    st.none(),
    st.text(max_size=4),
    st.binary(max_size=4),
    st.sampled_from([Color.RED, Level.HIGH, 1, 2, "red", Timestamp.from_micros(1), Duration(1)]),
    st.lists(st.integers(-(2**40), 2**40), max_size=3),
    st.tuples(st.integers(0, 300), st.text(max_size=2)),
    st.builds(Point, x=st.integers(-(2**20), 2**20), y=ints(16)),
    st.dictionaries(st.text(max_size=2), st.integers(-300, 300), max_size=2),
)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(everything, mixed, declared), st.data())
def test_encode_either_refuses_or_round_trips_exactly(msg: Message, data: st.DataObject) -> None:
    """Whatever is stored in the fields, encode never emits bytes that decode to something else."""
    names = msg.__struct_fields__
    for name in data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=3), label="fields"):
        setattr(msg, name, data.draw(junk, label=name))
    try:
        encoded = P.encode(msg)
    except ValueError as exc:
        assert not isinstance(exc, DecodeError)
        assert type(msg).__name__ in str(exc)
        assert not P.validate(msg)
        return
    assert P.validate(msg)
    assert same(P.decode(encoded), msg)
