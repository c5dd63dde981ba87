"""timekit values as MessagePack extension types.

=====================  ===========  =================================================
type                   ext code     payload
=====================  ===========  =================================================
``timekit.Timestamp``  84 (``'T'``)  signed 64-bit microseconds since the Unix epoch
``timekit.Duration``   68 (``'D'``)  signed 64-bit microseconds
=====================  ===========  =================================================

Both payloads are exactly 8 bytes, big-endian two's complement (so each value is a
MessagePack ``fixext 8``). A Timestamp's display zone (``tz``) is not transmitted:
it never affects equality, and the decoded value has none. Decoding checks the
code and the length, and that the microseconds lie in the type's range (a
Timestamp spans years 1 to 9999 UTC).

A Timestamp field also accepts MessagePack's standard timestamp extension (ext -1,
any of its 4-, 8- and 12-byte forms), as peers' libraries send it; see
:mod:`codec.stdtimestamp`. The encoder always sends ext 84.
"""

from __future__ import annotations

import struct
from datetime import datetime
from typing import Any, Final

from msgspec import UNSET
from msgspec.msgpack import Ext

from codec.stdtimestamp import mark_seen
from timekit import Duration, Timestamp

__all__ = ["DURATION_EXT_CODE", "TIMESTAMP_EXT_CODE", "dec_hook", "enc_hook"]

TIMESTAMP_EXT_CODE: Final = 84
"""MessagePack ext code of a ``timekit.Timestamp`` (ASCII ``'T'``)."""
DURATION_EXT_CODE: Final = 68
"""MessagePack ext code of a ``timekit.Duration`` (ASCII ``'D'``)."""

_I64 = struct.Struct(">q")
_pack = _I64.pack
_unpack = _I64.unpack


class UnsetFieldError(TypeError):
    """Raised by :func:`enc_hook` when an unset field reaches the encoder."""


def enc_hook(obj: Any) -> Any:
    """msgspec ``enc_hook``: Timestamp and Duration become ext values; anything else fails."""
    if isinstance(obj, Timestamp):
        return Ext(TIMESTAMP_EXT_CODE, _pack(obj.micros))
    if isinstance(obj, Duration):
        return Ext(DURATION_EXT_CODE, _pack(obj.micros))
    if obj is UNSET:
        raise UnsetFieldError("a field is unset")
    raise TypeError(f"objects of type {type(obj).__qualname__} cannot be encoded")


def _micros(obj: Any, code: int, what: str) -> int:
    if obj.__class__ is not Ext or obj.code != code or len(obj.data) != 8:  # type: ignore[arg-type]
        also = " or the standard timestamp ext -1" if code == TIMESTAMP_EXT_CODE else ""
        raise ValueError(f"Expected `{what}` (MessagePack ext {code} holding 8 bytes{also})")
    return _unpack(obj.data)[0]  # type: ignore[no-any-return]


def dec_hook(tp: type, obj: Any) -> Any:
    """msgspec ``dec_hook``: rebuild Timestamp and Duration from their ext values.

    Raises only TypeError or ValueError, which msgspec reports as a ValidationError.
    """
    if tp is Timestamp:
        if obj.__class__ is datetime:  # msgspec's reading of a standard ext -1 timestamp (UTC)
            mark_seen()  # the protocol then checks that it was exact to the microsecond
            return Timestamp(Timestamp.from_datetime(obj).micros)
        micros = _micros(obj, TIMESTAMP_EXT_CODE, "Timestamp")
        try:
            return Timestamp.from_micros(micros)
        except (OverflowError, ValueError, TypeError) as exc:
            raise ValueError(f"Timestamp out of range: {exc}") from None
    if tp is Duration:
        micros = _micros(obj, DURATION_EXT_CODE, "Duration")
        return Duration(micros)  # every signed 64-bit value is a valid Duration
    raise TypeError(f"field type {tp!r} is not supported by codec")
