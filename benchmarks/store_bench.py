"""Schedule store throughput: MemoryStore vs SQLiteStore (synchronous NORMAL and FULL).

Run: ``/work/venv/bin/python benchmarks/store_bench.py`` (about 15 s; ``--quick`` for less).

Every figure includes encoding and validating the records (``encode_record``), as the
runtime would pay it. Rows:

* put, 1/txn        -- ``store.put(rec)`` of new records: one transaction each (durable on return).
* update, 1/txn     -- ``store.put(rec)`` replacing existing records.
* put_many, 100     -- ``store.put_many`` of 100 new records per transaction.
* put_many, 1000    -- 1,000 per transaction (the 100,000 records that are then loaded).
* batch(), 100      -- 100 ``put`` updates inside ``with store.batch():`` (the per-firing
                       bookkeeping pattern).
* put, 1/txn, 4 thr -- four threads doing ``put`` at once (one connection under a lock).
* delete, 1/txn     -- ``store.delete([id])``, one transaction each.
* delete, 100/txn   -- ``store.delete(ids)`` of 100 ids per call.
* next_id           -- ids handed out (SQLite reserves a block of 1,000 per commit).
* load 100k         -- seconds for ``load()`` of 100,000 records (decode + validate each).

Durability: NORMAL survives a process crash (kill -9) after ``put`` returns; FULL also
survives power loss. Targets the project tracks: >= 10,000 durable schedule operations
per second, and ``load()`` of 100,000 schedules well under 5 s.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
_ROOT = _HERE.parent
for p in (str(_ROOT), str(_HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)

from _common import env_header, fmt_num, fmt_ratio, format_table

from actors.store import MemoryStore, SQLiteStore, Store, StoredSchedule
from timekit import Duration, ScheduleAt

TRIGGERS = [
    ScheduleAt.at_interval(Duration.from_seconds(30)).to_dict(),
    ScheduleAt.daily(2, 30, tz="Europe/Paris").to_dict(),
    ScheduleAt.cron("*/15 9-17 * * 1-5", tz="America/New_York").to_dict(),
]
TARGET_OPS = 10_000
TARGET_LOAD_S = 5.0
LOAD_N = 100_000


def rec(sid: int, count: int = 0) -> StoredSchedule:
    return StoredSchedule(
        id=sid,
        name=f"report-{sid}",
        target="reports.send",
        args=["ops@example.com", sid],
        kwargs={"format": "pdf", "retries": 3},
        trigger=TRIGGERS[sid % 3],
        status="pending",
        created_us=1_767_225_600_000_000,
        next_due_us=1_767_225_600_000_000 + sid,
        last_us=1_767_225_000_000_000 if count else None,
        execution_count=count,
        metadata={"team": "finance", "tags": ["monthly", "pdf"]},
    )


def rate(n: int, fn: Callable[[], Any]) -> float:
    t = time.perf_counter()
    fn()
    return n / (time.perf_counter() - t)


def measure(store: Store, n: int) -> dict[str, float]:
    """ops/s per row (and seconds for load)."""
    out: dict[str, float] = {}
    store.open("bench")
    ids = [store.next_id() for _ in range(n)]

    def puts() -> None:
        for i in ids:
            store.put(rec(i))

    out["put, 1/txn"] = rate(n, puts)

    def updates() -> None:
        for i in ids:
            store.put(rec(i, 1))

    out["update, 1/txn"] = rate(n, updates)

    def put_many(size: int, total: int) -> Callable[[], None]:
        def run() -> None:
            for _ in range(0, total, size):
                new = [store.next_id() for _ in range(size)]
                store.put_many([rec(i) for i in new])

        return run

    many = max(n, 20_000)
    out["put_many, 100/txn"] = rate(many, put_many(100, many))
    before = len(store.load().schedules)
    need = LOAD_N - before
    out["put_many, 1000/txn"] = rate(need, put_many(1000, need))

    def batches() -> None:
        for start in range(0, many, 100):
            with store.batch():
                for i in range(start + 1, start + 101):
                    store.put(rec(i, 2))

    out["batch(), 100 puts/txn"] = rate(many, batches)

    threads_n = 4
    per = max(1, n // threads_n)
    tids = [[store.next_id() for _ in range(per)] for _ in range(threads_n)]

    def threaded() -> None:
        def work(mine: list[int]) -> None:
            for i in mine:
                store.put(rec(i))

        ts = [threading.Thread(target=work, args=(m,)) for m in tids]
        for t in ts:
            t.start()
        for t in ts:
            t.join()

    out[f"put, 1/txn, {threads_n} threads"] = rate(per * threads_n, threaded)

    def deletes() -> None:
        for m in tids:
            for i in m:
                store.delete([i])

    out["delete, 1/txn"] = rate(per * threads_n, deletes)
    gone = ids[: min(len(ids), 10_000)]

    def delete_many() -> None:
        for start in range(0, len(gone), 100):
            store.delete(gone[start : start + 100])

    out["delete, 100/txn"] = rate(len(gone), delete_many)
    store.put_many([rec(i) for i in gone])  # back to LOAD_N records
    out["next_id"] = rate(50_000, lambda: [store.next_id() for _ in range(50_000)])

    store.close()
    store.open("bench, restarted")
    t = time.perf_counter()
    found = store.load()
    out["load 100k (s)"] = time.perf_counter() - t
    assert len(found.schedules) == LOAD_N and not found.corrupt, (len(found.schedules), found.corrupt[:3])
    store.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer single-transaction operations")
    ap.add_argument("--dir", help="directory for the database files (default: a temporary one)")
    opts = ap.parse_args()
    n = 3_000 if opts.quick else 10_000
    print(env_header(("msgspec",)))
    import sqlite3

    print(f"SQLite {sqlite3.sqlite_version}; {n:,} single-transaction operations per row (FULL: {n // 5:,})")
    with tempfile.TemporaryDirectory(dir=opts.dir) as d:
        results = {
            "Memory": measure(MemoryStore(), n),
            "SQLite NORMAL": measure(SQLiteStore(Path(d) / "normal.db"), n),
            "SQLite FULL": measure(SQLiteStore(Path(d) / "full.db", synchronous="FULL"), n // 5),
        }
    mem, normal, full = results["Memory"], results["SQLite NORMAL"], results["SQLite FULL"]
    rows = []
    for key in mem:
        is_time = key.endswith("(s)")
        fmt = (lambda v: fmt_num(v, 3)) if is_time else (lambda v: f"{v:,.0f}")
        rows.append(
            [
                key,
                fmt(mem[key]),
                fmt(normal[key]),
                fmt(full[key]),
                fmt_ratio(mem[key], normal[key]) if is_time else fmt_ratio(normal[key], mem[key]),
                fmt_ratio(normal[key], full[key]) if is_time else fmt_ratio(full[key], normal[key]),
            ]
        )
    print()
    print("ops/s (load: seconds; ratios are speed relative to the faster store, <1x = slower)")
    print(
        format_table(
            ["operation", "Memory", "SQLite NORMAL", "SQLite FULL", "NORMAL/Memory", "FULL/NORMAL"], rows, left=1
        )
    )
    print()
    checks = [
        ("durable put, 1/txn, SQLite NORMAL (survives kill -9)", normal["put, 1/txn"], TARGET_OPS),
        ("durable batch() of 100, SQLite NORMAL", normal["batch(), 100 puts/txn"], TARGET_OPS),
        ("durable batch() of 100, SQLite FULL (survives power loss)", full["batch(), 100 puts/txn"], TARGET_OPS),
    ]
    ok = True
    for label, value, target in checks:
        good = value >= target
        ok &= good
        print(f"{'PASS' if good else 'FAIL'}  {label}: {value:,.0f} ops/s (target >= {target:,})")
    if full["put, 1/txn"] < TARGET_OPS:
        print(f"note  SQLite FULL with one put per transaction: {full['put, 1/txn']:,.0f} ops/s (an fsync each): batch it")
    for name, res in results.items():
        good = res["load 100k (s)"] < TARGET_LOAD_S
        ok &= good
        print(
            f"{'PASS' if good else 'FAIL'}  load() of {LOAD_N:,} schedules, {name}: "
            f"{res['load 100k (s)']:.2f} s (target < {TARGET_LOAD_S:g} s)"
        )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
