"""Numbers in timekit's text formats and in its error messages.

Text parsers here accept ASCII digits only (``[0-9]``): Python's ``\\d`` and
``int()`` also accept other scripts' digits ("٥", "５"), which no time format
means. A number in text may have at most :data:`MAX_DIGITS` digits, so parsing
never reaches ``int()``'s digit limit and a huge input gets the parser's own error.
"""

from __future__ import annotations

import math
from typing import Final

__all__ = ["MAX_DIGITS", "int_text", "shown"]

MAX_DIGITS: Final = 100
"""The most digits one number in duration or timestamp text may have."""

_SHOWN_CHARS: Final = 60
_INT_DIGITS: Final = 40


def shown(text: str) -> str:
    """``repr(text)`` for an error message, shortened when the text is long."""
    if len(text) <= _SHOWN_CHARS:
        return repr(text)
    return f"{text[:_SHOWN_CHARS]!r}... ({len(text)} characters)"


def int_text(n: int) -> str:
    """``str(n)`` for an error message; an int of more than 40 digits is summarised as
    "about 1.2e345" (``str()`` itself fails beyond 4300 digits)."""
    if -(10**_INT_DIGITS) < n < 10**_INT_DIGITS:
        return str(n)
    lg = math.log10(abs(n))  # exact enough for a summary; works for any int
    exp = math.floor(lg)
    mantissa = f"{10 ** (lg - exp):.1f}"
    if mantissa == "10.0":
        mantissa, exp = "1.0", exp + 1
    return f"about {'-' if n < 0 else ''}{mantissa}e{exp}"
