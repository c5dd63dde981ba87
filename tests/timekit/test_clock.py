"""Tests for timekit.clock: SystemClock, VirtualClock and their waiters."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from timekit import Clock, Duration, SystemClock, Timestamp, VirtualClock, Waiter

UTC = timezone.utc
JOIN = 10.0  # generous real-time bound for joins; never reached when things work


class Result:
    """Runs ``waiter.wait(timeout)`` in a real thread and records what it returned."""

    def __init__(self, waiter: Waiter, timeout_us: int | None) -> None:
        self.value: bool | None = None
        self.done = threading.Event()
        self.elapsed_ns = 0

        def run() -> None:
            t0 = time.monotonic_ns()
            self.value = waiter.wait(timeout_us)
            self.elapsed_ns = time.monotonic_ns() - t0
            self.done.set()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def join(self) -> bool | None:
        self.thread.join(JOIN)
        assert not self.thread.is_alive(), "waiter thread did not finish"
        return self.value


# =========================================================================== protocols


def test_clocks_satisfy_protocols() -> None:
    for clock in (SystemClock(), VirtualClock()):
        assert isinstance(clock, Clock)
        assert isinstance(clock.waiter(), Waiter)


# =========================================================================== SystemClock


def test_system_clock_reads() -> None:
    c = SystemClock()
    before = time.time_ns() // 1000
    now_us = c.now_us()
    now = c.now()
    after = time.time_ns() // 1000
    assert before <= now_us <= now.micros <= after
    assert isinstance(now, Timestamp)
    m1 = c.monotonic_us()
    m2 = c.monotonic_us()
    assert m1 <= m2
    assert abs(m1 - time.monotonic_ns() // 1000) < 1_000_000
    assert repr(c) == "SystemClock()"
    assert c == SystemClock() and hash(c) == hash(SystemClock())


def test_system_waiter_timeout_roughly_honoured() -> None:
    w = SystemClock().waiter()
    t0 = time.monotonic_ns()
    assert w.wait(30_000) is False
    elapsed_us = (time.monotonic_ns() - t0) // 1000
    assert 30_000 <= elapsed_us < 2_000_000


def test_system_waiter_zero_and_negative_timeouts_return_at_once() -> None:
    w = SystemClock().waiter()
    t0 = time.monotonic_ns()
    assert w.wait(0) is False
    assert w.wait(-1_000_000) is False
    assert time.monotonic_ns() - t0 < 500_000_000


def test_system_wake_before_wait() -> None:
    w = SystemClock().waiter()
    w.wake()
    w.wake()  # wakes do not stack
    t0 = time.monotonic_ns()
    assert w.wait(5_000_000) is True
    assert time.monotonic_ns() - t0 < 1_000_000_000
    assert w.wait(1_000) is False  # the flag was cleared
    w.wake()
    assert w.wait(None) is True
    w.wake()
    assert w.wait(0) is True  # a pending wake is consumed even with a zero timeout


def test_system_wakes_from_many_threads_are_never_lost() -> None:
    # Whatever the interleaving, a wake after the waiter's last return is seen by its
    # next wait (wakes from several threads at once collapse into one).
    w = SystemClock().waiter()
    rounds = 300
    go = [threading.Event() for _ in range(rounds)]

    def waker() -> None:
        for i in range(rounds):
            go[i].wait(10)
            w.wake()

    threads = [threading.Thread(target=waker) for _ in range(4)]
    for t in threads:
        t.start()

    for i in range(rounds):
        go[i].set()
        assert w.wait(5_000_000) is True
    for t in threads:
        t.join(10)
    w.wait(0)  # consume the one pending wake the last round may have left
    assert w.wait(0) is False  # wakes never stack up


@pytest.mark.parametrize("timeout", [None, 60_000_000])
def test_system_wake_releases_a_blocked_thread_quickly(timeout: int | None) -> None:
    w = SystemClock().waiter()
    r = Result(w, timeout)
    assert not r.done.wait(0.05)  # still blocked
    t0 = time.monotonic_ns()
    w.wake()
    assert r.join() is True
    assert time.monotonic_ns() - t0 < 2_000_000_000
    assert w.wait(0) is False


@pytest.mark.parametrize("bad", [1.5, "10", True, [1]])
def test_wait_timeout_type_errors(bad: object) -> None:
    for clock in (SystemClock(), VirtualClock()):
        with pytest.raises(TypeError, match="wait\\(\\) needs a timeout in int microseconds or None"):
            clock.waiter().wait(bad)  # type: ignore[arg-type]


def test_system_waiter_huge_timeout_is_clamped() -> None:
    w = SystemClock().waiter()
    r = Result(w, 10**30)
    w.wake()
    assert r.join() is True


# =========================================================================== VirtualClock basics


def test_virtual_default_start_and_reads() -> None:
    c = VirtualClock()
    assert c.now() == Timestamp.from_datetime(datetime(2000, 1, 1, tzinfo=UTC))
    assert c.now_us() == c.monotonic_us() == 946_684_800_000_000
    assert repr(c) == "VirtualClock(now=2000-01-01T00:00:00+00:00, pending_waiters=0)"


@pytest.mark.parametrize(
    "start",
    [Timestamp(1_234_567), datetime(1970, 1, 1, 0, 0, 1, 234_567, tzinfo=UTC), 1_234_567],
)
def test_virtual_start_forms(start: object) -> None:
    c = VirtualClock(start)  # type: ignore[arg-type]
    assert c.now_us() == 1_234_567


@pytest.mark.parametrize(
    ("start", "exc", "fragment"),
    [
        (datetime(2020, 1, 1), ValueError, "attach a tzinfo"),
        (1.5, TypeError, "use Timestamp.from_seconds"),
        (True, TypeError, "int microseconds"),
        ("2020-01-01", TypeError, "int microseconds"),
        (10**30, OverflowError, "out of range"),
    ],
)
def test_virtual_start_errors(start: object, exc: type[Exception], fragment: str) -> None:
    with pytest.raises(exc, match=fragment):
        VirtualClock(start)  # type: ignore[arg-type]


def test_virtual_advance_forms() -> None:
    c = VirtualClock(0)
    assert c.advance(1) == Timestamp(1_000_000)
    assert c.advance(0.5).micros == 1_500_000
    assert c.advance(Duration(7)).micros == 1_500_007
    assert c.advance(timedelta(milliseconds=3)).micros == 1_503_007
    assert c.advance(days=1).micros == 1_503_007 + 86_400_000_000
    assert c.advance(hours=1, minutes=1, seconds=1, milliseconds=1, microseconds=1).micros == (
        1_503_007 + 86_400_000_000 + 3_661_001_001
    )
    assert c.advance(1, seconds=1).micros == 1_503_007 + 86_400_000_000 + 3_661_001_001 + 2_000_000
    before = c.now_us()
    assert c.advance("250ms").micros == before + 250_000  # duration text, as every duration parameter
    assert c.advance("PT1S", microseconds=1).micros == before + 1_250_001
    assert c.advance().micros == c.now_us()  # zero is fine
    assert c.now_us() == c.monotonic_us()


@pytest.mark.parametrize(
    ("args", "kwargs", "exc", "fragment"),
    [
        ((-1,), {}, ValueError, "never goes backwards"),
        ((Duration(-1),), {}, ValueError, "never goes backwards"),
        ((), {"seconds": -1}, ValueError, "never goes backwards"),
        (("1",), {}, ValueError, r"VirtualClock.advance\(by\): Invalid duration '1'"),  # text needs a unit
        (([1],), {}, TypeError, "Duration, a timedelta or a number of seconds"),
        ((True,), {}, TypeError, "Duration, a timedelta or a number of seconds"),
        ((), {"days": "1"}, TypeError, "advance\\(days=\\) needs a number"),
        ((float("nan"),), {}, ValueError, "finite"),
        ((), {"days": 10**7}, OverflowError, "advance by less"),
    ],
)
def test_virtual_advance_errors(
    args: tuple[object, ...], kwargs: dict[str, object], exc: type[Exception], fragment: str
) -> None:
    c = VirtualClock()
    with pytest.raises(exc, match=fragment):
        c.advance(*args, **kwargs)  # type: ignore[arg-type]
    assert c.now_us() == 946_684_800_000_000  # unchanged


def test_virtual_set() -> None:
    c = VirtualClock(100)
    assert c.set(100) == Timestamp(100)  # same instant is fine
    assert c.set(Timestamp(200)).micros == 200
    assert c.set(datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)).micros == 1_000_000
    with pytest.raises(ValueError, match=r"earlier than now.*never goes backwards"):
        c.set(999_999)
    with pytest.raises(ValueError, match="attach a tzinfo"):
        c.set(datetime(2030, 1, 1))
    with pytest.raises(TypeError, match=r"VirtualClock\.set\(\) needs a Timestamp"):
        c.set(2.0)  # type: ignore[arg-type]
    assert c.now_us() == 1_000_000


# =========================================================================== VirtualClock waiters


def test_virtual_waiter_released_exactly_at_deadline() -> None:
    c = VirtualClock(0)
    w = c.waiter()
    r = Result(w, 1_000)
    assert c.wait_for_waiters(1, timeout=JOIN)
    c.advance(Duration(999))
    # not released: it only leaves wait() (and the pending count) once the deadline is reached
    assert c.pending_waiters == 1 and not r.done.is_set()
    c.advance(Duration(1))
    assert r.join() is False
    assert c.pending_waiters == 0


def test_virtual_waiters_with_different_deadlines() -> None:
    c = VirtualClock(0)
    results = {t: Result(c.waiter(), t) for t in (10, 20, 30)}
    assert c.wait_for_waiters(3, timeout=JOIN)
    c.set(20)
    assert results[10].join() is False
    assert results[20].join() is False
    assert c.pending_waiters == 1 and not results[30].done.is_set()
    c.advance(Duration(100))
    assert results[30].join() is False
    assert c.pending_waiters == 0


def test_virtual_deadline_is_relative_to_the_call() -> None:
    c = VirtualClock(0)
    c.advance(Duration(500))
    r = Result(c.waiter(), 100)
    assert c.wait_for_waiters(1, timeout=JOIN)
    c.advance(Duration(99))
    assert c.pending_waiters == 1
    c.advance(Duration(1))
    assert r.join() is False


def test_virtual_wake_releases_blocked_waiter() -> None:
    c = VirtualClock()
    w = c.waiter()
    r = Result(w, None)
    assert c.wait_for_waiters(1, timeout=JOIN)
    c.advance(days=10_000)  # no timeout: time alone never releases it
    assert c.pending_waiters == 1
    w.wake()
    assert r.join() is True
    assert c.pending_waiters == 0


def test_virtual_wake_only_releases_its_own_waiter() -> None:
    c = VirtualClock()
    w1, w2 = c.waiter(), c.waiter()
    r1, r2 = Result(w1, 5_000), Result(w2, 5_000)
    assert c.wait_for_waiters(2, timeout=JOIN)
    w1.wake()
    assert r1.join() is True
    assert c.pending_waiters == 1 and not r2.done.is_set()
    c.advance(Duration(5_000))
    assert r2.join() is False


def test_virtual_wake_before_wait_and_zero_timeout() -> None:
    c = VirtualClock()
    w = c.waiter()
    w.wake()
    assert w.wait(10**12) is True  # returns at once
    assert w.wait(0) is False
    assert w.wait(-5) is False
    w.wake()
    assert w.wait(0) is True


def test_wait_for_waiters_times_out() -> None:
    c = VirtualClock()
    assert c.wait_for_waiters(1, timeout=0.01) is False
    assert c.wait_for_waiters(0, timeout=0) is True
    with pytest.raises(TypeError, match="count must be an int"):
        c.wait_for_waiters(1.0)  # type: ignore[arg-type]


def test_virtual_clock_is_thread_safe() -> None:
    c = VirtualClock(0)
    n_threads, n_steps = 8, 500
    start = threading.Barrier(n_threads)

    def run() -> None:
        start.wait(JOIN)
        for _ in range(n_steps):
            c.advance(Duration(3))

    threads = [threading.Thread(target=run) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(JOIN)
        assert not t.is_alive()
    assert c.now_us() == n_threads * n_steps * 3


def test_virtual_many_waiters_released_by_one_advance() -> None:
    c = VirtualClock(0)
    results = [Result(c.waiter(), 50 + i) for i in range(10)]
    assert c.wait_for_waiters(10, timeout=JOIN)
    assert "pending_waiters=10" in repr(c)
    c.advance(Duration(1_000))
    assert [r.join() for r in results] == [False] * 10
    assert c.pending_waiters == 0


class _Steps:
    """A participant with work at given instants: records what now() read at each."""

    def __init__(self, clock: VirtualClock, dues: list[int], *, stall_at: int | None = None) -> None:
        self.clock = clock
        self.dues = sorted(dues)
        self.seen: list[int] = []
        self.stall_at = stall_at
        self.on_instant: dict[int, object] = {}

    def settle(self) -> tuple[bool, int | None]:
        now = self.clock.now_us()
        while self.dues and self.dues[0] <= now:
            due = self.dues.pop(0)
            self.seen.append(now)  # the "work" of instant `due` reads the clock
            action = self.on_instant.get(due)
            if callable(action):
                action()
            if due == self.stall_at:
                return False, None
        return True, self.dues[0] if self.dues else None


def test_virtual_advance_steps_through_each_participant_instant() -> None:
    clock = VirtualClock(0)
    p = _Steps(clock, [5, 10, 10, 30, 31])
    clock.attach(p)
    clock.attach(p)  # once only
    assert clock.advance(Duration(30)) == Timestamp(30)
    assert p.seen == [5, 10, 10, 30]  # each instant's work saw its own time; the end is inclusive
    assert clock.now_us() == 30 and p.dues == [31]
    assert clock.set(100) == Timestamp(100)
    assert p.seen[-1] == 31 and clock.now_us() == 100
    clock.detach(p)
    p.dues = [150]
    clock.advance(Duration(100))
    assert p.dues == [150] and clock.now_us() == 200  # detached: a plain jump


def test_virtual_advance_with_two_participants_interleaves_their_instants() -> None:
    clock = VirtualClock(0)
    a, b = _Steps(clock, [3, 9]), _Steps(clock, [1, 6, 12])
    clock.attach(a)
    clock.attach(b)
    clock.advance(Duration(10))
    assert (a.seen, b.seen, clock.now_us()) == ([3, 9], [1, 6], 10)


def test_virtual_advance_from_inside_an_instant_adds_its_time_and_stepping_goes_on() -> None:
    # Work that moves the clock itself (a target simulating a slow call): time passes
    # at once, and the outer advance still steps to the end of both spans.
    clock = VirtualClock(0)
    p = _Steps(clock, [10, 20, 40])
    inner: list[Timestamp] = []
    p.on_instant[10] = lambda: inner.append(clock.advance(Duration(5)))
    clock.attach(p)
    assert clock.advance(Duration(30)) == Timestamp(35)
    assert inner == [Timestamp(15)]
    assert p.seen == [10, 20]  # 40 is after the end (35)


def test_virtual_advance_moves_straight_to_the_end_when_a_participant_cannot_wait() -> None:
    clock = VirtualClock(0)
    p = _Steps(clock, [10, 20, 30], stall_at=10)
    clock.attach(p)
    assert clock.advance(Duration(25)) == Timestamp(25)
    assert p.seen == [10] and p.dues == [20, 30]  # 20 was not stepped to: it is the participant's to run late


def test_virtual_clock_attach_and_stall_timeout_errors() -> None:
    with pytest.raises(TypeError, match="settle"):
        VirtualClock().attach(object())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="stall_timeout"):
        VirtualClock(stall_timeout=0)
    assert VirtualClock(stall_timeout=2).stall_timeout == 2.0
