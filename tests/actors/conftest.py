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



@pytest.fixture(scope="session")
def pg_dsn() -> Iterator[str]:
    """A real PostgreSQL server's DSN (see tests/pg_support.py), or skip saying why."""
    import os

    import pg_support

    if not pg_support.have_psycopg():
        pytest.skip("psycopg is not installed (pip install 'tickwork[postgres]')")
    dsn = os.environ.get("TICKWORK_TEST_PG_DSN")
    if dsn:
        yield dsn
        return
    if not pg_support.server_binaries():
        pytest.skip("no PostgreSQL: set TICKWORK_TEST_PG_DSN or install the server (apt-get install postgresql)")
    dsn, pg_dir = pg_support.start_server()
    try:
        yield dsn
    finally:
        pg_support.stop_server(pg_dir)


@pytest.fixture
def pg_group() -> str:
    """A group of its own for this test (isolated from every other test)."""
    import pg_support

    return pg_support.unique_group()
