"""`Store`: the interface of a durable schedule store, and the logic every store shares
(validation, id allocation, batches). Backends implement five small hooks.

Semantics, for every store:

* **Ownership.** ``open(owner)`` before anything else; one owner at a time. A second
  open while the first holds it raises `StoreLockedError`; ``close()`` releases it.
* **Writes are synchronous.** ``put``, ``put_many`` and ``delete`` encode and validate
  first (TypeError / ValueError, nothing written), then commit one transaction and
  return: what they wrote is then durable (see the backend for against what: process
  crash, power loss). A write that fails raises `StoreError` and changes nothing.
* **Batches.** Inside ``with store.batch():`` this thread's writes are only validated and
  buffered (the last write of an id wins); leaving the block commits them all in one
  transaction, which is how the runtime gets many operations per commit. The block
  holds the store's write lock: other threads' writes wait until it has committed, so
  records built *inside* the block are committed in the order they were built, and
  no write from elsewhere can land between building a record and committing it (take
  snapshots of live state inside a batch when several threads may write the same id).
  Keep blocks short and never wait for another thread inside one. If the block raises,
  its writes are discarded. Nested ``batch()`` blocks join the outermost one.
* **Reads** (``load``) see committed data only.
* **Ids.** ``next_id()`` never returns an id it returned before, nor one stored before,
  across restarts too (a durable high-water mark; ids may jump after a restart).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Self

import msgspec

from actors.store.errors import CorruptRecord, StoreError, StoreLockedError
from actors.store.record import StoredSchedule, decode_record, encode_record

__all__ = ["LoadResult", "Store", "decode_rows"]


class LoadResult(msgspec.Struct, frozen=True):
    """What `Store.load` found: the valid records by id, and the rows it skipped."""

    #: Every record that decoded, ordered by id.
    schedules: list[StoredSchedule]
    #: ``(row id, reason)`` for each row that did not decode (skipped, left in place).
    corrupt: list[tuple[int, str]]


def decode_rows(rows: list[tuple[int, Any]]) -> LoadResult:
    """Decode stored ``(id, data)`` rows: the good records, and why each bad one is skipped."""
    good: list[StoredSchedule] = []
    bad: list[tuple[int, str]] = []
    for rid, data in rows:
        try:
            rec = decode_record(data)
        except CorruptRecord as exc:
            bad.append((rid, str(exc)))
            continue
        if rec.id != rid:
            bad.append((rid, f"the record says id {rec.id}, stored under id {rid}"))
            continue
        good.append(rec)
    return LoadResult(good, bad)


#: A pending change: the record's bytes, or None for a delete.
_Changes = dict[int, "bytes | None"]


class Store(ABC):
    """A durable home for `StoredSchedule` records (see the module docstring).

    Thread-safe: every method may be called from any thread. Also a context manager:
    ``with SQLiteStore(path) as store:`` opens it (as owner "tickwork" unless already
    open) and closes it.
    """

    #: How many ids `next_id` reserves durably at a time (the most ids skipped by a restart).
    id_block: int = 1

    def __init__(self) -> None:
        self._lock = threading.RLock()  # the write lock: fields below, backend calls, batches
        self._tls = threading.local()  # .pending: this thread's open batch, or None
        self._owner: str | None = None
        self._next_id = 1  # the next id next_id() returns
        self._reserved = 0  # every id <= this may have been handed out (durable)

    # ----------------------------------------------------------------- backend hooks
    @property
    @abstractmethod
    def location(self) -> str:
        """Where the store is, for messages (a path, or a MemoryStore's name)."""

    @abstractmethod
    def _acquire(self, owner: str) -> int:
        """Take ownership and get ready; return the durable high-water id. Raise
        StoreLockedError if held elsewhere, StoreError on any other failure."""

    @abstractmethod
    def _release(self) -> None:
        """Let go of everything `_acquire` took. Must not raise."""

    @abstractmethod
    def _rows(self) -> list[tuple[int, Any]]:
        """Every stored (id, data) pair, by id."""

    @abstractmethod
    def _commit(self, puts: list[tuple[int, bytes]], deletes: list[int], high_water: int | None) -> None:
        """Write all of it in one atomic transaction, or nothing (then raise StoreError)."""

    def _sync(self) -> None:  # noqa: B027 - optional hook
        """Make every committed write durable against power loss."""

    # ----------------------------------------------------------------- life cycle
    @property
    def owner(self) -> str | None:
        """Who opened the store, or None while it is closed."""
        return self._owner

    @property
    def is_open(self) -> bool:
        return self._owner is not None

    def open(self, owner: str) -> None:
        """Take exclusive ownership (``owner`` names you in the error others get).

        Raises `StoreLockedError` while another owner holds the store, `StoreError`
        if it cannot be opened (permissions, not a store, written by a newer version).
        """
        if not isinstance(owner, str) or not owner:
            raise TypeError("owner must be a non-empty str (it names this scheduler to others)")
        with self._lock:
            if self._owner is not None:
                raise StoreLockedError(
                    f"{self.location} is already open (owner {self._owner!r}): a store has one owner at a time; "
                    "close() it first, or give this scheduler a store of its own"
                )
            high_water = self._acquire(owner)
            self._owner = owner
            self._reserved = high_water
            self._next_id = high_water + 1

    def close(self) -> None:
        """Commit this thread's open batch, if any, and release the store (idempotent).
        Waits for another thread's batch to end."""
        pending = self._take_pending()
        with self._lock:
            if self._owner is None:
                return
            try:
                if pending:
                    self._write_locked(pending)
            finally:
                self._owner = None
                self._release()

    def __enter__(self) -> Self:
        if not self.is_open:
            self.open("tickwork")
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _require_open(self) -> None:
        if self._owner is None:
            raise StoreError(f"{self.location} is not open: call open(owner) first (or it was closed)")

    # ----------------------------------------------------------------- reads
    def load(self) -> LoadResult:
        """Every committed record, by id. A row that does not decode (or whose record
        id differs from its row id) is skipped and reported in ``corrupt``, never raised."""
        with self._lock:
            self._require_open()
            rows = self._rows()
        return decode_rows(rows)

    def next_id(self) -> int:
        """A new schedule id (>= 1): never returned before, never stored before, across
        restarts too. Reserves `id_block` ids durably at a time (its own small commit,
        also inside a batch), so after a restart ids may skip up to that many."""
        with self._lock:
            self._require_open()
            sid = self._next_id
            if sid > self._reserved:
                top = sid + max(1, self.id_block) - 1
                self._commit([], [], top)
                self._reserved = top
            self._next_id = sid + 1
            return sid

    # ----------------------------------------------------------------- writes
    def put(self, rec: StoredSchedule) -> None:
        """Insert or replace ``rec`` (by id). Validated and encoded now (TypeError /
        ValueError: nothing written); committed before returning, or at the end of
        this thread's `batch`. Later changes to ``rec`` are not stored until put again."""
        data = encode_record(rec)
        self._apply({rec.id: data})

    def put_many(self, recs: Iterable[StoredSchedule]) -> None:
        """`put` for many records in one transaction: all of them or (on any error) none."""
        changes: _Changes = {}
        for rec in recs:
            changes[rec.id] = encode_record(rec)
        self._apply(changes)

    def delete(self, ids: Iterable[int]) -> None:
        """Remove these ids (unknown ids are ignored), in one transaction. Deleted ids
        are never handed out again by `next_id`."""
        changes: _Changes = {}
        for sid in ids:
            if isinstance(sid, bool) or not isinstance(sid, int):
                raise TypeError(f"schedule ids are ints, got {type(sid).__name__} ({sid!r})")
            changes[sid] = None
        self._apply(changes)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group this thread's writes into one transaction, committed when the block
        ends (StoreError then if it fails: none of them is written), holding the write
        lock throughout. StoreError at once if the store is not open. See the module
        docstring."""
        if getattr(self._tls, "pending", None) is not None:
            yield  # nested: the outermost batch commits
            return
        with self._lock:
            self._require_open()
            self._tls.pending = {}
            try:
                yield
            except BaseException:
                self._tls.pending = None
                raise
            pending = self._take_pending()
            if pending:
                self._write_locked(pending)

    def flush(self) -> None:
        """Commit this thread's open batch so far, then make everything committed
        durable against power loss too (a checkpoint with fsync for SQLite, even with
        ``synchronous="NORMAL"``). Costly: call it at shutdown or now and then."""
        pending = self._tls.__dict__.get("pending")
        with self._lock:
            self._require_open()
            if pending:
                self._write_locked(dict(pending))
                pending.clear()
            self._sync()

    # ----------------------------------------------------------------- internals
    def _take_pending(self) -> _Changes | None:
        pending = self._tls.__dict__.get("pending")
        self._tls.pending = None
        return pending

    def _apply(self, changes: _Changes) -> None:
        pending = self._tls.__dict__.get("pending")
        if pending is not None:
            pending.update(changes)
        elif changes:
            with self._lock:
                self._write_locked(changes)

    def _write_locked(self, changes: _Changes) -> None:
        self._require_open()
        puts = [(sid, data) for sid, data in changes.items() if data is not None]
        deletes = [sid for sid, data in changes.items() if data is None]
        top = max((sid for sid, _ in puts), default=0)
        high_water = top if top > self._reserved else None
        self._commit(puts, deletes, high_water)
        if high_water is not None:
            self._reserved = high_water
        if top >= self._next_id:  # an id chosen by the caller: next_id() must never return it
            self._next_id = top + 1
