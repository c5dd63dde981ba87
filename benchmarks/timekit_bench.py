"""Micro-benchmarks: timekit values against their stdlib counterparts.

Run: python benchmarks/timekit_bench.py [--quick]

Prints one table (op, tickwork ns/op, stdlib ns/op, ratio). Rows live in ``ROWS`` as
(name, tickwork_fn, stdlib_fn) triples of zero-argument callables; append to add rows.
Each figure is the best of 5 timeit repeats, minus the cost of calling an empty function.
"""

from __future__ import annotations

import argparse
import sys
import timeit
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

try:
    import timekit  # noqa: F401  (prefer the installed package)
except ImportError:  # running from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from timekit.duration import Duration
from timekit.timestamp import Timestamp

Bench = Callable[[], object]

# ----------------------------------------------------------------------------- operands

_D1 = Duration.from_millis(1500)
_D2 = Duration.from_seconds(30)
_TD1 = timedelta(milliseconds=1500)
_TD2 = timedelta(seconds=30)
_T1 = Timestamp.from_seconds(1_686_832_245)
_T2 = Timestamp.from_seconds(1_686_835_845)
_DT1 = datetime.fromtimestamp(1_686_832_245, timezone.utc)
_DT2 = datetime.fromtimestamp(1_686_835_845, timezone.utc)
_UTC = timezone.utc
_now = Timestamp.now
_dt_now = datetime.now

# Operands are bound as default arguments so that each call only pays for the operation
# (plus the empty-call overhead that is measured and subtracted).
ROWS: list[tuple[str, Bench, Bench]] = [
    ("Duration + Duration", lambda a=_D1, b=_D2: a + b, lambda a=_TD1, b=_TD2: a + b),
    ("Duration * int", lambda a=_D1: a * 3, lambda a=_TD1: a * 3),
    ("Timestamp + Duration", lambda a=_T1, b=_D2: a + b, lambda a=_DT1, b=_TD2: a + b),
    ("Timestamp.now()", lambda f=_now: f(), lambda f=_dt_now, z=_UTC: f(z)),
    ("Timestamp - Timestamp", lambda a=_T2, b=_T1: a - b, lambda a=_DT2, b=_DT1: a - b),
]

# ----------------------------------------------------------------------------- schedules
# next_fire against the nearest stdlib computation of the same answer: the anchored
# grid with datetime/timedelta arithmetic, a daily time localised with zoneinfo, and
# (no stdlib cron exists) cronsim itself on an aware datetime.

from datetime import time as _time
from zoneinfo import ZoneInfo as _ZoneInfo

from cronsim import CronSim as _CronSim

from timekit.schedule import ScheduleAt

_PARIS = _ZoneInfo("Europe/Paris")
_ONE_DAY = timedelta(days=1)
_EVERY = ScheduleAt.at_interval(_D2, start=_T1)
_DAILY = ScheduleAt.daily(2, 30, tz="Europe/Paris")
_CRON = ScheduleAt.cron("*/5 * * * *", tz="Europe/Paris")
_AFTER = _T2 + Duration.from_seconds(7.25)
_DT_AFTER = _DT2 + timedelta(seconds=7.25)
_DT_AFTER_PARIS = _DT_AFTER.astimezone(_PARIS)
_AT_0230 = _time(2, 30)


def _dt_interval(a: datetime = _DT_AFTER, s: datetime = _DT1, e: timedelta = _TD2) -> datetime:
    return s + ((a - s) // e + 1) * e


def _dt_daily(a: datetime = _DT_AFTER, z: _ZoneInfo = _PARIS, t: _time = _AT_0230) -> datetime:
    local = datetime.combine(a.astimezone(z).date(), t, tzinfo=z)
    return local if local > a else datetime.combine(local.date() + _ONE_DAY, t, tzinfo=z)


ROWS.extend(
    [
        ("interval next_fire", lambda s=_EVERY, a=_AFTER: s.next_fire(a), _dt_interval),
        ("interval next_fire_us", lambda f=_EVERY.next_fire_us, a=_AFTER.micros: f(a), _dt_interval),
        ("daily Paris next_fire", lambda s=_DAILY, a=_AFTER: s.next_fire(a), _dt_daily),
        (
            "cron */5 Paris next_fire (vs cronsim)",
            lambda s=_CRON, a=_AFTER: s.next_fire(a),
            lambda a=_DT_AFTER_PARIS: next(_CronSim("*/5 * * * *", a)),
        ),
    ]
)


def _noop(a: object = None, b: object = None) -> None:
    return None


def measure(rows: list[tuple[str, Bench, Bench]], number: int, repeat: int = 5) -> list[tuple[float, float, float]]:
    """Best-of-``repeat`` ns per call of (baseline, tickwork, stdlib) for every row.

    Rounds are interleaved across all rows, so slow spells on a busy machine hit every
    row alike instead of skewing whichever row happened to run during them. The empty-call
    baseline is sampled three times per round: its small figure is the most noise-prone.
    """
    timers = [(timeit.Timer(_noop), timeit.Timer(ours), timeit.Timer(theirs)) for _, ours, theirs in rows]
    best = [[float("inf")] * 3 for _ in rows]
    for _ in range(repeat):
        for i, trio in enumerate(timers):
            for j, timer in enumerate(trio):
                for _ in range(3 if j == 0 else 1):
                    best[i][j] = min(best[i][j], timer.timeit(number))
    return [(a / number * 1e9, b / number * 1e9, c / number * 1e9) for a, b, c in best]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer iterations (a rough figure in ~2 s)")
    args = parser.parse_args(argv)
    number = 20_000 if args.quick else 300_000

    measure(ROWS, number // 10, repeat=1)  # warm up: specialising interpreter, caches, CPU clock
    results = []
    overheads = []
    for (name, _, _), (overhead, raw_a, raw_b) in zip(ROWS, measure(ROWS, number), strict=True):
        overheads.append(overhead)
        a, b = max(raw_a - overhead, 0.0), max(raw_b - overhead, 0.0)
        results.append((name, a, b, a / b if b else float("inf")))
    overhead = min(overheads)

    width = max(len("op"), *(len(r[0]) for r in results))
    header = f"{'op':<{width}}  {'tickwork ns/op':>14}  {'stdlib ns/op':>12}  {'ratio':>6}"
    print(header)
    print("-" * len(header))
    for name, a, b, ratio in results:
        print(f"{name:<{width}}  {a:>14.1f}  {b:>12.1f}  {ratio:>6.2f}")
    print(f"(best of 5 x {number} calls; {overhead:.1f} ns lambda-call overhead subtracted)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
