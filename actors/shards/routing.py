"""Which shard owns a schedule key: a stable hash, the same in every process."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import TypeVar

__all__ = ["by_shard", "check_key", "shard_of"]

T = TypeVar("T")


def check_key(key: object) -> str:
    """``key`` if it is a usable schedule key (a non-empty str), else TypeError/ValueError."""
    if not isinstance(key, str):
        raise TypeError(f"a schedule key is a str, not {type(key).__name__} ({key!r})")
    if not key:
        raise ValueError("a schedule key must not be empty")
    return key


def shard_of(key: str, shards: int) -> int:
    """The shard (0 .. ``shards`` - 1) that owns ``key``.

    BLAKE2b (8 bytes) of the key's UTF-8 bytes, modulo ``shards``: the same answer in
    every process and on every host, unlike Python's ``hash()`` of a str, which is
    salted per process. Changing ``shards`` moves most keys to another shard.
    """
    if isinstance(shards, bool) or not isinstance(shards, int) or shards < 1:
        raise ValueError(f"shards must be an int >= 1, got {shards!r}")
    digest = hashlib.blake2b(check_key(key).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shards


def by_shard(items: Iterable[T], keys: Iterable[str], shards: int) -> dict[int, list[T]]:
    """``{shard: [item, ...]}``: each item under the shard that owns its key (``keys``
    in the order of ``items``), in order; only shards that got an item."""
    parts: dict[int, list[T]] = {}
    for item, key in zip(items, keys, strict=True):
        parts.setdefault(shard_of(key, shards), []).append(item)
    return parts
