"""`GroupStats`: the execution statistics of a whole group (see `actors.cluster`).

Each heartbeat stores this process's `get_execution_stats` with its member row
(`GroupStats.snapshot`); `GroupStats.total` adds up every live member's.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import msgspec
import pykka

from actors.supervisor import STATS
from timekit import Duration

if TYPE_CHECKING:
    from actors.runtime import Runtime
    from actors.store.postgres import PostgresStore

__all__ = ["GroupStats", "add_up"]

logger = logging.getLogger("tickwork")

#: Statistics that are durations (stored as µs).
_DURATIONS = frozenset({"total_duration", "average_duration", "lateness_p50", "lateness_p99", "lateness_max"})
#: Statistics that are the largest of the members' (percentiles do not add up).
_HIGHEST = frozenset({"lateness_p50", "lateness_p99", "lateness_max"})


def add_up(members: list[dict[str, Any]], like: dict[str, Any]) -> dict[str, Any]:
    """The group's statistics from each member's (the keys of ``like``): counts and total
    durations added, rates and averages recomputed, lateness the highest member's."""
    out: dict[str, Any] = {}
    for key, mine in like.items():
        values = [m[key] for m in members if m.get(key) is not None]
        if key in _HIGHEST:
            out[key] = max(values, key=lambda d: d.micros) if values else None
        elif isinstance(mine, Duration):
            out[key] = Duration(sum(v.micros for v in values if isinstance(v, Duration)))
        elif isinstance(mine, int) and not isinstance(mine, bool):
            out[key] = sum(v for v in values if isinstance(v, int))
        else:
            out[key] = mine
    total = out.get("total_executions", 0)
    if "success_rate" in out:
        out["success_rate"] = out.get("successful_executions", 0) / total if total else 0.0
    if "average_duration" in out:
        out["average_duration"] = Duration(out["total_duration"].micros // total) if total else Duration(0)
    return out


class GroupStats:
    """The statistics of member ``member`` (its runtime ``rt``'s supervisor's) and of its group."""

    def __init__(self, store: PostgresStore, rt: Runtime, member: str) -> None:
        self.store = store
        self.rt = rt
        self.member = member
        self._asked: pykka.Future[Any] | None = None  # the supervisor's statistics, asked at a heartbeat

    def snapshot(self) -> bytes | None:
        """This process's `get_execution_stats` to store with this heartbeat: the answer to
        the supervisor's previous beat's ask (never waited for: a busy supervisor must not
        delay the lease renewal). None if there is none yet (the stored one stays)."""
        fut, self._asked = self._asked, None
        stats: dict[str, Any] | None = None
        if fut is not None:
            try:
                stats = fut.get(timeout=0)
            except pykka.Timeout:
                self._asked = fut  # still busy: asked again once it answered
                return None
            except Exception:  # the runtime is stopping
                logger.debug("tickwork: no statistics for the heartbeat of %s", self.member, exc_info=True)
        try:
            self._asked = self.rt.supervisor_ref.ask(STATS, block=False)
        except pykka.ActorDeadError:
            pass
        if stats is None:
            return None
        return msgspec.msgpack.encode({k: v.micros if isinstance(v, Duration) else v for k, v in stats.items()})

    def total(self, own: dict[str, Any]) -> dict[str, Any]:
        """The statistics of the whole group: ``own`` (this process's, current) and every
        other live member's as of its last heartbeat, added up; per member under
        ``"members"`` (member name -> statistics) and this one's name under ``"member"``."""
        members: dict[str, dict[str, Any]] = {}
        for name, data in self.store.member_stats().items():
            if name == self.member:
                continue
            try:
                raw = msgspec.msgpack.decode(data, type=dict[str, Any])
            except msgspec.DecodeError:
                logger.warning("tickwork: unreadable statistics of group member %s (ignored)", name)
                continue
            members[name] = {k: Duration(v) if k in _DURATIONS and isinstance(v, int) else v for k, v in raw.items()}
        members[self.member] = dict(own)
        total = add_up(list(members.values()), own)
        total["members"] = dict(sorted(members.items()))
        total["member"] = self.member
        return total
