"""`actors.Protocol`: a `codec.Protocol` that can also send messages periodically.

This is the packet-library API: ``P.schedule_message(msg, 1.0, send)``. The
protocol owns a `Scheduler` started on first use, on daemon threads, so a script
may simply exit; call `stop_scheduler` for a clean shutdown.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import codec
from actors.scheduler import Scheduler
from codec import protocol

__all__ = ["Protocol", "protocol"]


class Protocol(codec.Protocol):
    """A message registry that encodes, decodes, and schedules periodic sends."""

    def __init__(self, *, scheduler: Scheduler | None = None) -> None:
        super().__init__()
        self._sched_lock = threading.Lock()
        self._scheduler = scheduler

    @property
    def scheduler(self) -> Scheduler:
        """The scheduler periodic messages run on (started lazily, daemon threads)."""
        with self._sched_lock:
            if self._scheduler is None or (not self._scheduler.running and _was_stopped(self._scheduler)):
                self._scheduler = Scheduler(daemon=True, name="tickwork-protocol")
            return self._scheduler.start()

    def schedule_message(
        self,
        msg: codec.Message,
        interval: float,
        send_callback: Callable[[bytes], Any],
        update_callback: Callable[[Any], Any] | None = None,
    ) -> int:
        """Send ``msg`` now and every ``interval`` seconds; see `Scheduler.schedule_message`."""
        return self.scheduler.schedule_message(msg, interval, send_callback, update_callback, protocol=self)

    def cancel_scheduled_message(self, schedule_id: int) -> bool:
        """Cancel one periodic message; True only once no further send can start."""
        return self._scheduler is not None and self._scheduler.cancel_scheduled_message(schedule_id)

    def cancel_all_scheduled_messages(self) -> int:
        """Cancel every periodic message of this protocol."""
        return 0 if self._scheduler is None else self._scheduler.cancel_all_scheduled_messages()

    def get_scheduled_messages(self) -> dict[int, dict[str, Any]]:
        """``{id: {"message": msg, "interval": seconds}}`` for the active ones."""
        return {} if self._scheduler is None else self._scheduler.get_scheduled_messages()

    def stop_scheduler(self, timeout: float = 5.0) -> bool:
        """Cancel every periodic message and stop the scheduler's threads."""
        with self._sched_lock:
            s, self._scheduler = self._scheduler, None
        return True if s is None else s.stop(timeout)


def _was_stopped(s: Scheduler) -> bool:
    return s._stopped  # noqa: SLF001 - same package
