"""Showing spec text on a terminal: `safe` escapes what could drive it, `shown`
cuts long lists (a 100,000-schedule spec prints its first / busiest `LIMIT`).

Every place that prints a schedule name, a sink URL, a trigger or a spec path goes
through `safe`, so a name like ``"\\x1b[2J"`` shows as that text instead of clearing
the screen.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypeVar

__all__ = ["LIMIT", "more", "safe", "shown"]

#: How many schedules a listing shows before "... and N more".
LIMIT = 20

T = TypeVar("T")

# C0 controls, DEL, C1 controls (ESC, CSI 0x9b ...), the line / paragraph separators
# and the bidirectional embedding / override / isolate controls (which reorder what
# follows them on the line).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(m: re.Match[str]) -> str:
    c = m.group()
    if c in "\t\n\r":
        return {"\t": "\\t", "\n": "\\n", "\r": "\\r"}[c]
    o = ord(c)
    return f"\\x{o:02x}" if o <= 0xFF else f"\\u{o:04x}"


def safe(text: object) -> str:
    """``str(text)`` with control characters written as Python escapes (``\\x1b``,
    ``\\n``, ``\\x9b``, ``\\u202e``); everything else, backslashes included, as is."""
    s = str(text)
    return _UNSAFE.sub(_escape, s) if _UNSAFE.search(s) else s


def shown(items: Sequence[T], limit: int = LIMIT) -> tuple[Sequence[T], int]:
    """The first ``limit`` items and how many were left out."""
    if len(items) <= limit:
        return items, 0
    return items[:limit], len(items) - limit


def more(hidden: int, what: str = "schedule(s)") -> str:
    """``"... and 99,980 more schedule(s)"``."""
    return f"... and {hidden:,} more {what}"
