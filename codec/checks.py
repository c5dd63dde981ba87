"""Fast encode-time validation: a checking encoder generated per message type.

msgspec does not check types or ``Meta`` ranges when encoding. For a message
type whose fields are all of the common kinds (fixed-width ints and floats,
``bool``, ``str``, ``bytes``, enums, Timestamp, Duration, optionals, lists and
nested structs of those), :func:`build_encoder` generates Python source that
tests each field's exact class and range inline and then calls msgspec, e.g.::

    def encode(m):
        try:
            ok = ((v := m.timestamp).__class__ is int and -9223372036854775808 <= v <= 9223372036854775807) and ...
        except RecursionError:
            ok = False
        if ok:
            try:
                return _encode(m)
            except Exception:
                pass
        return _slow(m)

A passing check is *sufficient* for the encoding to decode back equal; it is not
necessary (an IntEnum member in an int field, say, fails the exact-class test),
so a failing check only means "take the slow path", which decides exactly (see
:mod:`codec.protocol`). Types with other field kinds (dicts, tuples, unions
other than ``X | None``, length or pattern constraints, ``__post_init__``, ...)
get None here and are validated by decoding instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec.inspect as mi

from timekit import Duration, Timestamp

__all__ = ["build_encoder"]

_INT_MIN = -(2**63)  # what MessagePack (and so msgspec) can carry
_INT_MAX = 2**64 - 1


class _Unsupported(Exception):
    """A field kind the generator does not handle."""


class _Generator:
    def __init__(self, namespace: dict[str, Any]) -> None:
        self.namespace = namespace
        self.functions: dict[type, str] = {}
        self.sources: list[str] = []

    def const(self, value: Any) -> str:
        name = f"_k{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def cond(self, node: Any, first: str, var: str, depth: int) -> str:
        """Expression true only if the value is valid; ``first`` is its first use."""
        while isinstance(node, mi.Metadata):
            node = node.type
        if isinstance(node, mi.IntType):
            if node.multiple_of is not None:
                raise _Unsupported
            lo = _INT_MIN
            if node.ge is not None:
                lo = max(lo, node.ge)
            if node.gt is not None:
                lo = max(lo, node.gt + 1)
            hi = _INT_MAX
            if node.le is not None:
                hi = min(hi, node.le)
            if node.lt is not None:
                hi = min(hi, node.lt - 1)
            return f"({first}.__class__ is int and {lo} <= {var} <= {hi})"
        if isinstance(node, mi.FloatType):
            if node.multiple_of is not None:
                raise _Unsupported
            parts = [f"{first}.__class__ is float"]
            for bound, op in ((node.ge, ">="), (node.gt, ">"), (node.le, "<="), (node.lt, "<")):
                if bound is not None:
                    parts.append(f"{var} {op} {self.const(float(bound))}")
            return "(" + " and ".join(parts) + ")"
        if isinstance(node, (mi.StrType, mi.BytesType)):
            if node.min_length is not None or node.max_length is not None:
                raise _Unsupported
            if isinstance(node, mi.StrType):
                if node.pattern is not None:
                    raise _Unsupported
                return f"{first}.__class__ is str"
            return f"{first}.__class__ is bytes"
        if isinstance(node, mi.BoolType):
            return f"{first}.__class__ is bool"
        if isinstance(node, mi.NoneType):
            return f"{first} is None"
        if isinstance(node, mi.EnumType):
            return f"{first}.__class__ is {self.const(node.cls)}"
        if isinstance(node, mi.CustomType) and node.cls in (Timestamp, Duration):
            return f"{first}.__class__ is {self.const(node.cls)}"
        if isinstance(node, mi.UnionType):
            others = [t for t in node.types if not isinstance(t, mi.NoneType)]
            if len(others) != 1 or len(node.types) != 2:
                raise _Unsupported
            return f"({first} is None or {self.cond(others[0], var, var, depth)})"
        if isinstance(node, mi.StructType):
            fn = self.struct_function(node)
            return f"({first}.__class__ is {self.const(node.cls)} and {fn}({var}))"
        if isinstance(node, mi.ListType):
            if node.min_length is not None or node.max_length is not None:
                raise _Unsupported
            item = f"x{depth}"
            inner = self.cond(node.item_type, item, item, depth + 1)
            return f"({first}.__class__ is list and all({inner} for {item} in {var}))"
        raise _Unsupported

    def fields_cond(self, node: mi.StructType) -> str:
        cls = node.cls
        if getattr(cls, "__post_init__", None) is not None:
            raise _Unsupported  # it may change values on decode
        parts = [self.cond(f.type, f"(v := m.{f.name})", "v", 0) for f in node.fields]
        return " and ".join(parts) if parts else "True"

    def struct_function(self, node: mi.StructType) -> str:
        name = self.functions.get(node.cls)
        if name is None:
            name = self.functions[node.cls] = f"_check{len(self.functions)}"
            self.sources.append(f"def {name}(m):\n    return {self.fields_cond(node)}\n")
        return name


def build_encoder(
    cls: type,
    encode: Callable[[Any], bytes],
    slow: Callable[[Any], bytes],
) -> Callable[[Any], bytes] | None:
    """A validating encoder for ``cls``, or None if its fields are not all supported.

    The result returns ``encode(m)`` when the inline check passes and msgspec
    succeeds, else ``slow(m)`` (which must validate exactly and raise or encode).
    """
    namespace: dict[str, Any] = {"_encode": encode, "_slow": slow}
    gen = _Generator(namespace)
    try:
        condition = gen.fields_cond(mi.type_info(cls))  # type: ignore[arg-type]
    except _Unsupported:
        return None
    source = "\n".join(gen.sources) + (
        "def encode(m):\n"
        "    try:\n"
        f"        ok = {condition}\n"
        "    except RecursionError:  # very deep nesting: let the slow path decide\n"
        "        ok = False\n"
        "    if ok:\n"
        "        try:\n"
        "            return _encode(m)\n"
        "        except Exception:\n"
        "            pass\n"
        "    return _slow(m)\n"
    )
    exec(compile(source, f"<codec checks for {cls.__qualname__}>", "exec"), namespace)
    encoder: Callable[[Any], bytes] = namespace["encode"]
    encoder.__qualname__ = encoder.__name__ = f"encode_{cls.__name__}"
    encoder.__doc__ = source
    return encoder
