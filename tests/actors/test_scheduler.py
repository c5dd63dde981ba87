"""The Scheduler facade on a VirtualClock: deterministic firing, counts and life cycle."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from runtime_support import START, run_for

from actors import (
    Cancel,
    Pause,
    Resume,
    Scheduler,
    ScheduleStatus,
    Update,
    schedule_at,
    schedule_once,
    schedule_repeating,
)
from timekit import Duration, ScheduleAt, Timestamp, VirtualClock

SEC = 1_000_000


def test_interval_fires_on_anchored_grid(sched: Scheduler, clock: VirtualClock) -> None:
    seen: list[int] = []
    sid = sched.schedule(lambda: seen.append(sched.now().micros), when=Duration.from_millis(100))
    run_for(sched, clock, 1.0)
    assert seen == [START.micros + k * 100_000 for k in range(1, 11)]
    info = sched.get_schedule(sid)
    assert info is not None
    assert info.execution_count == 10
    assert info.missed_count == 0
    assert info.status is ScheduleStatus.PENDING
    assert info.next_execution == START + Duration.from_millis(1100)
    assert info.lateness_max == Duration(0)


def test_one_year_in_one_advance_runs_every_firing(sched: Scheduler, clock: VirtualClock) -> None:
    count = [0]
    sched.schedule(lambda: count.__setitem__(0, count[0] + 1), when=timedelta(hours=1))
    run_for(sched, clock, 365 * 86400)
    assert count[0] == 365 * 24


def test_daily_across_dst_in_paris_runs_365_times_at_local_time(sched: Scheduler, clock: VirtualClock) -> None:
    fired: list[Timestamp] = []
    sid = sched.schedule_daily(lambda: fired.append(sched.now()), (), 2, 30, tz="Europe/Paris")
    run_for(sched, clock, 365 * 86400)
    assert len(fired) == 365
    local = [t.to_datetime("Europe/Paris") for t in fired]
    assert len({d.date() for d in local}) == 365
    spring = [d for d in local if (d.month, d.day) == (3, 29)]  # 2026-03-29: 02:00 -> 03:00
    assert [(d.hour, d.minute) for d in spring] == [(3, 30)]
    assert all((d.hour, d.minute) == (2, 30) for d in local if (d.month, d.day) != (3, 29))
    assert sched.get_schedule(sid).execution_count == 365  # type: ignore[union-attr]


def test_one_shot_completes_and_failed_one_shot_fails(sched: Scheduler, clock: VirtualClock) -> None:
    ok = sched.schedule_in_seconds(lambda: "done", (), 5)
    bad = sched.schedule_in_seconds(lambda: 1 / 0, (), 5)
    run_for(sched, clock, 4)
    assert sched.get_schedule(ok).status is ScheduleStatus.PENDING  # type: ignore[union-attr]
    run_for(sched, clock, 2)
    assert sched.get_schedule(ok).status is ScheduleStatus.COMPLETED  # type: ignore[union-attr]
    info = sched.get_schedule(bad)
    assert info is not None and info.status is ScheduleStatus.FAILED
    assert isinstance(info.last_error, ZeroDivisionError)
    run_for(sched, clock, 100)
    assert sched.get_schedule(ok).execution_count == 1  # type: ignore[union-attr]
    results = sched.get_execution_metrics()
    assert {r.schedule_id: r.success for r in results} == {ok: True, bad: False}
    assert [r.return_value for r in results if r.schedule_id == ok] == ["done"]


def test_repeating_target_that_raises_keeps_running(sched: Scheduler, clock: VirtualClock) -> None:
    sid = sched.schedule_at_interval(lambda: 1 / 0, (), 1.0)
    run_for(sched, clock, 5)
    info = sched.get_schedule(sid)
    assert info is not None
    assert (info.status, info.execution_count, info.failure_count) == (ScheduleStatus.PENDING, 5, 5)
    stats = sched.get_execution_stats()
    assert stats["failed_executions"] == 5 and stats["success_rate"] == 0.0


def test_cancel_stops_work_and_double_cancel_is_false(sched: Scheduler, clock: VirtualClock) -> None:
    count = [0]
    sid = sched.schedule_at_interval(lambda: count.__setitem__(0, count[0] + 1), (), 1.0)
    run_for(sched, clock, 3)
    assert sched.cancel_schedule(sid) is True
    assert sched.cancel_schedule(sid) is False
    assert sched.cancel_schedule(999) is False
    run_for(sched, clock, 10)
    assert count[0] == 3
    assert sched.get_schedule(sid).status is ScheduleStatus.CANCELLED  # type: ignore[union-attr]
    assert sched.clear_completed_schedules() == 1
    assert sched.get_schedule(sid) is None


def test_pause_and_resume_stay_on_the_grid(sched: Scheduler, clock: VirtualClock) -> None:
    seen: list[int] = []
    sid = sched.schedule_at_interval(lambda: seen.append(sched.now().micros - START.micros), (), 1.0)
    run_for(sched, clock, 2)
    assert sched.pause(sid)
    assert sched.get_schedule(sid).status is ScheduleStatus.PAUSED  # type: ignore[union-attr]
    run_for(sched, clock, 3.5)
    assert sched.resume(sid)
    run_for(sched, clock, 2)
    assert seen == [1 * SEC, 2 * SEC, 6 * SEC, 7 * SEC]
    assert sched.get_schedule(sid).missed_count == 0  # type: ignore[union-attr]


def test_reschedule_reanchors_at_the_moment_applied(sched: Scheduler, clock: VirtualClock) -> None:
    seen: list[int] = []
    sid = sched.schedule_at_interval(lambda: seen.append(sched.now().micros - START.micros), (), 1.0)
    run_for(sched, clock, 2.5)
    assert sched.reschedule(sid, Duration.from_seconds(2))
    run_for(sched, clock, 5)
    assert seen == [1 * SEC, 2 * SEC, int(4.5 * SEC), int(6.5 * SEC)]
    assert sched.get_schedule(sid).trigger.every == Duration.from_seconds(2)  # type: ignore[union-attr]
    assert sched.reschedule(12345, 1.0) is False


def test_direct_tell_of_update_and_cancel_matches_the_facade(sched: Scheduler, clock: VirtualClock) -> None:
    calls: list[tuple[int, ...]] = []
    sid = sched.schedule_at_interval(lambda *a: calls.append(a), (1,), 1.0)
    ref = sched.get_schedule(sid).actor_ref  # type: ignore[union-attr]
    ref.tell(Update(args=(2, 3)))
    run_for(sched, clock, 1)
    assert calls == [(2, 3)]
    assert sched.get_schedule(sid).args == (2, 3)  # type: ignore[union-attr]
    ref.tell(Pause())  # queued ahead of the next Tick, so it takes effect first
    run_for(sched, clock, 3)
    assert sched.get_schedule(sid).status is ScheduleStatus.PAUSED  # type: ignore[union-attr]
    assert ref.ask(Resume(), timeout=5) is True  # ask: wait until it is applied
    run_for(sched, clock, 1)
    assert len(calls) == 2
    ref.tell(Cancel())
    run_for(sched, clock, 5)
    assert len(calls) == 2
    assert sched.get_schedule(sid).status is ScheduleStatus.CANCELLED  # type: ignore[union-attr]


def test_invalid_update_by_tell_is_ignored_and_by_facade_raises(sched: Scheduler, clock: VirtualClock) -> None:
    sid = sched.schedule_daily(lambda: None, (), 3)
    ref = sched.get_schedule(sid).actor_ref  # type: ignore[union-attr]
    ref.tell(Update(interval=5))  # not an interval schedule: logged, ignored
    with pytest.raises(ValueError, match="trigger="):
        sched.update(sid, interval=5)
    assert ref.is_alive()
    run_for(sched, clock, 86400)
    assert sched.get_schedule(sid).execution_count == 1  # type: ignore[union-attr]


def test_missed_firings_are_counted_when_an_execution_overruns(sched: Scheduler, clock: VirtualClock) -> None:
    started = threading.Event()
    release = threading.Event()
    runs: list[int] = []

    def slow() -> None:
        runs.append(sched.now().micros - START.micros)
        if len(runs) == 1:
            started.set()
            assert release.wait(10)

    sid = sched.schedule_at_interval(slow, (), 0.1)
    clock.advance(Duration.from_millis(100))
    assert started.wait(10)
    clock.advance(Duration.from_millis(350))  # firings at 200, 300, 400 come due meanwhile
    release.set()
    assert sched.wait_idle(10)
    info = sched.get_schedule(sid)
    assert info is not None
    # 200 and 300 were missed; the latest due (400) ran as soon as the overrun
    # ended (450), 50 ms late.
    assert len(runs) == 2
    second = sched.get_execution_metrics()[-1]
    assert second.scheduled_time == START + Duration.from_millis(400)
    assert second.start_time == START + Duration.from_millis(450)
    assert second.lateness == Duration.from_millis(50)
    assert info.missed_count == 2
    assert info.lateness_max == Duration.from_millis(50)
    assert sched.get_execution_stats()["missed_executions"] == 2


def test_max_concurrent_executions_queues_work(clock: VirtualClock) -> None:
    with Scheduler(clock=clock, max_concurrent_executions=1) as sched:
        active = [0]
        peak = [0]
        lock = threading.Lock()

        def work() -> None:
            with lock:
                active[0] += 1
                peak[0] = max(peak[0], active[0])
            with lock:
                active[0] -= 1

        for _ in range(20):
            sched.schedule_at_interval(work, (), 1.0)
        run_for(sched, clock, 3)
        assert peak[0] == 1
        assert sched.get_execution_stats()["total_executions"] == 60


def test_callbacks_run_and_their_errors_are_swallowed(sched: Scheduler, clock: VirtualClock) -> None:
    results = []
    errors = []

    def bad_callback(_r: object) -> None:
        raise RuntimeError("callback bug")

    sched.add_execution_callback(results.append)
    sched.add_execution_callback(bad_callback)
    sched.add_error_callback(lambda sid, exc: errors.append((sid, type(exc))))
    good = sched.schedule_at_interval(lambda: 7, (), 1.0)
    bad = sched.schedule_at_interval(lambda: [][1], (), 1.0)  # noqa: PLE0643 - fails on purpose
    run_for(sched, clock, 2)
    assert len(results) == 4
    assert sorted(errors) == [(bad, IndexError), (bad, IndexError)]
    assert {r.schedule_id for r in results if r.success} == {good}
    assert sched.get_execution_stats()["callback_errors"] == 4
    assert sched.remove_execution_callback(bad_callback)
    assert not sched.remove_execution_callback(bad_callback)


def test_stats_fields(sched: Scheduler, clock: VirtualClock) -> None:
    sched.schedule_at_interval(lambda: None, (), 1.0)
    run_for(sched, clock, 4)
    stats = sched.get_execution_stats()
    for key in ("total_executions", "successful_executions", "failed_executions", "success_rate"):
        assert key in stats
    assert stats["total_executions"] == 4 and stats["success_rate"] == 1.0
    assert isinstance(stats["average_duration"], Duration)
    assert isinstance(stats["total_duration"], Duration)
    assert stats["lateness_p99"] == Duration(0)


def test_cron_schedule(sched: Scheduler, clock: VirtualClock) -> None:
    seen: list[Timestamp] = []
    sched.schedule_cron(lambda: seen.append(sched.now()), (), "*/15 9-10 * * 1-5")
    run_for(sched, clock, 7 * 86400)  # START is a Monday
    assert len(seen) == 5 * 8
    assert all(t.to_datetime().minute % 15 == 0 for t in seen)


def test_module_functions(sched: Scheduler, clock: VirtualClock) -> None:
    hits: list[str] = []
    schedule_once(sched, hits.append, ("once",), 2)
    schedule_repeating(sched, hits.append, ("rep",), Duration.from_seconds(1))
    schedule_at(sched, hits.append, ("at",), START + Duration.from_seconds(3))
    run_for(sched, clock, 3)
    assert sorted(hits) == sorted(["rep", "once", "rep", "rep", "at"])


def test_registered_names_and_bad_input(sched: Scheduler, clock: VirtualClock) -> None:
    out: list[int] = []
    sched.register("add", lambda a, b: out.append(a + b))
    sid = sched.schedule("add", (1, 2), ScheduleAt.at_interval(1.0))
    assert sched.get_schedule(sid).name == "add"  # type: ignore[union-attr]
    run_for(sched, clock, 1)
    assert out == [3]
    with pytest.raises(ValueError, match="register it first"):
        sched.schedule("nope", (), 1.0)
    with pytest.raises(TypeError):
        sched.schedule(42, (), 1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Interval must be positive"):
        sched.schedule_at_interval(print, (), 0)
    with pytest.raises(ValueError, match="Interval must be positive"):
        sched.schedule_at_interval(print, (), float("nan"))
    with pytest.raises(ValueError, match="out of range"):  # an OutOfRangeError: also an OverflowError
        sched.schedule_at_interval(print, (), 1e30)
    with pytest.raises(TypeError):
        sched.schedule(print, "abc", 1.0)
    with pytest.raises(TypeError):
        sched.schedule(print, (), True)
    with pytest.raises(ValueError, match="tzinfo"):
        from datetime import datetime

        sched.schedule_at_time(print, (), datetime(2030, 1, 1))
    with pytest.raises(ValueError, match="Unknown time zone"):
        sched.schedule_daily(print, (), 1, tz="Mars/Olympus")
    with pytest.raises(TypeError):
        sched.cancel_schedule("1")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "why"),
    [
        ({"a": 1}, "kwargs="),
        ({1, 2}, "no order"),
        (frozenset({1}), "no order"),
        ((x for x in (1, 2)), "consumed once"),
        (iter([1, 2]), "consumed once"),
        ({"a": 1}.keys(), "no order"),
        ("ab", "characters"),
        (b"ab", "characters"),
        (bytearray(b"ab"), "characters"),
        (memoryview(b"ab"), "characters"),  # was taken as a sequence: args (97, 98)
        (7, "tuple or list"),
    ],
    ids=["dict", "set", "frozenset", "generator", "iterator", "dict-keys", "str", "bytes", "bytearray", "memoryview", "int"],
)
def test_args_that_are_not_a_sequence_are_refused_everywhere(
    sched: Scheduler, clock: VirtualClock, args: object, why: str
) -> None:
    # A dict used to become its keys, a set an arbitrary order, a generator whatever it
    # yielded once: all accepted. Every scheduling method, update and a told Update refuse them.
    calls: list[tuple[object, ...]] = []

    def target(*a: object) -> None:
        calls.append(a)

    for call in (
        lambda: sched.schedule(target, args, 1.0),  # type: ignore[arg-type]
        lambda: sched.schedule_at_interval(target, args, 1.0),  # type: ignore[arg-type]
        lambda: sched.schedule_in_seconds(target, args, 1),  # type: ignore[arg-type]
        lambda: sched.schedule_at_time(target, args, START + Duration.from_seconds(1)),  # type: ignore[arg-type]
        lambda: sched.schedule_daily(target, args, 2),  # type: ignore[arg-type]
        lambda: sched.schedule_cron(target, args, "* * * * *"),  # type: ignore[arg-type]
        lambda: schedule_once(sched, target, args, 1),  # type: ignore[arg-type]
    ):
        with pytest.raises(TypeError, match=why):
            call()
    assert sched.list_schedules() == []  # nothing was scheduled
    sid = sched.schedule_at_interval(target, (1,), 1.0)
    with pytest.raises(TypeError, match=why):
        sched.update(sid, args=args)
    ref = sched.get_schedule(sid).actor_ref  # type: ignore[union-attr]
    assert isinstance(ref.ask(Update(args=args), timeout=5), TypeError)  # type: ignore[arg-type]
    run_for(sched, clock, 1)
    assert calls == [(1,)] and sched.get_schedule(sid).args == (1,)  # type: ignore[union-attr]


class _ArrayLike:
    """Indexable, sized and re-iterable but not a registered Sequence, like a numpy array."""

    def __init__(self, *items: object) -> None:
        self._items = list(items)

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, i: int) -> object:
        return self._items[i]

    def __iter__(self) -> Iterator[object]:
        return iter(self._items)


def test_an_array_like_is_taken_as_a_sequence(sched: Scheduler, clock: VirtualClock) -> None:
    # It was refused as "an iterator or generator is consumed once" (it is neither);
    # before args were checked it was taken in order, as any sequence.
    calls: list[tuple[object, ...]] = []
    sid = sched.schedule_in_seconds(lambda *a: calls.append(a), _ArrayLike(1, 2), 1)  # type: ignore[arg-type]
    run_for(sched, clock, 1)
    assert calls == [(1, 2)] and sched.get_schedule(sid).args == (1, 2)  # type: ignore[union-attr]
    with pytest.raises(TypeError, match="not a sequence"):
        sched.schedule_in_seconds(print, {"a": 1}.values(), 1)  # type: ignore[arg-type]

    class DictLike(_ArrayLike):  # not a registered Mapping either: still refused as one
        def keys(self) -> list[object]:
            return list(self)

    with pytest.raises(TypeError, match="kwargs="):
        sched.schedule_in_seconds(print, DictLike("a"), 1)  # type: ignore[arg-type]


def test_args_may_be_any_sequence(sched: Scheduler, clock: VirtualClock) -> None:
    from collections import deque

    calls: list[tuple[object, ...]] = []
    for args in ([1, 2], (1, 2), range(1, 3), deque([1, 2])):
        sched.schedule_in_seconds(lambda *a: calls.append(a), args, 1)
    run_for(sched, clock, 1)
    assert calls == [(1, 2)] * 4


def test_list_and_next_execution(sched: Scheduler, clock: VirtualClock) -> None:
    a = sched.schedule_at_interval(print, (), 10.0, name="ten")
    b = sched.schedule_at_interval(print, (), 5.0, name="five")
    assert [i.id for i in sched.list_schedules()] == [a, b]
    assert [i.id for i in sched.list_schedules(name="five")] == [b]
    assert sched.get_next_execution_time() == START + Duration.from_seconds(5)
    sched.pause(b)
    assert [i.id for i in sched.list_schedules(status=ScheduleStatus.PAUSED)] == [b]
    assert sched.get_next_execution_time() == START + Duration.from_seconds(10)


def test_calls_after_stop_raise(clock: VirtualClock) -> None:
    s = Scheduler(clock=clock).start()
    sid = s.schedule_at_interval(print, (), 1.0)
    assert s.stop()
    assert s.stop()  # idempotent
    with pytest.raises(RuntimeError, match="stopped"):
        s.schedule_at_interval(print, (), 1.0)
    with pytest.raises(RuntimeError, match="stopped"):
        s.cancel_schedule(sid)
    with pytest.raises(RuntimeError, match="stopped"):
        s.start()
    # Bulk calls too (cancel_all returned 0; clear_completed_schedules forgot the
    # final state that get_schedule promises to keep answering with).
    with pytest.raises(RuntimeError, match="stopped"):
        s.cancel_all()
    with pytest.raises(RuntimeError, match="stopped"):
        s.clear_completed_schedules()
    info = s.get_schedule(sid)
    assert info is not None and info.status is ScheduleStatus.CANCELLED


def test_two_schedulers_are_independent(clock: VirtualClock) -> None:
    other_clock = VirtualClock(START)
    with Scheduler(clock=clock) as a, Scheduler(clock=other_clock) as b:
        hits = {"a": 0, "b": 0}
        a.schedule_at_interval(lambda: hits.__setitem__("a", hits["a"] + 1), (), 1.0)
        b.schedule_at_interval(lambda: hits.__setitem__("b", hits["b"] + 1), (), 1.0)
        run_for(a, clock, 3)
        assert hits == {"a": 3, "b": 0}
        a.stop()
        run_for(b, other_clock, 2)
        assert hits == {"a": 3, "b": 2}


def test_batch_pauses_the_collector_and_restores_it(sched: Scheduler, clock: VirtualClock) -> None:
    import gc

    assert gc.isenabled()
    with sched.batch():
        assert not gc.isenabled()
        ids = [sched.schedule_at_interval(lambda: None, (), 1.0) for _ in range(100)]
    assert gc.isenabled()
    run_for(sched, clock, 1)
    assert all(sched.get_schedule(i).execution_count == 1 for i in ids)  # type: ignore[union-attr]
    with pytest.raises(ZeroDivisionError), sched.batch():
        1 / 0
    assert gc.isenabled()


def test_lateness_percentiles_are_exact_for_a_firing_decades_late(sched: Scheduler, clock: VirtualClock) -> None:
    # A one-shot whose time passed 26 years ago runs at once, 26 years late: its p50/p99
    # used to read 35.8 min (the window's 32-bit cap).
    late = Duration.from_days(26 * 365)
    sid = sched.schedule_at_time(lambda: None, (), START - late)
    run_for(sched, clock, 0)
    info = sched.get_schedule(sid)
    assert info is not None and info.execution_count == 1
    assert (info.lateness_p50, info.lateness_p99, info.lateness_max) == (late, late, late)
    assert sched.get_execution_stats()["lateness_p99"] == late


def test_an_interval_whose_first_firing_falls_beyond_year_9999_is_refused(sched: Scheduler, clock: VirtualClock) -> None:
    # It used to be accepted and to complete silently, never having run.
    huge = Duration.from_days(4_000_000)  # a valid Duration, ~11,000 years
    for call in (
        lambda: sched.schedule_at_interval(print, (), huge),
        lambda: sched.schedule(print, (), huge),
        lambda: sched.schedule(print, (), "4000000d"),
        lambda: sched.schedule(print, (), ScheduleAt.at_interval(1, start=Timestamp.parse("9999-12-31T23:59:59.5Z"))),
    ):
        with pytest.raises(ValueError, match=r"would never run: its first firing after .* falls after 9999-12-31"):
            call()
    assert sched.list_schedules() == []
    sid = sched.schedule_at_interval(print, (), 1.0)
    with pytest.raises(ValueError, match="would never run"):
        sched.reschedule(sid, huge)
    with pytest.raises(ValueError, match="would never run"):
        sched.update(sid, interval=huge)
    info = sched.get_schedule(sid)
    assert info is not None and info.status is ScheduleStatus.PENDING and info.trigger.every == Duration.from_seconds(1)
    # A one-shot at a valid time is fine however far; the last valid interval too.
    far = sched.schedule_at_time(print, (), Timestamp.parse("9999-12-31T23:59:59Z"))
    assert sched.get_schedule(far).status is ScheduleStatus.PENDING  # type: ignore[union-attr]
    last = Timestamp.MAX.micros - START.micros
    ok = sched.schedule_at_interval(print, (), Duration(last))
    assert sched.get_schedule(ok).next_execution == Timestamp.MAX  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="would never run"):
        sched.schedule_at_interval(print, (), Duration(last + 1))


def test_a_daily_or_cron_with_no_firing_left_before_year_10000_is_refused() -> None:
    clock = VirtualClock(Timestamp.parse("9999-12-31T12:00:00Z"))
    with Scheduler(clock=clock) as sched:
        with pytest.raises(ValueError, match="has no firing after 9999-12-31T12:00:00"):
            sched.schedule_daily(print, (), 2, 30)
        with pytest.raises(ValueError, match="would never run"):
            sched.schedule_cron(print, (), "0 6 * * *")
        assert sched.list_schedules() == []
        sched.schedule_daily(print, (), 13)  # still one firing left: fine


# --------------------------------------------------------------------------- constructor arguments


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"dispatcher_threads": "2"}, TypeError, r"dispatcher_threads must be an int >= 1, not str \('2'\)"),
        ({"dispatcher_threads": 0}, ValueError, r"dispatcher_threads must be an int >= 1, got 0"),
        ({"dispatcher_threads": True}, TypeError, r"dispatcher_threads must be an int >= 1, not bool"),
        ({"dispatcher_threads": 2.0}, TypeError, r"dispatcher_threads must be an int >= 1, not float"),
        ({"max_concurrent_executions": "2"}, TypeError, r"max_concurrent_executions must be an int >= 1, not str"),
        ({"max_concurrent_executions": 0}, ValueError, r"max_concurrent_executions must be an int >= 1, got 0"),
        ({"history_size": "5"}, TypeError, r"history_size must be an int >= 0, not str \('5'\)"),
        ({"history_size": -1}, ValueError, r"history_size must be an int >= 0, got -1"),
        ({"clock": "system"}, TypeError, r"clock must be a timekit Clock"),
        ({"daemon": "yes"}, TypeError, r"daemon must be a bool, not str"),
        ({"name": 5}, TypeError, r"name must be a non-empty str"),
        ({"name": ""}, TypeError, r"name must be a non-empty str"),
        ({"seed": "x"}, TypeError, r"seed must be an int or None, not str"),
    ],
)
def test_constructor_arguments_are_checked_under_their_own_names(
    kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    # At construction, not at the first scheduling call, and never under an inner part's name.
    with pytest.raises(error, match=message) as info:
        Scheduler(**kwargs)  # type: ignore[arg-type]
    assert "workers" not in str(info.value) and "ExecutionPool" not in str(info.value)


def test_constructor_accepts_int_subclasses_and_defaults() -> None:
    class Two(int):
        pass

    sched = Scheduler(clock=VirtualClock(START), dispatcher_threads=Two(2), max_concurrent_executions=Two(3),
                      history_size=0, seed=1)
    sched.start()
    try:
        assert sched.running
    finally:
        assert sched.stop()
