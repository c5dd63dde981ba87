"""Scale: creating, cancelling, holding and firing many schedules: tickwork beside
APScheduler 3.x's ``BackgroundScheduler``, at N = 1,000, 10,000 and 100,000
schedules, then tickwork alone holding N = 1,000,000.

Run: ``python benchmarks/scale_bench.py`` (about 5 minutes on 2 cores), or
``--quick`` for a ~1 minute smoke run (N = 1,000 and 10,000, shorter windows, no
1,000,000 run).  Progress goes to stderr, the tables to stdout.  APScheduler
(3.x) is optional (``pip install -e '.[bench]'``); without it its cells read "n/a".

Every cell (one measurement, one mechanism, one N) runs in a fresh subprocess
(``sys.executable`` running this file with the hidden ``--child`` option, which
prints its result as JSON), so RSS deltas, leftover threads and allocator state
never leak from one cell into the next.  Cells run one after another, never two
at once.

The mechanisms
--------------
* tickwork: ``Scheduler(daemon=True)``, defaults otherwise (the header prints
  them: dispatcher threads and execution threads), started before anything is
  measured.
* APScheduler: ``BackgroundScheduler(timezone=UTC, daemon=True)`` with a
  ``ThreadPoolExecutor(8)`` (as many workers as tickwork's execution threads),
  job defaults ``coalesce=True`` (its equivalent of tickwork's coalescing of
  overdue firings), ``misfire_grace_time=None`` (a late run is never dropped
  for being late) and ``max_instances=1`` (its default).  Its logger is set to
  ERROR so skipped-run warnings are counted, not printed.

The target is the same trivial function for both.

The measurements
----------------
1. create / cancel: N times ``sched.schedule_at_interval(f, (), 3600)`` (APS:
   ``add_job(f, "interval", seconds=3600)``), then N times
   ``sched.cancel_schedule(id)`` (APS: ``remove_job(id)``), scheduler running,
   µs per schedule.  tickwork's actors arm their deadlines asynchronously, so
   its times include a final ``wait_idle()`` (until every new schedule is
   armed); APScheduler's calls are synchronous.  tickwork starts lazily (the
   first scheduling call starts the runtime): there is no "create before start"
   mode, so none is reported.  100 schedules are created and cancelled first
   (warm-up, not measured).
2. memory: RSS (``/proc/self/statm``, after ``gc.collect()``) after creating the
   N schedules of (1) minus RSS before, divided by N.  The list holding the N ids
   is allocated before the baseline.
3. sustained firings: N schedules staggered evenly over one interval, interval
   ``N / R s`` for two offered loads R: 100,000 firings/s (1,000 at 10 ms, 10,000
   at 100 ms, 100,000 at 1 s) and 300,000 firings/s (3.3 ms, 33 ms, 333 ms).
   Both exceed what either mechanism runs on 2 cores, but APScheduler does best
   at the lighter overload and tickwork may keep up with it at N = 1,000, so
   each mechanism's capacity (and the target's ratio) is its *best* rate of
   the two loads.  The
   schedules are anchored in the future so nothing fires while they are
   created; after the first firings, 1 s of warm-up, then a 5 s window:
   executed targets per second (the target counts itself), CPU % of the whole
   process (``os.times()`` user + system over wall time; 200 % = both cores),
   and missed firings per second as each reports it (tickwork:
   ``get_execution_stats()["missed_executions"]``, firings coalesced into a
   later run; APScheduler: ``EVENT_JOB_MISSED`` + ``EVENT_JOB_MAX_INSTANCES``
   events -- note that APScheduler's coalescing drops overdue run times without
   any event, so its self-reported number undercounts; "% of offered" is the
   comparable figure).
4. aligned herd: N schedules all due on the same whole seconds.  tickwork:
   ``ScheduleAt.at_interval(Duration.from_seconds(1), start=T)`` with one common
   whole-second Timestamp ``T`` (first firing ``T + 1 s``); APScheduler:
   ``IntervalTrigger(seconds=1, start_date=T + 1 s)`` (its first run *is*
   start_date), so both have due times ``T + k s``.  ``T`` is chosen so creation
   ends before the first herd.  Herds ``k = 1..5`` are measured; then 1 s of
   grace (3 s at N >= 100,000): a run counts if its target was called before
   the end of the grace period.  Then tickwork's schedules are cancelled and
   ``wait_idle()`` waits until every run is recorded (under overload its records
   trail the runs by seconds), the records are read and the scheduler is
   stopped.  The target returns ``time.time()`` read inside it;
   each mechanism's own record of the run (tickwork's ``ScheduleResult``,
   kept with ``history_size`` large enough; APScheduler's ``EVENT_JOB_EXECUTED``
   event) carries that return value beside the due time it served, so
   lateness = call time - due time is exact even when a run is seconds late or
   serves a later second after coalescing.  missed = N x 5 - (schedule, second)
   pairs that ran.  tickwork's own lateness (``ScheduleResult.start_time -
   scheduled_time``, the same runs) is shown beside it.
5. 1,000,000 schedules, tickwork only, 1 h interval (nothing fires): creation
   µs per schedule (including ``wait_idle()``), RSS per schedule and the time
   ``stop()`` takes with all of them active.  It gives up after 3 minutes of
   creation or 16 GiB of RSS and reports how far it got.

Ratios are phrased so that > 1 means tickwork is better.  The "Targets" block at
the end is computed from this run.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import math
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
_ROOT = _HERE.parent
if (_ROOT / "actors" / "__init__.py").exists() and str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

from _common import NA, env_header, fmt_num, fmt_ratio, format_table, percentile

try:  # optional extra
    import apscheduler  # noqa: F401

    APS_ERROR: str | None = None
except ImportError as _exc:  # pragma: no cover - depends on the environment
    APS_ERROR = f"APScheduler is not importable ({_exc})"

MECHS = ("tickwork", "APScheduler")
SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (1_000, 10_000)
#: Interval of schedules that must never fire during a measurement (seconds).
LONG_INTERVAL = 3600.0
WARMUP_SCHEDULES = 100
#: Offered loads of the sustained measurement: N schedules every N / rate s; each
#: load is its own cell kind ("sustained" + "100k"...).
OFFERED_RATES = (100_000, 300_000)


def _ms_text(ms: float) -> str:
    return f"{ms:,.0f} ms" if ms >= 100 else f"{ms:.3g} ms"


def _sustained_kind(rate: int) -> str:
    return f"sustained{rate // 1000}k"
SUSTAINED_WARMUP, SUSTAINED_SECONDS = 1.0, 5.0
QUICK_SUSTAINED_WARMUP, QUICK_SUSTAINED_SECONDS = 0.5, 2.0
HERD_SECONDS, QUICK_HERD_SECONDS = 5, 3
#: Seconds after the last measured herd during which late runs still count.
HERD_GRACE, HERD_GRACE_LARGE, HERD_LARGE_N = 1, 3, 100_000
APS_WORKERS = 8
#: Each cell runs REPS times (alternating which mechanism goes first); the run with
#: the least CPU used by other processes is shown, the others are listed in a note.
REPS = 2
MILLION = 1_000_000
MILLION_BUDGET_S = 180.0
MILLION_RSS_CAP = 16 << 30
#: Used when no create measurement exists to plan the lead time before firings.
DEFAULT_CREATE_US = 150.0

#: Targets the project tracks.
TARGET_CREATE_CANCEL_US = 20.0
TARGET_RSS_BYTES = 1024
TARGET_SUSTAINED_X = 3.0
TARGET_HERD_N = 10_000
TARGET_HERD_P99_FRACTION = 0.25

_MARK = "@@"  # prefix of the child's JSON lines on stdout


# =========================================================================== child side


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _busy() -> tuple[float, float]:
    """(CPU seconds used by the whole machine, by this process) so far."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        machine = (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait
    except (OSError, ValueError, IndexError):
        machine = math.nan
    t = os.times()
    return machine, t.user + t.system


def _others_pct(b0: tuple[float, float], b1: tuple[float, float], wall: float) -> float | None:
    """CPU % used by other processes between two `_busy` readings (100 = one core)."""
    v = ((b1[0] - b0[0]) - (b1[1] - b0[1])) / wall * 100
    return None if math.isnan(v) else max(0.0, v)


def _emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(_MARK + json.dumps(obj) + "\n")
    sys.stdout.flush()


def _settle_memory() -> int:
    gc.collect()
    time.sleep(0.05)
    gc.collect()
    return _rss()


def _sleep_until_wall(t: float) -> None:
    while True:
        d = t - time.time()
        if d <= 0:
            return
        time.sleep(min(d, 0.5))


def _noop() -> None:
    pass


class TickworkMech:
    name = "tickwork"

    def __init__(self, history_size: int = 1000) -> None:
        from actors import Scheduler

        self.s = Scheduler(daemon=True, history_size=history_size, name="tw")
        self.s.start()

    def create_interval(self, ids: list[Any], fn: Callable[[], Any], seconds: float) -> None:
        add = self.s.schedule_at_interval
        for i in range(len(ids)):
            ids[i] = add(fn, (), seconds)

    def cancel_all(self, ids: list[Any]) -> int:
        cancel = self.s.cancel_schedule
        ok = 0
        for sid in ids:
            ok += cancel(sid)
        return ok

    def create_anchored(self, n: int, fn: Callable[[], Any], every_us: int, anchor_us: Callable[[int], int]) -> None:
        """Schedule i fires at anchor_us(i) + k * every_us, k = 1, 2, ..."""
        from timekit import Duration, ScheduleAt, Timestamp

        every = Duration(every_us)
        schedule = self.s.schedule
        shared: dict[int, Any] = {}
        for i in range(n):
            a = anchor_us(i)
            trig = shared.get(a)
            if trig is None:
                trig = shared[a] = ScheduleAt.at_interval(every, start=Timestamp.from_micros(a))
            schedule(fn, (), trig)

    def settle(self, timeout: float = 300.0) -> bool:
        return self.s.wait_idle(timeout)

    def missed(self) -> int:
        return int(self.s.get_execution_stats()["missed_executions"])

    def health(self) -> str | None:
        """Trouble tickwork reports about itself (restarted actors, failed runs), or None."""
        st = self.s.get_execution_stats()
        bad = {k: st.get(k) for k in ("restarts", "failed_executions", "callback_errors")}
        bad = {k: v for k, v in bad.items() if v}
        return None if not bad else ", ".join(f"{k} {v}" for k, v in bad.items())

    def records(self) -> list[tuple[int, float, float, float, int]]:
        """(schedule id, due s, target's time.time(), tickwork's own start s, missed) per run."""
        return [
            (r.schedule_id, r.scheduled_time.micros / 1e6, r.return_value, r.start_time.micros / 1e6, r.missed)
            for r in self.s.get_execution_metrics()
            if r.success
        ]

    def self_missed_in(self, grid: set[int]) -> int | None:
        return None  # taken from the records (their ``missed`` field)

    def freeze(self) -> bool:
        """End of a herd window: no further firing starts, and every run that did is recorded.

        tickwork records a run when its actor has handled the run's completion, which
        under overload queues behind the ticks in the actors' mailboxes (seconds at
        N = 100,000), so the history is read only once the runtime is idle.
        """
        self.s.cancel_all()
        return self.s.wait_idle(120.0)

    def stop(self) -> bool:
        return bool(self.s.stop(timeout=120.0))


class APSMech:
    name = "APScheduler"

    def __init__(self, record_executed: bool = False) -> None:
        import logging
        from datetime import timezone

        from apscheduler.events import EVENT_JOB_EXECUTED, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler

        logging.getLogger("apscheduler").setLevel(logging.ERROR)  # skipped runs are counted, not logged
        self.utc = timezone.utc
        self.n_missed = 0
        self.n_max_instances = 0
        self.skipped_times: list[float] = []
        self.executed: list[tuple[str, Any, Any]] = []
        self.s = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(APS_WORKERS)},
            job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1},
            timezone=self.utc,
            daemon=True,
        )

        def on_skip(ev: Any) -> None:
            if ev.code == EVENT_JOB_MISSED:
                self.n_missed += 1
                if record_executed:
                    self.skipped_times.append(ev.scheduled_run_time.timestamp())
            else:
                self.n_max_instances += 1
                if record_executed:
                    self.skipped_times.extend(t.timestamp() for t in ev.scheduled_run_times)

        self.s.add_listener(on_skip, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
        if record_executed:
            append = self.executed.append

            def on_executed(ev: Any) -> None:
                append((ev.job_id, ev.scheduled_run_time, ev.retval))

            self.s.add_listener(on_executed, EVENT_JOB_EXECUTED)
        self.s.start()

    def create_interval(self, ids: list[Any], fn: Callable[[], Any], seconds: float) -> None:
        add = self.s.add_job
        for i in range(len(ids)):
            ids[i] = add(fn, "interval", seconds=seconds).id

    def cancel_all(self, ids: list[Any]) -> int:
        remove = self.s.remove_job
        for jid in ids:
            remove(jid)
        return len(ids)

    def create_anchored(self, n: int, fn: Callable[[], Any], every_us: int, anchor_us: Callable[[int], int]) -> None:
        from datetime import datetime

        add = self.s.add_job
        utc = self.utc
        every_s = every_us / 1e6
        for i in range(n):
            first = anchor_us(i) + every_us  # APScheduler's first run is start_date itself
            start = datetime.fromtimestamp(first // 1_000_000, utc).replace(microsecond=first % 1_000_000)
            add(fn, "interval", seconds=every_s, start_date=start)

    def settle(self, timeout: float = 300.0) -> bool:
        return True  # add_job / remove_job are synchronous

    def missed(self) -> int:
        return self.n_missed + self.n_max_instances

    def health(self) -> str | None:
        return None

    def records(self) -> list[tuple[str, float, float, float | None, int]]:
        return [(jid, t.timestamp(), ret, None, 0) for jid, t, ret in list(self.executed)]

    def freeze(self) -> bool:
        """End of a herd window: runs are recorded (EVENT_JOB_EXECUTED) as they end."""
        time.sleep(0.2)  # let runs in progress at the deadline post their events
        return True

    def self_missed_in(self, grid: set[int]) -> int | None:
        return sum(1 for t in self.skipped_times if round(t) in grid and abs(t - round(t)) < 1e-3)

    def stop(self) -> bool:
        self.s.shutdown(wait=True)
        return True


def _make(mech: str, **kw: Any) -> Any:
    if mech == "tickwork":
        return TickworkMech(history_size=kw.get("history_size", 1000))
    return APSMech(record_executed=kw.get("record_executed", False))


def _warm_up(m: Any) -> None:
    """Run the create and cancel paths once (first-use imports and allocations)."""
    ids: list[Any] = [None] * WARMUP_SCHEDULES
    m.create_interval(ids, _noop, LONG_INTERVAL)
    m.settle()
    m.cancel_all(ids)
    m.settle()
    if isinstance(m, TickworkMech):
        m.s.clear_completed_schedules()


def child_lifecycle(mech: str, n: int) -> dict[str, Any]:
    m = _make(mech)
    _warm_up(m)
    ids: list[Any] = [None] * n
    r0 = _settle_memory()
    b0 = _busy()
    t0 = time.perf_counter()
    m.create_interval(ids, _noop, LONG_INTERVAL)
    t1 = time.perf_counter()
    settled = m.settle()
    t2 = time.perf_counter()
    r1 = _settle_memory()
    t3 = time.perf_counter()
    cancelled = m.cancel_all(ids)
    t4 = time.perf_counter()
    settled = m.settle() and settled
    t5 = time.perf_counter()
    others = _others_pct(b0, _busy(), t5 - t0)
    health = m.health()
    stop_ok = m.stop()
    t6 = time.perf_counter()
    return {
        "create_us": (t2 - t0) / n * 1e6,
        "create_calls_us": (t1 - t0) / n * 1e6,
        "cancel_us": (t5 - t3) / n * 1e6,
        "cancel_calls_us": (t4 - t3) / n * 1e6,
        "rss_per": (r1 - r0) / n,
        "rss_before": r0,
        "rss_after": r1,
        "cancelled": cancelled,
        "settled": settled,
        "stop_s": t6 - t5,
        "stop_ok": stop_ok,
        "others_pct": others,
        "health": health,
    }


def child_sustained(
    mech: str, n: int, warmup: float, seconds: float, create_est_s: float, offered_rate: int
) -> dict[str, Any]:
    m = _make(mech)
    cnt = itertools.count()
    tick = cnt.__next__

    def target() -> None:
        tick()

    every_us = round(n / offered_rate * 1e6)
    # Anchors in the future, so nothing fires while the schedules are created.
    anchor0 = (int((time.time() + create_est_s + 0.3) * 1e6) // 1000) * 1000
    t0 = time.perf_counter()
    m.create_anchored(n, target, every_us, lambda i: anchor0 + (i * every_us) // n)
    m.settle()
    create_s = time.perf_counter() - t0
    ready = time.time()
    first_due = (anchor0 + every_us) / 1e6
    _sleep_until_wall(max(first_due, ready) + warmup)
    fired_before = tick()
    w0 = time.monotonic()
    c0 = os.times()
    b0 = _busy()
    missed0 = m.missed()
    time.sleep(seconds)
    fired_after = tick()
    w1 = time.monotonic()
    c1 = os.times()
    b1 = _busy()
    missed1 = m.missed()
    executed = fired_after - fired_before - 1
    wall = w1 - w0
    cpu = (c1.user + c1.system) - (c0.user + c0.system)
    health = m.health()
    t = time.perf_counter()
    stop_ok = m.stop()
    stop_s = time.perf_counter() - t
    return {
        "interval_s": every_us / 1e6,
        "offered": n / (every_us / 1e6),
        "rate": executed / wall,
        "cpu_pct": cpu / wall * 100,
        "per_cpu_s": executed / cpu if cpu > 0 else None,
        "missed_rate": (missed1 - missed0) / wall,
        "create_s": create_s,
        "late_start_s": max(0.0, ready - first_due),
        "others_pct": _others_pct(b0, b1, wall),
        "health": health,
        "stop_s": stop_s,
        "stop_ok": stop_ok,
    }


def child_herd(mech: str, n: int, herds: int, grace: int, create_est_s: float) -> dict[str, Any]:
    if mech == "tickwork":
        m = _make(mech, history_size=n * (herds + grace + 3))
    else:
        m = _make(mech, record_executed=True)
    time_time = time.time

    def target() -> float:
        return time_time()

    base = math.ceil(time.time() + create_est_s + 0.3)  # T: the common whole second
    grid = [base + k for k in range(1, herds + 1)]
    t0 = time.perf_counter()
    m.create_anchored(n, target, 1_000_000, lambda i: base * 1_000_000)
    m.settle()
    create_s = time.perf_counter() - t0
    ready = time.time()
    deadline = grid[-1] + grace  # runs whose target was called after this do not count
    _sleep_until_wall(grid[0])
    b0 = _busy()
    _sleep_until_wall(deadline)
    b1 = _busy()
    t = time.perf_counter()
    frozen = m.freeze()
    recs = m.records()
    records_s = time.perf_counter() - t
    health = m.health()
    t = time.perf_counter()
    stop_ok = m.stop()
    stop_s = time.perf_counter() - t

    gridset = set(grid)
    lat: list[float] = []
    own: list[float] = []
    per_herd_ran = dict.fromkeys(grid, 0)
    per_herd_max = dict.fromkeys(grid, 0.0)
    pairs: set[tuple[Any, int]] = set()
    ran = 0
    off_grid = 0
    self_missed = 0
    after_deadline = 0
    for sid, due, called, started, missed in recs:
        if called > deadline:
            after_deadline += 1
            continue
        k = round(due)
        if abs(due - k) > 1e-3:
            off_grid += 1
            continue
        if k not in gridset:
            continue
        ran += 1
        pairs.add((sid, k))
        late = called - due
        lat.append(late)
        per_herd_ran[k] += 1
        per_herd_max[k] = max(per_herd_max[k], late)
        if started is not None:
            own.append(started - due)
            self_missed += missed
    lat.sort()
    own.sort()

    def pct(v: list[float], q: float) -> float | None:
        x = percentile(v, q)
        return None if x is None else x * 1e3

    aps_self = m.self_missed_in(gridset)
    return {
        "expected": n * herds,
        "ran": ran,
        "unique": len(pairs),
        "missed": n * herds - len(pairs),
        "p50_ms": pct(lat, 0.50),
        "p99_ms": pct(lat, 0.99),
        "max_ms": lat[-1] * 1e3 if lat else None,
        "min_ms": lat[0] * 1e3 if lat else None,
        "own_p50_ms": pct(own, 0.50),
        "own_p99_ms": pct(own, 0.99),
        "own_max_ms": own[-1] * 1e3 if own else None,
        "self_missed": self_missed if mech == "tickwork" else aps_self,
        "per_herd": [[per_herd_ran[k], per_herd_max[k] * 1e3] for k in grid],
        "records": len(recs),
        "off_grid": off_grid,
        "create_s": create_s,
        "ready_vs_first_s": ready - grid[0],
        "records_s": records_s,
        "frozen": frozen,
        "others_pct": _others_pct(b0, b1, deadline - grid[0]),
        "health": health,
        "after_deadline": after_deadline,
        "stop_s": stop_s,
        "stop_ok": stop_ok,
    }


def child_million(n: int, budget_s: float, rss_cap: int) -> dict[str, Any]:
    m = TickworkMech()
    _warm_up(m)
    add = m.s.schedule_at_interval
    r0 = _settle_memory()
    _emit({"progress": "baseline", "rss": r0})
    created = 0
    aborted = None
    chunk = 50_000
    t0 = time.perf_counter()
    while created < n:
        for _ in range(min(chunk, n - created)):
            add(_noop, (), LONG_INTERVAL)
        created = min(n, created + chunk)
        el = time.perf_counter() - t0
        rss = _rss()
        _emit({"progress": "created", "created": created, "elapsed_s": el, "rss": rss})
        if el > budget_s:
            aborted = f"creation exceeded {budget_s:.0f} s at {created:,} schedules"
            break
        if rss > rss_cap:
            aborted = f"RSS exceeded {rss_cap / 2**30:.0f} GiB at {created:,} schedules"
            break
    t1 = time.perf_counter()
    settled = m.settle(timeout=120.0)
    t2 = time.perf_counter()
    r1 = _settle_memory()
    _emit({"progress": "settled", "created": created, "elapsed_s": t2 - t0, "rss": r1})
    health = m.health()
    t3 = time.perf_counter()
    stop_ok = m.stop()
    t4 = time.perf_counter()
    return {
        "n": n,
        "created": created,
        "aborted": aborted,
        "create_us": (t2 - t0) / created * 1e6,
        "create_calls_us": (t1 - t0) / created * 1e6,
        "settle_s": t2 - t1,
        "settled": settled,
        "rss_per": (r1 - r0) / created,
        "rss_total": r1,
        "stop_s": t4 - t3,
        "stop_ok": stop_ok,
        "health": health,
    }


def child_main(spec: dict[str, Any]) -> None:
    kind = spec["kind"]
    try:
        if kind == "lifecycle":
            out = child_lifecycle(spec["mech"], spec["n"])
        elif kind.startswith("sustained"):
            out = child_sustained(
                spec["mech"], spec["n"], spec["warmup"], spec["seconds"], spec["create_est_s"], spec["offered_rate"]
            )
        elif kind == "herd":
            out = child_herd(spec["mech"], spec["n"], spec["herds"], spec["grace"], spec["create_est_s"])
        elif kind == "million":
            out = child_million(spec["n"], spec["budget_s"], spec["rss_cap"])
        else:
            raise ValueError(f"unknown cell kind {kind!r}")
        _emit({"result": out})
    except BaseException as exc:  # report, do not hang
        _emit({"error": f"{type(exc).__name__}: {exc}"})
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # every scheduler was stopped already; do not wait for stray threads


# =========================================================================== parent side


class Cell:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.result: dict[str, Any] | None = None
        self.error: str | None = None
        self.progress: list[dict[str, Any]] = []
        self.seconds = 0.0
        self.peak_rss: int | None = None

    @property
    def ok(self) -> bool:
        return self.result is not None

    def get(self, key: str) -> Any:
        return None if self.result is None else self.result.get(key)


def run_child(spec: dict[str, Any], timeout: float) -> Cell:
    cell = Cell(spec)
    t = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    done = threading.Event()

    def reader() -> None:
        assert proc.stdout is not None
        lines.extend(proc.stdout)
        done.set()

    err_chunks: list[str] = []

    def err_reader() -> None:
        assert proc.stderr is not None
        err_chunks.append(proc.stderr.read())

    threads = [threading.Thread(target=reader, daemon=True), threading.Thread(target=err_reader, daemon=True)]
    for th in threads:
        th.start()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        cell.error = f"killed after {timeout:.0f} s (time limit)"
    for th in threads:
        th.join(5)
    cell.seconds = time.monotonic() - t
    for line in lines:
        if not line.startswith(_MARK):
            continue
        obj = json.loads(line[len(_MARK):])
        if "result" in obj:
            cell.result = obj["result"]
        elif "error" in obj:
            cell.error = obj["error"]
        elif "progress" in obj:
            cell.progress.append(obj)
    if cell.result is None and cell.error is None:
        tail = "".join(err_chunks).strip().splitlines()[-3:]
        how = f"exit status {proc.returncode}"
        if proc.returncode == -9:
            how += " (SIGKILL: out of memory?)"
        cell.error = how + (": " + " | ".join(tail) if tail else "")
    return cell


def _us(v: float | None) -> str:
    return fmt_num(v, 1)


def _x(better: float | None, worse: float | None) -> str:
    """Ratio so that > 1 means tickwork is better: pass (other, tickwork) for costs."""
    return fmt_ratio(better, worse)


def _verdict(ok: bool | None) -> str:
    return "n/a " if ok is None else ("PASS" if ok else "FAIL")


def _tickwork_defaults() -> str:
    """The Scheduler defaults this checkout runs with (they change as the runtime is tuned)."""
    try:
        import inspect

        from actors import Scheduler
        from actors import scheduler as scheduler_module

        params = inspect.signature(Scheduler.__init__).parameters
        execs = params["max_concurrent_executions"].default
        if execs is None:
            execs = getattr(scheduler_module, "DEFAULT_MAX_CONCURRENT", NA)
        return f"dispatcher_threads={params['dispatcher_threads'].default}, max_concurrent_executions={execs}"
    except Exception as exc:
        return f"defaults unknown ({type(exc).__name__})"


def _worktree_note() -> str | None:
    """Which library files differ from the commit in the header (the numbers include them)."""
    try:
        out = subprocess.run(
            ["git", "-C", str(_ROOT), "status", "--porcelain", "--", "actors", "timekit", "codec"],
            capture_output=True, text=True, timeout=5, check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    files = [line[3:] for line in out.splitlines() if line.strip()]
    if not files:
        return None
    return f"working tree differs from that commit in {len(files)} library file(s): {', '.join(files)}"


def _loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return NA


class Bench:
    def __init__(self, quick: bool, sizes: Sequence[int], million: bool, reps: int, log: Any) -> None:
        self.quick = quick
        self.sizes = tuple(sizes)
        self.million = million
        self.log = log
        self.reps = reps
        self.runs: dict[tuple[str, str, int], list[Cell]] = {}
        self.mechs = [m for m in MECHS if m == "tickwork" or APS_ERROR is None]

    @staticmethod
    def _pick_key(c: Cell) -> tuple[bool, float]:
        others = c.get("others_pct")
        return (not c.ok, others if others is not None else 0.0)

    def cell(self, kind: str, mech: str, n: int) -> Cell | None:
        """The run of a cell shown in the tables: one that worked, with the least CPU
        used by other processes while it measured."""
        runs = self.runs.get((kind, mech, n))
        return min(runs, key=self._pick_key) if runs else None

    def val(self, kind: str, mech: str, n: int, key: str) -> Any:
        c = self.cell(kind, mech, n)
        return None if c is None else c.get(key)

    def _run(self, kind: str, mech: str, n: int, spec: dict[str, Any], timeout: float) -> Cell:
        spec = {"kind": kind, "mech": mech, "n": n, **spec}
        print(f"  [{kind}] {mech:<11} N={n:<7,} ...", end="", file=self.log, flush=True)
        c = run_child(spec, timeout)
        self.runs.setdefault((kind, mech, n), []).append(c)
        others = c.get("others_pct")
        print(
            f" {c.seconds:.1f} s" + ("" if others is None else f", other processes {others:.0f}% CPU")
            + ("" if c.ok else f" ({c.error})"),
            file=self.log,
            flush=True,
        )
        return c

    def _create_est(self, mech: str, n: int) -> float:
        us = self.val("lifecycle", mech, n, "create_us") or DEFAULT_CREATE_US
        return 1.5 * us * n / 1e6 + 0.2

    def _order(self, rep: int) -> list[str]:
        return list(self.mechs) if rep % 2 == 0 else list(reversed(self.mechs))

    def run(self) -> None:
        log = self.log
        for rep in range(self.reps):
            print(f"measuring create / cancel / memory (run {rep + 1}/{self.reps})", file=log, flush=True)
            for n in self.sizes:
                for mech in self._order(rep):
                    self._run("lifecycle", mech, n, {}, 60 + n * 1e-3)
        warm, secs = (
            (QUICK_SUSTAINED_WARMUP, QUICK_SUSTAINED_SECONDS) if self.quick else (SUSTAINED_WARMUP, SUSTAINED_SECONDS)
        )
        for rep in range(self.reps):
            print(f"measuring sustained firings (run {rep + 1}/{self.reps})", file=log, flush=True)
            for rate in OFFERED_RATES:
                for n in self.sizes:
                    for mech in self._order(rep):
                        est = self._create_est(mech, n)
                        spec = {"warmup": warm, "seconds": secs, "create_est_s": est, "offered_rate": rate}
                        self._run(_sustained_kind(rate), mech, n, spec, 90 + 3 * est + warm + secs)
        herds = QUICK_HERD_SECONDS if self.quick else HERD_SECONDS
        for rep in range(self.reps):
            print(f"measuring aligned herds (run {rep + 1}/{self.reps})", file=log, flush=True)
            for n in self.sizes:
                grace = HERD_GRACE_LARGE if n >= HERD_LARGE_N else HERD_GRACE
                for mech in self._order(rep):
                    est = self._create_est(mech, n)
                    spec = {"herds": herds, "grace": grace, "create_est_s": est}
                    self._run("herd", mech, n, spec, 120 + 3 * est + herds + grace)
        if self.million:
            print("holding 1,000,000 tickwork schedules", file=log, flush=True)
            self._run(
                "million", "tickwork", MILLION,
                {"budget_s": MILLION_BUDGET_S, "rss_cap": MILLION_RSS_CAP},
                MILLION_BUDGET_S + 150,
            )

    # ------------------------------------------------------------------ tables
    def _others_note(self, kind: str) -> str:
        parts = []
        for n in self.sizes:
            for mech in MECHS:
                v = self.val(kind, mech, n, "others_pct")
                if v is not None:
                    parts.append(f"{mech} N={n:,} {v:.0f}%")
        if not parts:
            return ""
        return "\n  note: CPU used by other processes while measuring (100% = one core): " + ", ".join(parts)

    def _notes_for(self, kind: str) -> list[str]:
        out = []
        for (k, mech, n), runs in self.runs.items():
            for c in runs:
                if k == kind and not c.ok:
                    out.append(f"{mech} N={n:,}: a run failed: {c.error}")
                elif k == kind and c.get("health"):
                    out.append(f"{mech} N={n:,}: WARNING, {mech} reported trouble during a run: {c.get('health')}")
        return out

    def _other_runs_note(self, kind: str, show: Callable[[dict[str, Any]], str]) -> str:
        """What the runs not shown measured (each cell ran ``reps`` times)."""
        if self.reps < 2:
            return ""
        parts = []
        for n in self.sizes:
            for mech in MECHS:
                shown = self.cell(kind, mech, n)
                for c in self.runs.get((kind, mech, n), []):
                    if c is shown or not c.ok:
                        continue
                    others = c.get("others_pct")
                    parts.append(
                        f"{mech} N={n:,} {show(c.result or {})}"
                        + ("" if others is None else f" (others {others:.0f}%)")
                    )
        if not parts:
            return ""
        return (
            f"\n  note: each cell ran {self.reps} times; shown: the run with the least CPU used by other "
            "processes. The other runs: " + "; ".join(parts)
        )

    def table_lifecycle(self) -> str:
        headers = [
            "N", "tickwork create", "APS create", "tickwork x faster",
            "tickwork cancel", "APS cancel", "tickwork x faster",
        ]
        rows: list[Any] = []
        notes = self._notes_for("lifecycle")
        for n in self.sizes:
            tc, ac = self.val("lifecycle", "tickwork", n, "create_us"), self.val("lifecycle", "APScheduler", n, "create_us")
            tx, ax = self.val("lifecycle", "tickwork", n, "cancel_us"), self.val("lifecycle", "APScheduler", n, "cancel_us")
            rows.append([f"{n:,}", _us(tc), _us(ac), _x(ac, tc), _us(tx), _us(ax), _x(ax, tx)])
            c = self.cell("lifecycle", "tickwork", n)
            if c is not None and c.ok:
                notes.append(
                    f"tickwork N={n:,}: the calls alone: create {_us(c.get('create_calls_us'))} µs, cancel "
                    f"{_us(c.get('cancel_calls_us'))} µs; the rest is wait_idle(); stop() after cancelling "
                    f"{c.get('stop_s') * 1e3:.0f} ms"
                    + ("" if c.get("settled") else "; wait_idle() timed out")
                    + ("" if c.get("stop_ok") else "; stop() reported threads still running")
                )
        text = format_table(headers, rows)
        return (
            text
            + "".join(f"\n  note: {x}" for x in notes)
            + self._others_note("lifecycle")
            + self._other_runs_note(
                "lifecycle",
                lambda r: f"create {r['create_us']:.1f} µs, cancel {r['cancel_us']:.1f} µs, {r['rss_per']:.0f} B",
            )
        )

    def table_memory(self) -> str:
        headers = ["N", "tickwork B/schedule", "APS B/schedule", "tickwork x less memory", "tickwork RSS MiB", "APS RSS MiB"]
        rows: list[Any] = []
        for n in self.sizes:
            t, a = self.val("lifecycle", "tickwork", n, "rss_per"), self.val("lifecycle", "APScheduler", n, "rss_per")
            tr, ar = self.val("lifecycle", "tickwork", n, "rss_after"), self.val("lifecycle", "APScheduler", n, "rss_after")
            rows.append([
                f"{n:,}", fmt_num(t, 0), fmt_num(a, 0), _x(a, t),
                fmt_num(None if tr is None else tr / 2**20, 1), fmt_num(None if ar is None else ar / 2**20, 1),
            ])
        text = format_table(headers, rows)
        text += "".join(f"\n  note: {x}" for x in self._notes_for("lifecycle"))
        text += "\n  note: RSS MiB is the whole process with the N schedules (interpreter, libraries, threads included)"
        return text

    def best_rate(self, mech: str, n: int) -> float | None:
        """A mechanism's sustained capacity at N: its best rate over the offered loads."""
        rates = [self.val(_sustained_kind(r), mech, n, "rate") for r in OFFERED_RATES]
        known = [x for x in rates if x is not None]
        return max(known) if known else None

    def table_sustained(self) -> str:
        headers = [
            "N", "interval", "offered/s", "mechanism", "executed/s", "% offered", "CPU %",
            "firings/CPU-s", "missed/s (self)", "tickwork x more firings",
        ]
        rows: list[Any] = []
        notes: list[str] = []
        others, other_runs = "", ""
        for rate in OFFERED_RATES:
            kind = _sustained_kind(rate)
            notes += self._notes_for(kind)
            for n in self.sizes:
                tw = self.val(kind, "tickwork", n, "rate")
                aps = self.val(kind, "APScheduler", n, "rate")
                for mech in MECHS:
                    c = self.cell(kind, mech, n)
                    interval_ms = n / rate * 1e3
                    if c is None or not c.ok:
                        rows.append([f"{n:,}", _ms_text(interval_ms), f"{rate:,}", mech] + [NA] * 5
                                    + [_x(tw, aps) if mech == "tickwork" else ""])
                        if c is None and mech == "APScheduler":
                            notes.append(f"APScheduler N={n:,}: {APS_ERROR}")
                        continue
                    r = c.result or {}
                    rows.append([
                        f"{n:,}", _ms_text(r["interval_s"] * 1e3), f"{r['offered']:,.0f}", mech,
                        f"{r['rate']:,.0f}", fmt_num(r["rate"] / r["offered"] * 100, 1), fmt_num(r["cpu_pct"], 0),
                        fmt_num(r["per_cpu_s"], 0), f"{r['missed_rate']:,.0f}",
                        _x(tw, aps) if mech == "tickwork" else "",
                    ])
                    extra = (
                        f"{mech} N={n:,} at {rate:,}/s: created in {r['create_s']:.2f} s, "
                        f"stop() {r['stop_s'] * 1e3:.0f} ms"
                    )
                    if r["late_start_s"] > 0:
                        extra += f"; creation ended {r['late_start_s']:.2f} s after the first due time"
                    if not r["stop_ok"]:
                        extra += "; stop() reported threads still running"
                    notes.append(extra)
                rows.append("")
            others += self._others_note(kind)
            other_runs += self._other_runs_note(kind, lambda r: f"{r['rate']:,.0f}/s, CPU {r['cpu_pct']:.0f}%")
        rows.pop()
        for n in self.sizes:
            tw, aps = self.best_rate("tickwork", n), self.best_rate("APScheduler", n)
            notes.append(
                f"capacity (best of the two loads) at N={n:,}: tickwork {fmt_num(tw, 0)}/s, "
                f"APScheduler {fmt_num(aps, 0)}/s ({_x(tw, aps)})"
            )
        text = format_table(headers, rows, left=4)
        return text + "".join(f"\n  note: {x}" for x in notes) + others + other_runs

    def table_herd(self) -> str:
        headers = [
            "N", "mechanism", "ran/expected", "missed", "p50 ms", "p99 ms", "max ms",
            "own p50", "own p99", "own max", "tickwork x lower p99",
        ]
        rows: list[Any] = []
        notes = self._notes_for("herd")
        for n in self.sizes:
            tw = self.val("herd", "tickwork", n, "p99_ms")
            aps = self.val("herd", "APScheduler", n, "p99_ms")
            for mech in MECHS:
                c = self.cell("herd", mech, n)
                if c is None or not c.ok:
                    rows.append([f"{n:,}", mech] + [NA] * 8 + [_x(aps, tw) if mech == "tickwork" else ""])
                    continue
                r = c.result or {}
                rows.append([
                    f"{n:,}", mech, f"{r['unique']:,}/{r['expected']:,}", f"{r['missed']:,}",
                    fmt_num(r["p50_ms"], 1), fmt_num(r["p99_ms"], 1), fmt_num(r["max_ms"], 1),
                    fmt_num(r["own_p50_ms"], 1), fmt_num(r["own_p99_ms"], 1), fmt_num(r["own_max_ms"], 1),
                    _x(aps, tw) if mech == "tickwork" else "",
                ])
                herd_txt = ", ".join(f"{ran:,} ran/max {mx:,.0f} ms" for ran, mx in r["per_herd"])
                extra = f"{mech} N={n:,}: per second: {herd_txt}"
                if r["self_missed"] is not None:
                    label = "coalesced (own count)" if mech == "tickwork" else "MISSED/MAX_INSTANCES events"
                    extra += f"; {label} {r['self_missed']:,}"
                if r["ran"] != r["unique"]:
                    extra += f"; {r['ran'] - r['unique']} duplicate runs"
                if r["off_grid"]:
                    extra += f"; {r['off_grid']} runs with an off-grid due time"
                if r["min_ms"] is not None and r["min_ms"] < 0:
                    extra += f"; earliest call {r['min_ms']:.3f} ms before its due time"
                extra += f"; created in {r['create_s']:.2f} s"
                if r["ready_vs_first_s"] > 0:
                    extra += f" (ended {r['ready_vs_first_s']:.2f} s after the first herd)"
                if mech == "tickwork":
                    extra += (
                        f"; cancel_all() + wait_idle() + reading the history after the window "
                        f"{r['records_s']:.2f} s" + ("" if r["frozen"] else " (wait_idle timed out)")
                    )
                extra += f", stop() {r['stop_s']:.2f} s" + ("" if r["stop_ok"] else " (threads left running)")
                notes.append(extra)
            rows.append("")
        rows.pop()
        text = format_table(headers, rows, left=2)
        return (
            text
            + "".join(f"\n  note: {x}" for x in notes)
            + self._others_note("herd")
            + self._other_runs_note(
                "herd", lambda r: f"p99 {fmt_num(r['p99_ms'], 1)} ms, missed {r['missed']:,}"
            )
        )

    def table_million(self) -> str:
        c = self.cell("million", "tickwork", MILLION)
        if c is None:
            return "not run"
        headers = ["N", "created", "create µs/schedule", "RSS B/schedule", "RSS total MiB", "stop() s", "holds"]
        if c.ok:
            r = c.result or {}
            holds = r["aborted"] is None and r["settled"] and r["stop_ok"]
            rows = [[
                f"{MILLION:,}", f"{r['created']:,}", _us(r["create_us"]), fmt_num(r["rss_per"], 0),
                fmt_num(r["rss_total"] / 2**20, 0), fmt_num(r["stop_s"], 2), "yes" if holds else "NO",
            ]]
            notes = [
                f"create calls alone {_us(r['create_calls_us'])} µs/schedule; wait_idle() after them "
                f"{r['settle_s']:.2f} s" + ("" if r["settled"] else " (timed out)"),
            ]
            if r["aborted"]:
                notes.append(f"gave up: {r['aborted']}")
            if r.get("health"):
                notes.append(f"WARNING, tickwork reported trouble: {r['health']}")
            if not r["stop_ok"]:
                notes.append("stop() returned False (threads still running after its timeout)")
        else:
            last = c.progress[-1] if c.progress else {}
            rows = [[f"{MILLION:,}", f"{last.get('created', 0):,}", NA, NA,
                     fmt_num(last["rss"] / 2**20, 0) if "rss" in last else NA, NA, "NO"]]
            notes = [f"failed: {c.error}"]
            if last:
                notes.append(f"last progress: {last}")
        text = format_table(headers, rows)
        return text + "".join(f"\n  note: {x}" for x in notes)

    # ------------------------------------------------------------------ targets
    def targets(self) -> list[str]:
        out = []
        big = 100_000
        for key, label in (("create_us", "create"), ("cancel_us", "cancel")):
            v = self.val("lifecycle", "tickwork", big, key)
            ok = None if v is None else v <= TARGET_CREATE_CANCEL_US
            why = "" if v is not None or big in self.sizes else " (N=100,000 not run)"
            out.append(f"{_verdict(ok)}  {label} at N={big:,}: tickwork {_us(v)} µs/schedule <= "
                       f"{TARGET_CREATE_CANCEL_US:g} µs{why}")
        for n in self.sizes:
            v = self.val("lifecycle", "tickwork", n, "rss_per")
            ok = None if v is None else v <= TARGET_RSS_BYTES
            out.append(f"{_verdict(ok)}  memory at N={n:,}: tickwork {fmt_num(v, 0)} B/schedule <= "
                       f"{TARGET_RSS_BYTES} B")
        v = self.val("million", "tickwork", MILLION, "rss_per")
        if v is not None:
            out.append(f"{_verdict(v <= TARGET_RSS_BYTES)}  memory at N={MILLION:,}: tickwork {v:.0f} B/schedule "
                       f"<= {TARGET_RSS_BYTES} B")
        for n in self.sizes:
            tw, aps = self.best_rate("tickwork", n), self.best_rate("APScheduler", n)
            ok = None if tw is None or aps is None else tw >= TARGET_SUSTAINED_X * aps
            out.append(
                f"{_verdict(ok)}  sustained N={n:,} (best of both loads): tickwork {fmt_num(tw, 0)}/s >= "
                f"{TARGET_SUSTAINED_X:g} x APScheduler {fmt_num(aps, 0)}/s ({_x(tw, aps)})"
            )
        n = TARGET_HERD_N
        missed = self.val("herd", "tickwork", n, "missed")
        tw, aps = self.val("herd", "tickwork", n, "p99_ms"), self.val("herd", "APScheduler", n, "p99_ms")
        ok = None if missed is None or tw is None or aps is None else (
            missed == 0 and tw <= TARGET_HERD_P99_FRACTION * aps
        )
        out.append(
            f"{_verdict(ok)}  aligned herd N={n:,} every second: tickwork missed {missed if missed is not None else NA} "
            f"(must be 0) and p99 {fmt_num(tw, 1)} ms <= {TARGET_HERD_P99_FRACTION:g} x APScheduler p99 "
            f"{fmt_num(aps, 1)} ms = {fmt_num(None if aps is None else aps * TARGET_HERD_P99_FRACTION, 1)} ms"
        )
        return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="N = 1,000 and 10,000, short windows, no 1M run (~1 min)")
    ap.add_argument("--sizes", type=str, default=None, help="comma-separated N values (default 1000,10000,100000)")
    ap.add_argument("--no-million", action="store_true", help="skip the 1,000,000-schedule tickwork run")
    ap.add_argument("--reps", type=int, default=None, help=f"runs of each cell (default {REPS}, quick 1)")
    ap.add_argument("--child", type=str, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child is not None:
        child_main(json.loads(args.child))
        return 0
    sizes = tuple(int(x) for x in args.sizes.split(",")) if args.sizes else (QUICK_SIZES if args.quick else SIZES)
    reps = args.reps if args.reps is not None else (1 if args.quick else REPS)
    bench = Bench(args.quick, sizes, million=not (args.quick or args.no_million), reps=reps, log=sys.stderr)
    warm, secs = (QUICK_SUSTAINED_WARMUP, QUICK_SUSTAINED_SECONDS) if args.quick else (SUSTAINED_WARMUP, SUSTAINED_SECONDS)
    herds = QUICK_HERD_SECONDS if args.quick else HERD_SECONDS

    print("Scale: many schedules, tickwork beside APScheduler BackgroundScheduler (one fresh process per cell)")
    print(env_header(("pykka", "msgspec", "apscheduler")))
    print(
        f"N in {', '.join(f'{n:,}' for n in sizes)}; each cell run {reps} time(s) in a fresh process\n"
        f"tickwork: Scheduler(daemon=True), defaults {_tickwork_defaults()}\n"
        f"APScheduler: BackgroundScheduler, ThreadPoolExecutor({APS_WORKERS}), coalesce=True, "
        "misfire_grace_time=None, max_instances=1"
    )
    dirty = _worktree_note()
    if dirty:
        print(dirty)
    print(f"load average before the run: {_loadavg()} (other processes share these CPUs)")
    if APS_ERROR:
        print(f"APScheduler cells: n/a ({APS_ERROR})")
    print(flush=True)

    t_start = time.monotonic()
    bench.run()

    print(f"1. Create and cancel with the scheduler running (µs per schedule, {LONG_INTERVAL:g} s interval; "
          "tickwork includes wait_idle() until every schedule is armed)")
    print(bench.table_lifecycle())
    print("  note: tickwork starts lazily (its first scheduling call starts the runtime): there is no "
          "create-before-start mode to report")
    print()
    print("2. Resident memory per schedule (RSS delta / N after gc.collect(), nothing firing)")
    print(bench.table_memory())
    print()
    loads = " and ".join(f"N/{r:,} s" for r in OFFERED_RATES)
    print(f"3. Sustained firings, trivial target, N staggered schedules every {loads} "
          f"({warm:g} s warm-up, {secs:g} s measured; CPU % of the process, 200 = both cores)")
    print(bench.table_sustained())
    print("  note: missed/s (self) is each mechanism's own count: tickwork's coalesced firings; APScheduler's "
          "MISSED + MAX_INSTANCES events (its coalescing drops overdue runs silently, so compare % offered)")
    print()
    print(f"4. Aligned herd: N schedules due on the same whole second, {herds} seconds measured "
          "(lateness = time.time() in the target - due second; 'own' = tickwork's start_time - scheduled_time)")
    print(bench.table_herd())
    print()
    if bench.million:
        print(f"5. tickwork holding {MILLION:,} schedules ({LONG_INTERVAL:g} s interval, nothing fires; "
              f"limits {MILLION_BUDGET_S:.0f} s of creation, {MILLION_RSS_CAP >> 30} GiB RSS)")
        print(bench.table_million())
        print()
    print("6. Durable schedules: what a store costs (benchmarks/durable_bench.py, run here in-process)")
    import durable_bench

    print(durable_bench.report(args.quick), flush=True)
    print()
    print("Targets (computed from this run):")
    for line in bench.targets():
        print("  " + line)
    print(f"\ntotal time {time.monotonic() - t_start:.0f} s; load average after the run: {_loadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
