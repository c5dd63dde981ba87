"""Tighter timer slack for tickwork's own timing threads (Linux only).

Linux lets a timed wait end up to the calling thread's *timer slack* late (50 µs
by default) so that it can batch wake-ups.  A scheduler's clock thread and the
execution threads that sleep on leased deadlines exist to wake on time, so each
sets its own slack to `SLACK_NS` when it starts (``prctl(PR_SET_TIMERSLACK)``;
the setting is per thread: application threads keep theirs).  Elsewhere, or if
the call fails, nothing changes.
"""

from __future__ import annotations

import ctypes
import sys

__all__ = ["SLACK_NS", "tighten_timer_slack"]

#: The slack (ns) our timing threads ask for.
SLACK_NS = 1_000

_PR_SET_TIMERSLACK = 29
_prctl = None
if sys.platform.startswith("linux"):
    try:
        _prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # no libc symbol table (static builds, odd loaders)
        _prctl = None


def tighten_timer_slack() -> bool:
    """Set the calling thread's timer slack to `SLACK_NS`; True if it took effect."""
    if _prctl is None:
        return False
    try:
        return bool(_prctl(_PR_SET_TIMERSLACK, SLACK_NS, 0, 0, 0) == 0)
    except Exception:  # noqa: BLE001 - best effort: precision, never a failure
        return False
