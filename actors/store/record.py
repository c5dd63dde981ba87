"""`StoredSchedule`: one durable schedule as plain data, and its MessagePack codec.

A record holds names and plain data only: the target is a *registered name* (never
code), args/kwargs/metadata are values that come back equal after a round trip, and
the trigger is exactly ``ScheduleAt.to_dict()``. Decoding builds msgspec Structs and
plain containers; nothing is ever imported, called or evaluated from stored bytes.

What may be stored in ``args``, ``kwargs`` and ``metadata`` (`check_encodable`):
``None``, ``bool``, ``int`` (-2**63 .. 2**64-1), ``float``, ``str``, ``bytes``, and
``list`` / ``dict`` (``str`` keys) of those, at most 64 levels deep. Exact types only:
anything that would come back as something else is refused with a ``TypeError``
naming it, because a restarted scheduler must call the target with equal arguments.
That refuses tuples (they come back as lists; the top-level ``args`` may be a tuple and
is restored as a list), sets and frozensets (lists), bytearray (bytes), subclasses
such as enums or ``str`` subclasses (plain values), datetimes, Timestamps and Durations
(store ``.micros``), functions and other objects (register them by name instead).
"""

from __future__ import annotations

import reprlib
from functools import lru_cache
from typing import Annotated, Any, Final, Literal

import msgspec

from actors.policy import DEFAULT_CATCH_UP_LIMIT, DEFAULT_MISFIRE, MISFIRE_POLICIES, RETRY_KEYS, Misfire
from actors.store.errors import CorruptRecord
from timekit import ScheduleAt

__all__ = [
    "ACTIVE_STATUSES",
    "MISFIRE_POLICIES",
    "RECORD_VERSION",
    "RETRY_KEYS",
    "STATUSES",
    "StoredSchedule",
    "check_encodable",
    "decode_record",
    "encode_record",
    "restore_trigger",
]

#: The record format this code writes; a record with a higher ``version`` is refused
#: (reported as corrupt) rather than misread.
RECORD_VERSION: Final = 1

#: Every status a record may carry (the values of `actors.ScheduleStatus`).
STATUSES: Final = ("pending", "running", "paused", "completed", "failed", "cancelled")
#: Statuses of schedules that may still run: a restarted scheduler re-arms these.
ACTIVE_STATUSES: Final = frozenset({"pending", "running", "paused"})
# MISFIRE_POLICIES (what to do with firings that came due while nothing ran them) and
# RETRY_KEYS (the keys a ``retry`` dict may have, and their types; ``attempts`` is
# required) are `actors.policy`'s, re-exported here for the store's users.

Status = Literal["pending", "running", "paused", "completed", "failed", "cancelled"]
NonNeg = Annotated[int, msgspec.Meta(ge=0)]


class StoredSchedule(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One durable schedule. All times are integer microseconds since the Unix epoch
    (durations: integer microseconds). Construction does not validate; `encode_record`
    (so every `Store.put`) does, and refuses anything `decode_record` would not accept.

    Fields (the runtime gives them their meaning; the store only keeps them):
        id: the schedule id (1 .. 2**63-1), from `Store.next_id`; never reused.
        name: display name.
        target: a name registered with ``Scheduler.register`` (never code).
        args, kwargs: the call's arguments (see `check_encodable`); a tuple ``args``
            is stored and restored as a list.
        trigger: exactly ``ScheduleAt.to_dict()``; `schedule_at` restores it.
        status: one of `STATUSES`.
        created_us: when the schedule was created.
        next_due_us: the next firing, or None when there is none.
        last_us: the scheduled time of the last execution that started.
        execution_count, failure_count, missed_count: counters.
        last_error: text of the last failure (``repr`` of the exception), or None.
        metadata: the user's plain-data metadata.
        misfire: `MISFIRE_POLICIES`: "coalesce" (run once for all missed firings),
            "skip" (run none, continue at the next firing after now), "catch_up"
            (run each missed firing, at most ``catch_up_limit``).
        misfire_grace_us: a firing later than this is a misfire (None: never).
        catch_up_limit: the most missed firings "catch_up" runs.
        timeout_us: execution time limit, or None.
        retry: None or ``{"attempts": int, "backoff_us": int, "max_backoff_us": int,
            "jitter": bool}`` (``attempts`` required, all ints >= 0).
        jitter_us: random delay added to each firing (at most this), or None.
        in_flight_us: the scheduled time of an execution that started and has not
            completed (at-least-once marker: after a crash, that firing runs again).
        version: the record format (`RECORD_VERSION`).
    """

    id: Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]
    name: str
    target: Annotated[str, msgspec.Meta(min_length=1)]
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    trigger: dict[str, Any]
    status: Status = "pending"
    created_us: int
    next_due_us: int | None
    last_us: int | None = None
    execution_count: NonNeg = 0
    failure_count: NonNeg = 0
    missed_count: NonNeg = 0
    last_error: str | None = None
    metadata: dict[str, Any] = {}
    misfire: Misfire = DEFAULT_MISFIRE
    misfire_grace_us: NonNeg | None = None
    catch_up_limit: NonNeg = DEFAULT_CATCH_UP_LIMIT
    timeout_us: Annotated[int, msgspec.Meta(gt=0)] | None = None
    retry: dict[str, Any] | None = None
    jitter_us: NonNeg | None = None
    in_flight_us: int | None = None
    version: Annotated[int, msgspec.Meta(ge=1)] = RECORD_VERSION

    @property
    def is_active(self) -> bool:
        """True for pending, running and paused schedules (a restart re-arms them)."""
        return self.status in ACTIVE_STATUSES

    def schedule_at(self) -> ScheduleAt:
        """The trigger as a `ScheduleAt` (cached: equal dicts give the same value)."""
        return restore_trigger(self.trigger)


# --------------------------------------------------------------------------- triggers


@lru_cache(maxsize=4096)
def _trigger_from_key(key: tuple[tuple[str, type, Any], ...]) -> ScheduleAt:
    return ScheduleAt.from_dict({k: v for k, _, v in key})


def restore_trigger(data: dict[str, Any]) -> ScheduleAt:
    """``ScheduleAt.from_dict(data)``, cached (loading 100,000 cron schedules parses
    each distinct expression once). Raises TypeError/ValueError like ``from_dict``."""
    if type(data) is not dict:
        raise TypeError(f"a trigger is the dict of ScheduleAt.to_dict(), not {type(data).__name__}")
    try:
        # The value's type is part of the key: True == 1 and 1.0 == 1, but from_dict refuses them.
        key = tuple((k, v.__class__, v) for k, v in data.items())
        hash(key)
    except TypeError:
        return ScheduleAt.from_dict(data)  # unhashable values: from_dict explains what is wrong
    return _trigger_from_key(key)


# --------------------------------------------------------------------------- plain data

_INT_MIN: Final = -(1 << 63)
_INT_MAX: Final = (1 << 64) - 1
_MAX_DEPTH: Final = 64
_SCALARS: Final = frozenset({type(None), bool, float, bytes})
_repr = reprlib.Repr()
_repr.maxstring = 60
_repr.maxother = 60

_ALLOWED: Final = "only None, bool, int (64-bit), float, str, bytes, list and dict with str keys are stored"


def _why_not(v: Any) -> str:
    """Why ``v`` (of a refused type) cannot be stored, and what to do instead."""
    t = type(v)
    if t is tuple:
        return "a tuple would come back as a list: pass a list"
    if isinstance(v, (set, frozenset)):
        return f"a {t.__name__} would come back as a list: pass a (sorted) list"
    if isinstance(v, (bytearray, memoryview)):
        return f"a {t.__name__} would come back as bytes: pass bytes(value)"
    for base in (bool, int, float, str, bytes, list, dict, tuple):
        if isinstance(v, base):
            return (
                f"a {t.__module__}.{t.__qualname__} (a subclass of {base.__name__}) would come back as a plain "
                f"{base.__name__}: pass {base.__name__}(value)"
            )
    if callable(v) and not isinstance(v, type):
        return (
            "functions and callables are never stored (a store keeps names and plain data only): "
            "register it with Scheduler.register(name, fn) and pass the name"
        )
    if t.__module__ == "timekit.timestamp" or t.__module__ == "timekit.duration":
        return f"store a {t.__name__} as its .micros (int)"
    if t.__module__ == "datetime":
        return f"store a {t.__name__} as an int of microseconds or an ISO string"
    return f"a {t.__module__}.{t.__qualname__} is not plain data; {_ALLOWED}"


def _check(v: Any, where: str, depth: int) -> None:
    t = type(v)
    if t is str:
        if not v.isascii():
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                raise TypeError(
                    f"cannot store {where} = {_repr.repr(v)}: the str is not valid Unicode (a lone surrogate)"
                ) from None
        return
    if t is int:
        if not _INT_MIN <= v <= _INT_MAX:
            raise TypeError(f"cannot store {where} = {_repr.repr(v)}: ints must fit in 64 bits (-2**63 .. 2**64-1)")
        return
    if t in _SCALARS:
        return
    if t is list or t is dict:
        if depth >= _MAX_DEPTH:
            short = where if len(where) <= 80 else f"{where[:40]}...{where[-30:]}"
            raise TypeError(f"cannot store {short}: nested more than {_MAX_DEPTH} levels deep (or it contains itself)")
        if t is list:
            for i, x in enumerate(v):
                _check(x, f"{where}[{i}]", depth + 1)
        else:
            for k, x in v.items():
                if type(k) is not str:
                    raise TypeError(
                        f"cannot store {where}: key {_repr.repr(k)} is a {type(k).__name__}; dict keys must be str"
                    )
                _check(x, f"{where}[{k!r}]", depth + 1)
        return
    raise TypeError(f"cannot store {where} = {_repr.repr(v)}: {_why_not(v)}")


def _plain(v: Any, depth: int) -> bool:
    """The fast path of `_check`: True if ``v`` may be stored (no error message built)."""
    t = type(v)
    if t is str:
        if v.isascii():
            return True
        try:
            v.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if t is int:
        i: int = v
        return _INT_MIN <= i <= _INT_MAX
    if t in _SCALARS:
        return True
    if depth >= _MAX_DEPTH:
        return False
    # Explicit loops, not all(<generator>): this is the per-write fast path (SIM110).
    if t is list:
        for x in v:  # noqa: SIM110
            if not _plain(x, depth + 1):
                return False
        return True
    if t is dict:
        for k, x in v.items():  # noqa: SIM110
            if type(k) is not str or not _plain(x, depth + 1):
                return False
        return True
    return False


def _check_mapping(d: Any, where: str) -> None:
    if type(d) is not dict:
        raise TypeError(f"cannot store {where}: it must be a dict with str keys, not {type(d).__name__}")
    for k, x in d.items():
        if type(k) is not str:
            raise TypeError(f"cannot store {where}: key {_repr.repr(k)} is a {type(k).__name__}; keys must be str")
        _check(x, f"{where}[{k!r}]", 1)


def check_encodable(args: Any = (), kwargs: Any = None, metadata: Any = None) -> None:
    """Raise TypeError, naming the offending value and its place (``args[1]['x']``),
    unless ``args`` (a list or tuple), ``kwargs`` and ``metadata`` (dicts with str keys,
    or None) hold only values that come back equal, and of the same type, after a
    round trip through a store. See the module docstring for what is allowed and why."""
    if type(args) is not list and type(args) is not tuple:
        raise TypeError(f"cannot store args: it must be a list or tuple, not {type(args).__name__}")
    if (
        _plain(list(args), 0)
        and (kwargs is None or (type(kwargs) is dict and _plain(kwargs, 0)))
        and (metadata is None or (type(metadata) is dict and _plain(metadata, 0)))
    ):
        return
    # Something is wrong: walk again, building paths, to say what and where.
    for i, x in enumerate(args):
        _check(x, f"args[{i}]", 1)
    if kwargs is not None:
        _check_mapping(kwargs, "kwargs")
    if metadata is not None:
        _check_mapping(metadata, "metadata")
    raise TypeError(f"cannot store these values: {_ALLOWED}")  # pragma: no cover - the walks agree


# --------------------------------------------------------------------------- codec


def _no_ext(code: int, data: memoryview) -> Any:
    raise ValueError(f"MessagePack extension type {code} is not plain data")


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(StoredSchedule, ext_hook=_no_ext)


def _semantic_problem(rec: StoredSchedule) -> str | None:
    """What msgspec's typed decode cannot check; None when the record is fine."""
    if rec.version > RECORD_VERSION:
        return f"record version {rec.version} was written by a newer tickwork (this one reads up to {RECORD_VERSION})"
    try:
        restore_trigger(rec.trigger)
    except Exception as exc:  # noqa: BLE001 - from_dict raises ValueError, TypeError, ZoneInfoNotFoundError...
        return f"trigger {_repr.repr(rec.trigger)} cannot be restored: {exc}"
    retry = rec.retry
    if retry is not None:
        if "attempts" not in retry:
            return f"retry {_repr.repr(retry)} has no 'attempts'"
        for k, v in retry.items():
            typ = RETRY_KEYS.get(k)
            if typ is None:
                return f"retry has unknown key {k!r} (expected {sorted(RETRY_KEYS)})"
            if type(v) is not typ or (typ is int and v < 0):  # type: ignore[operator]
                want = "an int >= 0" if typ is int else "a bool"
                return f"retry[{k!r}] must be {want}, got {_repr.repr(v)}"
    try:
        check_encodable(rec.args, rec.kwargs, rec.metadata)
    except TypeError as exc:
        return str(exc)
    return None


def encode_record(rec: StoredSchedule) -> bytes:
    """The MessagePack bytes of ``rec``, after checking that `decode_record` gives it
    back: TypeError for values that cannot be stored (`check_encodable`), ValueError
    for invalid fields (unknown status, negative counter, a trigger ``from_dict``
    refuses...), both naming the schedule id and the field."""
    if type(rec) is not StoredSchedule:
        raise TypeError(f"encode_record() needs a StoredSchedule, not {type(rec).__name__}")
    sid = rec.id
    check_encodable(rec.args, rec.kwargs, rec.metadata)
    _check_mapping(rec.trigger, "trigger")
    if rec.retry is not None:
        _check_mapping(rec.retry, "retry")
    try:
        data = _encoder.encode(rec)
    except (TypeError, ValueError, OverflowError) as exc:
        raise TypeError(f"schedule {sid!r}: cannot encode the record: {exc}") from None
    try:
        decode_record(data)
    except CorruptRecord as exc:
        raise ValueError(f"schedule {sid!r}: invalid record: {exc}") from None
    return data


def decode_record(data: bytes | bytearray | memoryview) -> StoredSchedule:
    """The `StoredSchedule` in ``data``; `CorruptRecord` (a ValueError) on anything
    else: garbage, truncated bytes, wrong field types or values, an unrestorable
    trigger, a newer record version. Builds plain data only; never runs code."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise CorruptRecord(f"a record is bytes, not {type(data).__name__}")
    try:
        rec = _decoder.decode(data)
    except (msgspec.DecodeError, ValueError, TypeError, RecursionError) as exc:
        raise CorruptRecord(f"not a valid record: {exc}") from None
    problem = _semantic_problem(rec)
    if problem is not None:
        raise CorruptRecord(f"schedule {rec.id}: {problem}")
    return rec
