"""The `Scheduler` facade: spawns the runtime's actors and messages them.

Every public method is safe to call from any thread, including from inside a
target or callback that the scheduler itself is running.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import inspect
import itertools
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from typing import Any, TypeVar

import pykka

import codec
from actors import persist, triggers
from actors.messages import Pause, Resume, Update, _Plan
from actors.policy import Retry, make_policy
from actors.results import ScheduleInfo, ScheduleResult, ScheduleStatus
from actors.runtime import Runtime
from actors.state import ScheduleState, as_args
from actors.store import Store, StoredSchedule, check_encodable
from actors.supervisor import latest
from actors.triggers import to_trigger
from timekit import Clock, Duration, ScheduleAt, SystemClock, Timestamp, VirtualClock

__all__ = ["Scheduler"]

logger = logging.getLogger("tickwork")

_T = TypeVar("_T")

#: Shared by every schedule without kwargs/metadata (never mutated; snapshots copy).
_NO_KWARGS: dict[str, Any] = {}

#: Default size of the execution pool (targets and callbacks running at once).
DEFAULT_MAX_CONCURRENT = 8

_ASK_TIMEOUT = 30.0


def _positive_interval(interval: Any) -> Duration:
    """Seconds, Duration or timedelta as a positive Duration (the message API's rule)."""
    if isinstance(interval, bool):
        raise TypeError("interval must be a number of seconds, a Duration or a timedelta, not bool")
    if isinstance(interval, int | float):
        if not math.isfinite(interval) or interval <= 0:
            raise ValueError(f"Interval must be positive (got {interval!r} seconds)")
        every = Duration.from_seconds(interval)
    elif isinstance(interval, Duration):
        every = interval
    elif isinstance(interval, timedelta):
        every = Duration.from_timedelta(interval)
    else:
        raise TypeError(
            f"interval must be a number of seconds, a Duration or a timedelta, not {type(interval).__name__}"
        )
    if every.micros <= 0:
        raise ValueError(f"Interval must be positive (got {every}; the smallest interval is 1μs)")
    return every


def _count(name: str, value: object, minimum: int) -> int:
    """A constructor's int parameter: TypeError / ValueError naming the parameter itself."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int >= {minimum}, not {type(value).__name__} ({value!r})")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value}")
    return int(value)


@functools.lru_cache(maxsize=1024)
def _seconds_interval(seconds: float) -> ScheduleAt:
    """``ScheduleAt.at_interval(seconds)``, made once per value (ScheduleAt is immutable;
    100,000 schedules at the same interval then share one, anchored per schedule)."""
    return ScheduleAt.at_interval(seconds)


class Scheduler:
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

    def _apply_remote(self, sid: int, op: str, args: dict[str, Any]) -> bool:
        """A change asked for by another process of the group, to a schedule run here."""
        if op == "pause":
            return self.pause(sid)
        if op == "resume":
            return self.resume(sid)
        if op == "reschedule":
            return self.reschedule(sid, ScheduleAt.from_dict(args["trigger"]))
        if op == "update":
            if "trigger" in args:
                args["trigger"] = ScheduleAt.from_dict(args["trigger"])
            if "args" in args:
                args["args"] = tuple(args["args"])
            if "interval_us" in args:
                args["interval"] = Duration(args.pop("interval_us"))
            return self.update(sid, **args)
        raise ValueError(f"unknown change {op!r}")

    def _remote(self, sid: int, op: str, args: dict[str, Any]) -> bool:
        """``op`` on a schedule this process does not run: its owner applies it (False if
        no such schedule is stored)."""
        rt = self._rt
        cluster = None if rt is None else rt.cluster
        if cluster is None or cluster.record(sid) is None:
            return False
        return bool(cluster.command(sid, op, args, _ASK_TIMEOUT))

    def _restore(self, rt: Runtime, store: Store) -> None:
        """Re-create every stored schedule (misfire policies applied) and re-arm it."""
        # Restoring allocates many long-lived objects and no garbage cycles: the
        # collector would only rescan them over and over (most of the restore time).
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            self._restore_all(rt, store)
        finally:
            if was_enabled:
                gc.enable()

    def _restore_all(self, rt: Runtime, store: Store) -> None:
        found = store.load()
        for rid, reason in found.corrupt:
            logger.error("tickwork: skipped corrupt stored schedule (row %s) in %s: %s", rid, store.location, reason)
        now = rt.now_us(True)
        top = 0
        for rec in found.schedules:
            state = persist.from_record(rec, self._targets.get, now)
            rt.states[state.id] = state
            rt.spawn(state)
            top = max(top, rec.id)
            if state.unresolved:
                logger.error("tickwork: stored schedule %s: %s", state.id, state.last_error)
        self._ids = itertools.count(max(top + 1, store.next_id()))
        self.restored = (len(found.schedules), list(found.corrupt))

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

    def now(self) -> Timestamp:
        """The scheduler's current time (its clock's, or the virtual instant being run)."""
        rt = self._rt
        return Timestamp.from_micros(rt.now_us() if rt is not None else self._clock.now_us())

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

    # -- targets -------------------------------------------------------------------
    def register(self, name: str, fn: Callable[..., Any]) -> None:
        """Make ``fn`` schedulable by ``name`` (names are what a durable store keeps)."""
        if not isinstance(name, str) or not name:
            raise TypeError("a target name must be a non-empty str")
        if not callable(fn):
            raise TypeError(f"target {name!r} must be callable, got {type(fn).__name__}")
        with self._lock:
            self._targets[name] = fn

    def _resolve_target(self, target: Any) -> tuple[Callable[..., Any], str]:
        if isinstance(target, str):
            fn = self._targets.get(target)
            if fn is None:
                raise ValueError(f"unknown target {target!r}: register it first with scheduler.register({target!r}, fn)")
            return fn, target
        if not callable(target):
            raise TypeError(f"target must be a callable or a registered name, not {type(target).__name__}")
        name = getattr(target, "__qualname__", None) or getattr(target, "__name__", None) or repr(target)
        return target, name

    # -- scheduling ------------------------------------------------------------------
    def schedule(
        self,
        target: Callable[..., Any] | str,
        args: Sequence[Any] = (),
        when: Any = None,
        *,
        kwargs: dict[str, Any] | None = None,
        name: str | None = None,
        metadata: dict[str, Any] | None = None,
        misfire: str = "coalesce",
        misfire_grace: Any = None,
        catch_up_limit: int = 100,
        timeout: Any = None,
        retry: Retry | dict[str, Any] | int | None = None,
        jitter: Any = None,
    ) -> int:
        """Schedule ``target(*args, **kwargs)``; return the schedule's id.

        ``when`` is a `ScheduleAt`, a Timestamp or aware datetime (once; a time
        already past runs at once), or a Duration, timedelta or seconds (every
        that long, the first firing one interval from now).

        Policy (every scheduling method takes these keywords):
        ``misfire`` — what a firing that comes so late that later ones are due
        too does: "coalesce" (run once, for the latest; default), "skip" (run
        none, go on at the next future firing) or "catch_up" (run each, at most
        ``catch_up_limit``); ``misfire_grace`` — a firing later than this is
        skipped; ``timeout`` — an execution running longer is reported failed
        and its result discarded; ``retry`` — a `Retry` (or a number of
        attempts) for failed executions; ``jitter`` — a random delay up to this
        added to each firing. Skipped firings are counted as missed.

        With a store, a schedule whose target is a registered name is durable:
        it is written before this returns and survives restarts.
        """
        if when is None:
            raise TypeError("schedule() needs when=: a ScheduleAt, Timestamp, datetime, Duration or seconds")
        trigger = to_trigger(when)
        fn, default_name = self._resolve_target(target)
        args_t = self._check_args(args, kwargs, metadata)
        policy = make_policy(misfire, misfire_grace, catch_up_limit, timeout, retry, jitter)
        if policy.jitter_us and trigger.is_interval() and policy.jitter_us >= trigger.every.micros:
            raise ValueError(f"jitter must be shorter than the interval ({trigger.every})")
        durable = self._store is not None and isinstance(target, str)
        if durable:
            check_encodable(args_t, kwargs, metadata)  # TypeError naming the value: nothing scheduled

        def configure(st: ScheduleState) -> None:
            st.policy = policy
            st.durable = durable

        return self._add(
            trigger,
            target=target,
            fn=fn,
            args=args_t,
            kwargs=dict(kwargs) if kwargs else _NO_KWARGS,
            name=name if name is not None else default_name,
            metadata=dict(metadata) if metadata else _NO_KWARGS,
            configure=configure,
        )

    @staticmethod
    def _check_args(args: Any, kwargs: Any, metadata: Any) -> tuple[Any, ...]:
        if type(args) is tuple and kwargs is None and metadata is None:
            return args  # the common case, checked cheaply
        args_t = as_args(args)
        if kwargs is not None and not isinstance(kwargs, dict):
            raise TypeError(f"kwargs must be a dict, not {type(kwargs).__name__}")
        if metadata is not None and not isinstance(metadata, dict):
            raise TypeError(f"metadata must be a dict, not {type(metadata).__name__}")
        return args_t

    def _add(
        self,
        trigger: ScheduleAt,
        *,
        target: Any,
        fn: Callable[..., Any] | None,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        name: str,
        metadata: dict[str, Any],
        first_due: int | None = None,
        configure: Callable[[ScheduleState], None] | None = None,
    ) -> int:
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a str, not {type(name).__name__}")
        is_async = fn is not None and inspect.iscoroutinefunction(fn)
        loop = None
        if is_async:
            loop = self._loop
            if loop is None:
                try:
                    loop = asyncio.get_running_loop()
                except RuntimeError:
                    raise ValueError(
                        f"{name} is a coroutine function: pass loop= to Scheduler, or schedule it "
                        "from inside a running event loop"
                    ) from None
        rt = self._runtime()
        with self._lock:
            self._refuse_if_stopped()
            now = rt.now_us(not trigger.is_interval())
            first, trigger = triggers.first_due(trigger, now)
            if first_due is not None:
                first = first_due
            sid = next(self._ids)
            state = ScheduleState(
                sid,
                name=name,
                target=target,
                fn=fn,
                args=args,
                kwargs=kwargs,
                trigger=trigger,
                created_us=rt.now_us(True),
                first_due_us=first,
                metadata=metadata,
            )
            if is_async:
                state.kind = "async"
            state.loop = loop
            if configure is not None:
                configure(state)
            if first is None:
                state.status = ScheduleStatus.COMPLETED
            rt.persist_now(state)  # durable ones are stored before anything runs (or it raises)
            if rt.cluster is not None and state.durable and not rt.cluster.adopt_new(sid):
                return sid  # stored; its partition's owner (another process) runs it
            rt.states[sid] = state
            rt.spawn(state)
        return sid

    def schedule_at_time(self, target: Callable[..., Any] | str, args: Sequence[Any], when: Any, **kw: Any) -> int:
        """Run once at ``when`` (Timestamp, aware datetime or Unix seconds)."""
        return self.schedule(target, args, ScheduleAt.at_time(when), **kw)

    def schedule_at_interval(
        self, target: Callable[..., Any] | str, args: Sequence[Any], interval: Any, **kw: Any
    ) -> int:
        """Run every ``interval`` (seconds, Duration or timedelta), first one interval from now."""
        if interval.__class__ is int or interval.__class__ is float:
            trigger = _seconds_interval(interval)  # shared by every schedule with this interval
        else:
            trigger = ScheduleAt.at_interval(interval)
        return self.schedule(target, args, trigger, **kw)

    def schedule_in_seconds(
        self, target: Callable[..., Any] | str, args: Sequence[Any], seconds: float, **kw: Any
    ) -> int:
        """Run once, ``seconds`` from now."""
        delay = Duration.from_seconds(seconds)
        if delay.micros < 0:
            raise ValueError(f"seconds must not be negative, got {seconds!r}")
        return self.schedule(target, args, ScheduleAt.at_time(self.now() + delay), **kw)

    def schedule_daily(
        self,
        target: Callable[..., Any] | str,
        args: Sequence[Any],
        hour: int,
        minute: int = 0,
        second: int = 0,
        *,
        tz: Any = "UTC",
        **kw: Any,
    ) -> int:
        """Run every day at ``hour:minute:second`` wall-clock time in ``tz``."""
        return self.schedule(target, args, ScheduleAt.daily(hour, minute, second, tz=tz), **kw)

    def schedule_cron(
        self, target: Callable[..., Any] | str, args: Sequence[Any], expression: str, *, tz: Any = "UTC", **kw: Any
    ) -> int:
        """Run at every match of a standard 5-field cron ``expression`` in ``tz``."""
        return self.schedule(target, args, ScheduleAt.cron(expression, tz=tz), **kw)

    # -- periodic messages ---------------------------------------------------------------
    def schedule_message(
        self,
        msg: Any,
        interval: Any,
        send_callback: Callable[[bytes], Any],
        update_callback: Callable[[Any], Any] | None = None,
        *,
        protocol: Any = None,
        name: str | None = None,
    ) -> int:
        """Send ``msg`` now and then every ``interval`` seconds on the anchored grid.

        Without ``update_callback`` the message is encoded once and the same
        bytes are sent each time; with one, it is called with the message (to
        change it in place) before each send and the message is re-encoded.
        """
        every = _positive_interval(interval)
        if not callable(send_callback):
            raise TypeError(f"send_callback must be callable, not {type(send_callback).__name__}")
        if update_callback is not None and not callable(update_callback):
            raise TypeError(f"update_callback must be callable or None, not {type(update_callback).__name__}")
        encode = _encoder_for(msg, protocol)
        try:
            encoded = encode(msg)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"Cannot schedule invalid message: {exc}") from exc
        rt = self._runtime()
        now = rt.now_us(False)

        def configure(s: ScheduleState) -> None:
            s.kind = "message"
            s.message = msg
            s.send_cb = send_callback
            s.update_cb = update_callback
            s.encode = encode
            s.encoded = None if update_callback is not None else encoded

        return self._add(
            ScheduleAt.at_interval(every, start=Timestamp.from_micros(now)),
            target=send_callback,
            fn=None,
            args=(),
            kwargs=_NO_KWARGS,
            name=name if name is not None else f"message:{type(msg).__name__}",
            metadata=_NO_KWARGS,
            first_due=now,
            configure=configure,
        )

    def cancel_scheduled_message(self, schedule_id: int) -> bool:
        """Cancel a periodic message; False if unknown or already cancelled."""
        s = self._state(schedule_id)
        if s is None or s.kind != "message":
            return False
        return self.cancel_schedule(schedule_id)

    def cancel_all_scheduled_messages(self) -> int:
        """Cancel every periodic message; returns how many were cancelled."""
        rt = self._rt
        if rt is None:
            return 0
        ids = [s.id for s in list(rt.states.values()) if s.kind == "message" and s.status.is_active]
        return sum(self.cancel_schedule(i) for i in ids)

    def get_scheduled_messages(self) -> dict[int, dict[str, Any]]:
        """``{id: {"message": msg, "interval": seconds}}`` for active periodic messages
        (``interval`` is None for one rescheduled to a time, daily or cron trigger)."""
        rt = self._rt
        if rt is None:
            return {}
        return {
            s.id: {
                "message": s.message,
                "interval": s.trigger.every.total_seconds() if s.trigger.is_interval() else None,
            }
            for s in list(rt.states.values())
            if s.kind == "message" and s.status.is_active
        }

    # -- management -----------------------------------------------------------------------
    def _state(self, schedule_id: Any) -> ScheduleState | None:
        if isinstance(schedule_id, bool) or not isinstance(schedule_id, int):
            raise TypeError(f"schedule ids are ints, got {type(schedule_id).__name__}")
        rt = self._rt
        return None if rt is None else rt.states.get(schedule_id)

    def _ask(self, s: ScheduleState, message: Any) -> Any:
        """Ask a schedule's actor, riding out a restart by the supervisor."""
        self._refuse_if_stopped()
        deadline = time.monotonic() + _ASK_TIMEOUT
        while True:
            try:
                result = s.actor_ref.ask(message, timeout=max(0.01, deadline - time.monotonic()))
            except pykka.ActorDeadError:
                if self._stopped or time.monotonic() > deadline:
                    raise RuntimeError(f"schedule {s.id}'s actor is not running") from None
                time.sleep(0.001)  # being restarted by the supervisor
                continue
            if isinstance(result, Exception):
                raise result
            return result

    def _ask_and_store(self, s: ScheduleState, message: Any) -> bool:
        """Ask the actor for a change; for a stored schedule, write the record it will
        have first: a `StoreError` then changes nothing (in memory or in the store)."""
        rt = self._runtime()
        if not rt.stores(s):
            return bool(self._ask(s, message))
        changes = self._ask(s, _Plan(message))  # validated, nothing applied yet
        if changes is False:
            return False
        rec = persist.planned(s, changes)
        rt.persist_now(s, rec)  # durable before anything changes (or it raises)
        changed = bool(self._ask(s, message))
        if not changed or _moved_on(s, rec):
            rt.touch(s)  # it changed meanwhile (or jitter, a re-anchor): the store catches up
        return changed

    def cancel_schedule(self, schedule_id: int) -> bool:
        """Cancel a schedule. True if it was active; once True returns, the work never starts again.

        A stored schedule is written as cancelled first: if that raises `StoreError`,
        nothing changed (it is still active, here and in the store)."""
        s = self._state(schedule_id)
        if s is None:
            cluster = self._rt.cluster if self._rt is not None else None
            return False if cluster is None else cluster.cancel(schedule_id)  # another process runs it
        rt = self._runtime()
        rec = None
        if rt.stores(s):
            if not s.status.is_active:
                return False
            rec = persist.planned(s, _CANCELLED)
            rt.persist_now(s, rec)
        if not rt.mark_cancelled(s):
            if rec is not None:
                rt.touch(s)  # it ended meanwhile: store what it really is
            return False
        # The actor needs no message: every path it takes checks the cancelled
        # state (under the same lock as mark_cancelled); the clock lets go of
        # the deadline. Telling the actor Cancel() directly has the same effect.
        rt.disarm(s.id)
        if rec is None:
            rt.persist_now(s)
        elif _moved_on(s, rec):
            rt.touch(s)  # an execution was booked meanwhile: store its counters too
        return True

    def cancel_all(self) -> int:
        """Cancel every active schedule; returns how many were cancelled.

        RuntimeError after `stop` (as `cancel_schedule`)."""
        self._refuse_if_stopped()
        rt = self._rt
        if rt is None:
            return 0
        ids = [s.id for s in list(rt.states.values()) if s.status.is_active]
        return sum(self.cancel_schedule(i) for i in ids)

    def reschedule(self, schedule_id: int, when: Any) -> bool:
        """Give a schedule a new trigger (as `schedule`'s ``when``), re-anchored now."""
        trigger = to_trigger(when)
        s = self._state(schedule_id)
        if s is None:
            return self._remote(schedule_id, "reschedule", {"trigger": trigger.to_dict()})
        return self._ask_and_store(s, Update(trigger=trigger))

    def update(self, schedule_id: int, **changes: Any) -> bool:
        """Apply an `Update` (trigger=, interval=, args=, kwargs=, message=)."""
        s = self._state(schedule_id)
        if s is None:
            return self._remote(schedule_id, "update", _remote_changes(changes))
        if "trigger" in changes and changes["trigger"] is not None:
            changes["trigger"] = to_trigger(changes["trigger"])
        if changes.get("args") is not None:
            changes["args"] = as_args(changes["args"])
        if s.durable and ("args" in changes or "kwargs" in changes):
            check_encodable(changes.get("args") or (), changes.get("kwargs"))
        return self._ask_and_store(s, Update(**changes))

    def pause(self, schedule_id: int) -> bool:
        """Stop firing until `resume`; False if unknown or not pending/running."""
        s = self._state(schedule_id)
        return self._remote(schedule_id, "pause", {}) if s is None else self._ask_and_store(s, Pause())

    def resume(self, schedule_id: int) -> bool:
        """Resume a paused schedule at its next firing after now."""
        s = self._state(schedule_id)
        return self._remote(schedule_id, "resume", {}) if s is None else self._ask_and_store(s, Resume())

    def get_schedule(self, schedule_id: int) -> ScheduleInfo | None:
        """A snapshot of one schedule, or None if unknown."""
        s = self._state(schedule_id)
        if s is None and self._rt is not None and self._rt.cluster is not None and not self._stopped:
            rec = self._rt.cluster.record(schedule_id)  # run by another process: as stored
            s = None if rec is None else persist.from_record(rec, self._targets.get, self._rt.now_us(True))
        return None if s is None else _snapshot(s)

    def list_schedules(self, status: ScheduleStatus | None = None, name: str | None = None) -> list[ScheduleInfo]:
        """Snapshots of all schedules, optionally filtered by status and name, by id."""
        rt = self._rt
        if rt is None:
            return []
        states = list(rt.states.values())
        if rt.cluster is not None and not self._stopped:  # with those other processes run, as stored
            now = rt.now_us(True)
            local = set(rt.states)
            states += [persist.from_record(r, self._targets.get, now) for r in rt.cluster.records() if r.id not in local]
        return [
            _snapshot(s)
            for s in sorted(states, key=lambda x: x.id)
            if (status is None or s.status is status) and (name is None or s.name == name)
        ]

    def get_next_execution_time(self) -> Timestamp | None:
        """The earliest next firing of any pending schedule."""
        rt = self._rt
        if rt is None:
            return None
        dues = [
            s.next_due_us
            for s in list(rt.states.values())
            if s.status is ScheduleStatus.PENDING and s.next_due_us is not None
        ]
        return Timestamp.from_micros(min(dues)) if dues else None

    def clear_completed_schedules(self) -> int:
        """Forget completed, failed and cancelled schedules; returns how many.

        RuntimeError after `stop`: the final state stays readable (`get_schedule`)."""
        self._refuse_if_stopped()
        rt = self._rt
        if rt is None:
            return 0
        with self._lock:
            done = [
                s for s in list(rt.states.values()) if not s.status.is_active and not s.running and not s.unresolved
            ]
            if rt.store is not None:
                rt.store.delete([s.id for s in done if s.durable])
            for s in done:
                rt.states.pop(s.id, None)
                try:
                    s.actor_ref.stop(block=False)
                except pykka.ActorDeadError:
                    pass
        return len(done)

    # -- statistics and callbacks -----------------------------------------------------------
    def get_execution_stats(self) -> dict[str, Any]:
        """Aggregate statistics over every execution so far (after `stop`, the final ones).

        With a shared store (`PostgresStore`): the whole group's, with each live member's
        under ``"members"`` (see the README); after `stop`, this process's own."""
        rt = self._rt
        if self._stopped and rt is not None:
            final = rt.final_stats
            return dict(final) if final is not None else self._while_stopping(rt.stats)
        rt = self._runtime()
        stats = rt.stats()
        return stats if rt.cluster is None else rt.cluster.group_stats(stats)

    def get_execution_metrics(self, limit: int | None = None) -> list[ScheduleResult]:
        """The most recent execution results, oldest first (after `stop`, the final ones)."""
        rt = self._rt
        if self._stopped and rt is not None:
            final = rt.final_history
            if final is None:
                return self._while_stopping(lambda: rt.history(limit))
            return latest(list(final), limit)
        return self._runtime().history(limit)

    @staticmethod
    def _while_stopping(ask: Callable[[], _T]) -> _T:
        """Ask the supervisor while `stop` is under way (it answers until stop is done with it)."""
        try:
            return ask()
        except pykka.ActorDeadError:
            raise RuntimeError("this scheduler was stopped and its statistics were lost") from None

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


#: The record fields a cancellation changes.
_CANCELLED: dict[str, Any] = {"status": ScheduleStatus.CANCELLED.value, "next_due_us": None}


def _moved_on(s: ScheduleState, rec: StoredSchedule) -> bool:
    """Whether ``s`` now differs from ``rec``, the record written ahead of a change."""
    return persist.to_record(s) != rec


def _ts(us: int | None) -> Timestamp | None:
    return None if us is None else Timestamp.from_micros(us)


def _dur(us: int | None) -> Duration | None:
    return None if us is None else Duration(us)


def _remote_changes(changes: dict[str, Any]) -> dict[str, Any]:
    """`Scheduler.update`'s changes as plain data for another process of the group."""
    out: dict[str, Any] = {}
    for key, value in changes.items():
        if value is None:
            continue
        if key == "trigger":
            out[key] = to_trigger(value).to_dict()
        elif key == "interval":
            out["interval_us"] = to_trigger(value).every.micros
        elif key in ("args", "kwargs"):
            check_encodable(list(value) if key == "args" else (), value if key == "kwargs" else None)
            out[key] = list(value) if key == "args" else dict(value)
        else:
            raise ValueError(
                f"update({key}=...) of a schedule another process runs is not supported: "
                "pass trigger=, args= or kwargs=, or call it in the process that runs it"
            )
    return out


def _snapshot(s: ScheduleState) -> ScheduleInfo:
    return ScheduleInfo(
        id=s.id,
        name=s.name,
        target=s.target,
        args=s.args,
        kwargs=dict(s.kwargs),
        trigger=s.trigger,
        status=s.status,
        created_at=Timestamp.from_micros(s.created_us),
        next_execution=_ts(s.next_due_us) if s.status.is_active else None,
        last_execution=_ts(s.last_us),
        execution_count=s.execution_count,
        failure_count=s.failure_count,
        missed_count=s.missed_count,
        lateness_p50=_dur(s.lateness_percentile(0.50)),
        lateness_p99=_dur(s.lateness_percentile(0.99)),
        lateness_max=_dur(s.late_max),
        last_error=s.last_error,
        metadata=dict(s.metadata),
        actor_ref=s.actor_ref,
        durable=s.durable,
        retries=s.retries,
    )


def _encoder_for(msg: Any, protocol: Any) -> Callable[[Any], bytes]:
    """How a periodic message is encoded: with ``protocol`` if given, else with a
    protocol of its own (the wire format is the same in every protocol)."""
    if protocol is None:
        if not isinstance(msg, codec.Message):
            raise TypeError(
                f"Cannot schedule invalid message: a {type(msg).__name__} is not a codec.Message "
                "(declare the type as a codec.Message subclass, or pass protocol=)"
            )
        protocol = codec.Protocol()
        protocol.register(type(msg))
    return protocol.encode  # type: ignore[no-any-return]
