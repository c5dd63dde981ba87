"""Scale-out on Ray: one process beside K = 1 and K = 2 shards, in one run.

Run: ``python benchmarks/ray_bench.py`` (about 2-3 minutes on 2 cores; needs
``pip install -e '.[ray]'``). It starts its own throwaway Ray cluster on 127.0.0.1
(``LocalCluster``, 2 CPUs; stopped at the end, every process of it) and prints one
table. Progress goes to stderr, the table to stdout. ``--n`` sets N (default 10,000).

Columns: *one process* is a plain `Scheduler` in a child process (the same target,
registered by name); *K = 1* and *K = 2* are `ShardedScheduler.deploy(K)` shards (one
Ray CPU each, in-memory store unless said), driven by this process as the client.

Rows:
* capacity: N schedules staggered evenly over an interval of N / 300,000 s (300,000
  firings/s offered, beyond what either can run), 1 s of warm-up, then a window:
  executed firings per second (each shard's own counter and clock, summed).
* herd: N schedules on one 1 s grid (all due on the same whole seconds), 3 herds:
  p50 / p99 / max of lateness over every firing (each shard's own record of start
  minus due time, all shards' records pooled), and how many of the 3N ran.
* create, one call each: 500 ``schedule()`` calls one after another (one Ray call
  each); batched: N in ``schedule_many`` batches of 2,000; single process: N
  ``schedule()`` calls in ``batch()``. Schedules per second (nothing fires: 1 h).
* cancel batched: ``cancel_many`` of the N (one process: ``cancel_schedule`` each).
* memory: RSS per shard (process) idle, and per schedule with N held.
* durable, SQLite: the batched create rate in one process and over K = 2 shards (a
  file each); then shard 0 is SIGKILLed and the time until Ray has restarted it and
  it has restored its file. The load average before each column says how busy the
  machine was with other work (the shards need both cores to themselves).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
_ROOT = _HERE.parent
for p in (str(_ROOT), str(_HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)

from _common import env_header, format_table, percentile

OFFERED = 300_000
HERDS = 3
TARGETS = {"noop": "ray_bench:noop"}


def noop() -> None:
    """The target everywhere (imported by the shards as ``ray_bench:noop``)."""


def log(msg: str) -> None:
    print(f"[ray_bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _lat(values: list[int], expected: int) -> dict[str, Any]:
    v = sorted(values)
    return {"p50_ms": (percentile(v, 0.5) or 0) / 1e3, "p99_ms": (percentile(v, 0.99) or 0) / 1e3,
            "max_ms": (v[-1] if v else 0) / 1e3, "ran": len(v), "expected": expected}


def _sleep_until(t: float) -> None:
    while (d := t - time.time()) > 0:
        time.sleep(min(d, 0.5))


# ----------------------------------------------------------------------------- one process


def child_single(n: int, window: float) -> dict[str, Any]:
    import gc

    from actors import Scheduler
    from timekit import Duration, ScheduleAt, Timestamp

    out: dict[str, Any] = {}
    sched = Scheduler(daemon=True, history_size=n * (HERDS + 1))
    sched.register("noop", noop)
    sched.start()
    gc.collect()
    rss0 = _rss()
    out["rss_idle"] = rss0
    t = time.perf_counter()
    with sched.batch():
        ids = [sched.schedule_at_interval("noop", (), 3600) for _ in range(n)]
    sched.wait_idle()
    out["create_batched"] = n / (time.perf_counter() - t)
    gc.collect()
    out["per_schedule_bytes"] = (_rss() - rss0) / n
    t = time.perf_counter()
    for i in ids:
        sched.cancel_schedule(i)
    out["cancel_batched"] = n / (time.perf_counter() - t)
    sched.clear_completed_schedules()
    out["create_each"] = out["create_batched"]  # one process: a call is a call

    every_us = n * 1_000_000 // OFFERED
    t0 = Timestamp.now().micros + 1_000_000
    with sched.batch():
        ids = [
            sched.schedule("noop", (), ScheduleAt.at_interval(Duration(every_us),
                                                                start=Timestamp.from_micros(t0 + i * every_us // n)))
            for i in range(n)
        ]
    _sleep_until(t0 / 1e6 + 1.0)
    a, ta = sched.get_execution_stats()["total_executions"], time.time()
    time.sleep(window)
    b, tb = sched.get_execution_stats()["total_executions"], time.time()
    out["capacity"] = (b - a) / (tb - ta)
    for i in ids:
        sched.cancel_schedule(i)
    sched.wait_idle(60)
    sched.clear_completed_schedules()

    base = math.ceil(time.time()) + 2
    start = Timestamp.from_micros(base * 1_000_000)
    with sched.batch():
        ids = [sched.schedule("noop", (), ScheduleAt.at_interval(Duration.from_seconds(1), start=start))
               for _ in range(n)]
    _sleep_until(base + HERDS + 0.9)
    for i in ids:
        sched.cancel_schedule(i)
    sched.wait_idle(120)
    since = (base + 1) * 1_000_000
    lat = [r.lateness.micros for r in sched.get_execution_metrics() if r.scheduled_time.micros >= since]
    out["herd"] = _lat(lat, n * HERDS)
    sched.stop()

    from actors.store import SQLiteStore

    with tempfile.TemporaryDirectory() as d:
        durable = Scheduler(daemon=True, store=SQLiteStore(Path(d) / "one.db"))
        durable.register("noop", noop)
        durable.start()
        t = time.perf_counter()
        for j in range(0, n, 2000):
            with durable.batch():
                for _ in range(min(2000, n - j)):
                    durable.schedule_at_interval("noop", (), 3600)
        out["durable_create"] = n / (time.perf_counter() - t)
        durable.stop()
    return out


# ----------------------------------------------------------------------------- shards


def run_shards(k: int, n: int, window: float, namespace: str) -> dict[str, Any]:
    from actors.shards import ShardedScheduler
    from timekit import Duration, ScheduleAt, Timestamp

    out: dict[str, Any] = {}
    ss = ShardedScheduler.deploy(k, targets=TARGETS, namespace=namespace, history_size=n * (HERDS + 1))
    try:
        out["rss_idle"] = sum(i["rss_bytes"] for i in ss.shard_info()) / k
        m = 500
        t = time.perf_counter()
        for i in range(m):
            ss.schedule("noop", (), 3600, key=f"each-{i}")
        out["create_each"] = m / (time.perf_counter() - t)
        ss.cancel_many([f"each-{i}" for i in range(m)])
        ss.clear_completed_schedules()
        rss0 = sum(i["rss_bytes"] for i in ss.shard_info())
        keys = [f"k{i}" for i in range(n)]
        t = time.perf_counter()
        for j in range(0, n, 2000):
            ss.schedule_many([ss.request("noop", (), 3600, key=key) for key in keys[j:j + 2000]])
        ss.wait_idle()
        out["create_batched"] = n / (time.perf_counter() - t)
        out["per_schedule_bytes"] = (sum(i["rss_bytes"] for i in ss.shard_info()) - rss0) / n
        t = time.perf_counter()
        ss.cancel_many(keys)
        out["cancel_batched"] = n / (time.perf_counter() - t)
        ss.clear_completed_schedules()

        every_us = n * 1_000_000 // OFFERED
        t0 = Timestamp.now().micros + 2_000_000
        reqs = [
            ss.request("noop", (), ScheduleAt.at_interval(Duration(every_us),
                                                            start=Timestamp.from_micros(t0 + i * every_us // n)),
                       key=f"c{i}")
            for i in range(n)
        ]
        ss.schedule_many(reqs)
        _sleep_until(t0 / 1e6 + 1.0)
        a = ss.shard_stats()
        time.sleep(window)
        b = ss.shard_stats()
        out["capacity"] = sum((y["total_executions"] - x["total_executions"]) / ((y["at_us"] - x["at_us"]) / 1e6)
                              for x, y in zip(a, b, strict=True))
        ss.cancel_all()
        ss.wait_idle(60)
        ss.clear_completed_schedules()

        base = math.ceil(time.time()) + 2
        start = Timestamp.from_micros(base * 1_000_000)
        ss.schedule_many([ss.request("noop", (), ScheduleAt.at_interval(Duration.from_seconds(1), start=start),
                                     key=f"h{i}") for i in range(n)])
        if time.time() > base + 1:
            log(f"K={k}: creating the herd ran past its first due time")
        _sleep_until(base + HERDS + 0.9)
        ss.cancel_all()
        ss.wait_idle(120)
        out["herd"] = _lat(ss.lateness_us((base + 1) * 1_000_000), n * HERDS)
    finally:
        ss.destroy()
    return out


def run_durable(n: int, namespace: str, state: str) -> dict[str, Any]:
    from actors.shards import ShardedScheduler

    out: dict[str, Any] = {}
    ss = ShardedScheduler.deploy(2, targets=TARGETS, namespace=namespace, store=f"sqlite:{state}")
    try:
        keys = [f"d{i}" for i in range(n)]
        t = time.perf_counter()
        for j in range(0, n, 2000):
            ss.schedule_many([ss.request("noop", (), 3600, key=key) for key in keys[j:j + 2000]])
        out["create_batched"] = n / (time.perf_counter() - t)
        before = ss.shard_info()[0]
        killed = time.time()
        os.kill(before["pid"], signal.SIGKILL)
        after = ss.shard_info()[0]  # waits for the restart
        out["restart_s"] = after["started_at"] + after["start_seconds"] - killed
        out["restore_s"] = after["start_seconds"]
        out["restored"] = after["restored"]
        out["expected"] = before["keys"]
        out["keys_after"] = len(ss.keys())
    finally:
        ss.destroy()
    return out


# ----------------------------------------------------------------------------- table


def _k(v: float) -> str:
    return f"{v / 1000:.1f}k"


def table(n: int, cols: dict[str, dict[str, Any]], durable: dict[str, Any], loads: list[str]) -> str:
    names = list(cols)
    rows: list[Any] = [
        ["capacity, firings/s"] + [_k(cols[c]["capacity"]) for c in names],
        [f"herd p50 / p99 / max, ms (N={n:,}, {HERDS} herds)"]
        + [f"{c['herd']['p50_ms']:.0f} / {c['herd']['p99_ms']:.0f} / {c['herd']['max_ms']:.0f}"
           for c in cols.values()],
        ["herd firings run / due"] + [f"{c['herd']['ran']:,} / {c['herd']['expected']:,}" for c in cols.values()],
        ["create, one call each, schedules/s"] + [_k(c["create_each"]) for c in cols.values()],
        ["create, batched, schedules/s"] + [_k(c["create_batched"]) for c in cols.values()],
        ["cancel, batched, schedules/s"] + [_k(c["cancel_batched"]) for c in cols.values()],
        ["memory per process idle, MB"] + [f"{c['rss_idle'] / 2**20:.0f}" for c in cols.values()],
        ["memory per schedule, bytes"] + [f"{c['per_schedule_bytes']:.0f}" for c in cols.values()],
    ]
    head = format_table(["", *names], rows)
    d = durable
    tail = (
        f"\ndurable, SQLite: create batched, one process {_k(cols['one process']['durable_create'])} schedules/s, "
        f"K = 2 (a file per shard) {_k(d['create_batched'])} schedules/s; "
        f"shard 0 SIGKILLed with {d['expected']:,} schedules: back after {d['restart_s']:.2f} s "
        f"(of which restore {d['restore_s']:.2f} s), restored {d['restored']:,}, keys after {d['keys_after']:,} of {n:,}"
    )
    return head + tail + "\nload average (1 min) before each column: " + ", ".join(loads)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--window", type=float, default=5.0)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child_single(args.n, args.window)))
        return 0
    from actors.shards.local_cluster import LocalCluster, loopback_env

    loopback_env()
    import ray

    print(env_header(["ray", "pykka", "msgspec"]))
    cols: dict[str, dict[str, Any]] = {}
    loads = [f"one process {os.getloadavg()[0]:.1f}"]
    log("one process")
    res = subprocess.run([sys.executable, __file__, "--child", "--n", str(args.n), "--window", str(args.window)],
                         capture_output=True, text=True, check=True,
                         env=dict(os.environ, PYTHONPATH=os.pathsep.join([str(_ROOT), str(_HERE)])))
    cols["one process"] = json.loads(res.stdout.strip().splitlines()[-1])
    with LocalCluster(2, python_path=[str(_ROOT), str(_HERE)]) as cluster, tempfile.TemporaryDirectory() as state:
        ray.init(address=cluster.address, logging_level="WARNING", log_to_driver=False)
        try:
            for k in (1, 2):
                loads.append(f"K={k} {os.getloadavg()[0]:.1f}")
                log(f"K={k}")
                cols[f"K={k}"] = run_shards(k, args.n, args.window, f"bench-{k}")
            log("durable K=2")
            durable = run_durable(args.n, "bench-durable", state)
        finally:
            ray.shutdown()
    print(table(args.n, cols, durable, loads))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
