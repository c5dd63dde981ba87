"""Working out what a change (`Update`, `Pause`, `Resume`) does to a schedule,
without applying it: validating an update, where a resume takes it, and the
stored record's fields a change would write (`plan`, written before the change
is applied, so a failed write changes nothing)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from actors.messages import Pause, Resume, Update
from actors.results import ScheduleStatus
from actors.state import ScheduleState, as_args
from timekit import ScheduleAt

__all__ = ["Prepared", "plan", "prepare_update", "resume_to"]

PENDING = ScheduleStatus.PENDING
RUNNING = ScheduleStatus.RUNNING
PAUSED = ScheduleStatus.PAUSED
COMPLETED = ScheduleStatus.COMPLETED

#: What an update sets: the new trigger (None: unchanged) and its first firing, args, kwargs.
Prepared = tuple[ScheduleAt | None, int | None, tuple[Any, ...], dict[str, Any]]


def resume_to(s: ScheduleState, now: int) -> tuple[int | None, ScheduleStatus]:
    """Where `Resume` takes paused ``s`` at ``now`` (its time base): its next firing and status."""
    nxt = s.trigger.next_fire_us(now)
    if nxt is None and s.trigger.is_time() and s.execution_count == 0:
        nxt = now  # a one-shot paused past its time runs on resume
    return nxt, RUNNING if s.running else COMPLETED if nxt is None else PENDING


def prepare_update(s: ScheduleState, u: Update, now_us: Callable[[bool], int]) -> Prepared | None:
    """Validate ``u`` (TypeError / ValueError) and work out what it sets (`Prepared`);
    None if ``s`` is not active. Changes nothing. ``now_us(wall)``: the time now."""
    if not s.status.is_active:
        return None
    trigger = s.trigger
    if u.trigger is not None:
        trigger = ScheduleAt.coerce(u.trigger, "trigger")
    if u.interval is not None:
        if not trigger.is_interval():
            raise ValueError(f"schedule {s.id} is a {trigger.kind} schedule: pass trigger= (not interval=) to change it")
        trigger = ScheduleAt.coerce(u.interval, "interval")
        if not trigger.is_interval():
            raise ValueError("interval= must be a positive duration")
    new_args = s.args if u.args is None else as_args(u.args)
    new_kwargs = s.kwargs if u.kwargs is None else dict(u.kwargs)
    if u.message is not None:
        s.check_message(u.message)
    if u.trigger is None and u.interval is None:
        return None, None, new_args, new_kwargs
    first, trigger = trigger.first_due(now_us(not trigger.is_interval()))
    return trigger, first, new_args, new_kwargs


def plan(s: ScheduleState, change: Any, now_us: Callable[[bool], int]) -> dict[str, Any] | bool:
    """What ``change`` would write to the store (record fields), or False if it
    would do nothing; validates like the change itself, applies nothing."""
    status = s.status
    nxt = s.next_due_us
    if type(change) is Pause:
        if status not in (PENDING, RUNNING):
            return False
        return {"status": PAUSED.value}
    if type(change) is Resume:
        if status is not PAUSED:
            return False
        nxt, status = resume_to(s, now_us(s.wall))
        return {"status": status.value, "next_due_us": nxt if status.is_active else None}
    if type(change) is Update:
        prepared = prepare_update(s, change, now_us)
        if prepared is None:
            return False
        trigger, first, new_args, new_kwargs = prepared
        out: dict[str, Any] = {"args": list(new_args), "kwargs": dict(new_kwargs)}
        if trigger is not None:
            nxt = first
            if first is None and status is PENDING:
                status = COMPLETED
            out.update(trigger=trigger.to_dict(), status=status.value)
        out["next_due_us"] = nxt if status.is_active else None
        return out
    raise TypeError(f"schedule {s.id}: nothing to plan for {change!r}")
