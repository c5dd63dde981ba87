"""`Creation`: the scheduling methods, from the arguments to a spawned schedule actor.

`Creation.schedule` checks everything (trigger, target, arguments, policy, and for
a durable schedule that its values can be stored) before `Creation._add` takes an id,
so bad input raises and schedules nothing; `schedule_at_*`, `schedule_daily`,
`schedule_cron` are its shorthands, `schedule_message` the periodic-message API.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any

import codec
from actors.policy import DEFAULT_CATCH_UP_LIMIT, DEFAULT_MISFIRE, Policy, Retry, make_policy
from actors.results import ScheduleStatus
from actors.scheduler.core import SchedulerCore
from actors.state import ScheduleState, as_args
from actors.store import check_encodable
from timekit import Duration, ScheduleAt, Timestamp

__all__ = ["Creation"]

#: Shared by every schedule without kwargs/metadata (never mutated; snapshots copy).
_NO_KWARGS: dict[str, Any] = {}


@functools.lru_cache(maxsize=1024)
def _seconds_interval(seconds: float) -> ScheduleAt:
    """``ScheduleAt.at_interval(seconds)``, made once per value (ScheduleAt is immutable;
    100,000 schedules at the same interval then share one, anchored per schedule)."""
    return ScheduleAt.at_interval(seconds)


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


class Creation(SchedulerCore):
    """Creating schedules: `schedule` and its shorthands, and periodic messages."""

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

    def schedule(
        self,
        target: Callable[..., Any] | str,
        args: Sequence[Any] = (),
        when: Any = None,
        *,
        kwargs: dict[str, Any] | None = None,
        name: str | None = None,
        metadata: dict[str, Any] | None = None,
        misfire: str = DEFAULT_MISFIRE,
        misfire_grace: Any = None,
        catch_up_limit: int = DEFAULT_CATCH_UP_LIMIT,
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
        trigger = ScheduleAt.coerce(when)
        fn, default_name = self._resolve_target(target)
        args_t = self._check_args(args, kwargs, metadata)
        policy = make_policy(misfire, misfire_grace, catch_up_limit, timeout, retry, jitter)
        if policy.jitter_us and trigger.is_interval() and policy.jitter_us >= trigger.every.micros:
            raise ValueError(f"jitter must be shorter than the interval ({trigger.every})")
        durable = self._store is not None and isinstance(target, str)
        if durable:
            check_encodable(args_t, kwargs, metadata)  # TypeError naming the value: nothing scheduled
        return self._add(
            trigger,
            target=target,
            fn=fn,
            args=args_t,
            kwargs=dict(kwargs) if kwargs else _NO_KWARGS,
            name=name if name is not None else default_name,
            metadata=dict(metadata) if metadata else _NO_KWARGS,
            policy=policy,
            durable=durable,
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
        policy: Policy | None = None,
        durable: bool = False,
        configure: Callable[[ScheduleState], None] | None = None,
    ) -> int:
        """Store (if durable) and spawn a new schedule from checked parts; its id.

        ``first_due`` overrides the trigger's first firing, ``configure`` sets the
        fields of a kind of its own (a periodic message's) before it is stored."""
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a str, not {type(name).__name__}")
        is_async = fn is not None and inspect.iscoroutinefunction(fn)
        loop = self._coroutine_loop(name) if is_async else None
        rt = self._runtime()
        with self._lock:
            self._refuse_if_stopped()
            now = rt.now_us(not trigger.is_interval())
            first, trigger = trigger.first_due(now)
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
            if policy is not None:
                state.policy = policy
            state.durable = durable
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

    def _coroutine_loop(self, name: str) -> asyncio.AbstractEventLoop:
        """The event loop a coroutine target runs on: the scheduler's ``loop=``, else the running one."""
        loop = self._loop
        if loop is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                raise ValueError(
                    f"{name} is a coroutine function: pass loop= to Scheduler, or schedule it "
                    "from inside a running event loop"
                ) from None
        return loop

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
        delay = Duration.coerce(seconds, "seconds")
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
        every = Duration.coerce(interval, "Interval", minimum=1)
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

