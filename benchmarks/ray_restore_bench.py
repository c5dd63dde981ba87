"""A shard SIGKILLed and restarted by Ray: how long until it serves again, by store.

Run: ``python benchmarks/ray_restore_bench.py`` (about a minute on 2 cores; needs
``pip install -e '.[ray,postgres]'`` and a PostgreSQL server: ``TICKWORK_TEST_PG_DSN``,
else a throwaway one started with ``.ci/postgres``). It starts its own throwaway Ray
cluster on 127.0.0.1 (``LocalCluster``, 2 CPUs) and, per store, deploys K = 2 shards,
creates N schedules (hourly, so nothing fires) in ``schedule_many`` batches, then
SIGKILLs shard 0 ``--kills`` times, each time once it is back, and prints one table row
per kill: seconds from the kill until the restarted shard has restored (``back``), of
which restoring (``restore``: the shard's own start, store open and load), and how many
it restored of how many it had.

Stores: ``sqlite:DIR`` (a file per shard), ``postgresql://...`` (a group per shard, taken
over at start), and the same PostgreSQL groups *without* the takeover (what a restarted
member gets from the group's leases alone: it waits for the dead one's to expire; it
restores nothing in time, so it is shown once with ``lease_ttl=3``).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
_ROOT = _HERE.parent
for p in (str(_ROOT), str(_HERE), str(_ROOT / "tests")):
    if p not in sys.path:
        sys.path.insert(0, p)

from _common import env_header, format_table

from actors.shards.stores import PostgresPerShard

TARGETS = {"noop": "ray_restore_bench:noop"}


def noop() -> None:
    """The target (imported by the shards as ``ray_restore_bench:noop``)."""


class NoTakeover(PostgresPerShard):
    """`PostgresPerShard` without the takeover at start (for comparison only)."""

    def __call__(self, index: int, shards: int) -> Any:
        return self._store(index, shards)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def measure(label: str, store: Any, n: int, kills: int, namespace: str) -> list[list[str]]:
    from actors.shards import ShardedScheduler

    rows: list[list[str]] = []
    ss = ShardedScheduler.deploy(2, targets=TARGETS, namespace=namespace, store=store, timeout=120)
    try:
        keys = [f"d{i}" for i in range(n)]
        t = time.perf_counter()
        for j in range(0, n, 2000):
            ss.schedule_many([ss.request("noop", (), 3600, key=key) for key in keys[j : j + 2000]])
        rate = n / (time.perf_counter() - t)
        for kill in range(1, kills + 1):
            before = ss.shard_info()[0]
            killed = time.time()
            os.kill(before["pid"], signal.SIGKILL)
            after = ss.shard_info()[0]  # waits for the restart
            back = after["started_at"] + after["start_seconds"] - killed
            rows.append([label, str(kill), f"{rate / 1000:.1f}k", f"{back:.2f}", f"{after['start_seconds']:.2f}",
                         f"{after['restored']:,} / {before['keys']:,}", f"{os.getloadavg()[0]:.1f}"])
            log(" | ".join(rows[-1]))
    finally:
        ss.destroy()
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=10_000, help="schedules over the 2 shards (default 10,000)")
    ap.add_argument("--kills", type=int, default=3)
    args = ap.parse_args()
    import pg_support

    from actors.shards.local_cluster import LocalCluster, loopback_env

    loopback_env()
    import ray

    dsn = os.environ.get("TICKWORK_TEST_PG_DSN")
    pg_dir = None
    if not dsn:
        dsn, pg_dir = pg_support.start_server()
    print(env_header(["ray", "psycopg"]))
    rows: list[list[str]] = []
    try:
        with LocalCluster(2, python_path=[str(_ROOT), str(_HERE)]) as cluster, tempfile.TemporaryDirectory() as d:
            ray.init(address=cluster.address, logging_level="WARNING", log_to_driver=False)
            try:
                tag = uuid.uuid4().hex[:6]
                rows += measure("sqlite:DIR", f"sqlite:{d}", args.n, args.kills, "restore-sqlite")
                rows += measure("postgresql://", PostgresPerShard(dsn, f"bench-{tag}"), args.n, args.kills,
                                "restore-pg")
                rows += measure("postgresql://, no takeover, lease_ttl=3",
                                NoTakeover(dsn, f"bench-nt-{tag}", lease_ttl=3), args.n, 1, "restore-pg-nt")
            finally:
                ray.shutdown()
    finally:
        if pg_dir is not None:
            pg_support.stop_server(pg_dir)
    print(format_table(["store", "kill", "create batched, /s", "back, s", "restore, s", "restored / had",
                        "load avg"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
