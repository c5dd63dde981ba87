"""Tests for actors.policy.Retry's backoff arithmetic."""

from __future__ import annotations

import random

from actors.policy import Retry


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
