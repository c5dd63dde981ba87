"""What waits for the supervisor: execution records to book, and durable schedules
to write (the supervisor writes them in batches, before it books results)."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import msgspec

from actors.messages import _Done
from actors.persist import to_record
from actors.results import ScheduleResult
from actors.store import Store, StoredSchedule
from timekit import Duration, Timestamp

if TYPE_CHECKING:
    from actors.state import ScheduleState

__all__ = ["Ledger", "latest"]

logger = logging.getLogger("tickwork")

_T = TypeVar("_T")


class _Record(msgspec.Struct, gc=False):
    """One execution, as raw ints: the `ScheduleResult` object is only built when
    somebody looks (history, callbacks). Not tracked by the garbage collector (the
    history keeps a thousand of them, and one is made per firing; it refers to
    nothing that could refer back to it)."""

    sid: int
    done: _Done
    missed: int
    attempt: int = 1

    def result(self) -> ScheduleResult:
        d = self.done
        return ScheduleResult(
            schedule_id=self.sid,
            scheduled_time=Timestamp.from_micros(d.scheduled_us),
            start_time=Timestamp.from_micros(d.started_us),
            lateness=Duration(d.started_us - d.scheduled_us),
            duration=Duration(d.finished_us - d.started_us),
            success=d.ok,
            return_value=d.value,
            error=d.error,
            missed=self.missed,
            attempt=self.attempt,
        )


def latest(items: list[_T], limit: int | None) -> list[_T]:
    """The last ``limit`` of ``items`` (all of them for None, none for 0 or less)."""
    if limit is None:
        return items
    return items[-limit:] if limit > 0 else []


class Ledger:
    """Execution records and changed durable schedules, waiting for the supervisor.

    Any thread adds to it; the supervisor is told `DRAIN` once per batch (the
    ``drain_requested`` flag, which the supervisor clears before draining)."""

    def __init__(self, store: Store | None, states: dict[int, ScheduleState]) -> None:
        self.store = store
        self.states = states
        self.records: deque[_Record] = deque()
        #: Durable schedules changed by their actors, written by the supervisor in batches.
        self.dirty: dict[int, ScheduleState] = {}
        #: Set once stop() has written the last batch: nothing is written after.
        self.frozen = False
        self.drain_requested = False
        #: Since when (time.monotonic) batch writes have been failing; None while they succeed.
        self.failing_since: float | None = None
        #: Tells the supervisor to drain: wired by the runtime once the supervisor runs.
        self.request_drain: Callable[[], None] = _not_wired

    def record(self, sid: int, done: _Done, missed: int, attempt: int = 1) -> None:
        """Hand one execution to the supervisor (batched: one message per drain)."""
        self.records.append(_Record(sid, done, missed, attempt))
        if not self.drain_requested:
            self.drain_requested = True
            self.request_drain()

    def stores(self, s: ScheduleState) -> bool:
        """Whether changes to ``s`` are written to the store (now)."""
        return s.durable and not s.unresolved and self.store is not None and not self.frozen

    def touch(self, s: ScheduleState) -> None:
        """``s`` changed: if durable, write it with the supervisor's next batch."""
        if s.durable and not s.unresolved and self.store is not None and not self.frozen:
            self.dirty[s.id] = s
            if not self.drain_requested:
                self.drain_requested = True
                self.request_drain()

    def persist_now(self, s: ScheduleState, rec: StoredSchedule | None = None) -> None:
        """Write ``s`` now (durable when this returns); for acknowledged changes.
        ``rec``: the record to write instead of ``s`` as it is (one planned ahead of
        the change, see `persist.planned`). StoreError: nothing was written."""
        if self.store is not None and self.stores(s):
            was = self.dirty.pop(s.id, None)
            try:
                self.store.put(to_record(s) if rec is None else rec)
            except BaseException:
                if was is not None:
                    self.touch(s)  # what was waiting to be written still is
                raise

    def write_dirty(self) -> None:
        """Write every changed durable schedule in one transaction (the supervisor's)."""
        store = self.store
        dirty = self.dirty
        if store is None or not dirty or self.frozen:
            return
        ids = list(dirty)
        try:
            with store.batch():
                for sid in ids:
                    st = dirty.pop(sid, None)
                    if st is not None:
                        store.put(to_record(st))
        except Exception as exc:
            # Logged once per outage (with the traceback), not at every retry of it.
            if self.failing_since is None:
                self.failing_since = time.monotonic()
                logger.error(
                    "tickwork: writing %d schedule(s) to %s failed; will retry (logged again when writes resume)",
                    len(ids), store.location, exc_info=exc,
                )
            else:
                logger.debug("tickwork: writing to %s failed again: %r", store.location, exc)
            for sid in ids:
                st = self.states.get(sid)
                if st is not None:
                    dirty.setdefault(sid, st)
            return
        if self.failing_since is not None:
            logger.warning(
                "tickwork: writes to %s resumed after %.1f s", store.location, time.monotonic() - self.failing_since
            )
            self.failing_since = None

    def freeze(self) -> None:
        """Write what is pending, then stop writing (stop() must not store cancellations)."""
        self.write_dirty()
        self.frozen = True


def _not_wired() -> None:
    raise RuntimeError("tickwork: the supervisor is not running yet")
