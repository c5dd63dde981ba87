"""`current_firing()`: which firing the running target is (for at-least-once sinks).

With a shared store (`PostgresStore`) every firing is claimed in the store before its
target runs; a claimed firing whose process died before its completion was recorded
runs again on the process that takes over (``attempt`` + 1, a higher ``epoch``). A
target that writes somewhere can deduplicate on ``(schedule_id, grid_point)``, and
prefer the highest ``epoch`` (the fencing token of the claim).
"""

from __future__ import annotations

import contextvars

import msgspec

from timekit import Timestamp

__all__ = ["Firing", "current_firing"]


class Firing(msgspec.Struct, frozen=True):
    """One claimed firing of a schedule."""

    #: The schedule's id (the same in every process of the group).
    schedule_id: int
    #: The time it was due (its point on the schedule's grid): the same on every attempt.
    grid_point: Timestamp
    #: 1 for the first run; 2 or more when a process that claimed it died before completing it.
    attempt: int
    #: The partition lease's epoch under which it was claimed (grows at every takeover).
    epoch: int


_CURRENT: contextvars.ContextVar[Firing | None] = contextvars.ContextVar("tickwork_firing", default=None)


def current_firing() -> Firing | None:
    """The firing the calling target is running, or None (outside a target, or a
    scheduler without a shared store: there firings are not claimed)."""
    return _CURRENT.get()
