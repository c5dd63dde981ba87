"""Stepping virtual time: a runtime on a `VirtualClock` is attached to it as a
participant, so ``clock.advance(d)`` moves now to each instant the scheduler has
work at and waits for that work (`Stepper.settle`)."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any, Protocol

import pykka

from actors.clock_actor import STEP

if TYPE_CHECKING:
    from actors.activity import Activity

__all__ = ["SteppedRuntime", "Stepper", "on_event_loop"]

#: How long a virtual-time step waits for the clock actor's answer (it only ever is slow).
STEP_TIMEOUT = 60.0


class SteppedRuntime(Protocol):
    """What stepping needs of the runtime."""

    clock: Any  # a VirtualClock
    activity: Activity
    clock_ref: pykka.ActorRef[Any]

    @property
    def stopping(self) -> bool: ...

    def on_own_thread(self) -> bool:
        """True on a thread of the runtime (where targets and callbacks run)."""
        ...


class Stepper:
    """The `VirtualClock` participant of one runtime."""

    def __init__(self, runtime: SteppedRuntime) -> None:
        self.rt = runtime
        self.clock = runtime.clock
        #: The activity ``ops`` at which `settle` last found the work stalled.
        self.stalled_at = -1
        self.clock.attach(self)

    def detach(self) -> None:
        self.clock.detach(self)

    def settle(self) -> tuple[bool, int | None]:
        """Block until everything due at or before the clock's now has run and been
        recorded; ``(True, the next instant anything is armed for, or None)``.

        ``(False, None)`` when it cannot wait: called on one of the runtime's own
        threads (a target or callback advancing the clock) or on a thread running an
        event loop (coroutine targets may need it), or the work in flight has made no
        progress for the clock's ``stall_timeout`` (a target blocked on the caller),
        and at once while it is still stuck there. The clock then moves straight on,
        and what comes due meanwhile runs late, as in real time."""
        rt = self.rt
        if rt.stopping:
            return True, None
        if rt.on_own_thread() or on_event_loop():
            return False, None
        patience: float = self.clock.stall_timeout
        activity = rt.activity
        while True:
            mark = activity.ops
            if mark == self.stalled_at and activity.count:
                return False, None  # still stuck where it was the last time
            if not activity.wait_zero(time.monotonic() + patience):
                if activity.ops == mark:
                    self.stalled_at = mark
                    return False, None
                continue  # busy but moving
            if rt.stopping:
                return True, None
            try:
                # The clock actor runs no user code, so it is slow (thousands of arms to
                # apply, a loaded machine), never stuck: no stall timeout for it.
                idle, nxt = rt.clock_ref.ask(STEP, timeout=STEP_TIMEOUT)
            except pykka.Timeout:
                return False, None
            except pykka.ActorDeadError:
                return True, None  # stopped meanwhile
            if idle:
                return True, nxt


def on_event_loop() -> bool:
    """True on a thread that is running an asyncio event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
