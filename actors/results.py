"""Public value types of the runtime: statuses, execution results, schedule snapshots."""

from __future__ import annotations

import enum
from typing import Any

import msgspec

from timekit import Duration, ScheduleAt, Timestamp

__all__ = ["ScheduleInfo", "ScheduleResult", "ScheduleStatus"]


class ScheduleStatus(enum.Enum):
    """Where a schedule is in its life."""

    PENDING = "pending"  #: armed, waiting for its next firing
    RUNNING = "running"  #: an execution is in progress
    PAUSED = "paused"  #: not firing until resumed
    COMPLETED = "completed"  #: a one-shot that ran (or a trigger with no further firing)
    FAILED = "failed"  #: a one-shot whose execution raised
    CANCELLED = "cancelled"  #: cancelled; never runs again

    @property
    def is_active(self) -> bool:
        """True while the schedule may still run (pending, running or paused)."""
        return self in _ACTIVE


_ACTIVE = frozenset({ScheduleStatus.PENDING, ScheduleStatus.RUNNING, ScheduleStatus.PAUSED})


class ScheduleResult(msgspec.Struct, frozen=True):
    """One execution of a schedule, as recorded by the supervisor.

    ``lateness`` is ``start_time - scheduled_time``; ``missed`` counts the firings
    that came due before this one could start and were coalesced into it (or
    skipped by the misfire policy); ``attempt`` is 1 for a firing, 2.. for retries.
    """

    schedule_id: int
    scheduled_time: Timestamp
    start_time: Timestamp
    lateness: Duration
    duration: Duration
    success: bool
    return_value: Any = None
    error: BaseException | None = None
    missed: int = 0
    attempt: int = 1


class ScheduleInfo(msgspec.Struct, frozen=True):
    """An immutable snapshot of one schedule (see `Scheduler.get_schedule`).

    Lateness figures are this schedule's own, over its most recent executions.
    ``durable`` is False for schedules that live in memory only.
    """

    id: int
    name: str
    target: Any
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    trigger: ScheduleAt
    status: ScheduleStatus
    created_at: Timestamp
    next_execution: Timestamp | None
    last_execution: Timestamp | None
    execution_count: int
    failure_count: int
    missed_count: int
    lateness_p50: Duration | None
    lateness_p99: Duration | None
    lateness_max: Duration | None
    last_error: BaseException | None
    metadata: dict[str, Any]
    actor_ref: Any
    durable: bool = False
    retries: int = 0
