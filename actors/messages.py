"""The messages schedule actors understand.

`Tick`, `Update`, `Cancel`, `Pause` and `Resume` are public: an application may
``tell`` them to a schedule's actor (``scheduler.get_schedule(id).actor_ref``)
with the same effect as the matching `Scheduler` method.  They are small frozen
structs; the underscore-prefixed ones are the runtime's own.
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = ["Cancel", "Pause", "Resume", "Tick", "Update"]


class Tick(msgspec.Struct, frozen=True, gc=False):
    """A deadline of the schedule was reached.

    ``scheduled_us`` is the firing time the clock actor was asked for (micros in
    the schedule's time base) and ``generation`` identifies the arming: a tick of
    an older arming (after an update, pause or cancel) is ignored.
    """

    scheduled_us: int
    generation: int


class _LeasedTick(msgspec.Struct, frozen=True, gc=False):
    """A `Tick` delivered by the thread a deadline was leased to (`actors.leasing`):
    the execution it starts is handed to that thread through ``lease`` (a
    `actors.leasing.Lease`) rather than queued on the execution pool."""

    scheduled_us: int
    generation: int
    lease: Any


class Update(msgspec.Struct, frozen=True):
    """Change a schedule; fields left as None keep their value.

    ``trigger`` is anything `Scheduler.schedule` accepts as ``when``;
    ``interval`` (seconds, Duration or timedelta) replaces the interval of an
    interval schedule.  The schedule is re-anchored at the moment the update is
    applied: an interval schedule next fires one interval after it.
    """

    trigger: Any = None
    interval: Any = None
    args: tuple[Any, ...] | None = None
    kwargs: dict[str, Any] | None = None
    message: Any = None


class Cancel(msgspec.Struct, frozen=True):
    """Cancel the schedule: no execution starts after this is handled."""


class Pause(msgspec.Struct, frozen=True):
    """Stop firing until `Resume`; firings that fall in the pause are not run."""


class Resume(msgspec.Struct, frozen=True):
    """Resume a paused schedule at its next firing after now."""


class _Done(msgspec.Struct, gc=False):
    """An execution finished (sent by the execution pool to the schedule actor).

    Not tracked by the garbage collector (one is made per firing): nothing it holds
    (the target's return value or exception) can refer back to it."""

    generation: int
    scheduled_us: int
    started_us: int
    finished_us: int
    ok: bool
    value: Any
    error: BaseException | None
    skipped: bool = False
    exec_no: int = 0


class _Plan(msgspec.Struct, frozen=True):
    """Ask a schedule actor what ``change`` (`Update`, `Pause`, `Resume`) would store,
    without applying it: the stored record's fields it changes, or False if it
    would change nothing (the facade writes them before it asks for the change)."""

    change: Any


class _Timeout(msgspec.Struct, frozen=True):
    """Execution number ``exec_no`` has run longer than the schedule's timeout."""

    exec_no: int


class _Died:
    """A schedule actor died (told to the supervisor): restart it with ``salvage``,
    the envelopes it had not processed."""

    __slots__ = ("error", "salvage", "sid")

    def __init__(self, sid: int, salvage: list[Any], error: BaseException | None) -> None:
        self.sid = sid
        self.salvage = salvage
        self.error = error


class _Redeliver:
    """A result for a schedule actor that is restarting (told to the supervisor,
    which parks it for the new actor)."""

    __slots__ = ("message", "sid")

    def __init__(self, sid: int, message: Any) -> None:
        self.sid = sid
        self.message = message
