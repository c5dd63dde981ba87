"""PostgresStore against a real PostgreSQL server (tests/pg_support.py): what differs from
the single-process stores. The shared Store semantics run in test_store.py."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from typing import Any

import pytest
from runtime_support import START, run_for

from actors import Scheduler, StoreError
from actors.store import StoredSchedule
from timekit import Duration, ScheduleAt, VirtualClock

psycopg = pytest.importorskip("psycopg")
from actors.store.postgres import PostgresStore  # noqa: E402 - only once psycopg is known to be there


def rec(sid: int, **kw: object) -> StoredSchedule:
    fields: dict[str, object] = {
        "id": sid,
        "name": f"job-{sid}",
        "target": "ping",
        "trigger": ScheduleAt.at_interval(Duration.from_seconds(5)).to_dict(),
        "created_us": 1,
        "next_due_us": 2,
    }
    fields.update(kw)
    return StoredSchedule(**fields)  # type: ignore[arg-type]


def test_two_processes_share_one_group_and_other_groups_are_invisible(pg_dsn: str, pg_group: str) -> None:
    a = PostgresStore(pg_dsn, group=pg_group)
    b = PostgresStore(pg_dsn, group=pg_group)  # a second process on the same group: allowed
    other = PostgresStore(pg_dsn, group=pg_group + "-other")
    with a, b, other:
        a.put(rec(a.next_id()))
        sid = b.next_id()
        b.put(rec(sid, execution_count=4))
        assert [r.id for r in a.load().schedules] == [1, sid]
        assert a.load().schedules[1].execution_count == 4
        assert other.load().schedules == []
        other.put(rec(1, name="elsewhere"))
        assert a.load().schedules[0].name == "job-1"


def test_ids_are_unique_across_stores_of_one_group(pg_dsn: str, pg_group: str) -> None:
    stores = [PostgresStore(pg_dsn, group=pg_group, id_block=7) for _ in range(4)]
    got: list[list[int]] = [[] for _ in stores]

    def take(i: int) -> None:
        got[i].extend(stores[i].next_id() for _ in range(200))

    for s in stores:
        s.open("p")
    try:
        threads = [threading.Thread(target=take, args=(i,)) for i in range(len(stores))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        every = [x for g in got for x in g]
        assert len(set(every)) == len(every) == 800
        stores[0].put(rec(10_000))  # a caller-chosen id raises the group's mark for everyone:
        later = [stores[1].next_id() for _ in range(8)]  # past the block reserved before it
        assert later[-1] > 10_000 and not set(later) & set(every)
    finally:
        for s in stores:
            s.close()


def test_bad_arguments_are_clear_errors(pg_dsn: str) -> None:
    with pytest.raises(ValueError, match="dsn"):
        PostgresStore("")
    with pytest.raises(ValueError, match="group"):
        PostgresStore(pg_dsn, group="no spaces please")
    with pytest.raises(ValueError, match="lease_ttl"):
        PostgresStore(pg_dsn, lease_ttl=0)
    with pytest.raises(ValueError, match="id_block"):
        PostgresStore(pg_dsn, id_block=0)


def test_unreachable_server_is_a_store_error_without_the_password(tmp_path: object) -> None:
    s = PostgresStore(f"postgresql://u:secret@/db?host={tmp_path}&port=1", connect_timeout=2)
    with pytest.raises(StoreError, match="reachable") as info:
        s.open("x")
    assert "secret" not in str(info.value)
    assert not s.is_open


def test_a_newer_schema_is_refused(pg_dsn: str, pg_group: str) -> None:
    with PostgresStore(pg_dsn, group=pg_group):
        pass
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute("UPDATE tickwork_meta SET schema_version = 99 WHERE grp = %s", (pg_group,))
    with pytest.raises(StoreError, match="newer"):
        PostgresStore(pg_dsn, group=pg_group).open("x")


def test_scheduler_restores_from_postgres(pg_dsn: str, pg_group: str) -> None:
    calls: list[tuple[object, ...]] = []
    clock = VirtualClock(START)
    s = Scheduler(clock=clock, store=PostgresStore(pg_dsn, group=pg_group))
    s.register("ping", lambda *a: calls.append(a))
    sid = s.schedule("ping", ("a",), Duration.from_hours(1))
    run_for(s, clock, 3 * 3600)
    assert s.stop()
    assert len(calls) == 3

    s2 = Scheduler(clock=VirtualClock(clock.now()), store=PostgresStore(pg_dsn, group=pg_group))
    s2.register("ping", lambda *a: calls.append(a))
    s2.start()
    try:
        assert s2.restored == (1, [])
        info = s2.get_schedule(sid)
        assert info is not None and info.execution_count == 3
        assert s2.cancel_schedule(sid)
    finally:
        s2.stop()
    with PostgresStore(pg_dsn, group=pg_group) as check:
        assert [r.status for r in check.load().schedules] == ["cancelled"]


def test_import_without_psycopg_names_the_extra() -> None:
    code = (
        "import sys; sys.modules['psycopg'] = None\n"
        "try:\n    from actors import PostgresStore\nexcept ImportError as e:\n    print(e)\n"
        "import actors, actors.store; print(actors.Scheduler.__name__, actors.store.SQLiteStore.__name__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=os.environ, check=True, timeout=60
    ).stdout
    assert "pip install 'tickwork[postgres]'" in out
    assert "Scheduler SQLiteStore" in out  # everything else imports without psycopg


def test_the_package_keeps_the_names_imported_from_it() -> None:
    """actors.store.postgres is a package of parts (one per table); the names the rest
    of tickwork imports from it stay there."""
    from actors.store import postgres
    from actors.store.base import Store

    assert issubclass(postgres.PostgresStore, Store) and postgres.POSTGRES_SCHEMA_VERSION == 1
    assert postgres._redact("postgresql://u:secret@h/db") == "postgresql://u:***@h/db"
    s = postgres.PostgresStore("postgresql://u:secret@h/db", group="g")
    assert "secret" not in repr(s) and "secret" not in s.location


def test_a_write_after_the_server_dropped_the_connection_reconnects(pg_dsn: str, pg_group: str) -> None:
    """The statement that meets the drop fails with a StoreError (nothing written; the
    scheduler's ledger retries it); the next use reopens the connection, not failing forever."""
    a, b = PostgresStore(pg_dsn, group=pg_group), PostgresStore(pg_dsn, group=pg_group)
    with a, b, psycopg.connect(pg_dsn, autocommit=True) as admin:
        a.put(rec(a.next_id()))
        assert a._live is not None and a._live.conn is not None
        old = a._live.conn.info.backend_pid
        admin.execute("SELECT pg_terminate_backend(%s, 5000)", (old,))  # returns once it ended
        try:
            a.put(rec(1, name="renamed"))  # meets the drop: fails (nothing written)...
        except StoreError as exc:
            assert "writing 1 record" in str(exc)
            a.put(rec(1, name="renamed"))  # ...retried (as the ledger does): on a new connection
        a.put(rec(2, name="second"))
        assert a._live.conn is not None and a._live.conn.info.backend_pid != old
        assert [(r.id, r.name) for r in a.load().schedules] == [(1, "renamed"), (2, "second")]
        assert [(r.id, r.name) for r in b.load().schedules] == [(1, "renamed"), (2, "second")]


class _FakeConn:
    def __init__(self) -> None:
        self.closed = False
        self.broken = False

    def close(self) -> None:
        self.closed = True


def test_a_dropped_connection_is_reopened_with_a_backoff_and_logged_once_per_outage(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from actors.store.postgres import live

    now = [100.0]
    monkeypatch.setattr(live.time, "monotonic", lambda: now[0])
    opened: list[_FakeConn] = []
    down = [False]

    def open_() -> Any:
        if down[0]:
            raise psycopg.OperationalError("connection refused")
        opened.append(_FakeConn())
        return opened[-1]

    r = live.Reconnecting(open_, "test")
    first = r.get()
    assert r.get() is first and not r.down
    first.broken = True
    down[0] = True
    with caplog.at_level("WARNING", logger="tickwork"):
        with pytest.raises(psycopg.OperationalError, match="refused"):
            r.get()
        assert r.down
        with pytest.raises(psycopg.OperationalError, match="retrying in"):
            r.get()  # within the backoff: the server is not asked again
        now[0] += live.RECONNECT_BACKOFF_S
        with pytest.raises(psycopg.OperationalError, match="refused"):
            r.get()
        down[0] = False
        now[0] += live.RECONNECT_BACKOFF_S
        second = r.get()
    assert second is not first and first.closed and r.get() is second and not r.down
    messages = [m.getMessage() for m in caplog.records]
    assert messages == [
        "tickwork: the test connection was lost; reconnecting",
        "tickwork: the test connection is back after 1.0s",
    ]
    r.close()
    assert second.closed and r.conn is None
