"""Durable schedules: records, the `Store` interface, and two stores.

::

    from actors.store import SQLiteStore, StoredSchedule

    store = SQLiteStore("/var/lib/app/schedules.db")   # or MemoryStore() in tests
    store.open("my-app")              # exclusive; StoreLockedError if another scheduler has it
    found = store.load()              # .schedules (valid records), .corrupt ((row id, reason) skipped)
    sid = store.next_id()             # never reused, across restarts too
    store.put(StoredSchedule(id=sid, name="backup", target="backup", args=["db"],
                             trigger=ScheduleAt.daily(2, 30).to_dict(),
                             created_us=now_us, next_due_us=first_us))   # durable on return
    with store.batch():               # many writes, one transaction (at the end of the block)
        store.put(rec1); store.put(rec2); store.delete([old_id])
    store.close()

Modules: `record` (`StoredSchedule`, `encode_record` / `decode_record`,
`check_encodable`), `base` (`Store`, `LoadResult`; the semantics every store
shares), `memory` (`MemoryStore`), `sqlite` (`SQLiteStore`: durability and locking),
`errors`; `postgres` (`PostgresStore`, shared by several processes: imported on first
use, as it needs the optional psycopg: ``pip install tickwork[postgres]``).

Wiring into a runtime (suggested):

* start: ``open(owner)`` (fail the start on `StoreLockedError`), ``load()``, log
  ``corrupt``; re-arm ``is_active`` records whose target name is registered, applying
  ``misfire`` to a past ``next_due_us``; an ``in_flight_us`` is a firing that started and
  never completed: run it again (at-least-once).
* schedule / cancel / pause / resume / update: write the new record with ``put`` before
  returning to the caller (durable when it returns). Only named targets are durable.
* per firing: put the record after the execution completed (counters, ``last_us``,
  ``next_due_us``, ``in_flight_us=None``), many schedules per ``batch()``. Until that
  commits, the stored ``next_due_us`` still names the firing, so a crash re-runs it.
* when several threads may write one schedule, build the record from live state
  *inside* ``with store.batch():`` so that a stale snapshot never lands last.
* stop: ``flush()`` (also durable against power loss) then ``close()``.

Security: a store holds target *names* and plain data (MessagePack via msgspec, never
pickle). Loading never imports, unpickles, calls or evaluates anything from stored
bytes; the runtime maps target names to functions registered in code
(``Scheduler.register``), so a tampered file can at worst name a registered target
with other plain arguments.
"""

from actors.store.base import LoadResult, Store
from actors.store.errors import CorruptRecord, StoreError, StoreLockedError
from actors.store.memory import MemoryStore
from actors.store.record import (
    ACTIVE_STATUSES,
    MISFIRE_POLICIES,
    RECORD_VERSION,
    RETRY_KEYS,
    STATUSES,
    StoredSchedule,
    check_encodable,
    decode_record,
    encode_record,
    restore_trigger,
)
from actors.store.sqlite import SCHEMA_VERSION, SQLiteStore

__all__ = [
    "ACTIVE_STATUSES",
    "MISFIRE_POLICIES",
    "RECORD_VERSION",
    "RETRY_KEYS",
    "SCHEMA_VERSION",
    "STATUSES",
    "CorruptRecord",
    "LoadResult",
    "MemoryStore",
    "PostgresStore",
    "SQLiteStore",
    "Store",
    "StoreError",
    "StoreLockedError",
    "StoredSchedule",
    "check_encodable",
    "decode_record",
    "encode_record",
    "restore_trigger",
]


def __getattr__(name: str) -> object:
    # PostgresStore on first use: psycopg is an optional dependency (tickwork[postgres]).
    if name == "PostgresStore":
        from actors.store.postgres import PostgresStore

        return PostgresStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
