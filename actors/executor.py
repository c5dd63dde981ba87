"""The bounded execution pool that runs user work (targets and callbacks).

User code never runs on the dispatcher's or the clock actor's threads: a target
that blocks for seconds occupies one execution thread and delays only itself.
The pool has a fixed number of threads (``max_concurrent_executions``), started
lazily; further jobs queue and their lateness is recorded by the caller.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from actors.timerslack import tighten_timer_slack

__all__ = ["ExecutionPool"]

logger = logging.getLogger("tickwork")

_STOP = None


class ExecutionPool:
    """A fixed-size pool of threads running zero-argument jobs in FIFO order."""

    __slots__ = ("_daemon", "_idle", "_lock", "_name", "_nappers", "_queue", "_size", "_stopped", "_threads")

    def __init__(self, size: int, *, name: str = "tickwork-exec", daemon: bool = False) -> None:
        if isinstance(size, bool) or not isinstance(size, int):
            raise TypeError(f"ExecutionPool size must be an int >= 1, not {type(size).__name__} ({size!r})")
        if size < 1:
            raise ValueError(f"ExecutionPool size must be an int >= 1, got {size}")
        self._size = size
        self._name = name
        self._daemon = daemon
        self._queue: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._stopped = False
        #: One item per thread waiting for a job (list append/pop are atomic).
        self._idle: list[None] = []
        #: Locks of the jobs sleeping in `nap`, released by `shutdown`.
        self._nappers: set[threading.Lock] = set()

    @property
    def size(self) -> int:
        return self._size

    @property
    def threads(self) -> list[threading.Thread]:
        return list(self._threads)

    def start(self) -> None:
        """Start every thread now (instead of on demand inside the firing path)."""
        while len(self._threads) < self._size and not self._stopped:
            self._grow()

    def submit(self, job: Callable[[], None]) -> None:
        """Queue ``job``; it runs on one of the pool's threads. RuntimeError once stopped."""
        if self._stopped:
            raise RuntimeError("the execution pool is stopped")
        if len(self._threads) < self._size:
            self._grow()
        self._queue.put(job)

    def submit_or_run(self, job: Callable[[], None]) -> None:
        """Queue ``job`` or, once the pool has stopped, run it on the calling thread.

        The runtime's one fallback for a stopped pool: every job it hands over
        (an execution, a lease, a booking, callbacks) ends what it holds when run
        during stop (skipped, dropped or booked, its activity token released), so
        running it here loses nothing. A job that slips in as the pool stops is run
        by `shutdown` once the threads have ended."""
        if self._stopped:
            job()
            return
        if len(self._threads) < self._size:
            self._grow()
        self._queue.put(job)

    def spare(self) -> int:
        """Threads idle now beyond the jobs already queued, keeping one in reserve
        for work that comes due unannounced (approximate: a hint, not a promise)."""
        if self._stopped:
            return 0
        return len(self._idle) - self._queue.qsize() - 1

    def backlog(self) -> int:
        """Jobs queued and not yet started (approximate)."""
        return self._queue.qsize()

    def nap(self, seconds: float) -> bool:
        """Sleep ``seconds`` on the calling (pool) thread; False if `shutdown` cut it short."""
        lock = threading.Lock()
        lock.acquire()
        self._nappers.add(lock)
        try:
            if self._stopped:
                return False
            return not lock.acquire(True, seconds) if seconds > 0 else True
        finally:
            self._nappers.discard(lock)

    def _grow(self) -> None:
        with self._lock:
            # One thread per submit until full: threads appear only when work does.
            if self._stopped or len(self._threads) >= self._size:
                return
            t = threading.Thread(
                target=self._run, name=f"{self._name}-{len(self._threads)}", daemon=self._daemon
            )
            self._threads.append(t)
            t.start()

    def _run(self) -> None:
        tighten_timer_slack()  # leased deadlines are slept on here
        get = self._queue.get
        idle = self._idle
        while True:
            idle.append(None)
            job = get()
            idle.pop()
            if job is _STOP:
                return
            try:
                job()
            except BaseException:  # the job catches user errors itself; this is a bug guard
                logger.exception("tickwork: an execution job failed unexpectedly")

    def shutdown(self, timeout: float | None = None) -> bool:
        """Let queued jobs finish, stop every thread; True if all joined in time.

        A thread stuck in user code cannot be killed: it is left running (as a
        daemon thread if the pool was created with ``daemon=True``) and
        ``False`` is returned so the caller can report it.
        """
        with self._lock:
            if not self._stopped:
                self._stopped = True
                for _ in self._threads:
                    self._queue.put(_STOP)
        for lock in list(self._nappers):
            try:
                lock.release()  # a napping job wakes now and sees the pool stopped
            except RuntimeError:
                pass  # it woke by itself meanwhile
        deadline = None if timeout is None else time.monotonic() + timeout
        ok = True
        for t in self._threads:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            t.join(remaining)
            if t.is_alive():
                ok = False
                logger.warning("tickwork: execution thread %s is still running user code after stop", t.name)
        if ok:
            self._run_leftovers()
        return ok

    def _run_leftovers(self) -> None:
        """Run, here, jobs queued behind the threads' stop marks (submitted as the pool stopped)."""
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                return
            if job is not _STOP:
                try:
                    job()
                except BaseException:  # as in _run: a bug guard
                    logger.exception("tickwork: an execution job failed unexpectedly")
