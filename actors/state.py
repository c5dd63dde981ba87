"""The state a schedule actor holds: kept apart from the actor so a restarted actor
continues from exactly where the dead one stopped."""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from typing import Any, Generic, TypeVar, cast, overload

from actors.policy import DEFAULT_POLICY, Policy
from actors.results import ScheduleStatus
from actors.stats import percentile
from timekit import ScheduleAt

__all__ = ["LATENCY_WINDOW", "ScheduleState", "as_args"]

#: How many recent executions the per-schedule lateness percentiles cover.
LATENCY_WINDOW = 64


_LONG_AGO = -(1 << 62)
_EMPTY: dict[str, Any] = {}  # shared default metadata (never mutated: readers copy)


def as_args(args: object) -> tuple[Any, ...]:
    """A target's positional arguments as the tuple a schedule keeps: the one place
    ``args`` is checked and coerced (scheduling, `Scheduler.update`, a told `Update`).

    A tuple, list or other sequence (registered as one, or indexable, sized and
    re-iterable like a numpy array) is taken in order. Anything else raises
    TypeError, since it would silently become something else: a dict its keys, a
    set an arbitrary order, a generator or iterator whatever it yields once, a
    str, bytes or memoryview its characters.
    """
    if args.__class__ is tuple:
        return args
    text = isinstance(args, str | bytes | bytearray | memoryview)
    if isinstance(args, Sequence) and not text:
        return tuple(args)
    cls = type(args)
    if (
        not text
        and hasattr(cls, "__len__") and hasattr(cls, "__getitem__") and hasattr(cls, "__iter__")
        and not hasattr(cls, "__next__") and not hasattr(cls, "keys") and not isinstance(args, Mapping | Set)
    ):
        return tuple(cast(Iterable[Any], args))  # a sequence not registered as one (a numpy array): in order
    what = cls.__name__
    if isinstance(args, Mapping) or hasattr(cls, "keys"):
        why = "a mapping would pass its keys; pass keyword arguments as kwargs="
    elif isinstance(args, Set):
        why = "a set has no order; pass a tuple or list"
    elif isinstance(args, str | bytes | bytearray | memoryview):
        why = f"a {what} would pass its characters one by one; pass ({args!r},) for one argument"
    elif hasattr(args, "__next__"):
        why = "an iterator or generator is consumed once; pass tuple(...) of it"
    elif hasattr(args, "__iter__"):
        why = "it is not a sequence (indexable, in order); pass tuple(...) of it"
    else:
        why = "pass a tuple or list, e.g. (value,) for one argument"
    raise TypeError(f"args must be a tuple or list of arguments, not {what}: {why}")


class _Rare:
    """The fields most schedules never set, kept off the main object: a periodic
    message's parts, an event loop, a random source, retry and error details.
    (At 100,000 schedules every slot of `ScheduleState` is 0.8 MB.)"""

    __slots__ = (
        "catch_up_run",
        "pending_missed",
        "run_scheduled_us",
        "run_started_us",
        "encode",
        "encoded",
        "last_error",
        "loop",
        "message",
        "metadata",
        "retries",
        "rng",
        "send_cb",
        "unresolved",
        "update_cb",
    )

    def __init__(self) -> None:
        for name, default in _RARE_DEFAULTS.items():
            setattr(self, name, default)


_RARE_DEFAULTS: dict[str, Any] = {
    "catch_up_run": 0,
    "pending_missed": 0,  # firings coalesced while an execution ran
    "run_scheduled_us": 0,  # the firing being executed and when it started (timeouts only)
    "run_started_us": None,
    "encode": None,
    "encoded": None,
    "last_error": None,
    "loop": None,
    "message": None,
    "metadata": _EMPTY,
    "retries": 0,
    "rng": None,
    "send_cb": None,
    "unresolved": False,
    "update_cb": None,
}


_T = TypeVar("_T")


class _RareField(Generic[_T]):
    """A `ScheduleState` attribute stored in its `_Rare` part, made on the first
    write of a non-default value."""

    __slots__ = ("default", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self.default = _RARE_DEFAULTS[name]

    @overload
    def __get__(self, obj: None, owner: Any = None) -> _RareField[_T]: ...
    @overload
    def __get__(self, obj: object, owner: Any = None) -> _T: ...
    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return self
        rare = obj._rare  # noqa: SLF001
        return self.default if rare is None else getattr(rare, self.name)

    def __set__(self, obj: Any, value: _T) -> None:
        rare = obj._rare  # noqa: SLF001
        if rare is None:
            if value is self.default:
                return
            rare = obj._rare = _Rare()  # noqa: SLF001
        setattr(rare, self.name, value)


class ScheduleState:
    """Everything about one schedule. Written only by its actor (and the facade at
    creation); read by the facade for snapshots (each field read is atomic)."""

    __slots__ = (
        "actor",
        "args",
        "created_us",
        "execution_count",
        "failure_count",
        "fn",
        "generation",
        "id",
        "kind",
        "kwargs",
        "last_us",
        "late_i",
        "last_end_us",
        "late_max",
        "late_ring",
        "missed_count",
        "name",
        "next_due_us",
        "pending_us",
        "run_missed",
        "policy",
        "durable",
        "attempt",
        "run_attempt",
        "exec_no",
        "running",
        "_status",
        "_rare",
        "cancelled",
        "target",
        "trigger",
        "wall",
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
        self._rare: _Rare | None = None
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
        if metadata:
            self.metadata = metadata
        self._status = ScheduleStatus.PENDING
        #: Set (under the runtime's lock for this id) when cancelled; wins over _status.
        self.cancelled = False
        self.generation = 0
        self.running = False
        #: A firing that came due while the execution ran (starts when it ends).
        self.pending_us: int | None = None
        #: Firings coalesced into the current execution.
        self.run_missed = 0
        self.policy: Policy = DEFAULT_POLICY
        #: Kept in the scheduler's store (a named target with storable arguments).
        self.durable = False
        #: Attempt number of the next execution (1 = first try; more after failures).
        self.attempt = 1
        self.run_attempt = 1
        #: Number of the current execution (a timed-out one is abandoned by number).
        self.exec_no = 0
        self.execution_count = 0
        self.failure_count = 0
        self.missed_count = 0
        self.last_us: int | None = None
        self.last_end_us = _LONG_AGO  # before any instant (clocks may read before 1970)
        self.late_ring: array[int] | None = None
        self.late_i = 0
        self.late_max: int | None = None
        #: The schedule's current actor (replaced when the supervisor restarts it).
        self.actor: Any = None
        #: "call" (a function), "async" (a coroutine function) or "message".
        self.kind = "call"

    catch_up_run = _RareField["int"]("catch_up_run")
    pending_missed = _RareField["int"]("pending_missed")
    run_scheduled_us = _RareField["int"]("run_scheduled_us")
    run_started_us = _RareField["int | None"]("run_started_us")
    encode = _RareField["Callable[[Any], bytes] | None"]("encode")
    encoded = _RareField["bytes | None"]("encoded")
    last_error = _RareField["BaseException | None"]("last_error")
    loop = _RareField["Any"]("loop")
    message = _RareField["Any"]("message")
    metadata = _RareField["dict[str, Any]"]("metadata")
    retries = _RareField["int"]("retries")
    rng = _RareField["Any"]("rng")
    send_cb = _RareField["Callable[[bytes], Any] | None"]("send_cb")
    unresolved = _RareField["bool"]("unresolved")
    update_cb = _RareField["Callable[[Any], Any] | None"]("update_cb")

    @property
    def is_async(self) -> bool:
        return self.kind == "async"

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

    def check_message(self, message: Any) -> None:
        """TypeError unless this is a periodic message schedule; ValueError if
        ``message`` does not encode (what `set_message` would send)."""
        encode = self.encode
        if self.kind != "message" or encode is None:
            raise TypeError(
                f"schedule {self.id} is not a periodic message: message= applies only to schedules "
                "made with schedule_message(); pass args/kwargs to change a function's arguments"
            )
        try:
            encode(message)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"Cannot schedule invalid message: {exc}") from exc

    def set_message(self, message: Any) -> None:
        """Send ``message`` from now on (encoded once here, unless an update
        callback changes it before each send)."""
        self.message = message
        self.encoded = None if self.update_cb is not None else self.encode(message)  # type: ignore[misc]

    def record_lateness(self, late_us: int) -> None:
        ring = self.late_ring
        if ring is None:
            # 32-bit entries (half the memory of 64-bit ones, ~320 B per schedule that
            # has fired 64 times); the first lateness beyond ±35 minutes widens this
            # schedule's window to 64 bits, so its percentiles stay exact.
            ring = self.late_ring = array("i")
        full = len(ring) >= LATENCY_WINDOW
        try:
            if full:
                ring[self.late_i] = late_us
            else:
                ring.append(late_us)
        except OverflowError:
            ring = self.late_ring = array("q", ring)  # µs of any span of Timestamps fit in 64 bits
            if full:
                ring[self.late_i] = late_us
            else:
                ring.append(late_us)
        if full:
            self.late_i = (self.late_i + 1) % LATENCY_WINDOW
        if self.late_max is None or late_us > self.late_max:
            self.late_max = late_us

    def lateness_percentile(self, q: float) -> int | None:
        ring = self.late_ring
        if not ring:
            return None
        return percentile(sorted(ring), q)
