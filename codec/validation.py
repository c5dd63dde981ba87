"""Explaining invalid messages: the slow paths behind Protocol's errors.

``Protocol.encode`` validates quickly (encode, decode with the type's own
decoder, compare); only when that fails does it come here to find out which
field is at fault and why.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

import msgspec
import msgspec.inspect as mi
from msgspec import UNSET

from codec.fields import FLOAT32_MAX
from codec.timeext import dec_hook, enc_hook

__all__ = ["explain_float_bound", "explain_float_bound_in", "find_problem", "find_unset", "same", "unset_capable"]

_encode = msgspec.msgpack.Encoder(enc_hook=enc_hook).encode
_decoders: dict[Any, Callable[[bytes], Any]] = {}
_decoders_lock = threading.Lock()


def _decoder_for(tp: Any) -> Callable[[bytes], Any]:
    try:
        return _decoders[tp]
    except (KeyError, TypeError):
        pass
    decode = msgspec.msgpack.Decoder(tp, dec_hook=dec_hook).decode
    try:
        with _decoders_lock:
            _decoders[tp] = decode
    except TypeError:  # unhashable type expression: just don't cache it
        pass
    return decode


def same(a: Any, b: Any) -> bool:
    """``a == b``, except that a NaN float matches a NaN float at the same place."""
    if a is b:
        return True
    if type(a) is float and type(b) is float:
        return bool(a == b or (math.isnan(a) and math.isnan(b)))
    if isinstance(a, msgspec.Struct):
        return type(a) is type(b) and all(
            same(getattr(a, f), getattr(b, f)) for f in a.__struct_fields__
        )
    if isinstance(a, (list, tuple)):
        return (
            type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
        )
    if isinstance(a, dict):
        return (
            type(b) is dict
            and a.keys() == b.keys()
            and all(same(v, b[k]) for k, v in a.items())
        )
    try:
        return bool(a == b)
    except RecursionError:
        raise
    except Exception:  # noqa: BLE001 - a user __eq__ that raises means "not the same"
        return False


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# msgspec's report of a float outside a Meta bound, e.g. "Expected `float` >= -3.4e+38 - at `$[1]`".
_FLOAT_BOUND = re.compile(r"Expected `float` (>=|>|<=|<) (\S+?)(?: - at `(\$[^`]*)`)?")
_PATH_STEP = re.compile(r"\[(\d+|\.\.\.)\]")
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": lambda v, b: v >= b,
    ">": lambda v, b: v > b,
    "<=": lambda v, b: v <= b,
    "<": lambda v, b: v < b,
}


def _at_path(root: Any, path: str, op: str, bound: float) -> Any:
    """The first value at ``path`` (msgspec's ``$[1][...]``) under ``root`` that breaks the bound."""
    candidates = [root]
    rest = path[1:]
    for step in _PATH_STEP.finditer(rest):
        key = step.group(1)
        nxt: list[Any] = []
        for c in candidates:
            if key == "...":  # a dict value: msgspec does not say which key
                nxt.extend(c.values() if isinstance(c, dict) else ())
            elif isinstance(c, list) and int(key) < len(c):
                nxt.append(c[int(key)])
        candidates = nxt
    if _PATH_STEP.sub("", rest):
        return None  # a path form not understood
    check = _OPS[op]
    for v in candidates:
        if isinstance(v, float) and not check(v, bound):
            return v
    return None


def explain_float_bound(data: bytes | bytearray | memoryview, error: str) -> str | None:
    """A clearer text for msgspec's ``error`` when a float bound refused NaN or infinity.

    ``data`` is the encoding msgspec was decoding. msgspec reports NaN as, say,
    "Expected `float` >= -3.4e+38", which names the wrong thing. None when the
    refused value is an ordinary number (msgspec's text is right) or cannot be found.
    """
    if _FLOAT_BOUND.fullmatch(error) is None:
        return None
    try:
        root = msgspec.msgpack.decode(data)
    except (ValueError, TypeError, msgspec.DecodeError, RecursionError):
        return None
    return explain_float_bound_in(root, error)


def explain_float_bound_in(root: Any, error: str) -> str | None:
    """:func:`explain_float_bound` for a Python value given to ``msgspec.convert``."""
    m = _FLOAT_BOUND.fullmatch(error)
    if m is None:
        return None
    op, bound_text, path = m.groups()
    try:
        bound = float(bound_text)
        value = _at_path(root, path or "$", op, bound)
    except (ValueError, TypeError, RecursionError):
        return None
    if value is None or math.isfinite(value):
        return None
    what = "NaN (not a number)" if math.isnan(value) else f"{value!r} (infinity)"
    where = f" at `{path}`" if path else ""
    if abs(bound) == FLOAT32_MAX:
        rule = (
            f"a `float` (Float32) field takes only finite numbers within ±{FLOAT32_MAX!r}: "
            "NaN and infinity are refused; declare the field `double` (Float64) to carry them"
        )
    else:
        rule = f"the field takes only numbers {op} {bound!r}" + (
            " (NaN satisfies no bound)" if math.isnan(value) else ""
        )
    return f"got {what}{where}, but {rule}"


def find_problem(msg: msgspec.Struct) -> str | None:
    """The first reason ``msg`` would not survive encoding, or None.

    Reasons name the field by path (``Outer.items[2].seq``) and say what to do.
    """
    return _struct_problem(msg, type(msg).__name__)


def _struct_problem(obj: msgspec.Struct, path: str) -> str | None:
    try:
        fields = msgspec.structs.fields(type(obj))
    except RecursionError:
        raise
    except Exception as exc:  # noqa: BLE001 - e.g. an unresolvable forward reference; reported
        return f"{path}: cannot inspect the message type: {exc}"
    for f in fields:
        value = getattr(obj, f.name)
        where = f"{path}.{f.name}"
        if value is UNSET:
            return f"{where} is unset; give it a value before encoding"
        problem = _value_problem(value, f.type, where)
        if problem is not None:
            return problem
    return None


def _value_problem(value: Any, tp: Any, path: str) -> str | None:
    # Look inside first, so that a bad item is reported by its own path.
    if isinstance(value, msgspec.Struct):
        problem = _struct_problem(value, path)
        if problem is not None:
            return problem
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            if isinstance(item, msgspec.Struct):
                problem = _struct_problem(item, f"{path}[{i}]")
                if problem is not None:
                    return problem
    try:
        data = _encode(value)
    except OverflowError as exc:
        return (
            f"{path} = {_short(value)} is out of range ({exc}); "
            "store a value within the field's range"
        )
    except RecursionError:
        raise
    except Exception as exc:  # noqa: BLE001 - reported as the field's problem
        return (
            f"{path} = {_short(value)} cannot be encoded ({exc}); store a value of the field's type"
        )
    try:
        back = _decoder_for(tp)(data)
    except msgspec.DecodeError as exc:
        clearer = explain_float_bound(data, str(exc))
        if clearer is not None:
            return f"{path} = {_short(value)}: {clearer}"
        return (
            f"{path} = {_short(value)} is not valid for the field: {exc}; "
            "store a value the field's type accepts (within its range)"
        )
    except RecursionError:
        raise
    except Exception as exc:  # noqa: BLE001 - reported as the field's problem
        return f"{path} = {_short(value)} cannot be checked: {exc}"
    if not same(back, value):
        return (
            f"{path} = {_short(value)} would decode as {_short(back)}; "
            "store a value of exactly the field's type"
        )
    return None


def find_unset(obj: Any, path: str = "") -> str | None:
    """Path of the first ``UNSET`` field reachable from ``obj``, or None."""
    if isinstance(obj, msgspec.Struct):
        base = path or type(obj).__name__
        for f in obj.__struct_fields__:
            value = getattr(obj, f)
            if value is UNSET:
                return f"{base}.{f}"
            found = find_unset(value, f"{base}.{f}")
            if found is not None:
                return found
    elif isinstance(obj, (list, tuple)):
        for i, item in enumerate(obj):
            found = find_unset(item, f"{path}[{i}]")
            if found is not None:
                return found
    elif isinstance(obj, dict):
        for key, item in obj.items():
            found = find_unset(item, f"{path}[{key!r}]")
            if found is not None:
                return found
    return None


def _reachable_structs(cls: type) -> set[type]:
    found: set[type] = set()
    seen: set[int] = set()
    stack: list[Any] = [mi.type_info(cls)]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, mi.StructType):
            found.add(node.cls)
        for name in node.__struct_fields__:
            value = getattr(node, name)
            if isinstance(value, (mi.Type, mi.Field)):
                stack.append(value)
            elif isinstance(value, tuple):
                stack.extend(v for v in value if isinstance(v, (mi.Type, mi.Field)))
    return found


def unset_capable(types: Iterable[type]) -> frozenset[type]:
    """Those of ``types`` whose decoded instances may hold ``UNSET`` somewhere.

    A field whose default is ``UNSET`` is filled with it when the encoding leaves
    the field out; such an instance is not a valid message.
    """
    result = set()
    for cls in types:
        for struct_cls in _reachable_structs(cls):
            if any(f.default is UNSET for f in msgspec.structs.fields(struct_cls)):
                result.add(cls)
                break
    return frozenset(result)
