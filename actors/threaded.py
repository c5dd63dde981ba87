"""A Pykka `ThreadingActor` whose thread is named, optionally daemon, and joinable.

The clock and supervisor actors use it so `Scheduler.stop` can join their threads
and leave no tickwork thread alive."""

from __future__ import annotations

import threading

import pykka

__all__ = ["OwnThreadActor"]


class OwnThreadActor(pykka.ThreadingActor):
    """Runs on one thread of its own, kept in ``self.thread``."""

    thread: threading.Thread | None = None

    def __init__(self, thread_name: str, daemon: bool) -> None:
        super().__init__()
        self._thread_name = thread_name
        self.use_daemon_thread = daemon  # type: ignore[misc]  # Pykka reads it per instance

    def _start_actor_loop(self) -> None:
        t = threading.Thread(target=self._actor_loop, name=self._thread_name, daemon=self.use_daemon_thread)
        self.thread = t
        t.start()

    def join(self, timeout: float | None) -> bool:
        """Wait for the actor's thread to end; True if it did."""
        t = self.thread
        if t is None or t is threading.current_thread():
            return True
        t.join(timeout)
        return not t.is_alive()
