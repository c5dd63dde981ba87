"""Every non-ASCII decimal digit, by value, for tests that swap a digit for the same
digit in another script (drawn from directly: filtering a character strategy by value
discards most draws and fails hypothesis's filter_too_much health check)."""

from __future__ import annotations

import sys
import unicodedata

NON_ASCII_DIGITS_BY_VALUE: dict[int, list[str]] = {d: [] for d in range(10)}
for _c in map(chr, range(0x80, sys.maxunicode + 1)):
    if (_d := unicodedata.decimal(_c, None)) is not None:
        NON_ASCII_DIGITS_BY_VALUE[_d].append(_c)
