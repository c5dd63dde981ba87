"""Fixtures for runtime tests: a virtual clock and a scheduler on it, checked for leaks."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from runtime_support import START

from actors import Scheduler
from timekit import VirtualClock

@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(START)


@pytest.fixture
def sched(clock: VirtualClock) -> Iterator[Scheduler]:
    before = set(threading.enumerate())
    s = Scheduler(clock=clock)
    s.start()
    yield s
    assert s.stop(timeout=10)
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert not leaked, f"threads outlived stop(): {leaked}"

