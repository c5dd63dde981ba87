"""Protocol: registry, tagged encoding, encode-time validation, time ext types."""

import enum
import math
import re
import threading
from typing import Annotated

import msgspec
import pytest
from msgspec import UNSET, UnsetType

from codec import (
    DURATION_EXT_CODE,
    FLOAT32_MAX,
    TIMESTAMP_EXT_CODE,
    DecodeError,
    Float32,
    Float64,
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
    protocol,
)
from timekit import Duration, Timestamp

P = Protocol()


@protocol(P)
class Heartbeat(Message):
    timestamp: Int64
    sequence: Int32
    name: str


@protocol(P)
class Ping(Message):
    seq: UInt16
    note: str | None = None


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@protocol(P)
class Widths(Message):
    i8: Int8 = 0
    i16: Int16 = 0
    i32: Int32 = 0
    i64: Int64 = 0
    u8: UInt8 = 0
    u16: UInt16 = 0
    u32: UInt32 = 0
    u64: UInt64 = 0
    f32: Float32 = 0.0
    f64: Float64 = 0.0


@protocol(P)
class Timed(Message):
    at: Timestamp
    span: Duration


@protocol(P)
class Rich(Message):
    numbers: list[Int8]
    color: Color
    level: Level
    inner: Ping | None = None
    tags: dict[str, Int8] = {}  # a dict: validated by the exact (decoding) tier


class Unregistered(Message):
    a: Int8


def make_type(name: str, **fields: object) -> type[Message]:
    """A Message subclass built at run time (names may repeat)."""
    return type(Message)(name, (Message,), {"__annotations__": fields, "__module__": __name__})


# ---------------------------------------------------------------- registry


def test_decode_returns_the_right_registered_class() -> None:
    for msg in [Heartbeat(1, 2, "x"), Ping(3), Ping(4, "n"), Widths(), Timed(Timestamp.from_micros(5), Duration(-6))]:
        back = P.decode(P.encode(msg))
        assert type(back) is type(msg)
        assert back == msg


def test_wire_format_is_tagged_array() -> None:
    assert msgspec.msgpack.decode(P.encode(Heartbeat(1, 2, "x"))) == ["Heartbeat", 1, 2, "x"]


def test_types_and_get_type() -> None:
    assert P.types["Heartbeat"] is Heartbeat
    assert P.get_type("Ping") is Ping
    assert "Ping" in P and Ping in P and Unregistered not in P
    with pytest.raises(KeyError, match="Nope"):
        P.get_type("Nope")
    with pytest.raises(TypeError):
        P.types["X"] = Ping  # type: ignore[index]


def test_register_returns_class_and_is_idempotent() -> None:
    Q = Protocol()
    assert Q.register(Heartbeat) is Heartbeat
    assert Q.register(Heartbeat) is Heartbeat
    assert list(Q.types) == ["Heartbeat"]


def test_duplicate_name_refused() -> None:
    Q = Protocol()
    Q.register(Heartbeat)

    Other = make_type("Heartbeat", x=Int8)  # a different class with the same name
    with pytest.raises(ValueError, match="already registered"):
        Q.register(Other)
    assert Q.get_type("Heartbeat") is Heartbeat


def test_protocols_are_independent() -> None:
    A, B = Protocol(), Protocol()
    A.register(Heartbeat)
    Other = make_type("Heartbeat", x=Int8)
    B.register(Other)  # same name, other protocol: fine
    assert A.decode(A.encode(Heartbeat(1, 2, "a"))) == Heartbeat(1, 2, "a")
    with pytest.raises(ValueError, match="not registered"):
        B.encode(Heartbeat(1, 2, "a"))
    with pytest.raises(DecodeError):
        B.decode(A.encode(Heartbeat(1, 2, "a")))


def test_register_refuses_non_messages_and_changed_wire_options() -> None:
    Q = Protocol()
    with pytest.raises(TypeError):
        Q.register(int)  # type: ignore[type-var]
    with pytest.raises(TypeError):
        Q.register(Message)

    class MapLike(Message, array_like=False):
        a: Int8

    with pytest.raises(ValueError, match="array_like"):
        Q.register(MapLike)
    with pytest.raises(TypeError, match="make_message_type"):
        msgspec.defstruct("D", [("x", Int8)], bases=(Message,))
    with pytest.raises(TypeError):
        protocol("not a protocol")  # type: ignore[arg-type]


def test_unregistered_type_refused_with_instructions() -> None:
    with pytest.raises(ValueError, match=r"Unregistered is not registered.*P\.register\(Unregistered\)"):
        P.encode(Unregistered(1))
    assert not P.validate(Unregistered(1))
    with pytest.raises(ValueError, match="not registered"):
        P.frame(Unregistered(1))
    with pytest.raises(ValueError, match="expected a message"):
        P.encode(42)  # type: ignore[arg-type]


def test_empty_protocol_decodes_nothing() -> None:
    with pytest.raises(DecodeError, match="no message types"):
        Protocol().decode(P.encode(Ping(1)))


def test_decoder_rebuilt_after_new_registration() -> None:
    Q = Protocol()
    Q.register(Ping)
    data = P.encode(Heartbeat(1, 2, "x"))
    with pytest.raises(DecodeError):
        Q.decode(data)
    Q.register(Heartbeat)
    assert Q.decode(data) == Heartbeat(1, 2, "x")


def test_codecs_built_once_not_per_call(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[object] = []
    real = msgspec.msgpack.Decoder

    def counting(*args: object, **kwargs: object) -> object:
        built.append(args[0])
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(msgspec.msgpack, "Decoder", counting)
    Q = Protocol()
    Q.register(Heartbeat)
    for i in range(50):
        assert Q.decode(Q.encode(Heartbeat(i, i, "x"))).sequence == i
    assert len(built) == 2  # Heartbeat's own decoder and the protocol's
    Q.register(Ping)
    for i in range(50):
        Q.decode(Q.encode(Ping(i)))
    assert len(built) == 4


# ---------------------------------------------------------------- ranges

INT_WIDTHS = [
    ("i8", -(2**7), 2**7 - 1),
    ("i16", -(2**15), 2**15 - 1),
    ("i32", -(2**31), 2**31 - 1),
    ("i64", -(2**63), 2**63 - 1),
    ("u8", 0, 2**8 - 1),
    ("u16", 0, 2**16 - 1),
    ("u32", 0, 2**32 - 1),
    ("u64", 0, 2**64 - 1),
]


def _raw_widths(field: str, value: object) -> bytes:
    """A Widths encoding with ``value`` in ``field``, bypassing validation."""
    row: list[object] = ["Widths"] + [0] * 8 + [0.0, 0.0]
    row[1 + Widths.__struct_fields__.index(field)] = value
    return msgspec.msgpack.encode(row)


@pytest.mark.parametrize(("field", "lo", "hi"), INT_WIDTHS)
def test_int_width_boundaries(field: str, lo: int, hi: int) -> None:
    for ok in (lo, hi):
        msg = Widths(**{field: ok})
        assert P.validate(msg)
        assert P.decode(P.encode(msg)) == msg
        assert P.decode(_raw_widths(field, ok)) == msg
    for bad in (lo - 1, hi + 1):
        msg = Widths(**{field: bad})
        with pytest.raises(ValueError, match=rf"Widths\.{field} = {bad}\b") as info:
            P.encode(msg)
        assert not isinstance(info.value, DecodeError)
        assert not P.validate(msg)
        with pytest.raises(ValueError, match=rf"Widths\.{field}"):
            P.check(msg)
        if -(2**63) <= bad <= 2**64 - 1:  # representable in MessagePack at all
            with pytest.raises(DecodeError, match=r"\$\[\d+\]"):
                P.decode(_raw_widths(field, bad))


def test_float_widths() -> None:
    above = math.nextafter(FLOAT32_MAX, math.inf)
    for ok in (FLOAT32_MAX, -FLOAT32_MAX, 1e-45, -0.0):
        assert P.decode(P.encode(Widths(f32=ok))).f32 == ok
    for bad in (above, -above, math.inf, -math.inf, math.nan):
        with pytest.raises(ValueError, match=r"Widths\.f32"):
            P.encode(Widths(f32=bad))
        with pytest.raises(DecodeError):
            P.decode(_raw_widths("f32", bad))
    for ok in (math.inf, -math.inf, 1e308):
        assert P.decode(P.encode(Widths(f64=ok))).f64 == ok
    nan = P.decode(P.encode(Widths(f64=math.nan)))
    assert math.isnan(nan.f64)


@protocol(P)
class Readings(Message):
    one: Float32 = 0.0
    many: list[Float32] = []
    named: dict[str, Float32] = {}
    maybe: Float32 | None = None
    positive: Annotated[float, msgspec.Meta(gt=0)] = 1.0


NON_FINITE = [(math.nan, "NaN (not a number)"), (math.inf, "inf (infinity)"), (-math.inf, "-inf (infinity)")]


@pytest.mark.parametrize(("value", "named"), NON_FINITE)
@pytest.mark.parametrize("field", ["one", "many", "named", "maybe"])
def test_nan_and_infinity_in_a_float32_field_are_named_as_such(field: str, value: float, named: str) -> None:
    holder = {"one": value, "many": [1.0, value], "named": {"a": 1.0, "b": value}, "maybe": value}[field]
    msg = Readings(**{field: holder})
    with pytest.raises(ValueError, match=rf"Readings\.{field} = ") as info:
        P.encode(msg)
    text = str(info.value)
    assert f"got {named}" in text and "Float32" in text and "NaN and infinity are refused" in text
    assert "Expected" not in text
    row = ["Readings", 0.0, [], {}, None, 1.0]
    row[1 + Readings.__struct_fields__.index(field)] = holder
    with pytest.raises(DecodeError, match=rf"got {re.escape(named)} at `\$\[\d") as dinfo:
        P.decode(msgspec.msgpack.encode(row))
    assert "Expected" not in str(dinfo.value)


def test_nan_for_a_bounded_float_says_no_bound_holds() -> None:
    with pytest.raises(ValueError, match=r"got NaN \(not a number\), but the field takes only numbers > 0\.0"):
        P.encode(Readings(positive=math.nan))
    with pytest.raises(DecodeError, match=r"got -inf \(infinity\) at `\$\[5\]`, but the field takes only numbers > 0"):
        P.decode(msgspec.msgpack.encode(["Readings", 0.0, [], {}, None, -math.inf]))


@pytest.mark.parametrize("value", [1e39, -1e39, math.nextafter(FLOAT32_MAX, math.inf)])
def test_a_finite_float_out_of_range_keeps_the_range_message(value: float) -> None:
    with pytest.raises(ValueError, match=r"Expected `float` [<>]=") as info:
        P.encode(Readings(one=value))
    assert "NaN" not in str(info.value)
    with pytest.raises(DecodeError, match=r"Expected `float` [<>]= \S+ - at `\$\[1\]`"):
        P.decode(msgspec.msgpack.encode(["Readings", value, [], {}, None, 1.0]))


def test_wrong_python_types_refused_on_encode() -> None:
    for field, value in [("i8", True), ("i8", 1.0), ("i8", "1"), ("f64", "x"), ("u8", None)]:
        with pytest.raises(ValueError, match=rf"Widths\.{field}"):
            P.encode(Widths(**{field: value}))
    with pytest.raises(ValueError, match=r"Heartbeat\.name"):
        P.encode(Heartbeat(1, 2, b"bytes"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"Heartbeat\.name"):
        P.encode(Heartbeat(1, 2, "\ud800"))  # lone surrogate: not encodable as UTF-8


def test_values_that_would_decode_differently_are_refused() -> None:
    # a float field holding an int beyond 2**53 would arrive rounded
    with pytest.raises(ValueError, match="would decode as"):
        P.encode(Widths(f64=2**53 + 1))  # type: ignore[arg-type]
    # a tuple in a list field would arrive as a list
    with pytest.raises(ValueError, match=r"Rich\.numbers"):
        P.encode(Rich((1, 2), Color.RED, Level.LOW))  # type: ignore[arg-type]


def test_values_that_round_trip_equal_are_accepted() -> None:
    assert P.decode(P.encode(Widths(f64=3))) == Widths(f64=3.0)  # int in a float field
    assert P.decode(P.encode(Widths(i8=Level.HIGH))) == Widths(i8=2)  # IntEnum in an int field
    assert P.decode(P.encode(Rich([1], Color.RED, 2))).level is Level.HIGH  # type: ignore[arg-type]


def test_nested_and_container_errors_name_the_path() -> None:
    with pytest.raises(ValueError, match=r"Rich\.numbers\[1\]|Rich\.numbers = \[1, 300\]"):
        P.encode(Rich([1, 300], Color.RED, Level.LOW))
    with pytest.raises(ValueError, match=r"Rich\.inner\.seq = -1"):
        P.encode(Rich([1], Color.RED, Level.LOW, inner=Ping(-1)))
    with pytest.raises(ValueError, match=r"Rich\.tags"):
        P.encode(Rich([1], Color.RED, Level.LOW, tags={"a": 1000}))
    with pytest.raises(ValueError, match=r"Rich\.color"):
        P.encode(Rich([1], "red", Level.LOW))  # type: ignore[arg-type]
    ok = Rich([1, -128], Color.BLUE, Level.LOW, inner=Ping(1, "x"), tags={"a": 1})
    assert P.decode(P.encode(ok)) == ok


def test_unset_field_in_class_style_message() -> None:
    Q = Protocol()

    @protocol(Q)
    class Partial(Message):
        a: Int8
        b: Int8 | UnsetType = UNSET

    with pytest.raises(ValueError, match=r"Partial\.b is unset"):
        Q.encode(Partial(1))
    assert Q.decode(Q.encode(Partial(1, 2))) == Partial(1, 2)
    with pytest.raises(DecodeError, match=r"Partial\.b is missing"):
        Q.decode(msgspec.msgpack.encode(["Partial", 1]))


def test_validate_and_check() -> None:
    assert P.validate(Heartbeat(1, 2, "x"))
    assert P.check(Heartbeat(1, 2, "x")) is None
    msg = Heartbeat(1, 2**31, "x")
    assert not P.validate(msg)
    with pytest.raises(ValueError) as info:
        P.check(msg)
    reason = str(info.value)
    assert "Heartbeat.sequence" in reason and "2147483647" in reason


# ---------------------------------------------------------------- time ext types


def test_time_values_travel_as_ext_types() -> None:
    at, span = Timestamp.from_micros(-1), Duration(2**63 - 1)
    data = P.encode(Timed(at, span))
    raw = msgspec.msgpack.decode(data)
    assert raw[1] == msgspec.msgpack.Ext(TIMESTAMP_EXT_CODE, (-1).to_bytes(8, "big", signed=True))
    assert raw[2] == msgspec.msgpack.Ext(DURATION_EXT_CODE, (2**63 - 1).to_bytes(8, "big", signed=True))
    back = P.decode(data)
    assert back == Timed(at, span) and type(back.at) is Timestamp and type(back.span) is Duration
    for t in (Timestamp.MIN, Timestamp.MAX, Timestamp.now("Europe/Berlin")):
        assert P.decode(P.encode(Timed(t, Duration(-(2**63))))).at == t


@pytest.mark.parametrize(
    "value",
    [
        msgspec.msgpack.Ext(TIMESTAMP_EXT_CODE, b"\x00" * 7),
        msgspec.msgpack.Ext(TIMESTAMP_EXT_CODE, b"\x00" * 9),
        msgspec.msgpack.Ext(DURATION_EXT_CODE, b"\x00" * 8),
        msgspec.msgpack.Ext(TIMESTAMP_EXT_CODE, (2**63 - 1).to_bytes(8, "big")),  # beyond year 9999
        5,
        [1, 2],
    ],
)
def test_bad_time_ext_values_are_decode_errors(value: object) -> None:
    good = Duration(1)
    data = msgspec.msgpack.encode(["Timed", value, msgspec.msgpack.Ext(DURATION_EXT_CODE, (1).to_bytes(8, "big"))])
    with pytest.raises(DecodeError, match=r"\$\[1\]"):
        P.decode(data)
    assert good.micros == 1


# ---------------------------------------------------------------- threads


def test_concurrent_use_while_registering() -> None:
    Q = Protocol()
    Q.register(Heartbeat)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for i in range(300):
                assert Q.decode(Q.encode(Heartbeat(i, i, "t"))).sequence == i
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for i in range(20):
        Q.register(make_type(f"Extra{i}", x=Int8))
    for t in threads:
        t.join()
    assert not errors
    Extra5 = Q.get_type("Extra5")
    assert Q.decode(Q.encode(Extra5(5))) == Extra5(5)
