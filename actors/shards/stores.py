"""Where each shard keeps its schedules: a store factory, called once per shard start.

A factory is called in the shard's own process as ``factory(index, shards)`` and
returns a fresh, unopened `actors.store.Store`; a restarted shard calls it again and
gets the same store back. Given as:

* ``"sqlite:DIR"``: one SQLite file per shard, ``DIR/<name>-shard-<i>-of-<K>.db``
  (single host: the files are local to the node the shard runs on);
* ``"memory"`` (or None): nothing durable, a restarted shard starts empty;
* a ``"package.module:function"`` import path of a factory, or the callable itself
  (it is pickled to the shard: a module-level function or a `functools.partial`).
  This is where a multi-host store (e.g. a PostgreSQL one) plugs in.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from actors.store import SQLiteStore, Store

__all__ = ["SQLitePerShard", "StoreFactory", "check_store", "make_store"]

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
        if ":" in store and not store.startswith(("/", ".")):
            from actors.shards.targets import check_targets

            check_targets([store])  # the syntax of an import path
            return store
        raise ValueError(
            f"store={store!r}: write 'sqlite:DIR', 'memory', a 'package.module:factory' path, "
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
