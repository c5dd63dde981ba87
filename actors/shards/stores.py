"""Where each shard keeps its schedules: a store factory, called once per shard start.

A factory is called in the shard's own process as ``factory(index, shards)`` and
returns a fresh, unopened `actors.store.Store`; a restarted shard calls it again and
gets the same store back. Given as:

* ``"sqlite:DIR"``: one SQLite file per shard, ``DIR/<name>-shard-<i>-of-<K>.db``
  (single host: the files are local to the node the shard runs on);
* ``"postgresql://..."`` (or ``postgres://``): a `PostgresStore` group per shard,
  ``<name>.shard.<i>-of-<K>``, in that database (multi-host; see `PostgresPerShard`);
* ``"memory"`` (or None): nothing durable, a restarted shard starts empty;
* a ``"package.module:function"`` import path of a factory, or the callable itself
  (it is pickled to the shard: a module-level function or a `functools.partial`).
  This is where any other store plugs in.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from actors.store import SQLiteStore, Store

if TYPE_CHECKING:
    from actors.store.postgres import PostgresStore

__all__ = ["PostgresPerShard", "SQLitePerShard", "StoreFactory", "check_store", "make_store"]

#: The DSN prefixes that mean "a PostgreSQL store per shard".
PG_SCHEMES = ("postgresql://", "postgres://")

#: ``factory(index, shards) -> Store`` (unopened).
StoreFactory = Callable[[int, int], Store]


class SQLitePerShard:
    """One SQLite file per shard in ``directory`` (a picklable factory)."""

    def __init__(self, directory: str | Path, name: str = "tickwork") -> None:
        self.directory = str(directory)
        self.name = name

    def path(self, index: int, shards: int) -> Path:
        return Path(self.directory) / f"{self.name}-shard-{index}-of-{shards}.db"

    def __call__(self, index: int, shards: int) -> Store:
        path = self.path(index, shards)
        path.parent.mkdir(parents=True, exist_ok=True)
        return SQLiteStore(path)

    def __repr__(self) -> str:
        return f"sqlite:{self.directory}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SQLitePerShard) and (self.directory, self.name) == (other.directory, other.name)

    __hash__ = None  # type: ignore[assignment]


class PostgresPerShard:
    """Shard ``i`` of ``K`` keeps its schedules in the `PostgresStore` group
    ``{name}.shard.{i}-of-{K}`` of the database at ``dsn`` (a picklable factory).

    A group per shard, not one group shared by the K shards: a shard is then the only
    member of its group and runs every schedule of it, so the schedules a key routes to
    it are its own (no cross-process commands, no partitions moving between shards when
    one restarts, its key index exact). One shared group would spread each shard's
    schedules over every shard by schedule id, against the routing by key.

    Being the only owner, a shard that starts takes its group over at once: the factory
    clears the group's members and partition leases before the shard opens the store
    (its previous incarnation is dead, or Ray would not have restarted it), so the
    restart does not wait up to ``lease_ttl`` for the dead one's leases to expire.
    Taking a partition bumps its epoch, so a previous incarnation that were still alive
    (cut off from Ray) is fenced: its claims and schedule writes no longer land.

    Args:
        dsn: a libpq connection string or URI (``postgresql://user@host/db``).
        name: the deployment's name (the groups' prefix).
        lease_ttl, partitions, connect_timeout: each shard's `PostgresStore`'s.
    """

    def __init__(
        self,
        dsn: str,
        name: str = "tickwork",
        *,
        lease_ttl: float = 10.0,
        partitions: int = 32,
        connect_timeout: float = 10.0,
    ) -> None:
        self.dsn = dsn
        self.name = name
        self.lease_ttl = lease_ttl
        self.partitions = partitions
        self.connect_timeout = connect_timeout
        self._store(0, 1)  # checks every argument (and that psycopg is installed) here, not on the shards

    def group(self, index: int, shards: int) -> str:
        """The group of shard ``index`` of ``shards``."""
        return f"{self.name}.shard.{index}-of-{shards}"

    def _store(self, index: int, shards: int) -> PostgresStore:
        from actors.store.postgres import PostgresStore

        return PostgresStore(
            self.dsn,
            group=self.group(index, shards),
            lease_ttl=self.lease_ttl,
            partitions=self.partitions,
            connect_timeout=self.connect_timeout,
        )

    def __call__(self, index: int, shards: int) -> Store:
        store = self._store(index, shards)
        store.take_over()
        return store

    def __repr__(self) -> str:
        from actors.store.postgres import _redact

        return f"{_redact(self.dsn)} groups {self.name}.shard.*"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PostgresPerShard) and (self.dsn, self.name) == (other.dsn, other.name)

    __hash__ = None  # type: ignore[assignment]


def check_store(store: Any, name: str) -> Any:
    """The store argument as shipped to the shards: None, an `SQLitePerShard`, an
    import path or a callable; TypeError/ValueError for anything else."""
    if store is None or store == "memory":
        return None
    if isinstance(store, str):
        if store.startswith("sqlite:"):
            directory = store[len("sqlite:") :]
            if not directory:
                raise ValueError("store='sqlite:DIR' needs a directory, e.g. 'sqlite:/var/lib/tickwork'")
            return SQLitePerShard(Path(directory).expanduser().resolve(), name)
        if store.startswith(PG_SCHEMES):
            return PostgresPerShard(store, name)
        if ":" in store and not store.startswith(("/", ".")):
            from actors.shards.targets import check_targets

            check_targets([store])  # the syntax of an import path
            return store
        raise ValueError(
            f"store={store!r}: write 'sqlite:DIR', 'postgresql://...', 'memory', a 'package.module:factory' path, "
            "or pass a callable factory(index, shards) -> Store"
        )
    if callable(store):
        return store
    raise TypeError(f"store must be a str or a callable factory(index, shards) -> Store, not {type(store).__name__}")


def make_store(store: Any, index: int, shards: int) -> Store | None:
    """Call the (checked) store argument for shard ``index``."""
    if store is None:
        return None
    factory = store
    if isinstance(store, str):
        from actors.shards.targets import import_target

        factory = import_target(store)
    made = factory(index, shards)
    if not isinstance(made, Store):
        raise TypeError(f"the store factory {store!r} returned a {type(made).__name__}, not an actors.store.Store")
    return made
