"""Before/after on one machine: the same cells run for two source trees, taking turns in
fresh processes, so a noisy spell hits both alike (what a refactor's "no speed lost" needs).

    python benchmarks/interleave_bench.py --before /path/to/old/checkout [--after .] [--rounds 3]

Cells: create and cancel µs per schedule (N = 10,000, best of 5); firings/s of 1,000
schedules at 10 ms on the system clock (the leased path) and on a VirtualClock (200,000
firings, best of 3); and `lateness_bench` cells (p99 ms, median of 3): staggered N = 10, 100
and 1000, aligned N = 1000, staggered + CPU-bound thread N = 100. Each tree is imported from
its own path (``PYTHONPATH=tree``); ~2 min per round.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

CELLS = ("create", "leased", "virtual", "lateness")


def cell_create() -> dict[str, float]:
    from actors import Scheduler

    n, best_c, best_x = 10_000, float("inf"), float("inf")
    for _ in range(5):
        s = Scheduler(daemon=True).start()
        t0 = time.perf_counter()
        ids = [s.schedule_at_interval(lambda: None, (), 3600) for _ in range(n)]
        t1 = time.perf_counter()
        s.wait_idle(30)
        t2 = time.perf_counter()
        for i in ids:
            s.cancel_schedule(i)
        t3 = time.perf_counter()
        s.stop(timeout=30)
        best_c, best_x = min(best_c, (t1 - t0) / n * 1e6), min(best_x, (t3 - t2) / n * 1e6)
    return {"create us": best_c, "cancel us": best_x}


def cell_leased() -> dict[str, float]:
    from actors import Scheduler

    s = Scheduler(daemon=True).start()
    for _ in range(1000):
        s.schedule_at_interval(lambda: None, (), 0.01)
    time.sleep(1.0)
    a, t0 = s.get_execution_stats()["total_executions"], time.monotonic()
    time.sleep(4.0)
    b, t1 = s.get_execution_stats()["total_executions"], time.monotonic()
    s.stop(timeout=10)
    return {"leased firings/s": (b - a) / (t1 - t0)}


def cell_virtual() -> dict[str, float]:
    from actors import Scheduler
    from timekit import Duration, VirtualClock

    best = 0.0
    for _ in range(3):
        clock = VirtualClock()
        s = Scheduler(clock=clock).start()
        for _ in range(1000):
            s.schedule_at_interval(lambda: None, (), 0.1)
        s.wait_idle(30)
        w0 = time.perf_counter()
        clock.advance(Duration.from_seconds(20))
        s.wait_idle(60)
        n = s.get_execution_stats()["total_executions"]
        best = max(best, n / (time.perf_counter() - w0))
        s.stop(timeout=30)
    return {"virtual firings/s": best}


def cell_lateness() -> dict[str, float]:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import lateness_bench as lb

    timing = lb.Timing(seconds=2.5, warmup=0.3, grace=0.25, lead=0.3)
    out = {}
    for label, n, aligned, hog in (
        ("staggered", 10, False, False), ("staggered", 100, False, False), ("staggered", 1000, False, False),
        ("aligned", 1000, True, False), ("staggered+hog", 100, False, True),
    ):
        p99s = sorted(lb.run_cell(lb.Tickwork(), n, aligned, timing, hog).p99 or float("nan") for _ in range(3))
        out[f"p99 ms {label} N={n}"] = p99s[1]
    return out


def child(cell: str) -> None:
    fn = {"create": cell_create, "leased": cell_leased, "virtual": cell_virtual, "lateness": cell_lateness}[cell]
    print(json.dumps(fn()))


def run(tree: Path, cell: str) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    res = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", cell],
        cwd=tree, env=env, capture_output=True, text=True, timeout=600, check=True,
    )
    return json.loads(res.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if v >= 100 else f"{v:.3g}"


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--before", type=Path, help="the old source tree (a checkout or git worktree)")
    ap.add_argument("--after", type=Path, default=Path(__file__).resolve().parents[1], help="the new tree (default: this one)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cells", default=",".join(CELLS), help=f"comma-separated, from {', '.join(CELLS)}")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child)
        return
    if args.before is None:
        ap.error("--before is required")
    results: dict[str, dict[str, list[float]]] = {"before": {}, "after": {}}
    for r in range(args.rounds):
        for cell in args.cells.split(","):
            for side, tree in (("before", args.before), ("after", args.after))[:: 1 if r % 2 == 0 else -1]:
                for k, v in run(tree.resolve(), cell).items():
                    results[side].setdefault(k, []).append(v)
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    width = max(len(k) for k in results["before"])
    print(f"{'cell':{width}}  {'before (each round)':>32}  {'after (each round)':>32}")
    for k in results["before"]:
        b = ", ".join(_fmt(v) for v in results["before"][k])
        a = ", ".join(_fmt(v) for v in results["after"].get(k, []))
        print(f"{k:{width}}  {b:>32}  {a:>32}")


if __name__ == "__main__":
    main()
