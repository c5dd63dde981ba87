"""`MemoryStore`: the `Store` interface in memory, for tests and non-durable use.

Records are still encoded and decoded with msgspec MessagePack, so a test catches a
value the SQLite store would refuse. Data survives ``close()``/``open()`` of the same
object (which plays the role of the file): hand one instance to a second `Scheduler`
to simulate a restart. One owner at a time, as with a file: while one Scheduler holds
it, ``open()`` by another raises `StoreLockedError`. Nothing is durable across
processes, of course.
"""

from __future__ import annotations

from typing import Any

from actors.store.base import Store

__all__ = ["MemoryStore"]


class MemoryStore(Store):
    """A `Store` in a dict. ``name`` only appears in messages."""

    def __init__(self, name: str = "memory") -> None:
        super().__init__()
        self.name = name
        self._data: dict[int, bytes] = {}
        self._high_water = 0

    @property
    def location(self) -> str:
        return f"MemoryStore {self.name!r}"

    def _acquire(self, owner: str) -> int:
        return self._high_water

    def _release(self) -> None:
        pass

    def _rows(self) -> list[tuple[int, Any]]:
        return sorted(self._data.items())

    def _commit(self, puts: list[tuple[int, bytes]], deletes: list[int], high_water: int | None) -> None:
        data = self._data
        data.update(puts)
        for sid in deletes:
            data.pop(sid, None)
        if high_water is not None:
            self._high_water = high_water

    def __repr__(self) -> str:
        return f"<MemoryStore {self.name!r}: {len(self._data)} records, owner {self._owner!r}>"
