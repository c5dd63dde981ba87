"""Firing lateness and cumulative drift: tickwork beside APScheduler, a thread per
schedule sleeping between firings, and a bare absolute-deadline loop (the floor).

Run: ``python benchmarks/lateness_bench.py`` (about 3 minutes on 2 cores;
``--reps 3`` runs every cell three times and shows the median-p99 run, for a
noisy machine: p99 at N = 10 moves 2-3x between runs; the repetitions of the
mechanisms at one N take turns, so a noisy spell hits them alike), or
``--quick`` for a ~45 s smoke run (N = 10 and 100, 1 s measured per cell; 32
cells of about 1.4 s each).  Progress goes to stderr, the tables to stdout.
APScheduler (3.x) is optional (``pip install -e '.[bench]'``); without it its rows
read "n/a".

The plan
--------
N schedules (N = 10, 100, 1000); schedule i fires every ``10 ms * (1 + i % 10)``
(10, 20, ..., 100 ms), so the offered load is about 29 firings/s per schedule.
Every mechanism gets the *same* plan: schedule i's k-th firing is due at
``first[i] + k * every[i]`` on ``time.monotonic_ns()``, k = 0, 1, ...

* staggered: ``first[i] = T0 + (i + 0.5) / N * every[i]``: the firings of each
  interval class are spread evenly over the interval.
* aligned: ``first[i] = T0 + every[i]``: one common anchor T0, so on every 10 ms
  grid point all schedules whose interval divides the elapsed time are due at
  the same instant (about 0.29 * N at once, all N at T0 + 2520 ms).
* staggered + CPU hog: as staggered, with one more Python thread spinning in a
  pure-Python loop during the window.  Every thread hand-off then waits for the
  GIL's forced switch (``sys.getswitchinterval()``, 5 ms by default); the
  scenario is repeated with ``sys.setswitchinterval(0.0005)``.

The mechanisms (run one after another in this process, never concurrently):

* tickwork: ``Scheduler()`` (defaults: 1 dispatcher thread, 8 execution
  threads).  Each schedule is ``schedule(target, (), ScheduleAt.at_interval(every,
  start=S_i))`` with ``S_i = first[i] - every[i]`` on the scheduler's timeline:
  the same thing as ``schedule_at_interval(target, (), every)`` (which anchors at
  the moment of the call and fires one interval later), with the anchor chosen
  by the benchmark so the plan is identical for everyone; in the aligned
  scenario every S_i is the same Timestamp.
* APScheduler: ``BackgroundScheduler`` + ``ThreadPoolExecutor(20)``, one
  ``IntervalTrigger`` job per schedule with ``next_run_time = first[i]``,
  ``coalesce=False``, ``max_instances=1``, ``misfire_grace_time=3600``.
* thread/schedule: the common hand-rolled loop, one thread per schedule:
  ``sleep until first[i]; while running: target(); time.sleep(every)``.
  It drifts by design (each period is every + the loop's own cost + oversleep).
* bare loop: one thread, a heap of absolute deadlines, ``time.sleep(deadline -
  now)``, the target run inline.  No framework at all: the floor.

Measurement (the same for every mechanism): the target is one closure per
schedule that appends ``time.monotonic_ns()`` to that schedule's list.  Firings
start at T0; those due in the first ``WARMUP`` seconds run but are not measured
(start-up transients), then come ``SECONDS`` measured, then ``GRACE`` seconds
in which late calls still count, then the mechanism is stopped.  After the run
the k-th call of schedule i is matched with its k-th due time (sequential
matching); due times inside the measured window without a call are "lost"
(skipped by the mechanism, or too far behind).

* lateness = call time - due time; p50/p99/max over every matched firing.
* drift = per schedule, (lateness of its last matched firing) - (lateness of
  its first), both chosen among firings due with the same *herd* (the same set
  of schedules due at that instant; the pair of such firings farthest apart):
  a firing's lateness depends on how many others are due with it, and in the
  aligned scenario herd sizes change from grid point to grid point (the pattern
  repeats only every 25.2 s), so comparing a firing in a herd of 600 with one in
  a herd of 300 would measure herd size, not drift.  In the staggered scenario
  nearly every firing is alone and this is simply the last and the first.
  "avg" is the mean over schedules, "max" the largest.  Anchored mechanisms
  should show ~0; the sleep loop grows.  A mechanism that skips
  firings (tickwork coalesces a schedule's overdue firings into one run, an
  APScheduler job at max_instances is skipped) shows it as drift and as lost
  firings, since the k-th call then serves a later due time.
* tickwork's own records are cross-checked: ``get_execution_stats()`` (its
  lateness, over the last 10,000 executions, and coalesced "missed" firings),
  and the ``ScheduleResult``\\ s of ``get_execution_metrics()`` taken at the end
  of the window (default history: the last 1,000): each is matched to the
  target call that followed its ``start_time``, which tells whether its
  ``scheduled_time`` is the due time the external matching assumed, and how
  long the runtime takes from reading ``start_time`` to the target's first line.

``p99 vs bare`` and ``p99 vs APS`` divide a row's p99 by the bare loop's and
APScheduler's p99 at the same N in the same scenario.

Reading the numbers: with sequential matching, every skipped or lost firing
adds one interval to the lateness of all later firings of that schedule, so
a row with ``lost > 0`` measures "how far behind the plan" rather than "how
late after the due time it served"; tickwork's self-reported line gives the
latter for tickwork.  p99 over a few hundred firings (N = 10) is the 8th worst
value and moves with any noise on the machine: the header prints the load
average, and other processes on the same CPUs show up in every row, including
the bare loop's.
"""

from __future__ import annotations

import argparse
import gc
import heapq
import logging
import math
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
_ROOT = _HERE.parent
if (_ROOT / "actors" / "__init__.py").exists() and str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

from _common import NA, env_header, fmt_num, fmt_ratio, format_table, percentile

from actors import Scheduler
from timekit import Duration, ScheduleAt, Timestamp

try:  # optional extra
    from apscheduler.events import EVENT_JOB_MAX_INSTANCES
    from apscheduler.executors.pool import ThreadPoolExecutor as APSThreadPoolExecutor
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.interval import IntervalTrigger

    APS_ERROR: str | None = None
except ImportError as _exc:  # pragma: no cover - depends on the environment
    APS_ERROR = f"APScheduler is not importable ({_exc})"

_mono = time.monotonic_ns

SIZES = (10, 100, 1000)
QUICK_SIZES = (10, 100)
SECONDS = 2.5
QUICK_SECONDS = 1.0
#: Firings due in the first WARMUP seconds run but are not measured (start-up transients:
#: lazily started pool threads, first allocations).
WARMUP = 0.3
QUICK_WARMUP = 0.15
#: Seconds after the window during which late calls for in-window due times still count.
GRACE = 0.25
QUICK_GRACE = 0.1
#: Intervals: 10 ms * (1 + i % 10).
INTERVAL_CLASSES = 10
BASE_INTERVAL_NS = 10_000_000
APS_WORKERS = 20
SMALL_SWITCH_INTERVAL = 0.0005
#: Targets the project tracks.
STAGGERED_VS_BARE = 2.0
ALIGNED_VS_APS = 0.5
DRIFT_TOLERANCE_MS = 1.0

MECHANISMS = ("bare loop", "tickwork", "APScheduler", "thread/schedule")


# --------------------------------------------------------------------------- plan


@dataclass
class Plan:
    n: int
    t0: int  # ns, time.monotonic_ns: firings start at or after t0
    begin: int  # measured window [begin, end): due times before begin are warm-up
    end: int
    stop: int  # mechanisms are stopped at this time (end + grace)
    first: list[int]  # ns
    every: list[int]  # ns

    def _count_before(self, i: int, t: int) -> int:
        """How many due times of schedule i are < t."""
        f = self.first[i]
        return 0 if f >= t else -(-(t - f) // self.every[i])

    def measured(self, i: int) -> range:
        """Indexes k of schedule i's due times inside the measured window."""
        return range(self._count_before(i, self.begin), self._count_before(i, self.end))


def make_plan(n: int, aligned: bool, t0: int, seconds: float, warmup: float, grace: float) -> Plan:
    t0 -= t0 % 1000  # whole microseconds: tickwork and APScheduler work in µs
    every = [BASE_INTERVAL_NS * (1 + i % INTERVAL_CLASSES) for i in range(n)]
    if aligned:
        first = [t0 + e for e in every]
    else:
        first = [t0 + (int((i + 0.5) / n * e) // 1000) * 1000 for i, e in enumerate(every)]
    begin = t0 + int(warmup * 1e9)
    end = begin + int(seconds * 1e9)
    return Plan(n, t0, begin, end, end + int(grace * 1e9), first, every)


def offered_rate(n: int) -> float:
    return sum(1e9 / (BASE_INTERVAL_NS * (1 + i % INTERVAL_CLASSES)) for i in range(n))


def make_target(buf: list[int]) -> Callable[[], None]:
    """The work every mechanism runs: record the call time (same code for all)."""
    append = buf.append
    mono = _mono

    def target() -> None:
        append(mono())

    return target


def sleep_until(t_ns: int) -> None:
    d = t_ns - _mono()
    if d > 0:
        time.sleep(d / 1e9)


def wall_offset_ns() -> int:
    """time.time_ns() - time.monotonic_ns(), from the tightest of a few brackets."""
    best = None
    for _ in range(7):
        a = _mono()
        w = time.time_ns()
        b = _mono()
        if best is None or b - a < best[0]:
            best = (b - a, w - (a + b) // 2)
    assert best is not None
    return best[1]


# --------------------------------------------------------------------------- mechanisms


class Mechanism:
    name = ""
    #: setup time budget before T0: Timing.lead + per_item * N seconds.
    per_item = 0.0

    def unavailable(self, n: int) -> str | None:
        """Why this mechanism is not run at this N (None: it is run)."""
        return None

    def prepare(self, n: int, targets: list[Callable[[], None]]) -> None:
        """Work that does not depend on the plan (done before the plan's T0 is chosen)."""

    def setup(self, plan: Plan, targets: list[Callable[[], None]]) -> None:
        raise NotImplementedError

    def at_window_end(self, plan: Plan, bufs: list[list[int]]) -> None:
        """Called once at the end of the window (before the grace period)."""

    def before_stop(self, plan: Plan, bufs: list[list[int]]) -> None:
        """Called at plan.stop, just before `stop`."""

    def stop(self) -> list[str]:
        """Stop cleanly; return notes for the table."""
        raise NotImplementedError


class BareLoop(Mechanism):
    name = "bare loop"
    per_item = 0.00001

    def setup(self, plan: Plan, targets: list[Callable[[], None]]) -> None:
        self._thread = threading.Thread(target=self._run, args=(plan, targets), name="bare-loop", daemon=True)
        self._thread.start()

    @staticmethod
    def _run(plan: Plan, targets: list[Callable[[], None]]) -> None:
        heap = [(plan.first[i], i) for i in range(plan.n)]
        heapq.heapify(heap)
        every = plan.every
        stop = plan.stop
        mono = _mono
        sleep = time.sleep
        replace = heapq.heapreplace
        while True:
            deadline, i = heap[0]
            if deadline >= stop:
                return
            d = deadline - mono()
            if d > 0:
                sleep(d / 1e9)
            targets[i]()
            replace(heap, (deadline + every[i], i))

    def stop(self) -> list[str]:
        self._thread.join(10)
        return [] if not self._thread.is_alive() else ["bare loop thread did not end"]


class ThreadPerSchedule(Mechanism):
    name = "thread/schedule"
    per_item = 0.00001  # the threads are started in prepare(), before the plan is made
    max_n = 1000

    def prepare(self, n: int, targets: list[Callable[[], None]]) -> None:
        self._stop = threading.Event()
        self._go = threading.Event()
        self._plan: Plan | None = None
        self._threads = [
            threading.Thread(target=self._run, args=(i, targets[i]), name=f"sleep-loop-{i}", daemon=True)
            for i in range(n)
        ]
        for t in self._threads:
            t.start()

    def setup(self, plan: Plan, targets: list[Callable[[], None]]) -> None:
        self._plan = plan
        self._go.set()

    def _run(self, i: int, target: Callable[[], None]) -> None:
        self._go.wait()
        plan = self._plan
        if plan is None:  # stopped before a plan was given
            return
        every_s = plan.every[i] / 1e9
        stop = self._stop
        sleep_until(plan.first[i])
        sleep = time.sleep
        while not stop.is_set():
            target()
            sleep(every_s)

    def stop(self) -> list[str]:
        self._stop.set()
        deadline = time.monotonic() + 10
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        alive = sum(t.is_alive() for t in self._threads)
        return [f"{alive} threads did not end"] if alive else []


class Tickwork(Mechanism):
    name = "tickwork"
    per_item = 0.0005

    def __init__(self) -> None:
        self.cross: dict[str, Any] = {}

    def setup(self, plan: Plan, targets: list[Callable[[], None]]) -> None:
        self._sched = sched = Scheduler()
        sched.start()
        # The timeline interval deadlines live on: monotonic µs + offset (actors/timebase.py).
        rt = getattr(sched, "_rt", None)
        tb = getattr(rt, "timebase", None)
        if tb is not None and isinstance(getattr(tb, "offset", None), int):
            self._offset = tb.offset
        else:  # same formula, read by us (a few µs of error at most)
            self._offset = sched.clock.now_us() - sched.clock.monotonic_us()
        self._sids: dict[int, int] = {}
        for i, t in enumerate(targets):
            every_us = plan.every[i] // 1000
            start_us = plan.first[i] // 1000 - every_us + self._offset
            sid = sched.schedule(t, (), ScheduleAt.at_interval(Duration(every_us), start=Timestamp(start_us)))
            self._sids[sid] = i

    def at_window_end(self, plan: Plan, bufs: list[list[int]]) -> None:
        self._history = self._sched.get_execution_metrics()

    def before_stop(self, plan: Plan, bufs: list[list[int]]) -> None:
        self._stats = self._sched.get_execution_stats()
        self.cross = self._cross_check(plan, bufs)

    def _cross_check(self, plan: Plan, bufs: list[list[int]]) -> dict[str, Any]:
        """Match each ScheduleResult with the target call that followed its start_time."""
        import bisect

        agree = disagree = unmatched = 0
        overhead: list[int] = []
        for r in self._history:
            i = self._sids.get(r.schedule_id)
            if i is None:
                continue
            start_ns = (r.start_time.micros - self._offset) * 1000
            calls = bufs[i]
            # The call follows the µs-truncated start reading by a few µs.
            j = bisect.bisect_left(calls, start_ns)
            if j >= len(calls) or calls[j] - start_ns > plan.every[i] // 2:
                unmatched += 1
                continue
            overhead.append(calls[j] - start_ns)
            due_ns = (r.scheduled_time.micros - self._offset) * 1000
            if due_ns == plan.first[i] + j * plan.every[i]:
                agree += 1
            else:
                disagree += 1
        overhead.sort()
        s = self._stats
        return {
            "results": len(self._history),
            "agree": agree,
            "disagree": disagree,
            "unmatched": unmatched,
            "overhead_p50_ms": _ms(percentile(overhead, 0.5)),
            "overhead_max_ms": _ms(overhead[-1] if overhead else None),
            "self_p50_ms": _dur_ms(s.get("lateness_p50")),
            "self_p99_ms": _dur_ms(s.get("lateness_p99")),
            "self_max_ms": _dur_ms(s.get("lateness_max")),
            "missed": s.get("missed_executions"),
            "total": s.get("total_executions"),
        }

    def stop(self) -> list[str]:
        ok = self._sched.stop(timeout=10)
        return [] if ok else ["Scheduler.stop() timed out"]


class APScheduler(Mechanism):
    name = "APScheduler"
    per_item = 0.0003

    def unavailable(self, n: int) -> str | None:
        return APS_ERROR

    def setup(self, plan: Plan, targets: list[Callable[[], None]]) -> None:
        logging.getLogger("apscheduler").setLevel(logging.ERROR)  # max-instance skips are counted below
        self._wall0 = wall_offset_ns()
        self._skipped = 0

        def on_skip(_event: Any) -> None:
            self._skipped += 1

        utc = timezone.utc
        epoch = datetime(1970, 1, 1, tzinfo=utc)
        s = BackgroundScheduler(
            executors={"default": APSThreadPoolExecutor(APS_WORKERS)},
            job_defaults={"coalesce": False, "max_instances": 1, "misfire_grace_time": 3600},
            timezone=utc,
            daemon=True,
        )
        s.add_listener(on_skip, EVENT_JOB_MAX_INSTANCES)
        for i, t in enumerate(targets):
            first = epoch + timedelta(microseconds=(plan.first[i] + self._wall0) // 1000)
            trigger = IntervalTrigger(seconds=plan.every[i] / 1e9, start_date=first, timezone=utc)
            s.add_job(t, trigger, next_run_time=first, id=f"s{i}")
        s.start()
        self._sched = s

    def stop(self) -> list[str]:
        self._sched.shutdown(wait=True)
        notes = []
        if self._skipped:
            notes.append(f"{self._skipped} runs skipped at max_instances=1")
        moved = (wall_offset_ns() - self._wall0) / 1e6
        if abs(moved) > 0.05:
            notes.append(f"wall clock moved {moved:+.3f} ms against monotonic during the cell")
        return notes


# --------------------------------------------------------------------------- CPU hog


class CpuHog:
    """A pure-Python busy loop on its own thread (holds the GIL between forced switches)."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self.loops = 0
        self._thread = threading.Thread(target=self._run, name="cpu-hog", daemon=True)

    def _run(self) -> None:
        stop = self._stop
        n = 0
        while not stop.is_set():
            x = 0
            for k in range(2000):
                x += k
            n += 1
        self.loops = n

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)


# --------------------------------------------------------------------------- one cell


@dataclass
class Cell:
    mech: str
    n: int
    skipped: str | None = None
    p50: float | None = None
    p99: float | None = None
    max: float | None = None
    drift_avg: float | None = None
    drift_max: float | None = None
    drift_se: float | None = None
    firings: int = 0
    expected: int = 0
    notes: list[str] = field(default_factory=list)
    cross: dict[str, Any] = field(default_factory=dict)

    @property
    def lost(self) -> int:
        return self.expected - self.firings


def _ms(ns: float | None) -> float | None:
    return None if ns is None else ns / 1e6


def _dur_ms(d: Any) -> float | None:
    return None if d is None else d.micros / 1e3


@dataclass
class Timing:
    seconds: float
    warmup: float
    grace: float
    lead: float  # setup budget before T0: lead + per_item * N seconds


def run_cell(mech: Mechanism, n: int, aligned: bool, timing: Timing, hog: bool) -> Cell:
    why = mech.unavailable(n)
    if why is not None:
        return Cell(mech.name, n, skipped=why)
    gc.collect()
    bufs: list[list[int]] = [[] for _ in range(n)]
    targets = [make_target(b) for b in bufs]
    mech.prepare(n, targets)
    lead = timing.lead + mech.per_item * n
    plan = make_plan(n, aligned, _mono() + int(lead * 1e9), timing.seconds, timing.warmup, timing.grace)
    cell = Cell(mech.name, n)
    mech.setup(plan, targets)
    ready = _mono()
    if ready > min(plan.first):
        cell.notes.append(f"setup ended {(ready - min(plan.first)) / 1e6:.1f} ms after the first due time")
    cpu = CpuHog() if hog else None
    if cpu is not None:
        cpu.start()
    sleep_until(plan.end)
    mech.at_window_end(plan, bufs)
    sleep_until(plan.stop)
    if cpu is not None:
        cpu.stop()
    mech.before_stop(plan, bufs)
    cell.notes += mech.stop()
    _analyse(cell, plan, bufs)
    if isinstance(mech, Tickwork):
        cell.cross = mech.cross
    del bufs, targets
    gc.collect()
    return cell


def _herds(plan: Plan) -> dict[int, int]:
    """Due time -> an id of the set of schedules due at that instant (its herd)."""
    members: dict[int, list[int]] = {}
    for i in range(plan.n):
        f, e = plan.first[i], plan.every[i]
        for k in plan.measured(i):
            members.setdefault(f + k * e, []).append(i)
    ids: dict[tuple[int, ...], int] = {}
    return {t: ids.setdefault(tuple(m), len(ids)) for t, m in members.items()}


def _drift(lats: list[int], dues: list[int], herd: dict[int, int]) -> int | None:
    """Lateness of a schedule's last firing minus its first, both taken among firings
    due with the same herd (the pair of like firings farthest apart); None if none."""
    first: dict[int, int] = {}
    best: tuple[int, int, int] | None = None  # (span, first index, last index)
    for j, t in enumerate(dues):
        h = herd[t]
        j0 = first.setdefault(h, j)
        if j > j0 and (best is None or j - j0 > best[0]):
            best = (j - j0, j0, j)
    return None if best is None else lats[best[2]] - lats[best[1]]


def _analyse(cell: Cell, plan: Plan, bufs: list[list[int]]) -> None:
    """Sequential matching: schedule i's k-th call is for its k-th due time."""
    lat: list[int] = []
    drifts: list[int] = []
    firings = expected = 0
    herd = _herds(plan)
    for i in range(plan.n):
        ks = plan.measured(i)
        calls = bufs[i]
        f, e = plan.first[i], plan.every[i]
        dues = [f + k * e for k in ks if k < len(calls)]
        mine = [calls[k] - d for k, d in zip(ks, dues, strict=False)]
        lat += mine
        d = _drift(mine, dues, herd)
        if d is not None:
            drifts.append(d)
        firings += len(mine)
        expected += len(ks)
    lat.sort()
    cell.firings, cell.expected = firings, expected
    cell.p50 = _ms(percentile(lat, 0.50))
    cell.p99 = _ms(percentile(lat, 0.99))
    cell.max = _ms(lat[-1] if lat else None)
    if drifts:
        cell.drift_avg = _ms(statistics.fmean(drifts))
        cell.drift_max = _ms(max(drifts, key=abs))
        if len(drifts) >= 2:
            cell.drift_se = _ms(statistics.stdev(drifts) / math.sqrt(len(drifts)))


# --------------------------------------------------------------------------- scenarios


@dataclass
class Scenario:
    key: str
    title: str
    aligned: bool = False
    hog: bool = False
    switch_interval: float | None = None
    cells: list[Cell] = field(default_factory=list)

    def get(self, mech: str, n: int) -> Cell | None:
        for c in self.cells:
            if c.mech == mech and c.n == n:
                return c
        return None


def run_scenario(
    sc: Scenario, sizes: Sequence[int], timing: Timing, mechs: list[Mechanism], log: Any, reps: int = 1
) -> None:
    old = sys.getswitchinterval()
    if sc.switch_interval is not None:
        sys.setswitchinterval(sc.switch_interval)
    try:
        for n in sizes:
            runnable = []
            for mech in mechs:
                if isinstance(mech, ThreadPerSchedule) and n > mech.max_n:
                    sc.cells.append(
                        Cell(mech.name, n, skipped=f"one OS thread per schedule: not run above N={mech.max_n}")
                    )
                else:
                    runnable.append(mech)
            runs: dict[str, list[Cell]] = {m.name: [] for m in runnable}
            # Repetitions take turns (bare, tickwork, APScheduler, ..., then again), so
            # a noisy spell on the machine falls on every mechanism alike rather than on
            # all the runs of one of them.
            for _ in range(reps):
                for mech in runnable:
                    t = time.monotonic()
                    cell = run_cell(mech, n, sc.aligned, timing, sc.hog)
                    runs[mech.name].append(cell)
                    print(
                        f"  [{sc.key}] {mech.name:<16} N={n:<5} p99={fmt_num(cell.p99, 3)} ms "
                        f"({time.monotonic() - t:.1f} s)",
                        file=log,
                        flush=True,
                    )
            sc.cells += [_median_run(runs[m.name]) for m in runnable]
    finally:
        sys.setswitchinterval(old)


def _median_run(runs: list[Cell]) -> Cell:
    """With --reps R: the run whose p99 is the median (the lower middle one for an
    even R; the same rule for every mechanism), noting what the others measured."""
    if len(runs) == 1:
        return runs[0]
    measured = sorted((c for c in runs if c.p99 is not None), key=lambda c: c.p99)  # type: ignore[arg-type, return-value]
    if not measured:
        return runs[0]
    shown = measured[(len(measured) - 1) // 2]
    others = ", ".join(fmt_num(c.p99, 3) for c in runs if c is not shown)
    shown.notes.append(f"median p99 of {len(runs)} runs; the other runs' p99: {others} ms")
    return shown


def render(sc: Scenario, sizes: Sequence[int]) -> str:
    headers = [
        "mechanism", "N", "p50 ms", "p99 ms", "max ms", "drift avg ms", "drift max ms",
        "firings", "lost", "p99 vs bare", "p99 vs APS",
    ]
    rows: list[Any] = []
    notes: list[str] = []
    for mech in MECHANISMS:
        for n in sizes:
            c = sc.get(mech, n)
            if c is None:
                continue
            if c.skipped:
                rows.append([mech, n] + [NA] * 9)
                notes.append(f"{mech} N={n}: {c.skipped}")
                continue
            bare = sc.get("bare loop", n)
            aps = sc.get("APScheduler", n)
            rows.append([
                mech,
                n,
                fmt_num(c.p50, 3),
                fmt_num(c.p99, 3),
                fmt_num(c.max, 3),
                fmt_num(c.drift_avg, 3),
                fmt_num(c.drift_max, 3),
                f"{c.firings}/{c.expected}",
                c.lost,
                fmt_ratio(c.p99, bare.p99 if bare and not bare.skipped else None),
                fmt_ratio(c.p99, aps.p99 if aps and not aps.skipped else None),
            ])
            notes += [f"{mech} N={n}: {x}" for x in c.notes]
            if c.cross:
                x = c.cross
                notes.append(
                    f"tickwork N={n} self-reported (get_execution_stats: last 10k runs, grace included): "
                    f"lateness p50 {fmt_num(x['self_p50_ms'], 3)} p99 {fmt_num(x['self_p99_ms'], 3)} "
                    f"max {fmt_num(x['self_max_ms'], 3)} ms; {x['total']} runs, {x['missed']} firings coalesced"
                )
                notes.append(
                    f"tickwork N={n} last {x['results']} ScheduleResults: scheduled_time = the external due time "
                    f"for {x['agree']}, differs for {x['disagree']} (after a coalesced firing), unmatched "
                    f"{x['unmatched']}; start_time -> target call p50 {fmt_num(x['overhead_p50_ms'], 3)} "
                    f"max {fmt_num(x['overhead_max_ms'], 3)} ms"
                )
        rows.append("")
    rows.pop()
    text = format_table(headers, rows, left=1)
    if notes:
        text += "\n" + "\n".join(f"  note: {x}" for x in notes)
    return text


def _p99(sc: Scenario, mech: str, n: int) -> float | None:
    c = sc.get(mech, n)
    return None if c is None or c.skipped else c.p99


def targets_report(scenarios: dict[str, Scenario], sizes: Sequence[int]) -> list[str]:
    out = []

    def verdict(ok: bool | None) -> str:
        return "n/a " if ok is None else ("PASS" if ok else "FAIL")

    st = scenarios.get("staggered")
    if st is not None:
        for n in sizes:
            tw, bare, aps = _p99(st, "tickwork", n), _p99(st, "bare loop", n), _p99(st, "APScheduler", n)
            ok1 = None if tw is None or bare is None else tw <= STAGGERED_VS_BARE * bare
            out.append(
                f"{verdict(ok1)}  staggered N={n}: tickwork p99 {fmt_num(tw, 3)} ms <= "
                f"{STAGGERED_VS_BARE:g} x bare loop p99 {fmt_num(bare, 3)} ms ({fmt_ratio(tw, bare)})"
            )
            ok2 = None if tw is None or aps is None else tw <= aps
            out.append(
                f"{verdict(ok2)}  staggered N={n}: tickwork p99 {fmt_num(tw, 3)} ms <= "
                f"APScheduler p99 {fmt_num(aps, 3)} ms ({fmt_ratio(tw, aps)})"
            )
    al = scenarios.get("aligned")
    if al is not None:
        for n in sizes:
            tw, aps = _p99(al, "tickwork", n), _p99(al, "APScheduler", n)
            ok = None if tw is None or aps is None else tw <= ALIGNED_VS_APS * aps
            out.append(
                f"{verdict(ok)}  aligned N={n}: tickwork p99 {fmt_num(tw, 3)} ms <= "
                f"{ALIGNED_VS_APS:g} x APScheduler p99 {fmt_num(aps, 3)} ms ({fmt_ratio(tw, aps)})"
            )
    for sc in scenarios.values():
        for n in sizes:
            c = sc.get("tickwork", n)
            if c is None or c.skipped or c.drift_avg is None:
                continue
            tol = DRIFT_TOLERANCE_MS
            se = c.drift_se or 0.0
            within = abs(c.drift_avg) <= max(tol, 3 * se)
            ok = within and c.lost == 0
            out.append(
                f"{verdict(ok)}  {sc.key} N={n}: tickwork cumulative drift ~0: avg {c.drift_avg:+.3f} ms "
                f"(tolerance max({tol:g} ms, 3 x s.e. {se:.3f} ms)), max {c.drift_max:+.3f} ms, "
                f"{c.lost} firings lost"
            )
    return out


def _loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return NA


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke run: N = 10, 100 and 1 s per cell (~45 s)")
    ap.add_argument(
        "--seconds",
        type=float,
        default=None,
        help=f"measured seconds per cell (default {SECONDS}, quick {QUICK_SECONDS})",
    )
    ap.add_argument("--sizes", type=str, default=None, help="comma-separated N values (default 10,100,1000)")
    ap.add_argument(
        "--reps",
        type=int,
        default=1,
        help="runs of each cell; the one with the median p99 is shown (default 1; 3 steadies p99 on a noisy machine)",
    )
    args = ap.parse_args(argv)
    sizes = tuple(int(x) for x in args.sizes.split(",")) if args.sizes else (QUICK_SIZES if args.quick else SIZES)
    seconds = args.seconds if args.seconds is not None else (QUICK_SECONDS if args.quick else SECONDS)
    timing = (
        Timing(seconds, QUICK_WARMUP, QUICK_GRACE, 0.1) if args.quick else Timing(seconds, WARMUP, GRACE, 0.25)
    )
    log = sys.stderr

    default_si = sys.getswitchinterval()
    scenarios = {
        "staggered": Scenario("staggered", "staggered: firings spread evenly over each interval"),
        "aligned": Scenario(
            "aligned", "aligned: one common anchor, firings coincide on the 10 ms grid", aligned=True
        ),
        "hog": Scenario(
            "hog",
            f"staggered + CPU-bound Python thread, switch interval {default_si * 1e3:g} ms (default)",
            hog=True,
        ),
        "hog-si": Scenario(
            "hog-si",
            f"staggered + CPU-bound Python thread, sys.setswitchinterval({SMALL_SWITCH_INTERVAL:g})",
            hog=True,
            switch_interval=SMALL_SWITCH_INTERVAL,
        ),
    }
    mechs: list[Mechanism] = [BareLoop(), Tickwork(), APScheduler(), ThreadPerSchedule()]

    print("Firing lateness and cumulative drift (lateness = target call - due time, time.monotonic_ns)")
    print(env_header(("pykka", "msgspec", "apscheduler")))
    print(
        f"N in {', '.join(map(str, sizes))}; intervals 10..100 ms (10 ms * (1 + i % 10)); "
        f"per cell: {timing.warmup:g} s warm-up (not measured), {timing.seconds:g} s measured, "
        f"{timing.grace:g} s grace; switch interval {default_si * 1e3:g} ms"
        + (f"; each cell run {args.reps} times, the median p99 run shown" if args.reps > 1 else "")
    )
    print(f"load average before the run: {_loadavg()} (other processes share these CPUs)")
    print("offered load: " + ", ".join(f"N={n}: {offered_rate(n):,.0f} firings/s" for n in sizes))
    if APS_ERROR:
        print(f"APScheduler rows: n/a ({APS_ERROR})")
    print(flush=True)

    t_start = time.monotonic()
    for i, sc in enumerate(scenarios.values(), 1):
        print(f"running scenario {i}/{len(scenarios)}: {sc.title}", file=log, flush=True)
        run_scenario(sc, sizes, timing, mechs, log, max(1, args.reps))
        print(f"Scenario {i}/{len(scenarios)} - {sc.title}")
        print(render(sc, sizes))
        print(flush=True)

    print("Switch interval effect (staggered + CPU hog): p99 ms at the default vs "
          f"{SMALL_SWITCH_INTERVAL * 1e3:g} ms switch interval")
    rows = []
    for mech in MECHANISMS:
        for n in sizes:
            a, b = _p99(scenarios["hog"], mech, n), _p99(scenarios["hog-si"], mech, n)
            base = _p99(scenarios["staggered"], mech, n)
            rows.append([mech, n, fmt_num(base, 3), fmt_num(a, 3), fmt_num(b, 3), fmt_ratio(a, b)])
    print(format_table(["mechanism", "N", "no hog", f"hog, {default_si * 1e3:g} ms",
                        f"hog, {SMALL_SWITCH_INTERVAL * 1e3:g} ms", "improvement"], rows))
    print()
    print("Targets (computed from this run):")
    for line in targets_report(scenarios, sizes):
        print("  " + line)
    print(f"\ntotal time {time.monotonic() - t_start:.0f} s; load average after the run: {_loadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
