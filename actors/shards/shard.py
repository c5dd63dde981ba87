"""`Shard`: one in-process `Scheduler` with its store and its schedule keys.

Plain Python (no Ray import): `actors.shards.actor` wraps it as a Ray actor, and the
tests drive it directly too. Every method takes and returns plain, picklable data.

Keys: each schedule created through a shard carries its key in its metadata
(``tickwork.key``), so the key index is rebuilt from the store when a restarted shard
starts. A key names at most one schedule that is not cancelled: scheduling a key
that names one returns it unchanged (idempotent: a call Ray retries after a restart
finds the schedule the first attempt made), and cancelling frees the key.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Mapping
from typing import Any

import msgspec

from actors.results import ScheduleInfo, ScheduleStatus
from actors.scheduler import Scheduler
from actors.shards.requests import KEY_META, ScheduleRequest
from actors.shards.stores import make_store
from actors.shards.targets import import_target
from actors.store import restore_trigger

__all__ = ["Shard"]


def _rss() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _plain(info: ScheduleInfo) -> ScheduleInfo:
    """A snapshot that can leave the process (the Pykka actor ref cannot)."""
    return msgspec.structs.replace(info, actor_ref=None)


def _pool_size(max_concurrent_executions: int | None, offload: Mapping[str, Any] | None) -> int | None:
    """The scheduler's execution pool: as given, else the default plus room for the
    offloaded calls (each holds an execution thread while it is out)."""
    if offload and max_concurrent_executions is None:
        from actors.scheduler import DEFAULT_MAX_CONCURRENT
        from actors.shards.offload import slots

        return DEFAULT_MAX_CONCURRENT + slots(offload)
    return max_concurrent_executions


class Shard:
    """Shard ``index`` of ``shards``: registers ``targets``, opens its store, restores.

    Args:
        index, shards: which shard this is, of how many.
        name: the deployment's name (threads, the store's owner, the CLI's spec name).
        targets: ``{name: "package.module:function"}``, imported and registered here.
        store: a checked store argument (see `actors.shards.stores`).
        offload: ``{name: Offload}``: targets run as Ray tasks or on an actor pool.
        spec_text: a ``tickwork run`` spec (TOML): this shard runs its share of it
            (``spec_source`` names it in messages; ``spec_base_dir`` anchors file sinks).
        max_concurrent_executions, history_size: the scheduler's (see `Scheduler`).
    """

    def __init__(
        self,
        index: int,
        shards: int,
        *,
        name: str = "tickwork",
        targets: Mapping[str, str] | None = None,
        store: Any = None,
        offload: Mapping[str, Any] | None = None,
        spec_text: str | None = None,
        spec_source: str = "<spec>",
        spec_base_dir: str | None = None,
        max_concurrent_executions: int | None = None,
        history_size: int = 1000,
    ) -> None:
        t0 = time.monotonic()
        self.index = index
        self.shards = shards
        self.name = name
        self._lock = threading.RLock()  # the key index, and calls that change it
        self._targets = dict(targets or {})
        self._store_arg = store
        st = make_store(store, index, shards)
        self.sched = Scheduler(
            store=st,
            name=f"{name}-shard-{index}",
            daemon=True,
            max_concurrent_executions=_pool_size(max_concurrent_executions, offload),
            history_size=history_size,
        )
        self._offload = self._register(offload)
        self.runner: Any = None
        self._spec = None
        if spec_text is not None:
            from actors.shards.spec_run import shard_runner, spec_digest

            self._spec = spec_digest(spec_text)
            self.runner = shard_runner(spec_text, spec_source, self.sched, index, shards, spec_base_dir)
            self.runner.start()  # starts the scheduler (restoring), then reconciles the spec
        else:
            self.sched.start()
        self._keys: dict[str, int] = {}
        self._rebuild_keys()
        self.started_at = time.time()
        self.start_seconds = time.monotonic() - t0
        self.store_location = None if st is None else st.location

    def _register(self, offload: Mapping[str, Any] | None) -> dict[str, Any]:
        """Import and register the declared targets, then the stand-ins of the offloaded
        ones; returns ``{name: Offload}`` of the latter."""
        for tname, path in self._targets.items():
            self.sched.register(tname, import_target(path))
        registered: dict[str, Any] = {}
        if offload:
            from actors.shards.offload import offload_target

            for tname, spec in offload.items():
                self.sched.register(tname, offload_target(spec))
                registered[tname] = spec
        return registered

    # -- keys ----------------------------------------------------------------------
    def _rebuild_keys(self) -> None:
        keys: dict[str, int] = {}
        for info in self.sched.list_schedules():  # by id: the oldest holder wins
            key = info.metadata.get(KEY_META)
            if isinstance(key, str) and info.status is not ScheduleStatus.CANCELLED and key not in keys:
                keys[key] = info.id
        with self._lock:
            self._keys = keys

    def _id(self, key: str) -> int | None:
        return self._keys.get(key)

    # -- about ---------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        """Who and where this shard is, and what it was deployed with."""
        restored, corrupt = self.sched.restored
        return {
            "index": self.index,
            "shards": self.shards,
            "name": self.name,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "targets": dict(self._targets),
            "offload": sorted(self._offload),
            "store": repr(self._store_arg) if self._store_arg is not None else None,
            "store_location": self.store_location,
            "restored": restored,
            "corrupt": len(corrupt),
            "started_at": self.started_at,
            "start_seconds": self.start_seconds,
            "keys": len(self._keys),
            "rss_bytes": _rss(),
            "spec": self._spec,
        }

    def ping(self) -> int:
        return os.getpid()

    # -- scheduling ----------------------------------------------------------------
    def schedule_many(self, requests: list[ScheduleRequest]) -> tuple[list[bool], dict[str, str]]:
        """Create each request's schedule unless its key names one already.

        Returns ``(created, errors)``: per request, whether it made a new schedule,
        and ``{key: reason}`` for those that could not be made (the others are made
        and stored all the same: a retry of the whole batch is safe).
        """
        created: list[bool] = []
        errors: dict[str, str] = {}
        sched = self.sched
        with self._lock, sched.batch():
            keys = self._keys
            for r in requests:
                if r.key in keys:
                    created.append(False)
                    continue
                try:
                    meta = dict(r.metadata) if r.metadata else {}
                    meta[KEY_META] = r.key
                    sid = sched.schedule(
                        r.target,
                        r.args,
                        restore_trigger(r.trigger),
                        kwargs=r.kwargs,
                        name=r.name,
                        metadata=meta,
                        **r.policy,
                    )
                except (TypeError, ValueError, LookupError) as exc:
                    errors[r.key] = f"{type(exc).__name__}: {exc}"
                    created.append(False)
                    continue
                keys[r.key] = sid
                created.append(True)
        return created, errors

    def cancel_many(self, keys: list[str]) -> list[bool]:
        """Cancel each key's schedule (True if it was active) and free the key."""
        out: list[bool] = []
        with self._lock, self.sched.batch():
            for key in keys:
                sid = self._keys.pop(key, None)
                out.append(sid is not None and self.sched.cancel_schedule(sid))
        return out

    def call(self, method: str, key: str, *args: Any, **kwargs: Any) -> bool:
        """``pause`` / ``resume`` / ``reschedule`` / ``update`` the schedule of ``key``
        (False if the key names none)."""
        if method not in ("pause", "resume", "reschedule", "update"):
            raise ValueError(f"unknown schedule method {method!r}")
        sid = self._id(key)
        if sid is None:
            return False
        return bool(getattr(self.sched, method)(sid, *args, **kwargs))

    def get_schedule(self, key: str) -> ScheduleInfo | None:
        sid = self._id(key)
        info = None if sid is None else self.sched.get_schedule(sid)
        return None if info is None else _plain(info)

    def list_schedules(self, status: ScheduleStatus | None = None, name: str | None = None) -> list[ScheduleInfo]:
        return [_plain(i) for i in self.sched.list_schedules(status, name)]

    def keys(self) -> list[str]:
        with self._lock:
            return list(self._keys)

    def next_execution_us(self) -> int | None:
        t = self.sched.get_next_execution_time()
        return None if t is None else t.micros

    def clear_completed_schedules(self) -> int:
        """Forget completed, failed and cancelled schedules (their keys are free again)."""
        with self._lock:
            n = self.sched.clear_completed_schedules()
            self._rebuild_keys()
        return n

    def stats(self) -> dict[str, Any]:
        """`Scheduler.get_execution_stats`, plus this shard's schedule count, memory
        (``rss_bytes``) and the wall time it was read at (``at_us``)."""
        st = dict(self.sched.get_execution_stats())
        st["schedules"] = len(self._keys)
        st["rss_bytes"] = _rss()
        st["at_us"] = time.time_ns() // 1000  # when these counts were read (rates over shards)
        return st

    def lateness_us(self, since_us: int = 0) -> list[int]:
        """The lateness (µs) of each recorded execution due at or after ``since_us``
        (as many as the scheduler's history holds): exact percentiles over shards."""
        return [
            r.lateness.micros
            for r in self.sched.get_execution_metrics()
            if r.scheduled_time.micros >= since_us and r.attempt == 1
        ]

    def wait_idle(self, timeout: float | None = None) -> bool:
        return self.sched.wait_idle(timeout)

    def rows(self) -> list[Any]:
        """The spec runner's rows (``tickwork run --ray``), or [] without a spec."""
        return [] if self.runner is None else self.runner.rows()

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop the scheduler (stored schedules stay as they are)."""
        if self.runner is not None:
            return bool(self.runner.stop(timeout))
        return self.sched.stop(timeout)
