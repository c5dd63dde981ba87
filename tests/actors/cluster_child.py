"""A group member for the chaos test: runs the group's schedules until SIGTERM.

Usage: python cluster_child.py DSN GROUP LEASE_TTL. Every firing is logged to the
table tickwork_test_runs (schedule id, grid point, attempt, epoch, pid, and
the time.time() the target started at) with the values
`current_firing()` gives, before the target returns.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

import psycopg

from actors import PostgresStore, Scheduler, current_firing


def main() -> None:
    dsn, group, ttl = sys.argv[1], sys.argv[2], float(sys.argv[3])
    local = threading.local()

    def run(*_args: object) -> None:
        started = time.time()  # first thing: when the target started
        f = current_firing()
        assert f is not None
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = psycopg.connect(dsn, autocommit=True)
        conn.execute(
            "INSERT INTO tickwork_test_runs (grp, sid, grid_us, attempt, epoch, pid, started) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (group, f.schedule_id, f.grid_point.micros, f.attempt, f.epoch, os.getpid(), started),
        )

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    sched = Scheduler(store=PostgresStore(dsn, group=group, lease_ttl=ttl), name=f"child-{os.getpid()}")
    sched.register("run", run)
    sched.start()
    print("ready", flush=True)
    stop.wait()
    sched.stop()


if __name__ == "__main__":
    main()
