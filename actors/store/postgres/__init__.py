"""`PostgresStore`: schedules in a PostgreSQL database shared by several processes.

Needs psycopg 3 (``pip install tickwork[postgres]``). One database holds any number of
*groups*; every row is keyed by its group, so schedulers on the same ``dsn`` and
``group`` share one set of schedules, and other groups are invisible to them.

Tables (created on first `open`, under an advisory lock so concurrent first opens do
not race): ``tickwork_meta(grp, schema_version, high_water)`` (the highest id ever
reserved in the group: ids are never reused, across processes too) and
``tickwork_schedules(grp, id, data)``: one MessagePack `StoredSchedule` per row.

Differences from the single-process stores (see `actors.store.base`):

* **Ownership.** ``open(owner)`` is exclusive per store *object* only: several
  processes (or objects) may open the same group at once; that is the point.
* **Ids.** `next_id` reserves ``id_block`` ids at a time with one atomic
  ``UPDATE ... RETURNING`` on the group's high-water mark, so two processes never get
  the same id; an id a caller chooses (``put``) raises the mark too.
* **Durability.** A write has committed on the server when it returns (durable as the
  server's ``synchronous_commit`` says; the default survives a server crash).

Thread-safety: one connection, used under the store's lock (as `SQLiteStore`).
Security: as for every store, rows are decoded with msgspec into plain Structs; nothing
stored is imported, unpickled or evaluated.

Where each part lives: the tables in `schema`; the connection, opening and error
messages in `connection`; the schedules (the `Store` hooks, ids, fenced writes) in
`store`; claims of firings in `claims`; commands and cancellations between processes in
`commands`; members, leases, the reconcile lock and counters in `group`.
"""

from __future__ import annotations

try:
    import psycopg  # noqa: F401 - the clear error below, before any part of the store is imported
except ImportError as _exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "PostgresStore needs psycopg 3: pip install 'tickwork[postgres]' (or pip install 'psycopg[binary]>=3.1')"
    ) from _exc

from actors.store.postgres.connection import _redact as _redact
from actors.store.postgres.schema import POSTGRES_SCHEMA_VERSION
from actors.store.postgres.store import PostgresStore

__all__ = ["POSTGRES_SCHEMA_VERSION", "PostgresStore"]
