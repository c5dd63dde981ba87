"""Tests for actors.policy: Retry's backoff arithmetic, make_policy's validation and the
defaults it owns for the store record and persist."""

from __future__ import annotations

import math
import random
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from actors.policy import (
    DEFAULT_CATCH_UP_LIMIT,
    DEFAULT_MISFIRE,
    DEFAULT_POLICY,
    MISFIRE_POLICIES,
    RETRY_KEYS,
    Retry,
    make_policy,
    policy_from_micros,
)
from timekit import Duration


def test_the_nth_retry_waits_backoff_times_two_to_the_n_minus_one_capped_as_int_micros() -> None:
    r = Retry(attempts=10, backoff=2.0, max_backoff=60.0)
    delays = [r.delay_us(n, None) for n in range(1, 8)]
    assert delays == [2_000_000, 4_000_000, 8_000_000, 16_000_000, 32_000_000, 60_000_000, 60_000_000]
    assert all(type(d) is int for d in delays)
    assert r.delay_us(10_000, None) == 60_000_000  # a huge retry number is capped, not overflowed


def test_jitter_draws_an_int_between_zero_and_the_capped_delay() -> None:
    r = Retry(attempts=3, backoff=1.5, max_backoff=5.0, jitter=True)
    rng = random.Random(7)
    for n in (1, 2, 3, 4):
        d = r.delay_us(n, rng)
        assert type(d) is int and 0 <= d <= min(5_000_000, 1_500_000 << (n - 1))


# --------------------------------------------------------------------------- make_policy: the one duration rule


@pytest.mark.parametrize(
    ("value", "micros"),
    [(2, 2_000_000), (0.5, 500_000), (Fraction(1, 4), 250_000), (Decimal("1.5"), 1_500_000),
     (timedelta(milliseconds=3), 3_000), (Duration(7), 7), ("250ms", 250_000), ("PT5S", 5_000_000)],
)
def test_every_duration_keyword_takes_what_duration_coerce_takes(value: object, micros: int) -> None:
    """A Fraction, a Decimal or text used to be refused here while timekit took them."""
    p = make_policy(misfire_grace=value, timeout=value, jitter=value)
    assert (p.grace_us, p.timeout_us, p.jitter_us) == (micros, micros, micros)


@pytest.mark.parametrize(
    ("kwargs", "exc", "message"),
    [
        ({"timeout": True}, TypeError, r"^timeout must be a Duration, a timedelta or a number of seconds.*not bool"),
        ({"jitter": [1]}, TypeError, r"^jitter must be a Duration, a timedelta or a number of seconds.*not list"),
        ({"timeout": 0}, ValueError, r"^timeout must be positive, got 0 \(0 us\); pass at least 1 microsecond"),
        ({"misfire_grace": -1}, ValueError, r"^misfire_grace must not be negative, got -1"),
        ({"misfire_grace": math.nan}, ValueError, r"^misfire_grace must be non-negative and finite, got nan"),
        ({"timeout": math.inf}, ValueError, r"^timeout must be positive and finite, got inf"),
        ({"timeout": "soon"}, ValueError, r"^timeout: Invalid duration 'soon'"),
        ({"retry": Retry(attempts=1, backoff=-1.0)}, ValueError, r"^retry backoff must not be negative"),
        ({"misfire": "later"}, ValueError, r"^misfire must be one of coalesce, skip, catch_up; got 'later'"),
    ],
)
def test_bad_policy_values_say_what_to_pass(kwargs: dict[str, Any], exc: type[Exception], message: str) -> None:
    with pytest.raises(exc, match=message):
        make_policy(**kwargs)


def test_zero_jitter_is_no_jitter_and_the_defaults_are_the_shared_default() -> None:
    assert make_policy(jitter=0) is DEFAULT_POLICY
    assert make_policy() is DEFAULT_POLICY
    assert make_policy(misfire=DEFAULT_MISFIRE, catch_up_limit=DEFAULT_CATCH_UP_LIMIT) is DEFAULT_POLICY
    assert make_policy(catch_up_limit=DEFAULT_CATCH_UP_LIMIT + 1) is not DEFAULT_POLICY


def test_policy_from_micros_is_exact_and_validates() -> None:
    assert policy_from_micros(DEFAULT_MISFIRE, None, DEFAULT_CATCH_UP_LIMIT, None, None, None) is DEFAULT_POLICY
    big = 10**17 + 1  # ~3,170 years: a float of its seconds cannot hold the last microsecond
    p = policy_from_micros("skip", big, 3, big, Retry(attempts=2), 1)
    assert (p.misfire, p.grace_us, p.catch_up_limit, p.timeout_us, p.jitter_us) == ("skip", big, 3, big, 1)
    with pytest.raises(ValueError, match="timeout must be positive"):
        policy_from_micros("skip", None, 3, 0, None, None)


def test_the_store_record_takes_its_misfire_rules_and_defaults_from_the_policy() -> None:
    """One owner: the record's field defaults and accepted values are the policy's."""
    from actors.store import MISFIRE_POLICIES as STORE_MISFIRE_POLICIES
    from actors.store import StoredSchedule
    from actors.store.record import RETRY_KEYS as STORE_RETRY_KEYS

    assert STORE_MISFIRE_POLICIES is MISFIRE_POLICIES
    assert STORE_RETRY_KEYS is RETRY_KEYS
    assert set(RETRY_KEYS) == set(Retry(attempts=1).to_dict())
    rec = StoredSchedule(id=1, name="n", target="t", trigger={"kind": "time", "micros": 0}, created_us=0, next_due_us=None)
    assert (rec.misfire, rec.misfire_grace_us, rec.catch_up_limit, rec.timeout_us, rec.retry, rec.jitter_us) == (
        DEFAULT_POLICY.misfire, DEFAULT_POLICY.grace_us, DEFAULT_POLICY.catch_up_limit,
        DEFAULT_POLICY.timeout_us, DEFAULT_POLICY.retry, DEFAULT_POLICY.jitter_us,
    )


def test_retry_from_dict_defaults_are_the_struct_defaults() -> None:
    assert Retry.from_dict({"attempts": 3}) == Retry(attempts=3)
    assert Retry.from_dict(Retry(attempts=3, backoff=2.5, max_backoff=9.0).to_dict()) == Retry(
        attempts=3, backoff=2.5, max_backoff=9.0
    )
