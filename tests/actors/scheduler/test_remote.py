"""A change to a schedule another process runs, as plain data: `to_wire` and back with
`from_wire`, and `Changes._apply_remote` applying it here (no PostgreSQL needed)."""

from __future__ import annotations

import json

import pytest
from runtime_support import START, run_for

from actors import Scheduler, ScheduleStatus
from actors.scheduler.remote import from_wire, to_wire
from timekit import Duration, ScheduleAt, VirtualClock

SEC = 1_000_000


def test_update_changes_round_trip_as_json() -> None:
    changes = {
        "trigger": ScheduleAt.at_interval(2.5),
        "interval": 3,
        "args": (1, "x"),
        "kwargs": {"k": [1, 2]},
        "message": None,  # None is "no change": not sent
    }
    wire = json.loads(json.dumps(to_wire(changes)))  # plain data, as the store carries it
    assert wire == {
        "trigger": ScheduleAt.at_interval(2.5).to_dict(),
        "interval_us": 3 * SEC,
        "args": [1, "x"],
        "kwargs": {"k": [1, 2]},
    }
    back = from_wire(wire)
    assert back == {
        "trigger": ScheduleAt.at_interval(2.5),
        "interval": Duration(3 * SEC),
        "args": (1, "x"),
        "kwargs": {"k": [1, 2]},
    }


def test_changes_another_process_cannot_apply_raise_before_sending() -> None:
    with pytest.raises(ValueError, match=r"update\(message=\.\.\.\) of a schedule another process runs"):
        to_wire({"message": object()})
    with pytest.raises(TypeError):
        to_wire({"args": (object(),)})  # not encodable: it could not travel


def test_apply_remote_applies_each_change_here(sched: Scheduler, clock: VirtualClock) -> None:
    seen: list[tuple[int, ...]] = []
    sid = sched.schedule(lambda *a: seen.append(a), (0,), when=1.0)
    assert sched._apply_remote(sid, "pause", {})
    assert sched.get_schedule(sid).status is ScheduleStatus.PAUSED  # type: ignore[union-attr]
    assert sched._apply_remote(sid, "resume", {})
    assert sched._apply_remote(sid, "reschedule", to_wire({"trigger": 2.0}))
    assert sched._apply_remote(sid, "update", to_wire({"args": [7]}))
    run_for(sched, clock, 4.0)
    assert seen == [(7,), (7,)]  # every 2 s from the reschedule, with the new args
    info = sched.get_schedule(sid)
    assert info is not None and info.trigger.every == Duration(2 * SEC)
    assert info.next_execution == START + Duration(6 * SEC)
    with pytest.raises(ValueError, match="unknown change 'explode'"):
        sched._apply_remote(sid, "explode", {})


def test_remote_change_without_a_group_changes_nothing(sched: Scheduler) -> None:
    """No schedule here and no shared store: False, as for any unknown id."""
    assert sched.pause(12345) is False
    assert sched.update(12345, args=[1]) is False
    assert sched.reschedule(12345, 1.0) is False
