"""The one exception type decoding raises."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from codec.message import Message

__all__ = ["DecodeError"]


class DecodeError(ValueError):
    """Bytes that are not a valid encoding of a message type registered with the protocol.

    ``reason`` is the explanation (msgspec's own message where msgspec found the
    problem, which is then also the ``__cause__``). ``messages`` is only filled by
    :class:`codec.FrameReader`: the whole messages decoded by the failing ``feed``
    call before the bad frame, so the caller can still deliver them.
    """

    reason: str
    messages: list[Message]

    def __init__(self, reason: str, *, messages: Sequence[Message] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.messages = list(messages)
