"""`ScheduleRequest`: one schedule to create on a shard, as plain data.

Built and checked on the client (`make_request`): bad input raises there, before
anything is sent; the shard rebuilds the trigger and policy from it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from actors.policy import make_policy
from actors.shards.routing import check_key
from actors.store import check_encodable
from timekit import ScheduleAt

__all__ = ["KEY_META", "POLICY_KEYS", "ScheduleRequest", "as_request", "make_request"]

#: The metadata entry that holds a schedule's key (stored with it, so a restarted
#: shard knows its keys again).
KEY_META = "tickwork.key"

#: The policy keywords `Scheduler.schedule` takes (each passed through as given).
POLICY_KEYS = ("misfire", "misfire_grace", "catch_up_limit", "timeout", "retry", "jitter")


class ScheduleRequest(msgspec.Struct, frozen=True, kw_only=True):
    """One schedule for `ShardedScheduler.schedule_many` (make it with `make_request`)."""

    key: str
    target: str
    trigger: dict[str, Any]  # ScheduleAt.to_dict()
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] | None = None
    name: str | None = None
    metadata: dict[str, Any] | None = None
    policy: dict[str, Any] = {}


def make_request(
    target: str,
    args: Iterable[Any] = (),
    when: Any = None,
    *,
    key: str | None = None,
    kwargs: dict[str, Any] | None = None,
    name: str | None = None,
    metadata: dict[str, Any] | None = None,
    **policy: Any,
) -> ScheduleRequest:
    """Check one schedule as `Scheduler.schedule` would (TypeError / ValueError) and
    package it. ``key`` defaults to a new random one (then retries are still
    idempotent: the key is chosen here, before the call)."""
    if not isinstance(target, str) or not target:
        raise TypeError(
            f"a sharded schedule's target is a declared target name (str), not {type(target).__name__}: "
            "declare functions with targets={'name': 'package.module:function'} when deploying"
        )
    if when is None:
        raise TypeError("schedule() needs when=: a ScheduleAt, Timestamp, datetime, Duration or seconds")
    key = uuid.uuid4().hex if key is None else check_key(key)
    if isinstance(args, str | bytes) or not isinstance(args, Iterable):
        raise TypeError(f"args must be a tuple or list of arguments, not {type(args).__name__}")
    args_t = tuple(args)
    if metadata is not None and not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict, not {type(metadata).__name__}")
    if metadata and KEY_META in metadata:
        raise ValueError(f"metadata key {KEY_META!r} is reserved for the schedule key")
    if name is not None and not isinstance(name, str):
        raise TypeError(f"name must be a str, not {type(name).__name__}")
    check_encodable(args_t, kwargs, metadata)  # it is stored by the shard
    unknown = set(policy) - set(POLICY_KEYS)
    if unknown:
        raise TypeError(f"unexpected keyword(s) {sorted(unknown)}; policy keywords are {list(POLICY_KEYS)}")
    make_policy(**{k: policy[k] for k in POLICY_KEYS if k in policy})  # checks the values
    trigger = ScheduleAt.coerce(when)
    return ScheduleRequest(
        key=key,
        target=target,
        trigger=trigger.to_dict(),
        args=args_t,
        kwargs=dict(kwargs) if kwargs else None,
        name=name,
        metadata=dict(metadata) if metadata else None,
        policy=dict(policy),
    )


def as_request(item: ScheduleRequest | Mapping[str, Any]) -> ScheduleRequest:
    """A `ScheduleRequest` as is, or a dict of `make_request`'s arguments."""
    if isinstance(item, ScheduleRequest):
        return item
    if isinstance(item, Mapping):
        return make_request(**item)
    raise TypeError(f"schedule_many takes ScheduleRequests or dicts, not {type(item).__name__}")
