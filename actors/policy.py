"""Per-schedule failure and timing policy: misfires, timeout, retries, jitter."""

from __future__ import annotations

import random
from typing import Any, Final, Literal, get_args

import msgspec

from timekit import Duration
from timekit.duration import coerce_us

__all__ = [
    "DEFAULT_CATCH_UP_LIMIT",
    "DEFAULT_MISFIRE",
    "DEFAULT_POLICY",
    "MISFIRE_POLICIES",
    "RETRY_KEYS",
    "Misfire",
    "Policy",
    "Retry",
    "make_policy",
    "policy_from_micros",
]

#: What to do with firings that came due while nothing ran them: "coalesce" (run once
#: for all), "skip" (run none, continue at the next firing after now), "catch_up" (run
#: each, at most ``catch_up_limit``). The one definition: the store's record uses it too.
Misfire = Literal["coalesce", "skip", "catch_up"]
MISFIRE_POLICIES: Final[tuple[Misfire, ...]] = get_args(Misfire)
DEFAULT_MISFIRE: Final[Misfire] = "coalesce"
#: The most missed firings "catch_up" runs, unless told otherwise.
DEFAULT_CATCH_UP_LIMIT: Final = 100
#: A `Retry`'s default first wait and cap, in seconds.
DEFAULT_BACKOFF: Final = 1.0
DEFAULT_MAX_BACKOFF: Final = 300.0
#: The keys of `Retry.to_dict` (what a stored record's ``retry`` holds) and their types.
RETRY_KEYS: Final = {"attempts": int, "backoff_us": int, "max_backoff_us": int, "jitter": bool}


class Retry(msgspec.Struct, frozen=True):
    """Retry a failed execution up to ``attempts`` more times.

    The n-th retry waits ``backoff * 2**(n-1)`` (capped at ``max_backoff``); with
    ``jitter`` the wait is drawn uniformly from 0 to that (the "full jitter" scheme).
    A retry that would come after the schedule's next regular firing is not made.
    """

    attempts: int
    backoff: float = DEFAULT_BACKOFF
    max_backoff: float = DEFAULT_MAX_BACKOFF
    jitter: bool = False

    def delay_us(self, retry_number: int, rng: random.Random | None) -> int:
        base = coerce_us(self.backoff, "retry backoff")
        cap = coerce_us(self.max_backoff, "retry max_backoff")
        delay = min(cap, base << max(retry_number - 1, 0))  # backoff * 2**(n-1), as an int
        if self.jitter and rng is not None:
            delay = rng.randint(0, delay)
        return delay

    def to_dict(self) -> dict[str, Any]:
        return {
            "attempts": self.attempts,
            "backoff_us": coerce_us(self.backoff, "retry backoff"),
            "max_backoff_us": coerce_us(self.max_backoff, "retry max_backoff"),
            "jitter": self.jitter,
        }

    @staticmethod
    def from_dict(d: dict[str, Any]) -> Retry:
        backoff, cap = d.get("backoff_us"), d.get("max_backoff_us")
        return Retry(
            attempts=int(d["attempts"]),
            backoff=DEFAULT_BACKOFF if backoff is None else backoff / 1e6,
            max_backoff=DEFAULT_MAX_BACKOFF if cap is None else cap / 1e6,
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


DEFAULT_POLICY: Final = Policy(DEFAULT_MISFIRE, None, DEFAULT_CATCH_UP_LIMIT, None, None, None)
_DEFAULT_VALUES: Final = (DEFAULT_MISFIRE, None, DEFAULT_CATCH_UP_LIMIT, None, None, None)


def make_policy(
    misfire: str = DEFAULT_MISFIRE,
    misfire_grace: Any = None,
    catch_up_limit: int = DEFAULT_CATCH_UP_LIMIT,
    timeout: Any = None,
    retry: Retry | dict[str, Any] | int | None = None,
    jitter: Any = None,
) -> Policy:
    """Validate the policy keywords every scheduling method takes (durations: anything
    `timekit.Duration.coerce` accepts; ``timeout`` must be positive, the others >= 0)."""
    if misfire not in MISFIRE_POLICIES:
        raise ValueError(f"misfire must be one of {', '.join(MISFIRE_POLICIES)}; got {misfire!r}")
    if isinstance(catch_up_limit, bool) or not isinstance(catch_up_limit, int) or catch_up_limit < 0:
        raise ValueError(f"catch_up_limit must be an int >= 0, got {catch_up_limit!r}")
    grace = None if misfire_grace is None else coerce_us(misfire_grace, "misfire_grace")
    timeout_us = None if timeout is None else coerce_us(timeout, "timeout", minimum=1)
    jitter_us = None if jitter is None else coerce_us(jitter, "jitter") or None
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
    if (misfire, grace, catch_up_limit, timeout_us, retry, jitter_us) == _DEFAULT_VALUES:
        return DEFAULT_POLICY
    return Policy(misfire, grace, catch_up_limit, timeout_us, retry, jitter_us)


def _span(us: int | None) -> Duration | None:
    return None if us is None else Duration(us)


def policy_from_micros(
    misfire: str,
    grace_us: int | None,
    catch_up_limit: int,
    timeout_us: int | None,
    retry: Retry | None,
    jitter_us: int | None,
) -> Policy:
    """The policy of stored fields (durations in int microseconds), validated as
    `make_policy` does; `DEFAULT_POLICY` itself when they are the defaults."""
    if (misfire, grace_us, catch_up_limit, timeout_us, retry, jitter_us) == _DEFAULT_VALUES:
        return DEFAULT_POLICY
    return make_policy(misfire, _span(grace_us), catch_up_limit, _span(timeout_us), retry, _span(jitter_us))
