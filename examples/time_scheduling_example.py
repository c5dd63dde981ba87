"""A tour of timekit and of the Scheduler on virtual and real time.

1. ``Duration``: parsing, exact arithmetic, formatting.
2. ``Timestamp``: parsing, time zones, human and relative formatting.
3. ``ScheduleAt``: once / interval / daily / cron and ``next_fire``, including a
   daily 02:30 in Europe/Paris across the 2026-03-29 spring-forward gap.
4. A ``Scheduler`` on a ``VirtualClock``: a whole simulated week of schedules
   runs in a fraction of a second (``clock.advance`` + ``scheduler.wait_idle``),
   with execution and error callbacks and ``get_execution_stats``.
5. A short real-time run: a 50 ms interval schedule on the system clock.

Run: ``python examples/time_scheduling_example.py``
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from datetime import timedelta

from actors import Scheduler, ScheduleResult
from timekit import Duration, PrecisionTimer, ScheduleAt, TimeMetrics, Timestamp, VirtualClock

PARIS = "Europe/Paris"


def section(title: str) -> None:
    print(f"\n=== {title} " + "=" * max(0, 66 - len(title)))


def durations() -> None:
    section("1. Duration: exact microseconds")
    d = Duration.parse("1h30m")
    print(f"Duration.parse('1h30m')        = {d}  ({d.format_precise()})")
    print(f"Duration.parse('PT0.5S')       = {Duration.parse('PT0.5S')!r}")
    print(f"Duration.from_seconds(8.2)     = {Duration.from_seconds(8.2).micros} us (exact, no float drift)")
    print(f"1h30m + 250ms                  = {(d + Duration.from_millis(250)).to_timedelta()}")
    print(f"1h30m / 4                      = {d / 4}")
    print(f"1h30m // 20min, 1h30m % 20min  = {d // Duration.from_minutes(20)}, {d % Duration.from_minutes(20)}")
    print(f"5s - 10s                       = {Duration.from_seconds(5) - Duration.from_seconds(10)}")
    print(f"from timedelta(days=2)         = {Duration.from_timedelta(timedelta(days=2))}")
    print("human-readable: " + ", ".join(str(Duration.parse(t)) for t in ("250us", "1.5ms", "42s", "90m", "36h")))


def timestamps() -> None:
    section("2. Timestamp: instants, zones, formatting")
    t = Timestamp.parse("2026-03-29T00:30:00Z")
    print(f"parse('2026-03-29T00:30:00Z')    = {t!r}")
    print(f"same instant, +02:00 offset text = {Timestamp.parse('2026-03-29T02:30:00+02:00') == t}")
    for zone in (PARIS, "America/New_York", "Asia/Tokyo"):
        print(f"  in {zone:<17} {t.isoformat(zone):<27} {t.format_human_readable(zone)}")
    later = t + Duration.parse("3h")
    print(f"(t + 3h).format_relative(t)      = {later.format_relative(t)!r}")
    print(f"t.format_relative(t + 90s)       = {t.format_relative(t + Duration.parse('90s'))!r}")
    start, end = t.start_of_day(PARIS), t.end_of_day(PARIS)
    print(f"Paris day of t: {start.isoformat()} .. {end.isoformat()} = {end - start + Duration(1)} (23 h: DST day)")


def schedules() -> None:
    section("3. ScheduleAt and next_fire")
    base = Timestamp.parse("2026-03-27T08:00:00Z")
    triggers = [
        ScheduleAt.at_time(base + Duration.from_hours(2)),
        ScheduleAt.at_interval(Duration.parse("45m"), start=base),
        ScheduleAt.daily(7, 15, tz="America/New_York"),
        ScheduleAt.cron("0 9 * * 1-5", tz=PARIS),
    ]
    print(f"after {base.isoformat()}:")
    for trig in triggers:
        fires, t = [], base
        for _ in range(3):
            nxt = trig.next_fire(t)
            if nxt is None:
                break
            fires.append(nxt)
            t = nxt
        shown = ", ".join(f.format_human_readable(trig.tz or "UTC") for f in fires)
        print(f"  {trig!s:<42} -> {shown}")

    print("\nDST: daily 02:30 Europe/Paris around the 2026-03-29 spring-forward (02:00 -> 03:00):")
    daily = ScheduleAt.daily(2, 30, tz=PARIS)
    t, prev = Timestamp.parse("2026-03-27T12:00:00Z"), None
    for _ in range(4):
        t = daily.next_fire(t)
        gap = "" if prev is None else f"  (+{t - prev} since previous)"
        print(f"  {t.format_human_readable(PARIS)}  = {t.isoformat()}{gap}")
        prev = t
    fall = [daily.next_fire(Timestamp.parse("2026-10-24T12:00:00Z"))]
    fall.append(daily.next_fire(fall[0]))
    print("  fall-back 2026-10-25 (02:30 happens twice): fires once, at the first one:")
    print("   " + ", ".join(f.format_human_readable(PARIS) for f in fall))


def simulated_week() -> None:
    section("4. A simulated week on a VirtualClock")
    # Midnight in Paris on a Thursday; Paris springs forward on Sunday 29 March,
    # so that Sunday has only 23 hours (92 quarter hours).
    start = Timestamp.parse("2026-03-26T00:00:00+01:00")
    clock = VirtualClock(start)
    metrics = TimeMetrics()
    names: dict[int, str] = {}
    by_day: dict[str, Counter[str]] = defaultdict(Counter)
    backups: list[str] = []
    lock = threading.Lock()
    failures: list[str] = []

    def on_execution(r: ScheduleResult) -> None:
        with lock:
            by_day[r.scheduled_time.to_datetime(PARIS).strftime("%a %d %b")][names[r.schedule_id]] += 1

    def on_error(sid: int, exc: BaseException) -> None:
        with lock:
            failures.append(f"{names[sid]}: {exc!r}")

    runs = Counter()

    def flaky_sync() -> str:
        runs["sync"] += 1
        if runs["sync"] % 4 == 0:
            raise ConnectionError(f"upstream timeout (run {runs['sync']})")
        return "synced"

    with Scheduler(clock=clock, name="sim") as sched:
        sched.add_execution_callback(on_execution)
        sched.add_error_callback(on_error)
        ids = {
            "metrics/15min": sched.schedule(lambda: None, when=Duration.from_minutes(15)),
            "backup 02:30": sched.schedule_daily(
                lambda: backups.append(sched.now().format_human_readable(PARIS)), (), 2, 30, tz=PARIS
            ),
            "report cron": sched.schedule_cron(lambda: "report", (), "0 9 * * 1-5", tz=PARIS),
            "sync/6h": sched.schedule_at_interval(flaky_sync, (), timedelta(hours=6)),
            "reminder once": sched.schedule_at_time(lambda: "ping", (), start + Duration.parse("3d12h")),
        }
        names.update({sid: name for name, sid in ids.items()})
        print(f"start {clock.now().format_human_readable(PARIS)}; schedules: {', '.join(ids)}")

        timer = PrecisionTimer().start()
        for _ in range(7):
            with metrics.measure("advance one day"):
                clock.advance(days=1)
                assert sched.wait_idle(timeout=30), "runtime did not go idle"
        elapsed = timer.stop()

        print(f"simulated 7 days in {elapsed} of real time "
              f"(avg {metrics.get_average_duration('advance one day')} per day)\n")
        cols = list(ids)
        print(f"  {'day (Paris)':<12}" + "".join(f"{c:>15}" for c in cols))
        for day, counts in by_day.items():
            print(f"  {day:<12}" + "".join(f"{counts[c]:>15}" for c in cols))
        print("  (an interval first fires one interval after it is scheduled; Sunday 29 March has 23 hours"
              "\n   in Paris; 7 x 24 h after Thursday 00:00 CET is Thursday 01:00 CEST)")
        print(f"\n  backups ran at: {', '.join(b[5:16] for b in backups)}")
        print(f"  error callback saw {len(failures)} failure(s): {failures[0]}, ...")

        stats = sched.get_execution_stats()
        print("\n  get_execution_stats():")
        for key in ("total_executions", "successful_executions", "failed_executions", "success_rate",
                    "missed_executions", "lateness_max", "callback_errors"):
            value = stats[key]
            print(f"    {key:<22} {value:.3f}" if isinstance(value, float) else f"    {key:<22} {value}")
        print("\n  schedules now:")
        for info in sched.list_schedules():
            nxt = info.next_execution.format_human_readable(PARIS) if info.next_execution else "-"
            print(f"    #{info.id} {names[info.id]:<14} {info.status.value:<10} runs={info.execution_count:<4} "
                  f"failed={info.failure_count:<2} next={nxt}")
    expected = {"metrics/15min": 7 * 96, "backup 02:30": 7, "report cron": 5, "sync/6h": 28, "reminder once": 1}
    got = {name: sum(c[name] for c in by_day.values()) for name in ids}
    if got != expected:
        raise SystemExit(f"unexpected execution counts: {got} != {expected}")


def real_time() -> None:
    section("5. Real time: a 50 ms interval on the system clock")
    results: list[ScheduleResult] = []
    three = threading.Event()

    def record(r: ScheduleResult) -> None:
        results.append(r)
        if len(results) >= 3:
            three.set()

    with Scheduler(name="realtime") as sched:
        sched.add_execution_callback(record)
        sid = sched.schedule_at_interval(lambda: None, (), Duration.from_millis(50), name="tick")
        if not three.wait(timeout=3):
            raise SystemExit("real-time firings did not happen")
        sched.cancel_schedule(sid)
    t0 = results[0].scheduled_time - Duration.from_millis(50)
    for r in results[:3]:
        print(f"  due at +{r.scheduled_time - t0}, started {r.lateness} late, ran for {r.duration}")
    print(f"real-time firings: {len(results[:3])} on the 50 ms grid")


def main() -> int:
    durations()
    timestamps()
    schedules()
    simulated_week()
    real_time()
    print("\nOK: time scheduling tour finished")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
