"""Periodic messages: the packet-library API on Scheduler and on actors.Protocol."""

from __future__ import annotations

import threading
import time

import pytest
from runtime_support import START, run_for

from actors import Protocol, Scheduler, UpdateCallbackError, protocol
from codec import Encoding, Message
from timekit import Duration, VirtualClock

P = Protocol()


@protocol(P)
class Heartbeat(Message):
    encoding = Encoding.BIG_ENDIAN
    fields = {"timestamp": {"type": "int(64)"}, "sequence": {"type": "int(32)"}}


def test_static_message_is_encoded_once_and_sent_every_interval(sched: Scheduler, clock: VirtualClock) -> None:
    sent: list[tuple[int, bytes]] = []
    hb = Heartbeat(timestamp=5, sequence=1)
    sid = sched.schedule_message(hb, 0.1, lambda b: sent.append((sched.now().micros, b)), protocol=P)
    assert sched.wait_idle(5)  # the first send happens immediately
    run_for(sched, clock, 0.5)
    assert [t - START.micros for t, _ in sent] == [k * 100_000 for k in range(6)]
    assert len({b for _, b in sent}) == 1
    assert P.decode(sent[0][1]) == Heartbeat(timestamp=5, sequence=1)
    assert sched.get_scheduled_messages() == {sid: {"message": hb, "interval": 0.1}}
    assert sched.get_scheduled_messages()[sid]["message"] is hb


def test_update_callback_mutates_in_place_before_each_send(sched: Scheduler, clock: VirtualClock) -> None:
    sent: list[bytes] = []
    hb = Heartbeat(timestamp=0, sequence=0)

    def bump(msg: Heartbeat) -> None:
        msg.sequence += 1
        msg.timestamp = sched.now().micros

    sched.schedule_message(hb, 1.0, sent.append, bump, protocol=P)
    run_for(sched, clock, 3)
    decoded = [P.decode(b) for b in sent]
    assert [m.sequence for m in decoded] == [1, 2, 3, 4]
    assert [m.timestamp - START.micros for m in decoded] == [0, 1_000_000, 2_000_000, 3_000_000]
    assert hb.sequence == 4


def test_failing_update_skips_that_send_and_failing_send_continues(sched: Scheduler, clock: VirtualClock) -> None:
    sent: list[bytes] = []
    errors: list[tuple[int, BaseException]] = []
    sched.add_error_callback(lambda sid, exc: errors.append((sid, exc)))

    def flaky_update(msg: Heartbeat) -> None:
        msg.sequence += 1
        if msg.sequence == 2:
            raise RuntimeError("boom")

    a = sched.schedule_message(Heartbeat(timestamp=0, sequence=0), 1.0, sent.append, flaky_update, protocol=P)

    def bad_send(_data: bytes) -> None:
        raise OSError("network down")

    b = sched.schedule_message(Heartbeat(timestamp=0, sequence=0), 1.0, bad_send, protocol=P)
    run_for(sched, clock, 3)
    assert [P.decode(x).sequence for x in sent] == [1, 3, 4]
    a_errors = [e for sid, e in errors if sid == a]
    assert len(a_errors) == 1 and isinstance(a_errors[0], UpdateCallbackError)
    assert isinstance(a_errors[0].__cause__, RuntimeError)
    assert len([e for sid, e in errors if sid == b]) == 4
    assert sched.get_schedule(b).failure_count == 4  # type: ignore[union-attr]


@pytest.mark.parametrize("exc", [KeyboardInterrupt, SystemExit])
def test_an_update_callback_raising_a_base_exception_is_an_update_callback_error(
    sched: Scheduler, clock: VirtualClock, exc: type[BaseException]
) -> None:
    # It reached the error callbacks bare (KeyboardInterrupt), unlike an Exception.
    errors: list[BaseException] = []
    sched.add_error_callback(lambda sid, e: errors.append(e))
    sent: list[bytes] = []

    def update(msg: Heartbeat) -> None:
        msg.sequence += 1
        if msg.sequence == 1:
            raise exc()

    sched.schedule_message(Heartbeat(timestamp=0, sequence=0), 1.0, sent.append, update, protocol=P)
    run_for(sched, clock, 1)
    assert len(errors) == 1 and isinstance(errors[0], UpdateCallbackError)
    assert isinstance(errors[0].__cause__, exc)
    assert [P.decode(b).sequence for b in sent] == [2]  # that send skipped, the next one sent


def test_bad_intervals_and_messages_are_refused(sched: Scheduler) -> None:
    hb = Heartbeat(timestamp=0, sequence=0)
    for bad in (0, -1, float("nan"), float("inf"), Duration(0)):
        with pytest.raises(ValueError, match="Interval must be positive"):
            sched.schedule_message(hb, bad, print, protocol=P)
    with pytest.raises(TypeError):
        sched.schedule_message(hb, True, print, protocol=P)
    with pytest.raises(ValueError, match="Cannot schedule invalid message"):
        sched.schedule_message(Heartbeat(timestamp=0), 1.0, print, protocol=P)  # sequence unset
    with pytest.raises(ValueError, match="Cannot schedule invalid message"):
        sched.schedule_message(Heartbeat(timestamp=0, sequence=2**31), 1.0, print, protocol=P)
    with pytest.raises(TypeError, match="Cannot schedule invalid message"):
        sched.schedule_message("not a message", 1.0, print)
    with pytest.raises(TypeError):
        sched.schedule_message(hb, 1.0, "not callable")  # type: ignore[arg-type]
    assert sched.get_scheduled_messages() == {}


def test_cancel_from_inside_the_send_callback(sched: Scheduler, clock: VirtualClock) -> None:
    sent: list[bytes] = []
    ids: dict[str, int] = {}

    def send(data: bytes) -> None:
        sent.append(data)
        if len(sent) == 3:
            assert sched.cancel_scheduled_message(ids["id"]) is True

    ids["id"] = sched.schedule_message(Heartbeat(timestamp=1, sequence=1), 1.0, send, protocol=P)
    run_for(sched, clock, 10)
    assert len(sent) == 3
    assert sched.cancel_scheduled_message(ids["id"]) is False
    assert sched.get_scheduled_messages() == {}


def test_cancel_all_scheduled_messages(sched: Scheduler, clock: VirtualClock) -> None:
    for _ in range(5):
        sched.schedule_message(Heartbeat(timestamp=1, sequence=1), 1.0, lambda b: None, protocol=P)
    other = sched.schedule_at_interval(lambda: None, (), 1.0)
    assert sched.cancel_all_scheduled_messages() == 5
    assert sched.get_scheduled_messages() == {}
    assert sched.get_schedule(other).status.is_active  # type: ignore[union-attr]


def test_protocol_owns_a_lazy_daemon_scheduler() -> None:
    proto = Protocol()

    @protocol(proto)
    class Ping(Message):
        fields = {"n": {"type": "uint(16)"}}

    got: list[int] = []
    three = threading.Event()

    def send(data: bytes) -> None:
        got.append(proto.decode(data).n)
        if len(got) >= 3:
            three.set()

    def inc(m: Ping) -> None:
        m.n += 1

    sid = proto.schedule_message(Ping(n=0), 0.01, send, inc)
    assert three.wait(5)
    assert proto.cancel_scheduled_message(sid) is True
    n = len(got)
    time.sleep(0.05)
    assert len(got) == n  # nothing after cancel returned True
    assert got[:3] == [1, 2, 3]
    assert all(t.daemon for t in threading.enumerate() if t.name.startswith("tickwork-protocol"))
    assert proto.stop_scheduler()
    assert not [t for t in threading.enumerate() if t.name.startswith("tickwork-protocol")]


def test_many_threads_schedule_and_cancel_messages(sched: Scheduler) -> None:
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(50):
                sid = sched.schedule_message(Heartbeat(timestamp=0, sequence=0), 0.5, lambda b: None, protocol=P)
                assert sched.cancel_scheduled_message(sid) is True
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert sched.get_scheduled_messages() == {}


def test_a_message_rescheduled_to_a_time_is_listed_without_an_interval(sched: Scheduler, clock: VirtualClock) -> None:
    hb = Heartbeat(timestamp=0, sequence=0)
    sid = sched.schedule_message(hb, 0.1, lambda b: None, protocol=P)
    assert sched.wait_idle(5)
    assert sched.reschedule(sid, sched.now() + Duration.from_seconds(10))
    assert sched.get_scheduled_messages() == {sid: {"message": hb, "interval": None}}


def test_updating_a_function_schedule_with_a_message_is_a_clear_type_error(sched: Scheduler) -> None:
    sid = sched.schedule_at_interval(lambda: None, (), 1)
    with pytest.raises(TypeError, match="not a periodic message"):
        sched.update(sid, message=Heartbeat(timestamp=0, sequence=0))
    assert sched.get_schedule(sid).status.is_active  # nothing lost
