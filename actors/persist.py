"""Mapping schedule state to stored records and back (see `actors.store`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import msgspec

from actors.policy import Policy, Retry, policy_from_micros
from actors.results import ScheduleStatus
from actors.state import ScheduleState
from actors.store import StoredSchedule

__all__ = ["from_record", "planned", "to_record"]

logger = logging.getLogger("tickwork")

_STATUS_NAMES = {st: st.value for st in ScheduleStatus}
_FROM_NAME = {st.value: st for st in ScheduleStatus}


def to_record(s: ScheduleState) -> StoredSchedule:
    """The durable record of ``s`` as it is now."""
    p = s.policy
    err = s.last_error
    return StoredSchedule(
        id=s.id,
        name=s.name,
        target=s.target,
        args=list(s.args),
        kwargs=dict(s.kwargs),
        trigger=s.trigger.to_dict(),
        status=_STATUS_NAMES[s.status],  # type: ignore[arg-type]
        created_us=s.created_us,
        next_due_us=s.next_due_us if s.status.is_active else None,
        last_us=s.last_us,
        execution_count=s.execution_count,
        failure_count=s.failure_count,
        missed_count=s.missed_count,
        last_error=None if err is None else repr(err),
        metadata=dict(s.metadata),
        misfire=p.misfire,  # type: ignore[arg-type]
        misfire_grace_us=p.grace_us,
        catch_up_limit=p.catch_up_limit,
        timeout_us=p.timeout_us,
        retry=None if p.retry is None else p.retry.to_dict(),
        jitter_us=p.jitter_us,
    )


def planned(s: ScheduleState, changes: dict[str, Any]) -> StoredSchedule:
    """The record of ``s`` as it will be once ``changes`` (record fields) are made:
    what is written *before* a change is applied, so a failed write changes nothing."""
    return msgspec.structs.replace(to_record(s), **changes)


def _policy(rec: StoredSchedule) -> Policy:
    retry = None if rec.retry is None else Retry.from_dict(rec.retry)
    return policy_from_micros(
        rec.misfire, rec.misfire_grace_us, rec.catch_up_limit, rec.timeout_us, retry, rec.jitter_us
    )


def from_record(
    rec: StoredSchedule, resolve: Callable[[str], Callable[..., Any] | None], now_us: int
) -> ScheduleState:
    """Rebuild a schedule from its record, applying its misfire policy to firings
    that came due while nothing was running (``now_us`` is the restart time)."""
    trigger = rec.schedule_at()
    fn = resolve(rec.target)
    s = ScheduleState(
        rec.id,
        name=rec.name,
        target=rec.target,
        fn=fn,
        args=tuple(rec.args),
        kwargs=dict(rec.kwargs),
        trigger=trigger,
        created_us=rec.created_us,
        first_due_us=rec.next_due_us,
        metadata=dict(rec.metadata),
    )
    s.durable = True
    s.policy = _policy(rec)
    s.execution_count = rec.execution_count
    s.failure_count = rec.failure_count
    s.missed_count = rec.missed_count
    s.last_us = rec.last_us
    if rec.last_error is not None:
        s.last_error = RuntimeError(f"before restart: {rec.last_error}")
    status = _FROM_NAME[rec.status]
    if status is ScheduleStatus.RUNNING:
        status = ScheduleStatus.PENDING  # it was running when the process stopped: run again
    s.status = status
    if fn is None:
        s.unresolved = True
        s.status = ScheduleStatus.FAILED
        s.last_error = LookupError(
            f"target {rec.target!r} is not registered: call scheduler.register({rec.target!r}, fn) "
            "before start(); the stored schedule is kept unchanged"
        )
        return s
    if status is not ScheduleStatus.PENDING or rec.next_due_us is None or rec.next_due_us > now_us:
        return s
    # Firings came due while the process was down.
    policy = s.policy
    due = rec.next_due_us
    if policy.misfire == "skip":
        latest, count = trigger.coalesce(due, now_us)
        s.missed_count += count
        s.next_due_us = trigger.next_fire_us(latest)
        if s.next_due_us is None:
            s.status = ScheduleStatus.COMPLETED
    # "coalesce" and "catch_up": armed at the past due time, it fires at once and the
    # schedule actor applies the policy (one run for all, or each up to the limit),
    # dropping firings older than the grace period.
    return s
