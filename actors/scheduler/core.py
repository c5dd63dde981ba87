"""`SchedulerCore`: what every part of the `Scheduler` shares.

The settings the constructor checks, the runtime (made by `Scheduler.start`, on
first use), the scheduler's lock, the registered targets and the schedule ids. The
concern classes (`Creation`, `Changes`, `Inspection`) and the facade's life cycle are
each written against this class alone.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Callable, Iterator
from typing import Any

from actors.runtime import Runtime
from actors.state import ScheduleState
from actors.store import Store
from timekit import Clock, SystemClock, Timestamp, VirtualClock

__all__ = ["DEFAULT_MAX_CONCURRENT", "SchedulerCore"]

#: Default size of the execution pool (targets and callbacks running at once).
DEFAULT_MAX_CONCURRENT = 8


def _count(name: str, value: object, minimum: int) -> int:
    """A constructor's int parameter: TypeError / ValueError naming the parameter itself."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int >= {minimum}, not {type(value).__name__} ({value!r})")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value}")
    return int(value)


class SchedulerCore:
    """The state one `Scheduler` holds, and the few steps every public method takes."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        max_concurrent_executions: int | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
        dispatcher_threads: int = 1,
        history_size: int = 1000,
        daemon: bool = False,
        name: str = "tickwork",
        store: Store | None = None,
        seed: int | None = None,
    ) -> None:
        if max_concurrent_executions is None:
            max_concurrent_executions = DEFAULT_MAX_CONCURRENT
        # Checked here, under the parameters' own names: the runtime is built lazily and
        # its parts have their own (ExecutionPool(size), Dispatcher(workers)).
        max_concurrent_executions = _count("max_concurrent_executions", max_concurrent_executions, 1)
        dispatcher_threads = _count("dispatcher_threads", dispatcher_threads, 1)
        history_size = _count("history_size", history_size, 0)
        if loop is not None and not isinstance(loop, asyncio.AbstractEventLoop):
            raise TypeError(f"loop must be an asyncio event loop, not {type(loop).__name__}")
        if clock is not None and not isinstance(clock, Clock):
            raise TypeError(
                f"clock must be a timekit Clock (SystemClock(), VirtualClock(...)), not {type(clock).__name__}"
            )
        if not isinstance(daemon, bool):
            raise TypeError(f"daemon must be a bool, not {type(daemon).__name__} ({daemon!r})")
        if not isinstance(name, str) or not name:
            raise TypeError(f"name must be a non-empty str (the threads' name prefix), not {name!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(f"seed must be an int or None, not {type(seed).__name__} ({seed!r})")
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._max_concurrent = max_concurrent_executions
        self._dispatcher_threads = dispatcher_threads
        self._history_size = history_size
        self._daemon = daemon
        self._name = name
        self._loop = loop
        self._lock = threading.RLock()
        self._rt: Runtime | None = None
        self._stopped = False
        self._ids: Iterator[int] = itertools.count(1)
        self._targets: dict[str, Callable[..., Any]] = {}
        if store is not None and not isinstance(store, Store):
            raise TypeError(f"store must be an actors.store.Store (SQLiteStore, MemoryStore), not {type(store).__name__}")
        self._store = store
        if seed is None and isinstance(self._clock, VirtualClock):
            seed = 0  # virtual runs are reproducible, jitter included
        self._seed = seed
        #: What the last start() found in the store: (restored, corrupt rows).
        self.restored: tuple[int, list[tuple[int, str]]] = (0, [])

    def start(self) -> SchedulerCore:
        """Spawn the actors (idempotent): `Scheduler.start`, the facade's life cycle."""
        raise NotImplementedError

    def _refuse_if_stopped(self) -> None:
        if self._stopped:
            raise RuntimeError("this scheduler was stopped; create a new Scheduler")

    def _runtime(self) -> Runtime:
        rt = self._rt
        if rt is None or self._stopped:
            self._refuse_if_stopped()
            self.start()
            rt = self._rt
            assert rt is not None
        return rt

    def _state(self, schedule_id: Any) -> ScheduleState | None:
        if isinstance(schedule_id, bool) or not isinstance(schedule_id, int):
            raise TypeError(f"schedule ids are ints, got {type(schedule_id).__name__}")
        rt = self._rt
        return None if rt is None else rt.states.get(schedule_id)

    def now(self) -> Timestamp:
        """The scheduler's current time (its clock's, or the virtual instant being run)."""
        rt = self._rt
        return Timestamp.from_micros(rt.now_us() if rt is not None else self._clock.now_us())
