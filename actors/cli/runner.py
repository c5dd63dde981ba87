"""Running a spec: one durable schedule per spec entry, and the target that sends.

Why a registered target and not ``Scheduler.schedule_message``: a durable store
keeps target *names* and plain-data arguments, never callables, and a periodic
message's send/update callbacks are callables, so such a schedule lives in memory
only and a restart would start it over. Here every spec schedule is stored as
``schedule("send", [name], trigger, metadata={"spec_name": name})``; the
registered ``send`` target looks the entry up by name in the spec loaded at
start, builds the message (initial values, ``increment`` fields advanced by the
send number, ``now`` fields stamped), encodes it and hands it to the sink. A sink
that fails raises, so the scheduler counts the failure and the schedule goes on.

Restart: the store brings the schedules back (misfire policy "coalesce": one send
at once for what was missed while down). `Runner.start` then reconciles the store
with the spec by the ``spec_name`` kept in each schedule's metadata: a stored
schedule still in the spec is reused (its id, its counters; rescheduled if its
trigger changed), a spec entry with no stored schedule is created, and a stored
one no longer in the spec is cancelled, but only when asked (``prune``): otherwise
the start is refused with `WouldCancel` (a spec edited by hand, or a state file
of another spec, must not silently lose schedules and their counters). Send numbers continue from the stored
``execution_count``, so ``increment`` fields continue where they stopped.
"""

from __future__ import annotations

import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass, field

from actors.cli.sinks import Sink, open_sink
from actors.cli.spec import ScheduleSpec, Spec
from actors.results import ScheduleInfo, ScheduleStatus
from actors.scheduler import Scheduler
from actors.store import Store
from timekit import ScheduleAt

__all__ = ["META_KEY", "TARGET", "Reconciled", "Row", "Runner", "WouldCancel", "same_trigger"]

#: The registered target every spec schedule is stored with.
TARGET = "send"
#: The metadata key holding a stored schedule's spec name.
META_KEY = "spec_name"


class WouldCancel(ValueError):
    """The state file holds active schedules the spec does not have: running would
    cancel them (pass ``prune=True`` / ``--prune`` to do that on purpose)."""

    def __init__(self, names: list[str], location: str) -> None:
        self.names = names
        listed = ", ".join(repr(n) for n in names)
        super().__init__(
            f"the state file {location} holds {len(names)} schedule(s) this spec does not have: {listed}. "
            "Running would cancel them (and lose their send counters). If you removed them from the spec "
            "on purpose, run again with --prune; if the state file belongs to another spec, give this one "
            "its own with --state FILE"
        )


@dataclass
class Reconciled:
    """What `Runner.start` did with the store: spec names per outcome."""

    created: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    rescheduled: list[str] = field(default_factory=list)
    done: list[str] = field(default_factory=list)  # one-shots that already ran
    cancelled: list[str] = field(default_factory=list)  # stored, no longer in the spec
    restored: int = 0

    def summary(self) -> str:
        parts = [
            f"{len(v)} {k}" for k, v in (
                ("resumed", self.resumed), ("created", self.created), ("rescheduled", self.rescheduled),
                ("already done", self.done), ("cancelled", self.cancelled),
            ) if v
        ]
        return ", ".join(parts) or "nothing to do"


@dataclass(frozen=True)
class Row:
    """One schedule as the views show it."""

    name: str
    id: int | None
    trigger: str
    status: str
    sent: int
    failed: int
    missed: int
    late_p50_us: int | None
    late_p99_us: int | None
    next_us: int | None
    sink: str
    sink_state: str


def same_trigger(stored: ScheduleAt, wanted: ScheduleAt) -> bool:
    """Whether a stored trigger is the spec's (an interval compares by period: the
    stored one carries the anchor it was given when scheduled)."""
    if stored.is_interval() and wanted.is_interval():
        return stored.every == wanted.every
    return stored == wanted


class Runner:
    """Owns the scheduler and the sinks of one run of a spec."""

    def __init__(
        self, spec: Spec, store: Store | None = None, *, scheduler: Scheduler | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.spec = spec
        self.store = store
        #: Set (with `halt_reason`) when the run cannot go on: a ``stdout`` sink's reader went away.
        self.stop_requested = stop if stop is not None else threading.Event()
        self.halt_reason: str | None = None
        self.sched = scheduler if scheduler is not None else Scheduler(store=store, name="tickwork-cli")
        self.sched.register(TARGET, self._send)
        self._by_name: dict[str, ScheduleSpec] = {s.name: s for s in spec.schedules}
        self.sinks: dict[str, Sink] = {}
        self.ids: dict[str, int] = {}
        self._counts: dict[str, int] = {s.name: 0 for s in spec.schedules}
        #: A store shared by replicas (PostgresStore) numbers the sends for all of them.
        self._shared_count = getattr(store, "increment", None)
        self._ready = threading.Event()
        self._aborted = False
        self.started = time.monotonic()
        self.stopped: float | None = None
        self.final_rows: list[Row] | None = None

    # -- life cycle -------------------------------------------------------------------
    def start(self, *, prune: bool = False) -> Reconciled:
        """Open the sinks, start the scheduler (restoring the store), reconcile.

        Stored schedules the spec does not have are cancelled only with ``prune``;
        otherwise `WouldCancel` is raised. A start that fails (that, a `StoreError`)
        sends nothing and leaves the store as it was: restored firings that came
        due wait for the start to finish, and are dropped with it.
        """
        for s in self.spec.schedules:
            key = s.sink.key
            if key not in self.sinks:
                sink = open_sink(s.sink)
                sink.open()
                self.sinks[key] = sink
        try:
            self.sched.start()
            # Replicas sharing a store reconcile one at a time: each sees what the
            # others created (by name) instead of creating it again.
            with self.store.exclusive() if self.store is not None else nullcontext():
                rec = self._reconcile(prune)
        except BaseException:
            self._aborted = True  # the waiting sends see it and send nothing
            self.sched.stop(write_store=False)
            self._ready.set()
            self.close_sinks()
            raise
        self._ready.set()  # restored firings waiting in _send may go now
        self.started = time.monotonic()
        return rec

    def stop(self, timeout: float = 5.0) -> bool:
        """Let in-flight sends finish and be recorded, stop the scheduler (stored
        schedules stay as they are), close the sinks; keep the final rows."""
        self._quiet_moment()
        ok = self.sched.stop(timeout)
        self.stopped = time.monotonic()
        self.final_rows = self.rows()
        self.close_sinks()
        return ok

    def _quiet_moment(self, margin_us: int = 10_000) -> None:
        """Wait until no send is in flight and none is due within ``margin_us``.

        `Scheduler.stop` writes the store *before* it waits for executions in flight,
        so a send that started just before would be missing from the stored counters
        (and its sequence number sent again after a restart). Stopping in a quiet
        moment makes a clean stop exact (intervals longer than ~10 ms).
        """
        sched = self.sched
        try:
            for _ in range(5):
                if not sched.wait_idle(timeout=1.0):
                    return
                nxt = sched.get_next_execution_time()
                if nxt is None:
                    return
                wait_us = nxt.micros - sched.now().micros
                if wait_us > margin_us:
                    return
                time.sleep(max(0, wait_us) / 1e6 + 0.001)  # let that firing start, then wait for it
        except RuntimeError:  # already stopped
            pass

    def close_sinks(self) -> None:
        for sink in self.sinks.values():
            sink.close()

    @property
    def uptime(self) -> float:
        return (self.stopped or time.monotonic()) - self.started

    # -- reconciliation ---------------------------------------------------------------
    def _reconcile(self, prune: bool) -> Reconciled:
        sched = self.sched
        rec = Reconciled(restored=sched.restored[0])
        stored: dict[str, list[ScheduleInfo]] = {}
        for info in sched.list_schedules():
            name = info.metadata.get(META_KEY)
            if info.target == TARGET and isinstance(name, str):
                stored.setdefault(name, []).append(info)
        gone = sorted(
            name for name, infos in stored.items()
            if name not in self._by_name and any(i.status.is_active for i in infos)
        )
        if gone and not prune:
            raise WouldCancel(gone, self.store.location if self.store is not None else "of the scheduler")
        with sched.batch():
            for s in self.spec.schedules:
                infos = stored.pop(s.name, [])
                active = [i for i in infos if i.status.is_active]
                keep: ScheduleInfo | None = None
                if active:
                    keep, extra = active[0], active[1:]  # by id: the oldest wins
                    for dup in extra:
                        sched.cancel_schedule(dup.id)
                    if not same_trigger(keep.trigger, s.trigger):
                        sched.reschedule(keep.id, s.trigger)
                        rec.rescheduled.append(s.name)
                    else:
                        rec.resumed.append(s.name)
                    if keep.status is ScheduleStatus.PAUSED:
                        sched.resume(keep.id)
                elif s.trigger.is_time():
                    ran = [
                        i for i in infos
                        if i.status in (ScheduleStatus.COMPLETED, ScheduleStatus.FAILED)
                        and same_trigger(i.trigger, s.trigger)
                    ]
                    if ran:
                        keep = ran[-1]
                        rec.done.append(s.name)
                if keep is None:
                    sid = sched.schedule(TARGET, [s.name], s.trigger, name=s.name, metadata={META_KEY: s.name})
                    self.ids[s.name] = sid
                    rec.created.append(s.name)
                    self._counts[s.name] = 0
                else:
                    self.ids[s.name] = keep.id
                    self._counts[s.name] = keep.execution_count
            for name, infos in stored.items():  # no longer in the spec
                if any(sched.cancel_schedule(i.id) for i in infos if i.status.is_active):
                    rec.cancelled.append(name)
        return rec

    # -- the target -------------------------------------------------------------------
    def _send(self, name: str) -> int | None:
        """The registered target: build, encode and send spec entry ``name``'s next message."""
        if not self._ready.is_set():
            # A restored firing that came due during start(): it waits for the
            # counters. If the start fails, it sends nothing, once the scheduler is
            # stopping without writing (so the store never counts it either).
            deadline = time.monotonic() + 30
            while not self._ready.wait(0.01) and time.monotonic() < deadline:
                if self._aborted and not self.sched.running:
                    break
        if self._aborted:
            raise RuntimeError("the run failed to start: nothing was sent")
        s = self._by_name.get(name)
        if s is None:
            return None  # a stored schedule no longer in the spec (being cancelled)
        if self._shared_count is not None:
            n = self._counts[name] = int(self._shared_count(f"send:{name}"))
        else:
            n = self._counts[name] = self._counts[name] + 1
        msg = s.build(n, self.sched.now().micros)
        try:
            self.sinks[s.sink.key].send(name, msg, self.spec.protocol)
        except BrokenPipeError:
            if s.sink.kind == "stdout" and self.halt_reason is None:
                self.halt_reason = "stdout was closed (the reader of the stdout sink went away)"
                self.stop_requested.set()
            raise
        return n

    # -- views ------------------------------------------------------------------------
    def rows(self) -> list[Row]:
        if self.final_rows is not None:
            return self.final_rows
        out = []
        for s in self.spec.schedules:
            sid = self.ids.get(s.name)
            info = None if sid is None else self.sched.get_schedule(sid)
            sink = self.sinks[s.sink.key]
            out.append(_row(s, sid, info, sink))
        return out


def _row(s: ScheduleSpec, sid: int | None, info: ScheduleInfo | None, sink: Sink) -> Row:
    if info is None:
        return Row(s.name, sid, s.trigger_text, "-", 0, 0, 0, None, None, None, sink.url, sink.status())
    nxt = info.next_execution
    return Row(
        name=s.name,
        id=sid,
        trigger=s.trigger_text,
        status=info.status.value,
        sent=info.execution_count - info.failure_count,
        failed=info.failure_count,
        missed=info.missed_count,
        late_p50_us=None if info.lateness_p50 is None else info.lateness_p50.micros,
        late_p99_us=None if info.lateness_p99 is None else info.lateness_p99.micros,
        next_us=None if nxt is None else nxt.micros,
        sink=sink.url,
        sink_state=sink.status(),
    )

