"""The supervisor actor: statistics, history, callbacks, and restarting crashed schedules.

It runs on its own thread.  Every execution result comes here as a message; user
callbacks never run on this thread: they are handed to the execution pool, so a
callback that hangs holds one execution thread and never the statistics.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from functools import partial
from queue import Empty, SimpleQueue
from typing import TYPE_CHECKING, Any, Protocol

import pykka
from pykka._envelope import Envelope

from actors.messages import _Died, _Redeliver
from actors.results import ScheduleResult
from actors.stats import percentile
from actors.supervisor.ledger import Ledger, _Record, latest
from actors.threaded import OwnThreadActor
from timekit import Duration

if TYPE_CHECKING:
    from actors.activity import Activity
    from actors.state import ScheduleState

__all__ = ["DRAIN", "STATS", "SupervisedRuntime", "SupervisorActor"]

logger = logging.getLogger("tickwork")

#: How many recent lateness samples the scheduler-wide percentiles cover.
LATENESS_WINDOW = 10_000
#: On real time, after a drain that booked something the supervisor waits this
#: long (seconds) for more records before draining again, instead of being woken
#: for every few: fewer thread wake-ups beside the firings (a result is booked,
#: and counted in the statistics, at most this much later). Asks are answered at once.
DRAIN_PAUSE = 0.001


class SupervisedRuntime(Protocol):
    """What the supervisor needs of the runtime it supervises."""

    activity: Activity
    states: dict[int, ScheduleState]
    execution_callbacks: tuple[Callable[..., Any], ...]
    error_callbacks: tuple[Callable[..., Any], ...]

    @property
    def virtual(self) -> bool:
        """Whether time is virtual (no resting between drains)."""
        ...

    @property
    def stopping(self) -> bool: ...

    def submit_or_run(self, job: Callable[[], None]) -> None:
        """Run ``job`` (callbacks) on the execution pool, or here once it has stopped."""
        ...

    def respawn(self, state: ScheduleState) -> Any:
        """Start a replacement actor for ``state`` (it re-arms what was pending)."""
        ...


class _Stats:
    pass


class _Drain:
    """Records are waiting in the `Ledger`."""


class _SupervisorInbox:
    """A FIFO inbox that, while resting after a drain, returns a `DRAIN` of its own
    when nothing else arrives within `DRAIN_PAUSE` (see `SupervisorActor`)."""

    __slots__ = ("_q", "rest_until")

    def __init__(self) -> None:
        self._q: SimpleQueue[Any] = SimpleQueue()  # cheaper than Pykka's queue.Queue
        self.rest_until: float | None = None

    def put(self, envelope: Any, /) -> None:
        self._q.put(envelope)

    def get(self) -> Any:
        until = self.rest_until
        if until is None:
            return self._q.get()
        try:
            return self._q.get(timeout=max(0.0, until - time.monotonic()))
        except Empty:
            self.rest_until = None
            return Envelope(DRAIN)

    def empty(self) -> bool:
        return self._q.empty()


DRAIN = _Drain()


class _History:
    __slots__ = ("limit",)

    def __init__(self, limit: int | None) -> None:
        self.limit = limit


STATS = _Stats()


class SupervisorActor(OwnThreadActor):
    """Keeps statistics and history, runs callbacks, restarts dead schedule actors."""

    def __init__(
        self,
        runtime: SupervisedRuntime,
        ledger: Ledger,
        history_size: int,
        *,
        name: str = "tickwork-supervisor",
        daemon: bool = False,
    ) -> None:
        super().__init__(name, daemon)
        self.rt = runtime
        self.ledger = ledger
        self.history: deque[_Record] = deque(maxlen=history_size)
        self.lateness: deque[int] = deque(maxlen=LATENESS_WINDOW)
        self.total = 0
        self.succeeded = 0
        self.failed = 0
        self.missed = 0
        self.duration_us = 0
        self.late_max: int | None = None
        self.restarts = 0
        self.retried = 0
        self.callback_errors = 0
        self._cb_lock = threading.Lock()
        self._parked: dict[int, list[Any]] = {}

    def _create_actor_inbox(self) -> _SupervisorInbox:  # type: ignore[override]  # as ClockActor's
        self._inbox = inbox = _SupervisorInbox()
        return inbox

    def on_receive(self, message: Any) -> Any:
        t = type(message)
        if t is _Drain:
            ledger = self.ledger
            ledger.drain_requested = False  # before draining: a later record asks again
            if self._drain() and not self.rt.virtual:
                # Busy: let records gather for a moment rather than being told about
                # every few (the inbox tells us DRAIN when the moment is over).
                ledger.drain_requested = True
                self._inbox.rest_until = time.monotonic() + DRAIN_PAUSE
            return None
        if t is _Died:
            self._restart(message)
            return None
        if t is _Redeliver:
            self._redeliver(message.sid, message.message)
            return None
        if t is _Stats:
            self._drain()  # what has run so far, even while resting
            return self._stats()
        if t is _History:
            self._drain()
            return [r.result() for r in latest(list(self.history), message.limit)]
        raise TypeError(f"supervisor: unknown message {message!r}")

    # -- results ----------------------------------------------------------------
    def _drain(self) -> int:
        """Write the changed durable schedules, then book every waiting record; how many."""
        ledger = self.ledger
        ledger.write_dirty()  # durable bookkeeping first: results are reported after
        n = len(ledger.records)  # more may arrive meanwhile: the next drain takes them
        if not n:
            return 0
        callbacks = self._book(n)
        # Once the batch is booked: a callback that asks for the statistics (answered
        # on this thread while stopping, see `Runtime.stats`) sees its own execution counted.
        run = self.rt.submit_or_run
        for job in callbacks:
            run(job)
        return n

    def _book(self, n: int) -> list[partial[None]]:
        """Count the next ``n`` records into the statistics and history; the callback
        jobs they call for (each holds its record's activity token until it has run).

        One pass with the counters in locals (this runs for every firing, on a
        thread beside the firing threads: the less time it holds the GIL, the
        less a firing waits for it)."""
        rt = self.rt
        pop = self.ledger.records.popleft
        add_lateness = self.lateness.append
        add_history = self.history.append
        exec_cbs = rt.execution_callbacks
        err_cbs = rt.error_callbacks
        late_max = self.late_max
        done = ok = missed = retried = duration = 0
        callbacks: list[partial[None]] = []
        try:
            for _ in range(n):
                r = pop()
                d = r.done
                done += 1
                started = d.started_us
                duration += d.finished_us - started
                late = started - d.scheduled_us
                add_lateness(late)
                if late_max is None or late > late_max:
                    late_max = late
                missed += r.missed
                if r.attempt > 1:
                    retried += 1
                add_history(r)
                if d.ok:
                    ok += 1
                    if not exec_cbs:
                        continue
                    ecbs: tuple[Callable[..., Any], ...] = ()
                elif exec_cbs or err_cbs:
                    ecbs = err_cbs
                else:
                    continue
                callbacks.append(partial(self._run_callbacks, r.result(), exec_cbs, ecbs))
        finally:
            self.total += done
            self.succeeded += ok
            self.failed += done - ok
            self.missed += missed
            self.retried += retried
            self.duration_us += duration
            self.late_max = late_max
            if done > len(callbacks):
                rt.activity.done(done - len(callbacks))  # one update for the whole batch
        return callbacks

    def _run_callbacks(
        self,
        r: ScheduleResult,
        exec_cbs: tuple[Callable[[ScheduleResult], Any], ...],
        err_cbs: tuple[Callable[[int, BaseException], Any], ...],
    ) -> None:
        """Call every callback for ``r``, each on its own: whatever one raises (any
        `BaseException`, SystemExit and KeyboardInterrupt included) is counted in
        ``callback_errors``, logged and swallowed, and the next one still runs.

        Never re-raised: this runs on an execution thread or, during stop, on the
        supervisor's own thread, and neither may die of a callback (a real Ctrl-C
        is delivered to the main thread, never here)."""
        try:
            for cb in exec_cbs:
                try:
                    cb(r)
                except BaseException as exc:  # noqa: BLE001 - each callback is isolated
                    self._callback_failed("execution", cb, exc)
            for ecb in err_cbs:
                try:
                    ecb(r.schedule_id, r.error)  # type: ignore[arg-type]
                except BaseException as exc:  # noqa: BLE001
                    self._callback_failed("error", ecb, exc)
        finally:
            self.rt.activity.done()

    def _callback_failed(self, kind: str, cb: Callable[..., Any], exc: BaseException) -> None:
        with self._cb_lock:  # callbacks run on several execution threads at once
            self.callback_errors += 1
        if isinstance(exc, Exception):
            logger.error("tickwork: %s callback %r raised (ignored)", kind, cb, exc_info=exc)
        else:
            logger.error(
                "tickwork: %s callback %r raised %s (ignored: a callback cannot stop the scheduler; call stop())",
                kind, cb, type(exc).__name__, exc_info=exc,
            )

    def _stats(self) -> dict[str, Any]:
        lat = sorted(self.lateness)
        total = self.total

        def dur(v: int | None) -> Duration | None:
            return None if v is None else Duration(v)

        return {
            "total_executions": total,
            "successful_executions": self.succeeded,
            "failed_executions": self.failed,
            "success_rate": (self.succeeded / total) if total else 0.0,
            "total_duration": Duration(self.duration_us),
            "average_duration": Duration(self.duration_us // total) if total else Duration(0),
            "missed_executions": self.missed,
            "lateness_p50": dur(percentile(lat, 0.50)),
            "lateness_p99": dur(percentile(lat, 0.99)),
            "lateness_max": dur(self.late_max),
            "restarts": self.restarts,
            "retried_executions": self.retried,
            "callback_errors": self.callback_errors,
        }

    # -- supervision --------------------------------------------------------------
    def _restart(self, died: _Died) -> None:
        rt = self.rt
        state = rt.states.get(died.sid)
        if state is None or rt.stopping:
            return
        self.restarts += 1
        logger.error(
            "tickwork: schedule %s actor died (%r); restarting it from its last state", died.sid, died.error
        )
        actor = rt.respawn(state)
        for envelope in died.salvage:
            # Re-deliver what the dead actor had not processed; asks get their replies.
            actor.actor_inbox.put(envelope)
        for message in self._parked.pop(died.sid, ()):
            actor.actor_inbox.post(message)

    def _redeliver(self, sid: int, message: Any) -> None:
        state = self.rt.states.get(sid)
        if state is None:
            self.rt.activity.done()
            return
        try:
            state.actor.actor_inbox.post(message)
        except pykka.ActorDeadError:
            self._parked.setdefault(sid, []).append(message)
