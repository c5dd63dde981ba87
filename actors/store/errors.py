"""The exceptions of the persistence layer."""

from __future__ import annotations

__all__ = ["CorruptRecord", "StoreError", "StoreLockedError"]


class StoreError(RuntimeError):
    """A store could not do what was asked: not open, closed, read-only, disk full,
    not a database, written by a newer version... The message names the store's path.

    A write that raised this changed nothing: what was stored before is intact.
    """


class StoreLockedError(StoreError):
    """The store is owned by another scheduler (another process, another store object
    on the same path, or another `Scheduler` sharing one `MemoryStore`)."""


class CorruptRecord(ValueError):
    """Bytes that are not a valid `StoredSchedule` (garbage, truncated, wrong types,
    an unknown status, a trigger that cannot be restored, a newer record version)."""
