"""Length-prefixed frames for byte streams (sockets, pipes, files).

A frame is a 4-byte big-endian unsigned payload length followed by the payload,
one encoded message. :class:`FrameReader` takes the stream in whatever chunks it
arrives and returns whole messages.

After a :class:`~codec.DecodeError` the reader is *poisoned*: the stream cannot be
trusted to be aligned on a frame boundary any more, so the buffered bytes are
dropped and every later ``feed`` raises DecodeError until :meth:`FrameReader.reset`
is called. Usually the right response is to close the connection.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Final

from codec.errors import DecodeError

if TYPE_CHECKING:
    from codec.message import Message
    from codec.protocol import Protocol

__all__ = ["DEFAULT_MAX_FRAME_SIZE", "MAX_FRAME_LENGTH", "FrameReader", "frame_bytes"]

DEFAULT_MAX_FRAME_SIZE: Final = 1_048_576
"""FrameReader's default limit on a frame's payload length, in bytes."""
MAX_FRAME_LENGTH: Final = 2**32 - 1
"""The largest payload a 4-byte length prefix can describe."""

_HEADER = struct.Struct(">I")
_pack_header = _HEADER.pack
_unpack_header = _HEADER.unpack_from


def frame_bytes(payload: bytes) -> bytes:
    """``payload`` behind its 4-byte big-endian length."""
    n = len(payload)
    if n > MAX_FRAME_LENGTH:
        raise ValueError(f"payload of {n} bytes is too long for a frame (max {MAX_FRAME_LENGTH})")
    return _pack_header(n) + payload


class FrameReader:
    """Incremental frame decoder: ``feed`` it chunks, get back whole messages.

    A frame declaring more than ``max_frame_size`` payload bytes is refused with
    DecodeError as soon as its header arrives; nothing is allocated for it. The
    reader buffers at most one partial frame plus the latest chunk. One reader per
    stream; a reader is not thread-safe.
    """

    __slots__ = ("_buffer", "_decode", "_error", "_max", "_offset", "protocol")

    def __init__(self, protocol: Protocol, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE) -> None:
        if isinstance(max_frame_size, bool) or not isinstance(max_frame_size, int):
            raise TypeError(f"max_frame_size must be an int, not {type(max_frame_size).__name__}")
        if not 0 <= max_frame_size <= MAX_FRAME_LENGTH:
            raise ValueError(
                f"max_frame_size must be within [0, {MAX_FRAME_LENGTH}], not {max_frame_size}"
            )
        self.protocol = protocol
        self._decode = protocol.decode
        self._max = max_frame_size
        self._buffer = bytearray()
        self._offset = 0  # stream offset of the first buffered byte
        self._error: DecodeError | None = None

    @property
    def max_frame_size(self) -> int:
        """The largest payload length accepted, in bytes."""
        return self._max

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a whole frame (nonzero: mid-frame)."""
        return len(self._buffer)

    @property
    def poisoned(self) -> bool:
        """Whether an earlier DecodeError stopped this reader (see :meth:`reset`)."""
        return self._error is not None

    def reset(self) -> None:
        """Forget buffered bytes and any earlier error: the next byte starts a frame."""
        self._buffer.clear()
        self._error = None
        self._offset = 0

    def feed(self, chunk: bytes | bytearray | memoryview) -> list[Message]:
        """Add ``chunk`` and return the messages of every frame it completes, in order.

        Raises DecodeError for an oversized or invalid frame (and poisons the
        reader); the exception's ``messages`` holds the messages this call decoded
        before the bad frame. TypeError for a chunk that is not bytes-like.
        """
        if self._error is not None:
            raise DecodeError(
                f"FrameReader is poisoned by an earlier error ({self._error.reason}); "
                "call reset() once the stream is at a frame boundary again, or close it"
            )
        buffer = self._buffer
        buffer += chunk
        end = len(buffer)
        pos = 0
        out: list[Message] = []
        try:
            while end - pos >= 4:
                (length,) = _unpack_header(buffer, pos)
                if length > self._max:
                    raise DecodeError(
                        f"frame at stream offset {self._offset + pos} declares {length} bytes, "
                        f"more than max_frame_size={self._max}"
                    )
                start = pos + 4
                if end - start < length:
                    break
                try:
                    out.append(self._decode(buffer[start : start + length]))
                except DecodeError as exc:
                    raise DecodeError(
                        f"bad frame at stream offset {self._offset + pos}: {exc.reason}"
                    ) from exc
                pos = start + length
        except DecodeError as exc:
            self._error = exc
            buffer.clear()
            exc.messages = out
            raise
        if pos:
            del buffer[:pos]
            self._offset += pos
        return out

    def messages(self, chunks: Iterable[bytes | bytearray | memoryview]) -> Iterator[Message]:
        """Feed each chunk in turn and yield the messages as they complete.

        When ``chunks`` ends inside a frame (the stream was cut short) this raises
        DecodeError.
        """
        for chunk in chunks:
            yield from self.feed(chunk)
        if self._buffer:
            raise DecodeError(
                f"stream ended inside a frame ({len(self._buffer)} bytes of it received)"
            )
