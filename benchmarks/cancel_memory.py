"""Memory after many create-then-cancel cycles: RSS before and after.

``python benchmarks/cancel_memory.py [--n 1000000] [--kind once|interval]``

Each cycle schedules a target an hour ahead and cancels it at once; every
``--clear-every`` cycles `clear_completed_schedules()` forgets the cancelled ones.
Cancelled deadlines must not pile up in the clock (its heaps and its inbox): the
project's bound is under 15 MB of growth for 1,000,000 cycles.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
if (_ROOT / "actors" / "__init__.py").exists() and str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from actors import Scheduler


def rss_mb() -> float:
    """Resident set size of this process, in MB (Linux /proc)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    import os

    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1_000_000, help="create+cancel cycles (default 1,000,000)")
    p.add_argument("--kind", choices=("once", "interval"), default="once",
                   help="once: schedule_in_seconds (wall deadline); interval: schedule_at_interval (timeline)")
    p.add_argument("--clear-every", type=int, default=10_000, help="clear_completed_schedules() this often")
    a = p.parse_args()
    f = lambda: None
    s = Scheduler(daemon=True).start()
    make = s.schedule_in_seconds if a.kind == "once" else s.schedule_at_interval
    # Warm up (allocator arenas, caches) before the baseline.
    for _ in range(10_000):
        s.cancel_schedule(make(f, (), 3600))
    s.clear_completed_schedules()
    s.wait_idle(10)
    gc.collect()
    before = rss_mb()
    t0 = time.perf_counter()
    for i in range(1, a.n + 1):
        s.cancel_schedule(make(f, (), 3600))
        if i % a.clear_every == 0:
            s.clear_completed_schedules()
    s.clear_completed_schedules()
    s.wait_idle(10)
    gc.collect()
    after = rss_mb()
    clock = s._rt.clock_actor
    print(f"{a.n:,} x cancel_schedule({make.__name__}(f, (), 3600)) in {time.perf_counter() - t0:.1f} s")
    print(f"RSS before {before:.1f} MB, after {after:.1f} MB: growth {after - before:+.1f} MB")
    print(f"clock heaps: timeline {len(clock._timeline)}, wall {len(clock._wall)}; live {clock.pending}")
    s.stop()


if __name__ == "__main__":
    main()
