"""How the client's calls reach the shards: to the shard that owns a key, to every
shard at once, or to each shard with its part of a batch (one Ray call per shard,
all sent before any is waited for), each waited for with the client's timeout."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

from actors.shards.actor import require_ray
from actors.shards.routing import shard_of

__all__ = ["ShardCalls"]


class ShardCalls:
    """The K shard actor handles of one client, until `close`. Thread-safe."""

    def __init__(self, handles: Sequence[Any], timeout: float) -> None:
        self.handles = list(handles)
        self.timeout = timeout
        self.closed = False
        self._lock = threading.Lock()

    def close(self) -> bool:
        """No more calls; True if this call closed it (False: it was closed already)."""
        with self._lock:
            if self.closed:
                return False
            self.closed = True
            return True

    def check_open(self) -> None:
        """RuntimeError once closed: checked before anything is sent, so a call on a
        closed client changes nothing on the shards."""
        if self.closed:
            raise RuntimeError("this ShardedScheduler was closed; connect() again")

    def get(self, refs: Any, timeout: float | None = -1.0) -> Any:
        """``ray.get`` with the client's timeout (or ``timeout``; None: no limit)."""
        self.check_open()
        return require_ray().get(refs, timeout=self.timeout if timeout == -1.0 else timeout)

    def owner(self, key: str) -> Any:
        """The handle of the shard that owns ``key``."""
        return self.handles[shard_of(key, len(self.handles))]

    def on(self, key: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """``method(*args, **kwargs)`` on the shard that owns ``key``; its answer."""
        self.check_open()
        return self.get(getattr(self.owner(key), method).remote(*args, **kwargs))

    def every(self, method: str, *args: Any, **kwargs: Any) -> list[Any]:
        """``method(*args, **kwargs)`` on every shard at once; the answers by shard."""
        self.check_open()
        return self.get([getattr(h, method).remote(*args, **kwargs) for h in self.handles])  # type: ignore[no-any-return]

    def parts(self, method: str, parts: Mapping[int, list[Any]]) -> list[Any]:
        """``method(part)`` on each shard ``i`` of ``parts`` (``{i: part}``), all at once;
        the answers in the order of ``parts``."""
        self.check_open()
        return self.get([getattr(self.handles[i], method).remote(part) for i, part in parts.items()])  # type: ignore[no-any-return]
