"""`PooledFuture`, and the thread-local that tells dispatcher worker threads apart."""

from __future__ import annotations

import threading
from typing import Any

from pykka import ThreadingFuture

__all__ = ["PooledFuture"]

_tls = threading.local()  # .worker: the Dispatcher on worker threads; .binding: see PooledActor.launch


def _on_worker_thread() -> bool:
    return getattr(_tls, "worker", None) is not None


class PooledFuture(ThreadingFuture[Any]):
    """The future `ActorRef.ask` returns for a `PooledActor` (a ``ThreadingFuture``).

    ``get()`` refuses to block a dispatcher worker thread: on a worker, only
    ``get(timeout=0)`` (a poll, raising `pykka.Timeout` if there is no value yet)
    is allowed, anything else raises ``RuntimeError``. Blocking there could
    deadlock the dispatcher (the awaited actor may need that very worker).
    """

    def get(self, *, timeout: float | None = None) -> Any:
        if (timeout is None or timeout > 0) and _on_worker_thread():
            msg = (
                "blocking on a future on a tickwork dispatcher worker thread "
                "(inside a PooledActor handler or death hook) can deadlock the "
                "dispatcher: use tell(), proxy.method.defer(), ask(block=False) "
                "without get(), stop(block=False), or get(timeout=0) to poll"
            )
            raise RuntimeError(msg)
        return super().get(timeout=timeout)

