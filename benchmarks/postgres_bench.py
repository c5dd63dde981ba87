"""Several processes on PostgreSQL: PostgresStore vs SQLiteStore vs no store, in one run.

Run: ``/work/venv/bin/python benchmarks/postgres_bench.py [--dsn postgresql://...]``
(about 40 s). Without ``--dsn`` (or ``TICKWORK_TEST_PG_DSN``) it starts a throwaway
server with ``.ci/postgres`` and stops it at the end. Rows:

* create ops/s   -- ``Scheduler.schedule`` of durable named schedules, one call each
                    (each is written before it returns; a PostgresStore call is a round trip).
* cancel ops/s   -- ``cancel_schedule`` of those, one call each (written before it returns).
* firings/s      -- executions completed per second, 200 schedules every 10 ms (20,000/s
                    asked) for a few seconds; with PostgresStore each firing is claimed in
                    the store (batched: one statement for all claims queued meanwhile)
                    before its target runs, and its completion recorded.
* claims/s       -- the store alone: ``PostgresStore.claim`` of 400 firings per statement.
* takeover       -- two ``cluster_child`` processes (lease_ttl 2 s), the one running a
                    20 ms schedule is SIGKILLed: seconds until the other runs it.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
_ROOT = _HERE.parent
for p in (str(_ROOT), str(_HERE), str(_ROOT / "tests")):
    if p not in sys.path:
        sys.path.insert(0, p)

from _common import env_header, fmt_num, format_table

from actors import Scheduler, SQLiteStore
from actors.store import Store

N_OPS = 1000
N_FIRING = 200
EVERY = 0.01
FIRE_SECONDS = 4.0


def make(kind: str, dsn: str, tmp: str, group: str) -> Store | None:
    if kind == "none":
        return None
    if kind == "sqlite":
        return SQLiteStore(os.path.join(tmp, f"{group}.db"))
    from actors.store.postgres import PostgresStore

    return PostgresStore(dsn, group=group)


def ops(kind: str, dsn: str, tmp: str) -> tuple[float, float]:
    sched = Scheduler(store=make(kind, dsn, tmp, f"ops-{kind}-{os.getpid()}"))
    sched.register("noop", lambda: None)
    sched.start()
    try:
        t0 = time.perf_counter()
        ids = [sched.schedule("noop", (), 3600.0) for _ in range(N_OPS)]
        t1 = time.perf_counter()
        assert all(sched.cancel_schedule(i) for i in ids)
        t2 = time.perf_counter()
    finally:
        sched.stop()
    return N_OPS / (t1 - t0), N_OPS / (t2 - t1)


def firings(kind: str, dsn: str, tmp: str) -> float:
    count = [0]
    lock = threading.Lock()

    def hit() -> None:
        with lock:
            count[0] += 1

    sched = Scheduler(store=make(kind, dsn, tmp, f"fire-{kind}-{os.getpid()}"), max_concurrent_executions=8)
    sched.register("hit", hit)
    sched.start()
    try:
        with sched.batch():
            for _ in range(N_FIRING):
                sched.schedule("hit", (), EVERY, misfire="skip")
        time.sleep(1.0)  # warm up
        with lock:
            c0 = count[0]
        t0 = time.perf_counter()
        time.sleep(FIRE_SECONDS)
        with lock:
            c1 = count[0]
        t1 = time.perf_counter()
    finally:
        sched.stop()
    return (c1 - c0) / (t1 - t0)


def claims(dsn: str) -> float:
    import psycopg

    from actors.store.postgres import PostgresStore

    group = f"claims-{os.getpid()}"
    with PostgresStore(dsn, group=group, partitions=1) as store, psycopg.connect(dsn, autocommit=True) as c:
        c.execute(
            "UPDATE tickwork_partitions SET owner = 'me', epoch = 1, expires_at = now() + interval '1 hour' "
            "WHERE grp = %s",
            (group,),
        )
        batch = 400
        rounds = 50
        t0 = time.perf_counter()
        for r in range(rounds):
            got = store.claim("me", [(sid, r, 1) for sid in range(batch)])
            assert len(got) == batch
        return batch * rounds / (time.perf_counter() - t0)


def takeover(dsn: str) -> float:
    import psycopg

    group = f"takeover-{os.getpid()}"
    ttl = 2.0
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute(
            "CREATE TABLE IF NOT EXISTS tickwork_test_runs (grp text, sid bigint, grid_us bigint, attempt int, "
            "epoch bigint, pid int, at timestamptz DEFAULT clock_timestamp())"
        )
        # What cluster_child.py writes (the chaos test adds it the same way).
        c.execute("ALTER TABLE tickwork_test_runs ADD COLUMN IF NOT EXISTS started double precision")
    from actors.store.postgres import PostgresStore

    creator = Scheduler(store=PostgresStore(dsn, group=group, lease_ttl=ttl))
    creator.register("run", lambda: None)
    sid = creator.schedule("run", (), 0.02, misfire="skip")
    creator.stop()
    child = str(_ROOT / "tests" / "actors" / "cluster_child.py")
    env = {**os.environ, "PYTHONPATH": str(_ROOT)}
    procs = [
        subprocess.Popen([sys.executable, child, dsn, group, str(ttl)], stdout=subprocess.PIPE, text=True, env=env)
        for _ in range(2)
    ]
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        time.sleep(1.0)
        with psycopg.connect(dsn, autocommit=True) as c:

            def last() -> tuple[int, Any] | None:
                return c.execute(  # type: ignore[return-value]
                    "SELECT pid, at FROM tickwork_test_runs WHERE grp = %s AND sid = %s ORDER BY at DESC LIMIT 1",
                    (group, sid),
                ).fetchone()

            row = last()
            assert row is not None, "nobody ran the schedule"
            victim = next(p for p in procs if p.pid == row[0])
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            killed = time.time()
            deadline = killed + 10 * ttl
            while time.time() < deadline:
                row = last()
                if row is not None and row[0] != victim.pid:
                    return row[1].timestamp() - killed
                time.sleep(0.01)
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                p.wait(15)
    raise RuntimeError("no takeover within 10 x lease_ttl")


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--dsn", default=os.environ.get("TICKWORK_TEST_PG_DSN"), help="a PostgreSQL server to use")
    args = ap.parse_args()
    pg_dir = None
    dsn = args.dsn
    if not dsn:
        import pg_support

        dsn, pg_dir = pg_support.start_server()
    try:
        print(env_header(["psycopg"]))
        rows = []
        with tempfile.TemporaryDirectory() as tmp:
            for kind in ("none", "sqlite", "postgres"):
                create, cancel = ops(kind, dsn, tmp)
                fired = firings(kind, dsn, tmp)
                rows.append([kind, f"{create:,.0f}", f"{cancel:,.0f}", f"{fired:,.0f}"])
        print(format_table(["store", "create ops/s", "cancel ops/s", f"firings/s ({N_FIRING} x 10 ms)"], rows))
        print(f"PostgresStore.claim, 400 per statement: {claims(dsn):,.0f} claims/s")
        print(f"takeover after SIGKILL (lease_ttl 2.0 s): {fmt_num(takeover(dsn))} s")
    finally:
        if pg_dir is not None:
            import pg_support

            pg_support.stop_server(pg_dir)


if __name__ == "__main__":
    main()
