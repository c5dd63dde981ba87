"""The exception timekit raises for values outside its range."""

from __future__ import annotations

__all__ = ["OutOfRangeError"]


class OutOfRangeError(OverflowError, ValueError):
    """A time value outside what timekit represents (a `Duration` beyond about
    ±292,000 years, a `Timestamp` outside years 1–9999).

    It is both an `OverflowError` (arithmetic that left the range, as `datetime`
    raises) and a `ValueError` (an argument that is out of range, e.g. an interval
    of 1e30 seconds given to a scheduler), so either ``except`` catches it.
    """
