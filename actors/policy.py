"""Per-schedule failure and timing policy: misfires, timeout, retries, jitter."""

from __future__ import annotations

import math
import random
from datetime import timedelta
from typing import Any

import msgspec

from timekit import Duration

__all__ = ["DEFAULT_POLICY", "MISFIRE_POLICIES", "Policy", "Retry", "make_policy"]

MISFIRE_POLICIES = ("coalesce", "skip", "catch_up")


def _us(value: Any, what: str, *, allow_zero: bool = True) -> int:
    """Seconds, Duration or timedelta as int microseconds (validated)."""
    if isinstance(value, bool):
        raise TypeError(f"{what} must be seconds, a Duration or a timedelta, not bool")
    if isinstance(value, Duration):
        us = value.micros
    elif isinstance(value, timedelta):
        us = Duration.from_timedelta(value).micros
    elif isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{what} must be finite, got {value!r}")
        us = Duration.from_seconds(value).micros
    else:
        raise TypeError(f"{what} must be seconds, a Duration or a timedelta, not {type(value).__name__}")
    if us < 0 or (us == 0 and not allow_zero):
        raise ValueError(f"{what} must be {'>= 0' if allow_zero else 'positive'}, got {Duration(us)}")
    return us


class Retry(msgspec.Struct, frozen=True):
    """Retry a failed execution up to ``attempts`` more times.

    The n-th retry waits ``backoff * 2**(n-1)`` (capped at ``max_backoff``); with
    ``jitter`` the wait is drawn uniformly from 0 to that (the "full jitter" scheme).
    A retry that would come after the schedule's next regular firing is not made.
    """

    attempts: int
    backoff: float = 1.0
    max_backoff: float = 300.0
    jitter: bool = False

    def delay_us(self, retry_number: int, rng: random.Random | None) -> int:
        base = _us(self.backoff, "retry backoff")
        cap = _us(self.max_backoff, "retry max_backoff")
        delay = min(cap, base << max(retry_number - 1, 0))  # backoff * 2**(n-1), as an int
        if self.jitter and rng is not None:
            delay = rng.randint(0, delay)
        return delay

    def to_dict(self) -> dict[str, Any]:
        return {
            "attempts": self.attempts,
            "backoff_us": _us(self.backoff, "retry backoff"),
            "max_backoff_us": _us(self.max_backoff, "retry max_backoff"),
            "jitter": self.jitter,
        }

    @staticmethod
    def from_dict(d: dict[str, Any]) -> Retry:
        return Retry(
            attempts=int(d["attempts"]),
            backoff=d.get("backoff_us", 1_000_000) / 1e6,
            max_backoff=d.get("max_backoff_us", 300_000_000) / 1e6,
            jitter=bool(d.get("jitter", False)),
        )


class Policy:
    """The validated policy of one schedule (shared when it is the default)."""

    __slots__ = ("catch_up_limit", "grace_us", "jitter_us", "misfire", "retry", "timeout_us")

    def __init__(
        self,
        misfire: str,
        grace_us: int | None,
        catch_up_limit: int,
        timeout_us: int | None,
        retry: Retry | None,
        jitter_us: int | None,
    ) -> None:
        self.misfire = misfire
        self.grace_us = grace_us
        self.catch_up_limit = catch_up_limit
        self.timeout_us = timeout_us
        self.retry = retry
        self.jitter_us = jitter_us

    @property
    def is_default(self) -> bool:
        return self is DEFAULT_POLICY


DEFAULT_POLICY = Policy("coalesce", None, 100, None, None, None)


def make_policy(
    misfire: str = "coalesce",
    misfire_grace: Any = None,
    catch_up_limit: int = 100,
    timeout: Any = None,
    retry: Retry | dict[str, Any] | int | None = None,
    jitter: Any = None,
) -> Policy:
    """Validate the policy keywords every scheduling method takes."""
    if misfire not in MISFIRE_POLICIES:
        raise ValueError(f"misfire must be one of {', '.join(MISFIRE_POLICIES)}; got {misfire!r}")
    if isinstance(catch_up_limit, bool) or not isinstance(catch_up_limit, int) or catch_up_limit < 0:
        raise ValueError(f"catch_up_limit must be an int >= 0, got {catch_up_limit!r}")
    grace = None if misfire_grace is None else _us(misfire_grace, "misfire_grace")
    timeout_us = None if timeout is None else _us(timeout, "timeout", allow_zero=False)
    jitter_us = None if jitter is None else _us(jitter, "jitter") or None
    if isinstance(retry, bool):
        raise TypeError("retry must be a Retry, a dict or a number of attempts, not bool")
    if isinstance(retry, int):
        retry = Retry(attempts=retry)
    elif isinstance(retry, dict):
        try:
            retry = Retry(**retry)
        except TypeError as exc:
            raise TypeError(f"retry: {exc}; use keys attempts, backoff, max_backoff, jitter") from None
    if retry is not None:
        if not isinstance(retry, Retry):
            raise TypeError(f"retry must be a Retry, a dict or an int, not {type(retry).__name__}")
        if isinstance(retry.attempts, bool) or not isinstance(retry.attempts, int) or retry.attempts < 0:
            raise ValueError(f"retry attempts must be an int >= 0, got {retry.attempts!r}")
        retry.to_dict()  # validates backoff values
        if retry.attempts == 0:
            retry = None
    if (misfire, grace, catch_up_limit, timeout_us, retry, jitter_us) == ("coalesce", None, 100, None, None, None):
        return DEFAULT_POLICY
    return Policy(misfire, grace, catch_up_limit, timeout_us, retry, jitter_us)
