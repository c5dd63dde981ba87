"""Durable schedules: what a store costs (no store vs MemoryStore vs SQLiteStore).

Run alone (``python benchmarks/durable_bench.py [--quick]``) or as section 6 of
``scale_bench.py``. One table, same run, each configuration side by side:

* create and cancel, µs per schedule and schedule operations per second (durable
  targets are registered names, so every call is written before it returns);
* create inside ``Scheduler.batch()`` (1,000 per transaction);
* sustained firings per second with N durable schedules at a saturating interval
  (each firing's bookkeeping is written in the supervisor's batches);
* restart time with 100,000 stored schedules (open, load, re-arm).

Targets the project tracks: ≥ 10,000 durable schedule operations per second and a
restart of 100,000 stored schedules in under 5 s.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
_ROOT = _HERE.parent
if (_ROOT / "actors" / "__init__.py").exists() and str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

from _common import format_table

from actors import MemoryStore, Scheduler, SQLiteStore, Store

LONG = 3600.0


def _store(kind: str, path: str) -> Store | None:
    if kind == "none":
        return None
    if kind == "memory":
        return MemoryStore()
    return SQLiteStore(path, synchronous="FULL" if kind == "sqlite-full" else "NORMAL")


def _scheduler(kind: str, path: str) -> Scheduler:
    s = Scheduler(store=_store(kind, path), daemon=True)
    s.register("tick", lambda: None)
    return s.start()


def measure(kind: str, n_ops: int, n_fire: int, seconds: float) -> dict[str, Any]:
    """One configuration: create/cancel cost, batched create, sustained firings."""
    d = tempfile.mkdtemp(prefix="tickwork-bench-")
    path = os.path.join(d, "s.db")
    out: dict[str, Any] = {"kind": kind}
    s = _scheduler(kind, path)
    gc.collect()
    t0 = time.perf_counter()
    ids = [s.schedule("tick", (), LONG) for _ in range(n_ops)]
    t1 = time.perf_counter()
    for i in ids:
        s.cancel_schedule(i)
    t2 = time.perf_counter()
    out["create_us"] = (t1 - t0) / n_ops * 1e6
    out["cancel_us"] = (t2 - t1) / n_ops * 1e6
    t0 = time.perf_counter()
    for _ in range(0, n_ops, 1000):
        with s.batch():
            for _ in range(1000):
                s.schedule("tick", (), LONG)
    out["batch_us"] = (time.perf_counter() - t0) / n_ops * 1e6
    s.cancel_all()
    s.stop()

    s = _scheduler(kind, path)
    count = [0]
    s.register("hit", lambda: count.__setitem__(0, count[0] + 1))
    with s.batch():
        for _ in range(n_fire):
            s.schedule("hit", (), n_fire / 100_000)  # offered: 100,000 firings/s
    time.sleep(1.0)
    c0, t0 = count[0], time.perf_counter()
    time.sleep(seconds)
    out["fires_per_s"] = (count[0] - c0) / (time.perf_counter() - t0)
    s.cancel_all()
    s.stop()
    return out


def restart(n: int) -> dict[str, float]:
    """Seconds to restart a scheduler whose SQLite store holds ``n`` schedules."""
    d = tempfile.mkdtemp(prefix="tickwork-bench-")
    path = os.path.join(d, "s.db")
    s = _scheduler("sqlite", path)
    for _ in range(0, n, 1000):
        with s.batch():
            for _ in range(1000):
                s.schedule("tick", (), LONG)
    s.stop()
    gc.collect()
    t0 = time.perf_counter()
    s = _scheduler("sqlite", path)
    t1 = time.perf_counter()
    restored = s.restored[0]
    s.stop()
    return {"seconds": t1 - t0, "restored": restored}


def report(quick: bool) -> str:
    n_ops = 5_000 if quick else 20_000
    n_fire = 1_000
    seconds = 2.0 if quick else 4.0
    n_restart = 20_000 if quick else 100_000
    rows = []
    results = {}
    for kind in ("none", "memory", "sqlite", "sqlite-full"):
        r = measure(kind, n_ops if kind != "sqlite-full" else n_ops // 4, n_fire, seconds)
        results[kind] = r
        rows.append(
            [
                kind,
                f"{r['create_us']:.1f}",
                f"{1e6 / r['create_us']:,.0f}",
                f"{r['cancel_us']:.1f}",
                f"{1e6 / r['cancel_us']:,.0f}",
                f"{r['batch_us']:.1f}",
                f"{r['fires_per_s']:,.0f}",
                f"{results['none']['fires_per_s'] / r['fires_per_s']:.2f}x" if r["fires_per_s"] else "n/a",
            ]
        )
    rs = restart(n_restart)
    lines = [
        format_table(
            [
                "store",
                "create µs",
                "creates/s",
                "cancel µs",
                "cancels/s",
                "batch create µs",
                "firings/s",
                "cost vs no store",
            ],
            rows,
        ),
        (
            f"  note: create/cancel over {n_ops:,} schedules (sqlite-full: {n_ops // 4:,}); firings: {n_fire:,} durable "
            f"schedules offered 100,000/s, {seconds:g} s measured; 'none' schedules the same names without a store"
        ),
        f"  restart with {rs['restored']:,} stored schedules (SQLite, NORMAL): {rs['seconds']:.2f} s",
    ]
    ops = min(1e6 / results["sqlite"]["create_us"], 1e6 / results["sqlite"]["cancel_us"])
    lines.append("Targets (computed from this run):")
    lines.append(
        f"  {'PASS' if ops >= 10_000 else 'FAIL'}  durable schedule operations >= 10,000/s: "
        f"SQLite NORMAL create/cancel at least {ops:,.0f}/s"
    )
    lines.append(
        f"  {'PASS' if rs['seconds'] < 5 else 'FAIL'}  restart of {rs['restored']:,} stored schedules < 5 s: "
        f"{rs['seconds']:.2f} s"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="What a durable store costs tickwork.")
    ap.add_argument("--quick", action="store_true", help="smaller counts (~30 s)")
    args = ap.parse_args(argv)
    print("Durable schedules: no store vs MemoryStore vs SQLiteStore (NORMAL, FULL)")
    print(report(args.quick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
