"""`ShardedScheduler`: the client of a sharded deployment on a Ray cluster.

No front actor: the client finds the shards by name and calls the shard that owns
a key directly (one Ray call; batches go one call per shard, all shards at once).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Self

from actors.results import ScheduleInfo, ScheduleStatus
from actors.shards.actor import require_ray
from actors.shards.calls import ShardCalls
from actors.shards.deployment import Deployment, ShardsNotFound, find_shards, ray_connection
from actors.shards.requests import ScheduleRequest, as_request, make_request
from actors.shards.routing import by_shard, check_key, shard_of
from actors.shards.stats import merge_stats
from timekit import Duration, ScheduleAt, Timestamp

__all__ = ["ShardedScheduleError", "ShardedScheduler", "ShardsNotFound"]

_TIMEOUT = 60.0


class ShardedScheduleError(ValueError):
    """Some schedules of a batch could not be made. The others were made and stored:
    fix the failed ones and send the whole batch again (keys make it idempotent).

    Attributes: ``errors`` ``{key: reason}``, ``keys`` the batch's keys in order.
    """

    def __init__(self, errors: dict[str, str], keys: list[str]) -> None:
        self.errors = errors
        self.keys = keys
        first = "; ".join(f"{k}: {v}" for k, v in list(errors.items())[:3])
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        super().__init__(f"{len(errors)} of {len(keys)} schedule(s) not made: {first}{more}")


class ShardedScheduler:
    """Schedules spread over K shards (Ray actors), each an in-process `Scheduler`.

    Make one with `deploy` (creates the shards, or joins those already there) or
    `connect` (joins existing ones). Schedules are named by *keys* (str) instead of
    ids; a key's shard is ``shard_of(key, K)``. Thread-safe.
    """

    def __init__(self, handles: Sequence[Any], infos: Sequence[dict[str, Any]], *, namespace: str,
                 owns_ray: bool = False, timeout: float = _TIMEOUT) -> None:
        self._calls = ShardCalls(handles, timeout)
        self.namespace = namespace
        self.name = str(infos[0]["name"])
        self.targets: dict[str, str] = dict(infos[0]["targets"])
        #: Every name a schedule may use: declared targets, offloaded ones, a spec's "send".
        self.target_names = frozenset(self.targets) | frozenset(infos[0]["offload"]) | (
            frozenset({"send"}) if infos[0]["spec"] else frozenset()
        )
        self._owns_ray = owns_ray

    # -- making one ------------------------------------------------------------------
    @classmethod
    def deploy(
        cls,
        shards: int,
        *,
        targets: Mapping[str, str] | Iterable[str] | None = None,
        store: Any = None,
        name: str = "tickwork",
        namespace: str = "tickwork",
        address: str | None = "auto",
        offload: Mapping[str, Any] | None = None,
        spec_text: str | None = None,
        spec_source: str = "<spec>",
        spec_base_dir: str | None = None,
        max_concurrent_executions: int | None = None,
        history_size: int = 1000,
        num_cpus: float = 1,
        max_task_retries: int = 3,
        max_concurrency: int = 4,
        runtime_env: dict[str, Any] | None = None,
        timeout: float = _TIMEOUT,
    ) -> ShardedScheduler:
        """Create ``shards`` named detached shard actors (or join them if this
        deployment is already up with the same shards, targets and store) and wait
        until each has restored its store.

        Args:
            shards: how many (K); keys are routed by ``shard_of(key, K)``, so K is
                fixed for the life of a store (a different K is a ValueError).
            targets: ``{name: "package.module:function"}`` (or a list of paths,
                each its own name): what may be scheduled, imported on the shards.
            store: per shard: ``"sqlite:DIR"`` (one file per shard, single host),
                None / ``"memory"`` (not durable), or a factory ``(index, K) -> Store``
                (a callable or its import path) for any other store.
            name, namespace: the actors are ``{name}.shard.{i}`` in Ray namespace
                ``namespace``.
            address: for ``ray.init`` if this process is not connected to Ray yet ("auto":
                the cluster running on this host); an existing connection is used as is.
            offload: ``{name: Offload(...)}``: targets run as Ray tasks / on an actor
                pool instead of in the shard (see `actors.shards.offload`).
            spec_text: a ``tickwork run`` spec; each shard runs its share of it (the
                schedules whose names hash to it); ``spec_base_dir`` anchors file sinks.
            max_concurrent_executions, history_size: each shard's `Scheduler`'s.
            num_cpus: Ray CPUs reserved per shard; max_task_retries: how often Ray
                re-sends a call that was in flight when its shard died (calls are
                idempotent by key); max_concurrency: calls a shard serves at once.
            runtime_env: Ray runtime_env for the shard actors (e.g. to ship code).
        """
        plan = Deployment.checked(
            shards, name=name, namespace=namespace, targets=targets, store=store, offload=offload,
            spec_text=spec_text, spec_source=spec_source, spec_base_dir=spec_base_dir,
            max_concurrent_executions=max_concurrent_executions, history_size=history_size, num_cpus=num_cpus,
            max_task_retries=max_task_retries, max_concurrency=max_concurrency, runtime_env=runtime_env,
        )
        with ray_connection(address) as owns:
            handles, infos = plan.join_or_start(timeout)
            return cls(handles, infos, namespace=namespace, owns_ray=owns, timeout=timeout)

    @classmethod
    def connect(
        cls, *, name: str = "tickwork", namespace: str = "tickwork", address: str | None = "auto",
        timeout: float = _TIMEOUT,
    ) -> ShardedScheduler:
        """Join shards deployed before (by any process): `ShardsNotFound` if none."""
        with ray_connection(address) as owns:
            handles, infos = find_shards(namespace, name, timeout)
            return cls(handles, infos, namespace=namespace, owns_ray=owns, timeout=timeout)

    # -- plumbing ----------------------------------------------------------------------
    @property
    def shards(self) -> int:
        """K, the number of shards."""
        return len(self._calls.handles)

    def shard_of(self, key: str) -> int:
        """The shard that owns ``key``."""
        return shard_of(key, len(self._calls.handles))

    def shard_info(self) -> list[dict[str, Any]]:
        """Each shard's `Shard.info` now (pid, host, restored count, memory, ...)."""
        return self._calls.every("info")

    # -- scheduling --------------------------------------------------------------------
    @staticmethod
    def request(target: str, args: Iterable[Any] = (), when: Any = None, **kw: Any) -> ScheduleRequest:
        """A checked `ScheduleRequest` for `schedule_many` (same arguments as `schedule`)."""
        return make_request(target, args, when, **kw)

    def schedule(self, target: str, args: Iterable[Any] = (), when: Any = None, *, key: str | None = None,
                 **kw: Any) -> str:
        """Schedule declared target ``target(*args)`` on ``key``'s shard; returns the key.

        Same arguments as `Scheduler.schedule` (kwargs=, name=, metadata=, the policy
        keywords). ``key`` defaults to a random one. Idempotent: if ``key`` already
        names a schedule that is not cancelled, that one is kept unchanged (use
        `update` / `reschedule` to change it) and the key is returned.
        """
        return self.schedule_many([make_request(target, args, when, key=key, **kw)])[0]

    def schedule_at_interval(self, target: str, args: Iterable[Any], interval: Any, **kw: Any) -> str:
        """Every ``interval`` (seconds, Duration, timedelta), first one interval from now."""
        return self.schedule(target, args, ScheduleAt.at_interval(interval), **kw)

    def schedule_at_time(self, target: str, args: Iterable[Any], when: Any, **kw: Any) -> str:
        """Once at ``when`` (Timestamp, aware datetime or Unix seconds)."""
        return self.schedule(target, args, ScheduleAt.at_time(when), **kw)

    def schedule_in_seconds(self, target: str, args: Iterable[Any], seconds: float, **kw: Any) -> str:
        """Once, ``seconds`` from now (this host's clock)."""
        delay = Duration.coerce(seconds, "seconds")
        return self.schedule(target, args, ScheduleAt.at_time(Timestamp.now() + delay), **kw)

    def schedule_daily(self, target: str, args: Iterable[Any], hour: int, minute: int = 0, second: int = 0, *,
                       tz: Any = "UTC", **kw: Any) -> str:
        return self.schedule(target, args, ScheduleAt.daily(hour, minute, second, tz=tz), **kw)

    def schedule_cron(self, target: str, args: Iterable[Any], expression: str, *, tz: Any = "UTC",
                      **kw: Any) -> str:
        return self.schedule(target, args, ScheduleAt.cron(expression, tz=tz), **kw)

    def schedule_many(self, requests: Iterable[ScheduleRequest | Mapping[str, Any]]) -> list[str]:
        """Create many schedules: one call per shard, all shards at once, each shard's
        part in one store transaction. Items are `request(...)` results or dicts of
        `schedule`'s arguments. Returns the keys in order. Checked here first (a
        TypeError / ValueError sends nothing); `ShardedScheduleError` if a shard
        refused some (the rest are made: send the batch again once fixed).
        """
        reqs = [as_request(r) for r in requests]
        for r in reqs:
            if r.target not in self.target_names:
                raise ValueError(
                    f"unknown target {r.target!r} (key {r.key!r}): the shards run {sorted(self.target_names)}; "
                    "declare targets when deploying: targets={'name': 'package.module:function'}"
                )
        keys = [r.key for r in reqs]
        answers = self._calls.parts("schedule_many", by_shard(reqs, keys, self.shards))
        errors: dict[str, str] = {}
        for _created, errs in answers:
            errors.update(errs)
        if errors:
            raise ShardedScheduleError(errors, keys)
        return keys

    def cancel_schedule(self, key: str) -> bool:
        """Cancel ``key``'s schedule (True if it was active); the key is free again."""
        return bool(self._calls.on(key, "cancel_many", [key])[0])

    def cancel_many(self, keys: Iterable[str]) -> int:
        """Cancel many (one call per shard, at once); returns how many were active."""
        keys = list(keys)
        answers = self._calls.parts("cancel_many", by_shard(keys, keys, self.shards))
        return sum(sum(a) for a in answers)

    def cancel_all(self) -> int:
        """Cancel every schedule made through keys; returns how many were active."""
        parts = {i: ks for i, ks in enumerate(self._calls.every("keys")) if ks}
        answers = self._calls.parts("cancel_many", parts)
        return sum(sum(a) for a in answers)

    def pause(self, key: str) -> bool:
        return bool(self._calls.on(key, "call", "pause", key))

    def resume(self, key: str) -> bool:
        return bool(self._calls.on(key, "call", "resume", key))

    def reschedule(self, key: str, when: Any) -> bool:
        return bool(self._calls.on(check_key(key), "call", "reschedule", key, ScheduleAt.coerce(when)))

    def update(self, key: str, **changes: Any) -> bool:
        """`Scheduler.update` (trigger=, interval=, args=, kwargs=) on ``key``'s schedule."""
        return bool(self._calls.on(key, "call", "update", key, **changes))

    # -- reading -----------------------------------------------------------------------
    def get_schedule(self, key: str) -> ScheduleInfo | None:
        """A snapshot of ``key``'s schedule (its ``id`` is the shard's own; ``actor_ref``
        None), or None."""
        return self._calls.on(key, "get_schedule", key)  # type: ignore[no-any-return]

    def list_schedules(self, status: ScheduleStatus | None = None, name: str | None = None) -> list[ScheduleInfo]:
        """Every shard's schedules (shard by shard, each by id)."""
        return [i for part in self._calls.every("list_schedules", status, name) for i in part]

    def keys(self) -> list[str]:
        """Every key that names a schedule."""
        return [k for part in self._calls.every("keys") for k in part]

    def get_next_execution_time(self) -> Timestamp | None:
        dues = [d for d in self._calls.every("next_execution_us") if d is not None]
        return Timestamp.from_micros(min(dues)) if dues else None

    def clear_completed_schedules(self) -> int:
        return sum(self._calls.every("clear_completed_schedules"))

    def get_execution_stats(self) -> dict[str, Any]:
        """Statistics over all shards (see `merge_stats`); ``shard_stats`` per shard."""
        return merge_stats(self.shard_stats())

    def shard_stats(self) -> list[dict[str, Any]]:
        return self._calls.every("stats")

    def lateness_us(self, since_us: int = 0) -> list[int]:
        """Every shard's recorded lateness (µs) of executions due at or after
        ``since_us``, as far as each shard's history reaches (``history_size``)."""
        return [v for part in self._calls.every("lateness_us", since_us) for v in part]

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Every shard's `Scheduler.wait_idle` (at once); False on timeout."""
        self._calls.check_open()
        refs = [h.wait_idle.remote(timeout) for h in self._calls.handles]
        return all(self._calls.get(refs, None if timeout is None else timeout + self._calls.timeout))

    def rows(self) -> list[Any]:
        """The spec rows of every shard (``tickwork run --ray``)."""
        return [r for part in self._calls.every("rows") for r in part]

    # -- the end -----------------------------------------------------------------------
    def close(self) -> None:
        """Let go of the shards (they keep running); disconnects Ray if this connected."""
        if self._calls.close() and self._owns_ray:
            require_ray().shutdown()

    def destroy(self, timeout: float = 10.0) -> bool:
        """Stop every shard's scheduler (stores keep their schedules) and end the
        actors for good (no restart); then `close`. True if all stopped in time."""
        ray = require_ray()
        try:
            ok = all(self._calls.every("stop", timeout))
        except (ray.exceptions.RayError, TimeoutError):  # a shard that is gone or stuck: kill it anyway
            ok = False
        for h in self._calls.handles:
            ray.kill(h, no_restart=True)
        self.close()
        return ok

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
