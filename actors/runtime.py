"""The runtime one `Scheduler` owns: it wires the actors (clock, supervisor, one per
schedule), the execution pool and dispatcher, and the pieces the actors share —
`Execution` (running work), `Leases` (deadlines leased to execution threads) and
the supervisor's `Ledger` (records and durable writes) — and shuts them down.

The schedule actors see it as a `ScheduleHost`, the supervisor as a
`SupervisedRuntime`: the hot calls (execute, record, touch, ...) are the pieces'
own bound methods, so the runtime adds no call on the way.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import pykka

from actors.activity import Activity
from actors.clock_actor import FLUSH, ClockActor, arm, disarm
from actors.execution import Execution, UpdateCallbackError
from actors.executor import ExecutionPool
from actors.leasing import Leases
from actors.messages import _Died
from actors.pool import Dispatcher
from actors.results import ScheduleStatus
from actors.schedule_actor import RestartedScheduleActor, ScheduleActor
from actors.state import ScheduleState
from actors.stepping import Stepper, on_event_loop
from actors.store import Store
from actors.supervisor import DRAIN, STATS, Ledger, SupervisorActor, _History
from actors.timebase import Timebase
from timekit import Clock, SystemClock, VirtualClock

__all__ = ["Runtime", "UpdateCallbackError"]

logger = logging.getLogger("tickwork")


class Runtime:
    """Everything one scheduler runs on. Created by `Scheduler.start`."""

    def __init__(
        self,
        clock: Clock,
        *,
        max_concurrent_executions: int,
        dispatcher_threads: int,
        history_size: int,
        daemon: bool,
        loop: asyncio.AbstractEventLoop | None,
        name: str,
        store: Store | None = None,
        seed: int | None = None,
    ) -> None:
        self.clock = clock
        self.store = store
        self.seed = seed
        self.loop = loop
        self.timebase = tb = Timebase(clock)
        self.now_us = tb.now_us  # type: ignore[method-assign]  # one call fewer per read
        self.activity = Activity()
        self.states: dict[int, ScheduleState] = {}
        self.execution_callbacks: tuple[Callable[..., Any], ...] = ()
        self.error_callbacks: tuple[Callable[..., Any], ...] = ()
        #: What the supervisor held when stop() finished with it (None before, or if it was gone).
        self.final_stats: dict[str, Any] | None = None
        self.final_history: list[Any] | None = None
        self.pool = ExecutionPool(max_concurrent_executions, name=f"{name}-exec", daemon=daemon)
        self.dispatcher = Dispatcher(dispatcher_threads, name=f"{name}-dispatch", daemon=daemon)
        self.dispatcher.start()
        self.pool.start()
        self.execution = Execution(self.pool, tb)
        self.ledger = Ledger(store, self.states)
        self._bind()
        self.leases = Leases(self.pool, self.execution, self.states, tb, self.activity)
        self._start_actors(name, daemon, history_size)
        self.stepper = Stepper(self) if isinstance(clock, VirtualClock) else None

    def _bind(self) -> None:
        """The pieces' methods as the runtime's own (`ScheduleHost`, `SupervisedRuntime`)."""
        ex, ledger = self.execution, self.ledger
        self.execute = ex.execute
        self.lock_for = ex.lock_for
        self.mark_cancelled = ex.mark_cancelled
        self.record = ledger.record
        self.touch = ledger.touch
        self.stores = ledger.stores
        self.persist_now = ledger.persist_now
        self.write_dirty = ledger.write_dirty
        self.freeze_store = ledger.freeze
        self.submit_or_run = self.pool.submit_or_run
        self.virtual = self.timebase.virtual

    def _start_actors(self, name: str, daemon: bool, history_size: int) -> None:
        states = self.states

        def resolve(sid: int) -> pykka.ActorRef[Any] | None:
            st = states.get(sid)
            return None if st is None else st.actor  # the clock posts through actor_inbox

        self.clock_ref = ClockActor.start(
            self.timebase,
            resolve,
            self.activity,
            name=f"{name}-clock",
            daemon=daemon,
            # Leased deadlines are slept on with the OS's monotonic timeouts: only
            # for the system clock (any other clock's time is its own business).
            lessee=self.leases if type(self.clock) is SystemClock else None,
        )
        self.clock_actor: ClockActor = self.clock_ref._actor_weakref()  # type: ignore[assignment]  # noqa: SLF001
        if self.virtual:
            # Virtual time moves one instant at a time: the clock actor is woken
            # whenever the previous instant's work has drained.
            self.activity.on_zero = self.clock_actor.waiter.wake
        self._clock_post = self.execution.clock_post = self.clock_actor.actor_inbox.post  # type: ignore[attr-defined]
        self.supervisor_ref = SupervisorActor.start(
            self, self.ledger, history_size, name=f"{name}-supervisor", daemon=daemon
        )
        self.supervisor: SupervisorActor = self.supervisor_ref._actor_weakref()  # type: ignore[assignment]  # noqa: SLF001
        self._sup_tell = self.execution.sup_tell = self.supervisor_ref.tell
        self.ledger.request_drain = self._request_drain

    def _request_drain(self) -> None:
        self._sup_tell(DRAIN)

    # -- state shared with the facade --------------------------------------------
    @property
    def stopping(self) -> bool:
        """stop() is under way: executions not yet started are skipped."""
        return self.execution.stopping

    @stopping.setter
    def stopping(self, value: bool) -> None:
        self.execution.stopping = value

    @property
    def store_frozen(self) -> bool:
        """Nothing is written to the store any more (stop() froze it)."""
        return self.ledger.frozen

    @store_frozen.setter
    def store_frozen(self, value: bool) -> None:
        self.ledger.frozen = value

    @property
    def cluster(self) -> Any:
        """With a shared store: this process's `actors.cluster.Cluster` (claims firings)."""
        return self.execution.cluster

    @cluster.setter
    def cluster(self, value: Any) -> None:
        self.execution.cluster = value

    # -- used by schedule actors ---------------------------------------------------
    def now_us(self, wall: bool = True) -> int:
        return self.timebase.now_us(wall)

    def arm(self, sid: int, generation: int, due: int, wall: bool) -> None:
        self._clock_post(arm(sid, generation, due, wall))

    def disarm(self, sid: int) -> None:
        self._clock_post(disarm(sid))

    def rng_for(self, s: ScheduleState) -> random.Random:
        """The schedule's own random source (seeded per scheduler and id when the
        scheduler has a seed, so jitter is reproducible whatever the thread order)."""
        rng: random.Random | None = s.rng
        if rng is None:
            rng = s.rng = random.Random(f"{self.seed}:{s.id}") if self.seed is not None else random.Random()
        return rng

    def salvage(self, sid: int, envelopes: list[Any]) -> None:
        self._sup_tell(_Died(sid, envelopes, None))

    def spawn(self, state: ScheduleState) -> ScheduleActor:
        """Start the actor of a new schedule and arm its first firing."""
        actor = ScheduleActor.launch(state, self, dispatcher=self.dispatcher)
        due = state.next_due_us
        if state.status is ScheduleStatus.PENDING and due is not None:
            if state.policy.jitter_us:
                due += self.rng_for(state).randint(0, state.policy.jitter_us)
                state.next_due_us = due
            self.arm(state.id, state.generation, due, state.wall)
        return actor

    def respawn(self, state: ScheduleState) -> ScheduleActor:
        """Start a replacement actor for ``state``; its on_start re-arms what was pending."""
        self.activity.add()
        try:
            return RestartedScheduleActor.launch(state, self, dispatcher=self.dispatcher)
        except BaseException:
            self.activity.done()
            raise

    # -- facade helpers -------------------------------------------------------------
    def on_own_thread(self) -> bool:
        """True on one of this runtime's threads (execution pool, dispatcher, clock,
        supervisor): where a target or callback runs."""
        me = threading.current_thread()
        return (
            me in self.pool.threads
            or me in self.dispatcher.threads
            or me is self.clock_actor.thread
            or me is self.supervisor.thread
        )

    def flush(self, timeout: float | None) -> bool:
        return bool(self.clock_ref.ask(FLUSH, timeout=timeout))

    def wait_idle(self, timeout: float | None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if not self.activity.wait_zero(deadline):
                return False
            remaining = None if deadline is None else max(0.001, deadline - time.monotonic())
            try:
                if self.flush(remaining):
                    return True
            except pykka.Timeout:
                return False

    def stats(self) -> dict[str, Any]:
        return self._ask_supervisor(STATS)  # type: ignore[no-any-return]

    def history(self, limit: int | None) -> list[Any]:
        return self._ask_supervisor(_History(limit))  # type: ignore[no-any-return]

    def _ask_supervisor(self, message: Any) -> Any:
        if threading.current_thread() is self.supervisor.thread:
            # A callback the supervisor runs itself (during stop): asking would wait on ourselves.
            return self.supervisor.on_receive(message)
        return self.supervisor_ref.ask(message)

    # -- shutdown ---------------------------------------------------------------------
    def shutdown(self, timeout: float) -> bool:
        """Stop firing, let executions in flight finish and be booked (and stored),
        then stop every actor and thread; True if all of it took under ``timeout``.

        Stopping is not cancelling: durable schedules stay in the store as they are.
        """
        self.stopping = True  # executions not yet started are skipped from now on
        if self.stepper is not None:
            self.stepper.detach()
        deadline = time.monotonic() + timeout

        def left() -> float:
            return max(0.01, deadline - time.monotonic())

        ok = self._finish_coroutines(deadline)
        ok = _stop_actor(self.clock_ref, left()) and ok  # no more ticks
        ok = self.pool.shutdown(timeout=left()) and ok  # running executions finish
        ok = self.activity.wait_zero(time.monotonic() + left()) and ok  # ...and are booked
        try:
            self.final_history = self.history(None)
            self.final_stats = self.stats()
        except Exception:  # noqa: BLE001 - the supervisor may be gone already
            pass
        self.freeze_store()  # written once more, then nothing (stop is not cancel)
        for st in list(self.states.values()):
            self.mark_cancelled(st)
        ok = self.dispatcher.shutdown(timeout=left()) and ok
        ok = _stop_actor(self.supervisor_ref, left()) and ok
        ok = self.clock_actor.join(left()) and ok
        ok = self.supervisor.join(left()) and ok
        if self.cluster is not None:
            self.cluster.stop()  # after the last write: the others take its partitions over now
        self._close_store()
        return ok

    def _finish_coroutines(self, deadline: float) -> bool:
        """Coroutines running on their event loop finish, as threaded targets do;
        those still running at ``deadline`` are cancelled. Not waited for when stop()
        was called on an event loop's own thread (they could not progress)."""
        inflight = list(self.execution.async_inflight)
        if not inflight:
            return True
        running: set[Any] = set()
        if not on_event_loop():
            _, running = concurrent.futures.wait(inflight, timeout=max(0.0, deadline - time.monotonic()))
        for fut in inflight:
            fut.cancel()  # no-op for those that finished
        return not running

    def _close_store(self) -> None:
        if self.store is None:
            return
        try:
            self.store.flush()
        except Exception:
            logger.exception("tickwork: final flush of %s failed", self.store.location)
        finally:
            self.store.close()


def _stop_actor(ref: pykka.ActorRef[Any], timeout: float) -> bool:
    try:
        ref.stop(block=True, timeout=timeout)
    except pykka.Timeout:
        return False
    return True
