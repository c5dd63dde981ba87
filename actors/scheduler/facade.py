"""`Scheduler`, the facade: its life cycle, composed with what it creates, changes and reads.

Every public method is safe to call from any thread, including from inside a
target or callback that the scheduler itself is running.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

from actors.results import ScheduleResult
from actors.runtime import Runtime
from actors.scheduler.changes import Changes
from actors.scheduler.creation import Creation
from actors.scheduler.inspection import Inspection
from actors.scheduler.restore import restore
from actors.store import Store
from timekit import Clock

__all__ = ["Scheduler"]


class Scheduler(Creation, Changes, Inspection):
    """An actor-model scheduler: one clock actor, one actor per schedule, a supervisor.

    Args:
        clock: where time comes from; `timekit.SystemClock` by default, or a
            `timekit.VirtualClock` to drive everything by hand (see `wait_idle`).
        max_concurrent_executions: how many targets (and callbacks) run at once
            across the scheduler; further firings wait, and their lateness shows it.
        loop: the event loop coroutine targets run on (default: the loop running
            where they are scheduled, or where ``async with`` entered).
        dispatcher_threads: worker threads shared by all schedule actors (handlers are
            short and hold the GIL, so one is fastest in CPython).
        history_size: how many recent `ScheduleResult`\\ s are kept.
        daemon: run every thread as a daemon (a script may exit without `stop`).
        name: prefix of every thread's name.
    """

    # -- life cycle ------------------------------------------------------------------
    @property
    def clock(self) -> Clock:
        return self._clock

    @property
    def running(self) -> bool:
        return self._rt is not None and not self._stopped

    def start(self) -> Scheduler:
        """Spawn the actors (idempotent). Scheduling methods start it on first use."""
        with self._lock:
            self._refuse_if_stopped()
            if self._rt is None:
                store = self._store
                if store is not None:
                    # Before any thread starts: a store held by another scheduler fails the start.
                    store.open(f"{self._name} (pid {os.getpid()})")
                rt = Runtime(
                    self._clock,
                    max_concurrent_executions=self._max_concurrent,
                    dispatcher_threads=self._dispatcher_threads,
                    history_size=self._history_size,
                    daemon=self._daemon,
                    loop=self._loop,
                    name=self._name,
                    store=store,
                    seed=self._seed,
                )
                self._rt = rt
                if store is not None and getattr(store, "shared", False):
                    self._join(rt, store)  # several processes share it: only owned partitions run here
                elif store is not None:
                    self._restore(rt, store)
        return self

    def _join(self, rt: Runtime, store: Any) -> None:
        """Join a shared store's group (`actors.cluster`): ids come from the store, and the
        schedules of the partitions this process takes are restored."""
        from actors.cluster import Cluster

        self._ids = iter(store.next_id, 0)
        rt.cluster = Cluster(store, rt, self._targets.get, self._lock, self._name, self._apply_remote)
        try:
            self.restored = (rt.cluster.start(), [])
        except BaseException:
            rt.cluster = None
            rt.shutdown(1.0)
            self._rt = None
            raise

    def _restore(self, rt: Runtime, store: Store) -> None:
        """Re-create every stored schedule (misfire policies applied) and re-arm it."""
        next_id, self.restored = restore(rt, store, self._targets.get)
        self._ids = itertools.count(next_id)

    def stop(self, timeout: float = 5.0, *, write_store: bool = True) -> bool:
        """Stop firing, let running executions finish (and be recorded and stored),
        then stop every actor and thread (idempotent). Every schedule reads as
        cancelled afterwards, but durable ones stay in the store as they were.

        ``write_store=False`` writes nothing more to the store: changes not yet
        written (executions booked since, in flight now) are dropped. For giving up
        a start that failed halfway, so that it leaves the store as it found it.

        Returns True if everything ended within ``timeout`` seconds; a target still
        running user code after that is left to finish on its own thread and
        reported in the log.

        Called from inside one of this scheduler's own targets or callbacks, it cannot
        wait for the execution that called it: firing stops at once, the rest of the
        shutdown runs on a helper thread once the caller has returned, and it returns
        True without waiting.
        """
        with self._lock:
            if self._stopped:
                return True
            rt = self._rt
            if rt is not None and not write_store:
                rt.store_frozen = True  # before anyone sees it stopped
            self._stopped = True
        if rt is None:
            return True
        if rt.on_own_thread():
            rt.stopping = True  # nothing starts from now on
            threading.Thread(
                target=rt.shutdown, args=(timeout,), name=f"{self._name}-stop", daemon=self._daemon
            ).start()
            return True
        return rt.shutdown(timeout)

    def __enter__(self) -> Scheduler:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> Scheduler:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self.start()

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.stop)

    @contextlib.contextmanager
    def batch(self, *, freeze: bool = False) -> Iterator[None]:
        """Create (or change) many schedules at once, faster.

        The garbage collector is paused inside the block (bulk creation makes only
        long-lived objects, which it would rescan over and over: a third of the
        creation time at 100,000 schedules), and with a store, the block's durable
        writes are committed together when it ends (each call returns once its
        record is queued; a `StoreError` at the end means none was written).
        ``freeze=True`` also calls `gc.freeze()` at the end, so later collections
        skip everything that exists then (yours too): for a process that creates
        its schedules once and runs for long.
        """
        self._runtime()
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            if self._store is None:
                yield
            else:
                with self._store.batch():
                    yield
        finally:
            if was_enabled:
                gc.enable()
            if freeze:
                gc.freeze()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every firing due by now has executed and been recorded.

        With a `VirtualClock`, call it after ``clock.advance(...)``: every firing
        up to the new time runs, instant by instant. Returns False on timeout.
        Do not call it from a target or callback (it would wait for itself).
        """
        return self._runtime().wait_idle(timeout)

    # -- targets and callbacks ---------------------------------------------------------
    def register(self, name: str, fn: Callable[..., Any]) -> None:
        """Make ``fn`` schedulable by ``name`` (names are what a durable store keeps)."""
        if not isinstance(name, str) or not name:
            raise TypeError("a target name must be a non-empty str")
        if not callable(fn):
            raise TypeError(f"target {name!r} must be callable, got {type(fn).__name__}")
        with self._lock:
            self._targets[name] = fn

    def add_execution_callback(self, callback: Callable[[ScheduleResult], Any]) -> None:
        """Call ``callback(result)`` after every execution (on the execution pool)."""
        self._change_callbacks("execution_callbacks", callback, add=True)

    def remove_execution_callback(self, callback: Callable[[ScheduleResult], Any]) -> bool:
        """Stop calling ``callback``; False if it was not registered."""
        return self._change_callbacks("execution_callbacks", callback, add=False)

    def add_error_callback(self, callback: Callable[[int, BaseException], Any]) -> None:
        """Call ``callback(schedule_id, exception)`` after every failed execution."""
        self._change_callbacks("error_callbacks", callback, add=True)

    def remove_error_callback(self, callback: Callable[[int, BaseException], Any]) -> bool:
        """Stop calling ``callback``; False if it was not registered."""
        return self._change_callbacks("error_callbacks", callback, add=False)

    def _change_callbacks(self, which: str, callback: Callable[..., Any], *, add: bool) -> bool:
        # The runtime reads an immutable tuple: replace it whole (copy on write).
        if not callable(callback):
            raise TypeError("callback must be callable")
        rt = self._runtime()
        with self._lock:
            cbs = list(getattr(rt, which))
            if add:
                cbs.append(callback)
            elif callback in cbs:
                cbs.remove(callback)
            else:
                return False
            setattr(rt, which, tuple(cbs))
        return True
