"""The state a schedule actor holds: kept apart from the actor so a restarted actor
continues from exactly where the dead one stopped."""

from __future__ import annotations

from array import array
from collections.abc import Callable
from typing import Any

from timekit import ScheduleAt

from actors.policy import DEFAULT_POLICY, Policy
from actors.results import ScheduleStatus
from actors.stats import percentile

__all__ = ["LATENCY_WINDOW", "ScheduleState"]

#: How many recent executions the per-schedule lateness percentiles cover.
LATENCY_WINDOW = 64


class ScheduleState:
    """Everything about one schedule. Written only by its actor (and the facade at
    creation); read by the facade for snapshots (each field read is atomic)."""

    __slots__ = (
        "actor",
        "args",
        "created_us",
        "encode",
        "execution_count",
        "failure_count",
        "fn",
        "generation",
        "id",
        "is_async",
        "kind",
        "kwargs",
        "last_error",
        "last_us",
        "late_i",
        "last_end_us",
        "late_max",
        "late_ring",
        "loop",
        "message",
        "metadata",
        "missed_count",
        "name",
        "next_due_us",
        "pending_missed",
        "pending_us",
        "run_missed",
        "policy",
        "durable",
        "unresolved",
        "attempt",
        "run_attempt",
        "exec_no",
        "catch_up_run",
        "rng",
        "retries",
        "run_scheduled_us",
        "run_started_us",
        "running",
        "send_cb",
        "_status",
        "cancelled",
        "target",
        "trigger",
        "update_cb",
        "wall",
        "encoded",
    )

    def __init__(
        self,
        sid: int,
        *,
        name: str,
        target: Any,
        fn: Callable[..., Any] | None,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        trigger: ScheduleAt,
        created_us: int,
        first_due_us: int | None,
        metadata: dict[str, Any],
    ) -> None:
        self.id = sid
        self.name = name
        self.target = target
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.trigger = trigger
        self.wall = not trigger.is_interval()
        self.created_us = created_us
        self.next_due_us = first_due_us
        self.metadata = metadata
        self._status = ScheduleStatus.PENDING
        #: Set (under the runtime's lock for this id) when cancelled; wins over _status.
        self.cancelled = False
        self.generation = 0
        self.running = False
        #: A firing that came due while the execution ran (starts when it ends).
        self.pending_us: int | None = None
        self.pending_missed = 0
        #: Firings coalesced into the current execution.
        self.run_missed = 0
        self.policy: Policy = DEFAULT_POLICY
        #: Kept in the scheduler's store (a named target with storable arguments).
        self.durable = False
        #: Restored from the store with a target name that is not registered.
        self.unresolved = False
        #: Attempt number of the next execution (1 = first try; more after failures).
        self.attempt = 1
        self.run_attempt = 1
        #: Number of the current execution (a timed-out one is abandoned by number).
        self.exec_no = 0
        self.catch_up_run = 0
        self.rng: Any = None
        self.retries = 0
        #: The firing being executed and when it started (for timeouts).
        self.run_scheduled_us = 0
        self.run_started_us: int | None = None
        self.execution_count = 0
        self.failure_count = 0
        self.missed_count = 0
        self.last_error: BaseException | None = None
        self.last_us: int | None = None
        self.last_end_us = 0
        self.late_ring: array[int] | None = None
        self.late_i = 0
        self.late_max: int | None = None
        #: The schedule's current actor (replaced when the supervisor restarts it).
        self.actor: Any = None
        self.kind = "call"
        self.is_async = False
        self.loop: Any = None
        self.message: Any = None
        self.send_cb: Callable[[bytes], Any] | None = None
        self.update_cb: Callable[[Any], Any] | None = None
        self.encode: Callable[[Any], bytes] | None = None
        self.encoded: bytes | None = None

    @property
    def actor_ref(self) -> Any:
        """The current actor's `pykka.ActorRef` (made on first use)."""
        actor = self.actor
        return None if actor is None else actor.actor_ref

    @property
    def status(self) -> ScheduleStatus:
        return ScheduleStatus.CANCELLED if self.cancelled else self._status

    @status.setter
    def status(self, value: ScheduleStatus) -> None:
        if value is ScheduleStatus.CANCELLED:
            self.cancelled = True
        else:
            self._status = value

    def record_lateness(self, late_us: int) -> None:
        ring = self.late_ring
        if ring is None:
            ring = self.late_ring = array("q")
        if len(ring) < LATENCY_WINDOW:
            ring.append(late_us)
        else:
            ring[self.late_i] = late_us
            self.late_i = (self.late_i + 1) % LATENCY_WINDOW
        if self.late_max is None or late_us > self.late_max:
            self.late_max = late_us

    def lateness_percentile(self, q: float) -> int | None:
        ring = self.late_ring
        if not ring:
            return None
        return percentile(sorted(ring), q)
