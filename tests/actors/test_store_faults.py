"""A `StoreError` changes nothing: every mutating Scheduler method on a stored schedule
either is written and applied, or raises and leaves memory and store as they were."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from runtime_support import START, run_for

from actors import Scheduler, ScheduleStatus, SQLiteStore, StoreError
from actors.store.record import StoredSchedule, decode_record
from timekit import ScheduleAt, VirtualClock

HOUR = 3600.0


class FullDisk(SQLiteStore):
    """A real SQLite store whose commits fail while ``full`` is set (a full disk)."""

    full = False

    def _commit(self, puts: list[tuple[int, bytes]], deletes: list[int], high_water: int | None) -> None:
        if self.full:
            raise StoreError(f"schedule store {self.path}: writing failed: database or disk is full")
        super()._commit(puts, deletes, high_water)


def start(db: Path, clock: VirtualClock, calls: list[Any]) -> tuple[Scheduler, FullDisk]:
    store = FullDisk(db)
    s = Scheduler(clock=clock, store=store)
    s.register("ping", lambda *a: calls.append(a))
    s.start()
    return s, store


def stored(db: Path) -> dict[int, StoredSchedule]:
    """What the file holds now (read beside the scheduler that owns it)."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return {rid: decode_record(data) for rid, data in conn.execute("SELECT id, data FROM schedules")}


CHANGES: dict[str, tuple[Callable[[Scheduler, int], bool], str]] = {
    "cancel": (lambda s, sid: s.cancel_schedule(sid), "cancelled"),
    "pause": (lambda s, sid: s.pause(sid), "paused"),
    "reschedule": (lambda s, sid: s.reschedule(sid, 7200.0), "pending"),
    "update": (lambda s, sid: s.update(sid, args=("b",)), "pending"),
}


@pytest.mark.parametrize("what", sorted(CHANGES))
def test_a_failed_write_changes_nothing_and_the_retry_writes_it(tmp_path: Path, what: str) -> None:
    change, status_after = CHANGES[what]
    db = tmp_path / "s.db"
    clock = VirtualClock(START)
    calls: list[Any] = []
    s, store = start(db, clock, calls)
    sid = s.schedule("ping", ("a",), HOUR)
    before = stored(db)[sid]
    store.full = True
    with pytest.raises(StoreError, match="disk is full"):
        change(s, sid)
    # Nothing changed: in memory (it keeps firing as before) ...
    info = s.get_schedule(sid)
    assert info is not None and info.status is ScheduleStatus.PENDING and info.args == ("a",)
    assert info.trigger.every.total_seconds() == HOUR
    run_for(s, clock, HOUR)
    assert calls == [("a",)]
    # ... nor in the store.
    assert stored(db)[sid].status == before.status and stored(db)[sid].args == ["a"]
    # Space is freed: the retry does it, and writes it.
    store.full = False
    assert change(s, sid) is True
    assert stored(db)[sid].status == status_after
    assert s.get_schedule(sid).status.value == status_after  # type: ignore[union-attr]
    s.stop()
    # After a restart it is what the successful call made it.
    calls2: list[Any] = []
    s2, _ = start(db, VirtualClock(clock.now()), calls2)
    try:
        info2 = s2.get_schedule(sid)
        assert info2 is not None and info2.status.value == status_after
        run_for(s2, clock := s2.clock, 3 * HOUR)  # type: ignore[assignment]
        if what in ("cancel", "pause"):
            assert calls2 == []  # a cancelled or paused schedule is not back
        elif what == "update":
            assert calls2 and set(calls2) == {("b",)}
        else:
            assert info2.trigger.every.total_seconds() == 7200.0
    finally:
        s2.stop()


def test_a_failed_resume_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    clock = VirtualClock(START)
    calls: list[Any] = []
    s, store = start(db, clock, calls)
    try:
        sid = s.schedule("ping", ("a",), HOUR)
        assert s.pause(sid)
        store.full = True
        with pytest.raises(StoreError):
            s.resume(sid)
        assert s.get_schedule(sid).status is ScheduleStatus.PAUSED  # type: ignore[union-attr]
        run_for(s, clock, 2 * HOUR)
        assert calls == [] and stored(db)[sid].status == "paused"
        store.full = False
        assert s.resume(sid)
        assert stored(db)[sid].status == "pending"
        run_for(s, clock, HOUR)
        assert calls == [("a",)]
    finally:
        s.stop()


def test_a_failed_create_schedules_nothing(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    clock = VirtualClock(START)
    calls: list[Any] = []
    s, store = start(db, clock, calls)
    try:
        store.full = True
        with pytest.raises(StoreError):
            s.schedule("ping", ("a",), ScheduleAt.at_time(START))  # due at once
        run_for(s, clock, HOUR)
        assert calls == [] and s.list_schedules() == []
        store.full = False
        sid = s.schedule("ping", ("a",), HOUR)
        assert list(stored(db)) == [sid]
    finally:
        s.stop()


def test_a_failed_clear_forgets_nothing(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    clock = VirtualClock(START)
    s, store = start(db, clock, [])
    try:
        sid = s.schedule("ping", ("a",), HOUR)
        assert s.cancel_schedule(sid)
        store.full = True
        with pytest.raises(StoreError):
            s.clear_completed_schedules()
        assert s.get_schedule(sid) is not None and sid in stored(db)
        store.full = False
        assert s.clear_completed_schedules() == 1
        assert stored(db) == {}
    finally:
        s.stop()


def test_changes_told_to_the_actor_directly_are_stored(tmp_path: Path) -> None:
    from actors import Cancel, Pause

    db = tmp_path / "s.db"
    clock = VirtualClock(START)
    s, _ = start(db, clock, [])
    paused = s.schedule("ping", ("a",), HOUR)
    cancelled = s.schedule("ping", ("b",), HOUR)
    s.get_schedule(paused).actor_ref.ask(Pause())  # type: ignore[union-attr]
    s.get_schedule(cancelled).actor_ref.ask(Cancel())  # type: ignore[union-attr]
    assert s.wait_idle(10)
    s.stop()
    rows = stored(db)
    assert (rows[paused].status, rows[cancelled].status) == ("paused", "cancelled")


def test_an_outage_of_batch_writes_is_logged_once_and_its_end_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The supervisor retries a failed batch write at every drain; a full disk for a
    while is one ERROR (with the traceback) and one WARNING when writes resume, not an
    ERROR per retry, and what was waiting is written in the end."""
    db = tmp_path / "s.db"
    clock = VirtualClock(START)
    calls: list[Any] = []
    s, store = start(db, clock, calls)
    try:
        sid = s.schedule("ping", ["a"], ScheduleAt.at_interval(1.0))
        store.full = True
        with caplog.at_level("DEBUG", logger="tickwork"):
            run_for(s, clock, 10)  # ten firings: ten batches of changed counters, all failing
            store.full = False
            run_for(s, clock, 1)
        errors = [r for r in caplog.records if r.levelname == "ERROR" and "will retry" in r.getMessage()]
        resumed = [r for r in caplog.records if "resumed" in r.getMessage()]
        assert len(errors) == 1 and errors[0].exc_info is not None
        assert len(resumed) == 1
        assert len(calls) == 11
        assert stored(db)[sid].execution_count == 11  # written once the disk had room again
    finally:
        assert s.stop(timeout=10)
