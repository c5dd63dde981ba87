"""The persistence layer: records, their codec, and both stores (MemoryStore, SQLiteStore).

Crash and cross-process tests (SIGKILLed children) are in test_store_crash.py.
"""

from __future__ import annotations

import math
import os
import pickle
import sqlite3
import tempfile
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors import ScheduleStatus
from actors.store import (
    ACTIVE_STATUSES,
    MISFIRE_POLICIES,
    STATUSES,
    CorruptRecord,
    LoadResult,
    MemoryStore,
    SQLiteStore,
    Store,
    StoredSchedule,
    StoreError,
    StoreLockedError,
    check_encodable,
    decode_record,
    encode_record,
)
from timekit import Duration, ScheduleAt, Timestamp

TRIGGERS = [
    ScheduleAt.at_interval(Duration.from_seconds(5)),
    ScheduleAt.at_interval(Duration.from_millis(250), start=Timestamp.from_micros(1_700_000_000_000_000)),
    ScheduleAt.at_time(Timestamp.from_micros(1_800_000_000_000_000)),
    ScheduleAt.daily(2, 30, tz="Europe/Paris"),
    ScheduleAt.cron("*/15 9-17 * * 1-5", tz="America/New_York"),
]


def rec(sid: int, **kw: Any) -> StoredSchedule:
    fields: dict[str, Any] = {
        "id": sid,
        "name": f"job-{sid}",
        "target": "backup",
        "args": ["db", sid],
        "kwargs": {"verbose": True},
        "trigger": TRIGGERS[sid % len(TRIGGERS)].to_dict(),
        "created_us": 1_700_000_000_000_000,
        "next_due_us": 1_700_000_005_000_000,
        "metadata": {"owner": "ops"},
    }
    fields.update(kw)
    return StoredSchedule(**fields)


# --------------------------------------------------------------------------- fixtures


def make_store(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if kind == "memory":
        return MemoryStore()
    if kind == "sqlite":
        return SQLiteStore(tmp_path / "s.db")
    from actors.store.postgres import PostgresStore  # a real server (tests/pg_support.py), or skipped

    return PostgresStore(request.getfixturevalue("pg_dsn"), group=request.getfixturevalue("pg_group"))


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    s = make_store(request.param, request, tmp_path)
    s.open("test")
    yield s
    s.close()


def reopen(s: Store) -> Store:
    """The same store after a restart: a new object on the same file (or the same
    MemoryStore, which plays the file)."""
    s.close()
    if isinstance(s, MemoryStore):
        new: Store = s
    elif isinstance(s, SQLiteStore):
        new = SQLiteStore(s.location)
    else:
        new = type(s)(s.dsn, group=s.group)  # type: ignore[attr-defined,call-arg]  # PostgresStore
    new.open("restarted")
    return new


# --------------------------------------------------------------------------- records

plain = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.binary(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
triggers = st.one_of(
    st.builds(lambda us: ScheduleAt.at_interval(Duration(us)), st.integers(1, 10**12)),
    st.builds(
        lambda us, start: ScheduleAt.at_interval(Duration(us), start=Timestamp.from_micros(start)),
        st.integers(1, 10**12),
        st.integers(0, 4 * 10**15),
    ),
    st.builds(lambda us: ScheduleAt.at_time(Timestamp.from_micros(us)), st.integers(0, 4 * 10**15)),
    st.builds(
        lambda h, m, s, tz: ScheduleAt.daily(h, m, s, tz=tz),
        st.integers(0, 23),
        st.integers(0, 59),
        st.integers(0, 59),
        st.sampled_from(["UTC", "Europe/Paris", "Asia/Kolkata"]),
    ),
    st.sampled_from([ScheduleAt.cron("0 9 * * 1-5", tz="Europe/Paris"), ScheduleAt.cron("*/5 * * * *")]),
).map(lambda t: t.to_dict())
opt_us = st.none() | st.integers(-(2**62), 2**62)
opt_nonneg = st.none() | st.integers(0, 2**62)
records = st.builds(
    StoredSchedule,
    id=st.integers(1, 2**62),
    name=st.text(max_size=30),
    target=st.text(min_size=1, max_size=30),
    args=st.lists(plain, max_size=4),
    kwargs=st.dictionaries(st.text(max_size=10), plain, max_size=4),
    trigger=triggers,
    status=st.sampled_from(STATUSES),
    created_us=st.integers(-(2**62), 2**62),
    next_due_us=opt_us,
    last_us=opt_us,
    execution_count=st.integers(0, 2**62),
    failure_count=st.integers(0, 2**62),
    missed_count=st.integers(0, 2**62),
    last_error=st.none() | st.text(max_size=50),
    metadata=st.dictionaries(st.text(max_size=10), plain, max_size=4),
    misfire=st.sampled_from(MISFIRE_POLICIES),
    misfire_grace_us=opt_nonneg,
    catch_up_limit=st.integers(0, 10_000),
    timeout_us=st.none() | st.integers(1, 2**62),
    retry=st.none()
    | st.fixed_dictionaries(
        {"attempts": st.integers(0, 10)},
        optional={"backoff_us": st.integers(0, 10**9), "max_backoff_us": st.integers(0, 10**10), "jitter": st.booleans()},
    ),
    jitter_us=opt_nonneg,
    in_flight_us=opt_us,
)


@settings(max_examples=300, deadline=None)
@given(records)
def test_record_round_trip(r: StoredSchedule) -> None:
    data = encode_record(r)
    back = decode_record(data)
    assert back == r
    assert encode_record(back) == data
    assert back.schedule_at() == ScheduleAt.from_dict(r.trigger)
    assert back.is_active == (r.status in ACTIVE_STATUSES)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(records, max_size=15, unique_by=lambda r: r.id))
def test_round_trip_through_both_stores(recs: list[StoredSchedule]) -> None:
    with tempfile.TemporaryDirectory() as d:
        for s in (MemoryStore(), SQLiteStore(os.path.join(d, "h.db"))):
            with s:
                s.put_many(recs[: len(recs) // 2])
                for r in recs[len(recs) // 2 :]:
                    s.put(r)
                assert s.load() == LoadResult(sorted(recs, key=lambda r: r.id), [])
            if isinstance(s, SQLiteStore):  # and from a fresh connection to the file
                with SQLiteStore(s.path) as again:
                    assert again.load().schedules == sorted(recs, key=lambda r: r.id)


def test_statuses_are_the_runtimes() -> None:
    assert set(STATUSES) == {s.value for s in ScheduleStatus}
    assert {s.value for s in ScheduleStatus if s.is_active} == ACTIVE_STATUSES


def test_every_trigger_kind_restores_equal() -> None:
    for t in TRIGGERS:
        r = decode_record(encode_record(rec(1, trigger=t.to_dict())))
        assert r.schedule_at() == t
        assert r.schedule_at() is r.schedule_at()  # cached


def test_tuple_args_are_stored_as_a_list() -> None:
    r = decode_record(encode_record(rec(3, args=("a", 1))))
    assert r.args == ["a", 1]


def test_defaults_are_compact_and_filled_in() -> None:
    r = StoredSchedule(id=1, name="n", target="t", trigger=TRIGGERS[0].to_dict(), created_us=0, next_due_us=None)
    back = decode_record(encode_record(r))
    assert back == r
    assert (back.misfire, back.catch_up_limit, back.version, back.status) == ("coalesce", 100, 1, "pending")
    assert b"catch_up_limit" not in encode_record(r)  # defaults are omitted


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ({1, 2}, "set"),
        (frozenset({1}), "frozenset"),
        ((1, 2), "tuple"),
        (object(), "not plain data"),
        (len, "register it"),
        (lambda: 0, "register it"),
        (bytearray(b"x"), "bytearray"),
        (2**64, "64 bits"),
        (-(2**63) - 1, "64 bits"),
        ("\ud800", "surrogate"),
        (Duration(5), ".micros"),
        (Timestamp.from_micros(0), ".micros"),
        (datetime(2026, 1, 1, tzinfo=timezone.utc), "ISO"),
        (ScheduleStatus.PENDING, "not plain data"),
        ({1: "a"}, "keys must be str"),
        ([[{"deep": {1, 2}}]], "args[0][0][0]['deep']"),
    ],
)
def test_check_encodable_refuses_what_would_not_round_trip(value: Any, words: str) -> None:
    with pytest.raises(TypeError) as info:
        check_encodable([value], {}, {})
    assert words in str(info.value)
    assert "args[0]" in str(info.value)
    with pytest.raises(TypeError, match=r"kwargs\['x'\]"):
        check_encodable((), {"x": value})
    with pytest.raises(TypeError, match=r"cannot store"):
        encode_record(rec(1, metadata={"m": value}))


def strictly_equal(a: Any, b: Any) -> bool:
    """Equal, with the same types all the way down (NaN equals NaN)."""
    if type(a) is not type(b):
        return False
    if type(a) is list:
        return len(a) == len(b) and all(strictly_equal(x, y) for x, y in zip(a, b, strict=True))
    if type(a) is dict:
        return a.keys() == b.keys() and all(strictly_equal(a[k], b[k]) for k in a)
    if type(a) is float and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


anything = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=5)
    | st.binary(max_size=5)
    | st.builds(bytearray, st.binary(max_size=3))
    | st.frozensets(st.integers(0, 3), max_size=2),
    lambda children: st.lists(children, max_size=3)
    | st.tuples(children)
    | st.dictionaries(st.text(max_size=3), children, max_size=3)
    | st.sets(st.integers(0, 5), max_size=2),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(anything)
def test_check_encodable_accepts_exactly_what_round_trips(value: Any) -> None:
    try:
        back = msgspec.msgpack.decode(msgspec.msgpack.encode(value))
        round_trips = strictly_equal(back, value)
    except (TypeError, OverflowError, ValueError):
        round_trips = False
    if round_trips:
        check_encodable([value], {"k": value}, {"m": [value]})
    else:
        with pytest.raises(TypeError, match="cannot store args"):
            check_encodable([value])


def test_check_encodable_refuses_subclasses_and_cycles() -> None:
    import enum

    class Level(enum.IntEnum):
        HIGH = 1

    class Name(str):
        pass

    with pytest.raises(TypeError, match="subclass of int"):
        check_encodable([Level.HIGH])
    with pytest.raises(TypeError, match="subclass of str"):
        check_encodable([], None, {"n": Name("x")})
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(TypeError, match="contains itself"):
        check_encodable([loop])
    with pytest.raises(TypeError, match="list or tuple"):
        check_encodable({"a": 1})
    with pytest.raises(TypeError, match="keys must be str"):
        check_encodable([], {3: 1})


def test_check_encodable_accepts_plain_data() -> None:
    value = [None, True, 0, -(2**63), 2**64 - 1, 1.5, math.inf, math.nan, "é", b"\x00", [[]], {"a": {"b": [1]}}]
    check_encodable(value, {"k": value}, {"m": value})
    check_encodable(tuple(value))


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"status": "bogus"}, "status"),
        ({"misfire": "sometimes"}, "misfire"),
        ({"id": 0}, "id"),
        ({"id": "7"}, "id"),
        ({"id": 2**63}, "id"),
        ({"execution_count": -1}, "execution_count"),
        ({"timeout_us": 0}, "timeout_us"),
        ({"target": ""}, "target"),
        ({"next_due_us": 1.5}, "next_due_us"),
        ({"trigger": {"kind": "cron", "expression": "nonsense", "tz": "UTC"}}, "trigger"),
        ({"trigger": {"kind": "daily", "hour": 2, "minute": 0, "second": 0, "tz": "Mars/Olympus"}}, "trigger"),
        ({"trigger": {"kind": "interval", "every_us": True}}, "trigger"),
        ({"retry": {"backoff_us": 5}}, "attempts"),
        ({"retry": {"attempts": 3, "color": 1}}, "color"),
        ({"retry": {"attempts": 3, "jitter": 1}}, "jitter"),
        ({"version": 2}, "newer"),
    ],
)
def test_encode_refuses_invalid_records(changes: dict[str, Any], words: str) -> None:
    bad = msgspec.structs.replace(rec(5), **changes)
    with pytest.raises(ValueError, match=words) as info:
        encode_record(bad)
    assert "schedule" in str(info.value)
    # and the same bytes, written by something else, are reported as corrupt on decode
    with pytest.raises(CorruptRecord, match=words):
        decode_record(msgspec.msgpack.encode(bad))


def test_encode_refuses_non_records() -> None:
    with pytest.raises(TypeError, match="StoredSchedule"):
        encode_record({"id": 1})  # type: ignore[arg-type]


def test_decode_reports_bad_bytes_as_corrupt() -> None:
    good = encode_record(rec(9))
    assert issubclass(CorruptRecord, ValueError)
    for bad in [
        b"",
        b"\xc1",
        os.urandom(64),
        good[:-4],
        good[:1],
        msgspec.msgpack.encode([1, 2, 3]),
        msgspec.msgpack.encode({"id": 9}),
        msgspec.msgpack.encode(msgspec.structs.asdict(rec(9)) | {"name": 123}),
        msgspec.msgpack.encode(msgspec.structs.asdict(rec(9)) | {"args": [msgspec.msgpack.Ext(5, b"x")]}),
        pickle.dumps(rec(9)),  # never unpickled
        "text",
        None,
    ]:
        with pytest.raises(CorruptRecord):
            decode_record(bad)  # type: ignore[arg-type]


def test_stored_text_is_never_evaluated() -> None:
    r = rec(4, target="os.system", args=["__import__('os').system('false')"], name="{0.__class__}")
    back = decode_record(encode_record(r))
    assert back.target == "os.system" and back.args == r.args  # names and strings, nothing more


# --------------------------------------------------------------------------- both stores


def test_put_load_update_delete(store: Store) -> None:
    ids = [store.next_id() for _ in range(5)]
    for sid in ids:
        store.put(rec(sid))
    store.put(rec(ids[0], status="paused", execution_count=3, last_error="ValueError('x')"))
    store.delete([ids[1], 999_999])
    found = store.load()
    assert found.corrupt == []
    assert [r.id for r in found.schedules] == [ids[0], *ids[2:]]
    assert found.schedules[0].status == "paused" and found.schedules[0].execution_count == 3
    store = reopen(store)
    assert [r.id for r in store.load().schedules] == [ids[0], *ids[2:]]


def test_put_many_is_all_or_nothing_on_invalid_input(store: Store) -> None:
    store.put(rec(1))
    with pytest.raises(TypeError, match="args"):
        store.put_many([rec(2), rec(3, args=[{1, 2}])])
    with pytest.raises(TypeError, match="ints"):
        store.delete([1, "2"])  # type: ignore[list-item]
    assert [r.id for r in store.load().schedules] == [1]


def test_put_stores_a_snapshot(store: Store) -> None:
    r = rec(1)
    store.put(r)
    r.args.append("later")
    r.status = "cancelled"
    assert store.load().schedules == [rec(1)]


def test_next_id_is_never_reused(store: Store) -> None:
    a, b, c = store.next_id(), store.next_id(), store.next_id()
    assert a < b < c
    store.put(rec(b))
    store.put(rec(50))  # an id chosen by the caller is never handed out later
    store.delete([b, 50])
    d = store.next_id()
    assert d > 50
    store = reopen(store)
    e = store.next_id()
    assert e > d
    if store.id_block > 1:
        assert e <= d + store.id_block  # reserved a block at a time
    else:
        assert e == d + 1


def test_next_id_is_unique_across_threads(store: Store) -> None:
    got: list[list[int]] = [[] for _ in range(8)]

    def take(i: int) -> None:
        got[i].extend(store.next_id() for _ in range(300))

    threads = [threading.Thread(target=take, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [x for g in got for x in g]
    assert len(set(every)) == len(every) == 2400


def test_concurrent_writers(store: Store) -> None:
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            for i in range(60):
                sid = 1 + k * 1000 + i
                if i % 3 == 0:
                    store.put(rec(sid))
                elif i % 3 == 1:
                    store.put_many([rec(sid), rec(sid + 500)])
                else:
                    with store.batch():
                        store.put(rec(sid))
                        store.delete([sid + 500 - 1])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    found = store.load()
    assert found.corrupt == []
    expected = {1 + k * 1000 + i for k in range(6) for i in range(60)}
    assert {r.id for r in found.schedules} == expected


def test_batch_commits_at_the_end(store: Store) -> None:
    store.put(rec(1))
    with store.batch():
        store.put(rec(2))
        store.put(rec(3))
        store.put(rec(2, execution_count=7))  # the last write of an id wins
        store.delete([1])
        with store.batch():  # nested: joins the outer one
            store.put(rec(4))
        assert [r.id for r in store.load().schedules] == [1]  # nothing committed yet
        # another thread's write waits for the batch to commit (it never lands in between)
        t = threading.Thread(target=store.put, args=(rec(10, execution_count=1),))
        t.start()
        t.join(0.2)
        assert t.is_alive()
        store.put(rec(10))
    t.join(5)
    found = store.load().schedules
    assert [r.id for r in found] == [2, 3, 4, 10]
    assert found[0].execution_count == 7
    assert found[3].execution_count == 1  # committed after the batch


def test_snapshots_taken_inside_a_batch_are_committed_in_order(store: Store) -> None:
    live = {"count": 0}  # a schedule's live state, changed by several threads
    live_lock = threading.Lock()

    def work() -> None:
        for _ in range(150):
            with live_lock:
                live["count"] += 1
            with store.batch():  # snapshot and commit with no other write in between
                with live_lock:
                    snapshot = rec(1, execution_count=live["count"])
                store.put(snapshot)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.load().schedules[0].execution_count == live["count"] == 600  # never a stale one last


def test_batch_validates_at_once_and_discards_on_error(store: Store) -> None:
    store.put(rec(1))
    with pytest.raises(TypeError, match="args"), store.batch():
        store.put(rec(2))
        store.put(rec(3, args=[object()]))  # raises here, inside the block
    with pytest.raises(KeyError), store.batch():
        store.put(rec(4))
        store.delete([1])
        raise KeyError("boom")
    assert [r.id for r in store.load().schedules] == [1]
    with store.batch():  # the thread's next batch starts empty
        store.put(rec(5))
    assert [r.id for r in store.load().schedules] == [1, 5]


def test_flush_commits_the_open_batch(store: Store) -> None:
    with store.batch():
        store.put(rec(1))
        store.flush()
        assert [r.id for r in store.load().schedules] == [1]
        store.put(rec(2))
    assert [r.id for r in store.load().schedules] == [1, 2]
    store.flush()


def test_close_commits_this_threads_batch(store: Store) -> None:
    with store.batch():
        store.put(rec(1))
        store.close()
    store = reopen(store)
    assert [r.id for r in store.load().schedules] == [1]


def test_not_open_is_a_clear_error(store: Store) -> None:
    store.close()
    store.close()  # idempotent
    for call in (lambda: store.put(rec(1)), store.load, store.next_id, lambda: store.delete([1]), store.flush):
        with pytest.raises(StoreError, match="not open"):
            call()
    with pytest.raises(StoreError, match="not open"), store.batch():
        pass  # pragma: no cover
    with pytest.raises(TypeError, match="owner"):
        store.open("")
    store.open("back")  # reusable after close
    assert store.owner == "back"


def test_one_owner_at_a_time_on_the_same_object(store: Store) -> None:
    with pytest.raises(StoreLockedError, match="'test'") as info:
        store.open("second scheduler")
    assert isinstance(info.value, RuntimeError)
    assert store.location in str(info.value)
    store.close()
    store.open("second scheduler")


def test_memory_store_shared_by_two_schedulers() -> None:
    shared = MemoryStore("shared")
    shared.open("scheduler A")
    shared.put(rec(1))
    with pytest.raises(StoreLockedError, match="scheduler A"):
        shared.open("scheduler B")
    shared.close()
    shared.open("scheduler B")  # a "restart": the data is still there
    assert [r.id for r in shared.load().schedules] == [1]
    assert shared.next_id() == 2
    shared.close()


def test_corrupt_rows_in_memory_are_reported_and_skipped() -> None:
    s = MemoryStore()
    with s:
        s.put_many([rec(1), rec(2)])
        s._data[3] = b"garbage"
        s._data[4] = encode_record(rec(1))  # id mismatch
        found = s.load()
    assert [r.id for r in found.schedules] == [1, 2]
    assert [rid for rid, _ in found.corrupt] == [3, 4]


# --------------------------------------------------------------------------- SQLite


def test_sqlite_corrupt_rows_are_reported_and_skipped(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    with SQLiteStore(path) as s:
        s.put_many([rec(i) for i in range(1, 6)])
    raw = sqlite3.connect(path)
    with raw:
        raw.executemany(
            "INSERT INTO schedules (id, data) VALUES (?, ?)",
            [
                (100, os.urandom(40)),  # garbage
                (101, encode_record(rec(101))[:-5]),  # truncated
                (102, msgspec.msgpack.encode(msgspec.structs.asdict(rec(102)) | {"next_due_us": "soon"})),  # wrong type
                (103, "a text value"),  # not a BLOB
                (104, None),
                (105, encode_record(rec(3))),  # another record's bytes
                (106, msgspec.msgpack.encode(msgspec.structs.asdict(rec(106)) | {"status": "zombie"})),
            ],
        )
    raw.close()
    with SQLiteStore(path) as s:
        found = s.load()
        assert [r.id for r in found.schedules] == [1, 2, 3, 4, 5]
        assert found.schedules == [rec(i) for i in range(1, 6)]
        reasons = dict(found.corrupt)
        assert sorted(reasons) == [100, 101, 102, 103, 104, 105, 106]
        assert "truncated" in reasons[101]
        assert "next_due_us" in reasons[102]
        assert "stored under id 105" in reasons[105]
        assert "status" in reasons[106]
        assert s.next_id() > 106  # ids of corrupt rows are never reused either
        s.put(rec(100))  # a corrupt row can be overwritten with a good record
        assert 100 not in dict(s.load().corrupt)


def test_sqlite_two_stores_one_file(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    first = SQLiteStore(path)
    first.open("scheduler-1")
    second = SQLiteStore(path)
    with pytest.raises(StoreLockedError) as info:
        second.open("scheduler-2")
    text = str(info.value)
    assert str(path) in text and "scheduler-1" in text and f"pid {os.getpid()}" in text
    assert "different store path" in text
    first.put(rec(1))
    first.close()
    second.open("scheduler-2")
    assert [r.id for r in second.load().schedules] == [1]
    second.close()


def test_sqlite_full_disk(tmp_path: Path) -> None:
    path = tmp_path / "full.db"
    s = SQLiteStore(path)
    s.open("t")
    s.put_many([rec(i) for i in range(1, 21)])
    conn = s._conn
    assert conn is not None
    with s._lock:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")  # the database may not grow: "disk full"
    big = {"blob": b"x" * 20_000}
    with pytest.raises(StoreError, match="full") as info:
        s.put(rec(21, metadata=big))
    assert str(path) in str(info.value) and "disk space" in str(info.value)
    with pytest.raises(StoreError, match="full"):
        s.put_many([rec(1, execution_count=99), *[rec(i, metadata=big) for i in range(30, 40)]])
    with pytest.raises(StoreError, match="full"), s.batch():
        s.put(rec(2, status="cancelled"))
        s.put(rec(22, metadata=big))
    found = s.load()  # what was there is intact: none of the failed writes is half-applied
    assert found.corrupt == [] and found.schedules == [rec(i) for i in range(1, 21)]
    with s._lock:
        conn.execute("PRAGMA max_page_count = 1073741823")  # the condition clears
    s.put(rec(21, metadata=big))
    s.put_many([rec(1, execution_count=99)])
    s.close()
    with SQLiteStore(path) as again:
        found = again.load()
        assert found.corrupt == [] and [r.id for r in found.schedules] == list(range(1, 22))
        assert found.schedules[0].execution_count == 99


def test_sqlite_read_only_database(tmp_path: Path) -> None:
    path = tmp_path / "ro.db"
    s = SQLiteStore(path)
    s.open("t")
    s.put(rec(1))
    conn = s._conn
    assert conn is not None
    with s._lock:
        conn.execute("PRAGMA query_only = ON")  # as a read-only file would (tests may run as root)
    with pytest.raises(StoreError, match="readonly") as info:
        s.put(rec(2))
    assert str(path) in str(info.value) and "permissions" in str(info.value)
    with pytest.raises(StoreError, match="readonly"):
        s.next_id()  # reserving ids is a write too
    with s._lock:
        conn.execute("PRAGMA query_only = OFF")
    s.put(rec(2))
    assert [r.id for r in s.load().schedules] == [1, 2]
    s.close()


def test_sqlite_unwritable_location(tmp_path: Path) -> None:
    s = SQLiteStore(tmp_path / "no" / "such" / "dir.db")
    with pytest.raises(StoreError, match="lock file") as info:
        s.open("t")
    assert str(tmp_path / "no" / "such" / "dir.db") in str(info.value)
    assert not s.is_open


def test_sqlite_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not a database, just text " * 200)
    with pytest.raises(StoreError, match="not a database") as info:
        SQLiteStore(path).open("t")
    assert str(path) in str(info.value)
    path.unlink()
    with SQLiteStore(path) as s:  # the failed open let go of the lock
        s.put(rec(1))


def test_sqlite_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    with SQLiteStore(path) as s:
        s.put(rec(1))
    raw = sqlite3.connect(path)
    with raw:
        raw.execute("UPDATE meta SET value = 99 WHERE key = 'schema_version'")
    raw.close()
    with pytest.raises(StoreError, match="newer"):
        SQLiteStore(path).open("t")


def test_sqlite_options(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="synchronous"):
        SQLiteStore(tmp_path / "x.db", synchronous="OFF")
    with pytest.raises(ValueError, match="MemoryStore"):
        SQLiteStore(":memory:")
    with pytest.raises(ValueError, match="id_block"):
        SQLiteStore(tmp_path / "x.db", id_block=0)
    with SQLiteStore(tmp_path / "full.db", synchronous="full", id_block=1) as s:
        assert s.synchronous == "FULL"
        s.put(rec(s.next_id()))
        s.flush()
        conn = s._conn
        assert conn is not None
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2
    with SQLiteStore(tmp_path / "full.db", id_block=1) as s:
        assert s.next_id() == 2  # id_block=1: no gap after a restart


def test_sqlite_close_removes_the_wal_and_keeps_the_data(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    with SQLiteStore(path) as s:
        s.put_many([rec(i) for i in range(1, 100)])
        assert Path(str(path) + "-wal").exists()
    assert not Path(str(path) + "-wal").exists()
    assert Path(str(path) + ".lock").exists()  # never deleted (deleting lock files races)
    raw = sqlite3.connect(path)
    assert raw.execute("SELECT count(*) FROM schedules").fetchone()[0] == 99
    raw.close()


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"busy_timeout": "x"}, TypeError, r"busy_timeout must be a number of seconds, not str \('x'\)"),
        ({"busy_timeout": True}, TypeError, r"busy_timeout must be a number of seconds, not bool"),
        ({"busy_timeout": -1}, ValueError, r"busy_timeout must be a finite number of seconds >= 0, got -1"),
        ({"busy_timeout": math.nan}, ValueError, r"busy_timeout must be a finite number of seconds >= 0, got nan"),
        ({"busy_timeout": math.inf}, ValueError, r"busy_timeout must be a finite number"),
    ],
)
def test_sqlite_store_arguments_are_named(tmp_path: Path, kwargs: dict[str, Any], error: type[Exception],
                                          message: str) -> None:
    with pytest.raises(error, match=message):
        SQLiteStore(tmp_path / "s.db", **kwargs)


def test_sqlite_store_path_must_be_a_path() -> None:
    with pytest.raises(TypeError, match=r"SQLiteStore needs a file path \(str or os.PathLike\), not int \(5\)"):
        SQLiteStore(5)  # type: ignore[arg-type]
