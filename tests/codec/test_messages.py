"""Message types: annotations, the packet-library declaration style, make_message_type."""

import ast
import pathlib

import msgspec
import pytest
from msgspec import UNSET

import codec
from codec import (
    TYPE_NAMES,
    Encoding,
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
    make_message_type,
    protocol,
)


def test_public_api() -> None:
    for name in ["Message", "Protocol", "protocol", "Encoding", "DecodeError", "FrameReader", "make_message_type"]:
        assert hasattr(codec, name)
    assert issubclass(codec.DecodeError, ValueError)
    assert set(codec.__all__) <= set(dir(codec))


def test_codec_never_imports_actors() -> None:
    root = pathlib.Path(codec.__file__).parent
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(n == "actors" or n.startswith("actors.") for n in names), path


class Heartbeat(Message):
    timestamp: Int64
    sequence: Int32
    name: str = ""


def test_class_style_is_a_mutable_struct_compared_by_value() -> None:
    hb = Heartbeat(1, 2, "a")
    assert isinstance(hb, msgspec.Struct)
    hb.sequence += 1
    assert hb.sequence == 3
    assert hb == Heartbeat(1, 3, "a")
    assert hb != Heartbeat(1, 3, "b")
    assert Heartbeat(1, 2) == Heartbeat(timestamp=1, sequence=2, name="")


def test_fixed_width_types_are_annotated_ranges() -> None:
    expected = {
        Int8: (-(2**7), 2**7 - 1),
        Int16: (-(2**15), 2**15 - 1),
        Int32: (-(2**31), 2**31 - 1),
        Int64: (-(2**63), 2**63 - 1),
        UInt8: (0, 2**8 - 1),
        UInt16: (0, 2**16 - 1),
        UInt32: (0, 2**32 - 1),
        UInt64: (0, None),  # the wire format itself stops at 2**64 - 1
    }
    for tp, (lo, hi) in expected.items():
        meta = tp.__metadata__[0]
        assert (tp.__origin__, meta.ge, meta.le) == (int, lo, hi)
    assert Float32.__origin__ is float and Float32.__metadata__[0].le == codec.FLOAT32_MAX
    assert Float64.__origin__ is float


P = Protocol()


@protocol(P)
class DeclaredHeartbeat(Message):
    encoding = Encoding.BIG_ENDIAN
    fields = {"timestamp": {"type": "int(64)"}, "sequence": {"type": "int(32)"}, "name": {"type": "str"}}


def test_declaration_style_becomes_a_struct() -> None:
    assert DeclaredHeartbeat.__struct_fields__ == ("timestamp", "sequence", "name")
    assert issubclass(DeclaredHeartbeat, Message)
    assert DeclaredHeartbeat.encoding is Encoding.BIG_ENDIAN
    hb = DeclaredHeartbeat(timestamp=0, sequence=0)  # fields may be left unset
    assert hb.name is UNSET
    hb.sequence += 1
    hb.name = "n"
    assert P.decode(P.encode(hb)) == hb == DeclaredHeartbeat(0, 1, "n")


def test_declaration_unset_field_refused_on_encode_naming_it() -> None:
    hb = DeclaredHeartbeat(timestamp=0, sequence=0)
    with pytest.raises(ValueError, match=r"DeclaredHeartbeat\.name is unset"):
        P.encode(hb)
    with pytest.raises(ValueError, match=r"DeclaredHeartbeat\.name is unset"):
        P.check(hb)
    assert not P.validate(hb)
    with pytest.raises(ValueError, match=r"DeclaredHeartbeat\.timestamp is unset"):
        P.encode(DeclaredHeartbeat())


def test_declaration_every_type_name() -> None:
    Q = Protocol()
    spec = {f"f{i}": name for i, name in enumerate(TYPE_NAMES)}
    All = make_message_type("All", spec, Q)
    assert All.__struct_fields__ == tuple(spec)
    values = [-128, -32768, -(2**31), -(2**63), 255, 65535, 2**32 - 1, 2**64 - 1, 1.5, -2.25, True, "s", b"b"]
    msg = All(*values)
    assert Q.decode(Q.encode(msg)) == msg
    bad = All(*values)
    bad.f0 = 128
    with pytest.raises(ValueError, match=r"All\.f0"):
        Q.encode(bad)


def test_declaration_defaults() -> None:
    Q = Protocol()

    @protocol(Q)
    class WithDefaults(Message):
        fields = {"seq": {"type": "uint(16)", "default": 7}, "ratio": {"type": "double", "default": 1}, "tag": "str"}

    msg = WithDefaults(tag="x")
    assert (msg.seq, msg.ratio, msg.tag) == (7, 1.0, "x")
    assert type(msg.ratio) is float
    assert Q.decode(Q.encode(msg)) == msg


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ({"a": {"type": "int(8)", "default": 128}}, "invalid default"),
        ({"a": {"type": "int(8)", "default": True}}, "invalid default"),
        ({"a": {"type": "str", "default": 1}}, "invalid default"),
        ({"a": {"type": "float", "default": float("nan")}}, r"invalid default nan: got NaN \(not a number\)"),
        ({"a": {"type": "float", "default": float("-inf")}}, r"invalid default -inf: got -inf \(infinity\)"),
        ({"a": {"type": "float", "default": 1e39}}, r"invalid default 1e\+39: Expected `float` <= 3\.40"),
        ({"a": {"type": "int(8)", "length": 3}}, "unknown key"),
        ({"a": {"default": 3}}, "needs a 'type' key"),
        ({"a b": "int(8)"}, "not usable"),
        ({"class": "int(8)"}, "not usable"),
        ({"__x": "int(8)"}, "not usable"),
    ],
)
def test_declaration_errors(spec: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make_message_type("Bad", spec)


def test_unknown_type_name_lists_accepted_names() -> None:
    with pytest.raises(ValueError) as info:

        class Bad(Message):
            fields = {"a": {"type": "int(24)"}}

    text = str(info.value)
    assert "int(24)" in text and "Bad.a" in text
    for name in TYPE_NAMES:
        assert name in text


def test_type_names_tolerate_inner_whitespace() -> None:
    T = make_message_type("T", {"a": "int( 32 )", "b": " uint(8) "})
    assert T(1, 2).a == 1


def test_little_endian_refused_at_class_definition() -> None:
    with pytest.raises(ValueError, match=r"LITTLE_ENDIAN.*big-endian"):

        class LE(Message):
            encoding = Encoding.LITTLE_ENDIAN
            fields = {"a": "int(8)"}

    with pytest.raises(ValueError, match="LITTLE_ENDIAN"):

        class LEAnnotated(Message):
            encoding = Encoding.LITTLE_ENDIAN
            a: Int8

    with pytest.raises(TypeError, match=r"Encoding\.BIG_ENDIAN"):

        class Other(Message):
            encoding = "little"
            fields = {"a": "int(8)"}


def test_mixing_annotations_and_fields_refused() -> None:
    with pytest.raises(ValueError, match="not both"):

        class Mixed(Message):
            b: Int8
            fields = {"a": "int(8)"}


def test_field_named_like_a_class_attribute_refused() -> None:
    with pytest.raises(ValueError, match="clashes"):

        class Clash(Message):
            encoding = Encoding.BIG_ENDIAN
            fields = {"encoding": "str"}


def test_annotated_field_called_fields_or_encoding_is_just_a_field() -> None:
    class Meta(Message):
        fields: list[str]
        encoding: str = "utf-8"

    m = Meta(["a"])
    assert m.fields == ["a"] and m.encoding == "utf-8"


def test_make_message_type_accepts_both_forms_and_registers() -> None:
    Q = Protocol()
    # as the spec-file CLI would pass a TOML table: fields = { seq = "int(32)", ts = "int(64)", node = "str" }
    T = make_message_type("Tick", {"seq": "int(32)", "ts": {"type": "int(64)"}, "node": "str"}, protocol=Q)
    assert Q.get_type("Tick") is T
    assert T.__struct_fields__ == ("seq", "ts", "node")
    assert T.__module__ == __name__
    msg = T(seq=1, ts=2, node="n")
    assert Q.decode(Q.encode(msg)) == msg
    with pytest.raises(ValueError, match="identifier"):
        make_message_type("not a name", {})
    with pytest.raises(TypeError):
        make_message_type("X", [("a", "int(8)")])  # type: ignore[arg-type]


def test_declared_subclass_extends_fields() -> None:
    Base = make_message_type("Base", {"a": "int(8)"})

    class Child(Base):  # type: ignore[misc, valid-type]
        fields = {"b": "str"}

    assert Child.__struct_fields__ == ("a", "b")


def test_messages_are_tagged_array_like_structs() -> None:
    cfg = Heartbeat.__struct_config__
    assert cfg.array_like and cfg.tag == "Heartbeat" and cfg.forbid_unknown_fields
