"""`Inspection`: snapshots of schedules, the next firing, statistics and recent results.

None of these takes the scheduler's lock. With a shared store's group, the schedules
other processes run are read as stored; after `stop`, the statistics are the final ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pykka

from actors import persist
from actors.results import ScheduleInfo, ScheduleResult, ScheduleStatus
from actors.scheduler.core import SchedulerCore
from actors.state import ScheduleState
from actors.supervisor import latest
from timekit import Duration, Timestamp

__all__ = ["Inspection"]

_T = TypeVar("_T")


class Inspection(SchedulerCore):
    """Reading schedules and statistics (after `stop`, the final ones)."""

    def get_schedule(self, schedule_id: int) -> ScheduleInfo | None:
        """A snapshot of one schedule, or None if unknown."""
        s = self._state(schedule_id)
        if s is None and self._rt is not None and self._rt.cluster is not None and not self._stopped:
            rec = self._rt.cluster.record(schedule_id)  # run by another process: as stored
            s = None if rec is None else persist.from_record(rec, self._targets.get, self._rt.now_us(True))
        return None if s is None else _snapshot(s)

    def list_schedules(self, status: ScheduleStatus | None = None, name: str | None = None) -> list[ScheduleInfo]:
        """Snapshots of all schedules, optionally filtered by status and name, by id."""
        rt = self._rt
        if rt is None:
            return []
        states = list(rt.states.values())
        if rt.cluster is not None and not self._stopped:  # with those other processes run, as stored
            now = rt.now_us(True)
            local = set(rt.states)
            states += [persist.from_record(r, self._targets.get, now) for r in rt.cluster.records() if r.id not in local]
        return [
            _snapshot(s)
            for s in sorted(states, key=lambda x: x.id)
            if (status is None or s.status is status) and (name is None or s.name == name)
        ]

    def get_next_execution_time(self) -> Timestamp | None:
        """The earliest next firing of any pending schedule."""
        rt = self._rt
        if rt is None:
            return None
        dues = [
            s.next_due_us
            for s in list(rt.states.values())
            if s.status is ScheduleStatus.PENDING and s.next_due_us is not None
        ]
        return Timestamp.from_micros(min(dues)) if dues else None

    def get_scheduled_messages(self) -> dict[int, dict[str, Any]]:
        """``{id: {"message": msg, "interval": seconds}}`` for active periodic messages
        (``interval`` is None for one rescheduled to a time, daily or cron trigger)."""
        rt = self._rt
        if rt is None:
            return {}
        return {
            s.id: {
                "message": s.message,
                "interval": s.trigger.every.total_seconds() if s.trigger.is_interval() else None,
            }
            for s in list(rt.states.values())
            if s.kind == "message" and s.status.is_active
        }

    def get_execution_stats(self) -> dict[str, Any]:
        """Aggregate statistics over every execution so far (after `stop`, the final ones).

        With a shared store (`PostgresStore`): the whole group's, with each live member's
        under ``"members"`` (see the README); after `stop`, this process's own."""
        rt = self._rt
        if self._stopped and rt is not None:
            final = rt.final_stats
            return dict(final) if final is not None else self._while_stopping(rt.stats)
        rt = self._runtime()
        stats = rt.stats()
        return stats if rt.cluster is None else rt.cluster.group_stats(stats)

    def get_execution_metrics(self, limit: int | None = None) -> list[ScheduleResult]:
        """The most recent execution results, oldest first (after `stop`, the final ones)."""
        rt = self._rt
        if self._stopped and rt is not None:
            final = rt.final_history
            if final is None:
                return self._while_stopping(lambda: rt.history(limit))
            return latest(list(final), limit)
        return self._runtime().history(limit)

    @staticmethod
    def _while_stopping(ask: Callable[[], _T]) -> _T:
        """Ask the supervisor while `stop` is under way (it answers until stop is done with it)."""
        try:
            return ask()
        except pykka.ActorDeadError:
            raise RuntimeError("this scheduler was stopped and its statistics were lost") from None


def _ts(us: int | None) -> Timestamp | None:
    return None if us is None else Timestamp.from_micros(us)


def _dur(us: int | None) -> Duration | None:
    return None if us is None else Duration(us)


def _snapshot(s: ScheduleState) -> ScheduleInfo:
    return ScheduleInfo(
        id=s.id,
        name=s.name,
        target=s.target,
        args=s.args,
        kwargs=dict(s.kwargs),
        trigger=s.trigger,
        status=s.status,
        created_at=Timestamp.from_micros(s.created_us),
        next_execution=_ts(s.next_due_us) if s.status.is_active else None,
        last_execution=_ts(s.last_us),
        execution_count=s.execution_count,
        failure_count=s.failure_count,
        missed_count=s.missed_count,
        lateness_p50=_dur(s.lateness_percentile(0.50)),
        lateness_p99=_dur(s.lateness_percentile(0.99)),
        lateness_max=_dur(s.late_max),
        last_error=s.last_error,
        metadata=dict(s.metadata),
        actor_ref=s.actor_ref,
        durable=s.durable,
        retries=s.retries,
    )
