"""MessagePack's standard timestamp extension (type -1), accepted on decode.

msgspec decodes ext -1 itself (to a UTC ``datetime``, which :func:`codec.timeext.dec_hook`
turns into a Timestamp), in all three forms: 4 bytes (uint32 seconds), 8 bytes
(uint30 nanoseconds and uint34 seconds in one big-endian uint64) and 12 bytes
(uint32 nanoseconds, then int64 seconds). A malformed payload (another length,
nanoseconds of 10**9 or more) or an instant outside years 1-9999 fails in msgspec.

msgspec rounds nanoseconds to the microsecond (halves up). A Timestamp is exact
microseconds, so a value whose nanoseconds are not a whole number of microseconds
is refused instead: ``dec_hook`` marks the decoding thread (:func:`mark_seen`) when it
converts one, and only then does the protocol walk the message's bytes with
:func:`inexact_timestamp`, so messages without an ext -1 value pay nothing.
"""

from __future__ import annotations

import struct
import threading
from typing import Final

__all__ = ["inexact_timestamp", "mark_seen", "take_seen"]

STD_TIMESTAMP_EXT_CODE: Final = -1

_U16 = struct.Struct(">H").unpack_from
_U32 = struct.Struct(">I").unpack_from
_U64 = struct.Struct(">Q").unpack_from

# Bytes after the first byte, for headers of fixed size (everything but containers,
# str/bin/ext with a length, and the fixed-size values' payloads are listed here).
_FIXED: Final = {
    0xC0: 0, 0xC2: 0, 0xC3: 0, 0xCA: 4, 0xCB: 8,
    0xCC: 1, 0xCD: 2, 0xCE: 4, 0xCF: 8, 0xD0: 1, 0xD1: 2, 0xD2: 4, 0xD3: 8,
}  # fmt: skip
_FIXEXT: Final = {0xD4: 1, 0xD5: 2, 0xD6: 4, 0xD7: 8, 0xD8: 16}
_LENGTH: Final = {0xC4: 1, 0xC5: 2, 0xC6: 4, 0xD9: 1, 0xDA: 2, 0xDB: 4}  # bin / str: width of the length
_EXT_LENGTH: Final = {0xC7: 1, 0xC8: 2, 0xC9: 4}


class _Seen(threading.local):
    seen = False


_seen = _Seen()


def mark_seen() -> None:
    """Note that this thread's current decode read an ext -1 value."""
    _seen.seen = True


def take_seen() -> bool:
    """Whether this thread read an ext -1 value since the last call (and forget it)."""
    if _seen.seen:
        _seen.seen = False
        return True
    return False


def _length(data: bytes, pos: int, width: int) -> int:
    if width == 1:
        return data[pos]
    if width == 2:
        return int(_U16(data, pos)[0])
    return int(_U32(data, pos)[0])


def _nanoseconds(payload: bytes) -> int:
    if len(payload) == 8:
        return int(_U64(payload)[0]) >> 34
    if len(payload) == 12:
        return int(_U32(payload)[0])
    return 0  # the 4-byte form has whole seconds (other lengths fail in msgspec)


def inexact_timestamp(data: bytes | bytearray | memoryview) -> int | None:
    """Nanoseconds of the first ext -1 value in ``data`` that are not a multiple of 1000, or None.

    ``data`` must be one well-formed MessagePack value (msgspec decoded it already).
    """
    buf = bytes(data)
    pos = 0
    items = 1  # values still to walk over
    while items:
        items -= 1
        b = buf[pos]
        pos += 1
        if b <= 0x7F or b >= 0xE0:  # fixints
            continue
        if b <= 0x8F:
            items += 2 * (b & 0x0F)
        elif b <= 0x9F:
            items += b & 0x0F
        elif b <= 0xBF:
            pos += b & 0x1F
        elif b in _FIXED:
            pos += _FIXED[b]
        elif b in _LENGTH:
            width = _LENGTH[b]
            pos += width + _length(buf, pos, width)
        elif b == 0xDC or b == 0xDE:
            items += _length(buf, pos, 2) * (2 if b == 0xDE else 1)
            pos += 2
        elif b == 0xDD or b == 0xDF:
            items += _length(buf, pos, 4) * (2 if b == 0xDF else 1)
            pos += 4
        else:  # ext: fixext 1-16 or ext 8/16/32
            if b in _FIXEXT:
                size = _FIXEXT[b]
            else:
                width = _EXT_LENGTH[b]
                size = _length(buf, pos, width)
                pos += width
            code = buf[pos]
            payload = buf[pos + 1 : pos + 1 + size]
            pos += 1 + size
            if code == 0xFF:
                ns = _nanoseconds(payload)
                if ns % 1000:
                    return ns
    return None
