"""tickwork actors: the Pykka scheduling runtime.

A clock actor keeps the deadlines and sends `Tick`s; each schedule is an actor
(pooled on a few dispatcher threads) that runs its work on the execution pool and
re-arms; a supervisor actor keeps statistics, runs callbacks and restarts what
crashes. `Scheduler` is the facade that spawns and messages them.
"""

from actors.firing import Firing, current_firing
from actors.functions import schedule_at, schedule_once, schedule_repeating
from actors.messages import Cancel, Pause, Resume, Tick, Update
from actors.policy import Retry
from actors.protocol import Protocol, protocol
from actors.results import ScheduleInfo, ScheduleResult, ScheduleStatus
from actors.runtime import UpdateCallbackError
from actors.scheduler import Scheduler
from actors.store import MemoryStore, SQLiteStore, Store, StoreError, StoreLockedError

__all__ = [
    "Cancel",
    "Firing",
    "MemoryStore",
    "Pause",
    "PostgresStore",
    "Protocol",
    "Resume",
    "Retry",
    "SQLiteStore",
    "ScheduleInfo",
    "ScheduleResult",
    "ScheduleStatus",
    "Scheduler",
    "Store",
    "StoreError",
    "StoreLockedError",
    "Tick",
    "Update",
    "UpdateCallbackError",
    "current_firing",
    "protocol",
    "schedule_at",
    "schedule_once",
    "schedule_repeating",
]


def __getattr__(name: str) -> object:
    # PostgresStore on first use: psycopg is an optional dependency (tickwork[postgres]).
    if name == "PostgresStore":
        from actors.store.postgres import PostgresStore

        return PostgresStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
