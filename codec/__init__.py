"""tickwork codec: messages as msgspec Structs and a MessagePack Protocol registry.

::

    from codec import Message, Protocol, protocol, Int32, Int64

    P = Protocol()

    @protocol(P)
    class Heartbeat(Message):
        timestamp: Int64
        sequence: Int32
        name: str

    data = P.encode(Heartbeat(0, 1, "a"))   # validated: widths, types, unset fields
    msg = P.decode(data)                    # a Heartbeat, or DecodeError

Streams: ``P.frame(msg)`` and :class:`FrameReader`. Time values: see
:mod:`codec.timeext` for the ext codes.
"""

from codec.errors import DecodeError
from codec.fields import (
    FLOAT32_MAX,
    TYPE_NAMES,
    Float32,
    Float64,
    Int8,
    Int16,
    Int32,
    Int64,
    UInt8,
    UInt16,
    UInt32,
    UInt64,
)
from codec.framing import FrameReader
from codec.message import Encoding, Message, make_message_type
from codec.protocol import Protocol, protocol
from codec.timeext import DURATION_EXT_CODE, TIMESTAMP_EXT_CODE

__all__ = [
    "DURATION_EXT_CODE",
    "FLOAT32_MAX",
    "TIMESTAMP_EXT_CODE",
    "TYPE_NAMES",
    "DecodeError",
    "Encoding",
    "Float32",
    "Float64",
    "FrameReader",
    "Int8",
    "Int16",
    "Int32",
    "Int64",
    "Message",
    "Protocol",
    "UInt8",
    "UInt16",
    "UInt32",
    "UInt64",
    "make_message_type",
    "protocol",
]
