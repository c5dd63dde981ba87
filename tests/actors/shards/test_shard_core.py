"""The sharding pieces that need no Ray: routing, requests, store factories, the
`Shard` itself (driven in-process), and merged statistics."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from actors.results import ScheduleStatus
from actors.shards import (
    KEY_META,
    Offload,
    PostgresPerShard,
    SQLitePerShard,
    make_request,
    merge_stats,
    shard_of,
)
from actors.shards.shard import Shard, _pool_size
from actors.shards.stores import check_store, make_store
from actors.shards.targets import check_targets, import_target
from actors.store import SQLiteStore
from timekit import Duration

TARGETS = {"rec": "shard_probe:record", "noop": "shard_probe:noop"}


def test_shard_of_is_stable_across_processes_and_versions() -> None:
    # Fixed values: BLAKE2b, never Python's salted hash(); a change here reroutes stored keys.
    assert [shard_of(k, 8) for k in ["user:42", "a", "job-1", "é"]] == [2, 7, 3, 7]
    code = "from actors.shards import shard_of; print(shard_of('user:42', 1000))"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": "123", "PYTHONPATH": str(Path(__file__).resolve().parents[3])})
    assert other.stdout.strip() == str(shard_of("user:42", 1000)) == "482"
    spread = Counter(shard_of(f"k{i}", 4) for i in range(4000))
    assert set(spread) == {0, 1, 2, 3} and min(spread.values()) > 900


@pytest.mark.parametrize(("key", "shards", "exc"), [(5, 2, TypeError), ("", 2, ValueError), ("a", 0, ValueError),
                                                    ("a", True, ValueError)])
def test_shard_of_refuses_bad_input(key: object, shards: object, exc: type[Exception]) -> None:
    with pytest.raises(exc):
        shard_of(key, shards)  # type: ignore[arg-type]


def test_make_request_checks_like_schedule() -> None:
    r = make_request("rec", ["/x", "t"], 5, key="k", retry=2, misfire="skip")
    assert (r.key, r.target, r.args, r.trigger["every_us"], r.policy) == ("k", "rec", ("/x", "t"), 5_000_000,
                                                                          {"retry": 2, "misfire": "skip"})
    assert len(make_request("rec", [], 5).key) == 32  # a random key, chosen before sending
    with pytest.raises(TypeError, match="declared target name"):
        make_request(print, [], 5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="needs when"):
        make_request("rec", [])
    with pytest.raises(ValueError, match="reserved"):
        make_request("rec", [], 5, metadata={KEY_META: "x"})
    with pytest.raises(TypeError, match="unexpected keyword"):
        make_request("rec", [], 5, colour="red")
    with pytest.raises(ValueError, match="catch_up_limit"):
        make_request("rec", [], 5, catch_up_limit=-1)


def test_targets_and_stores_are_checked() -> None:
    assert check_targets(["shard_probe:record"]) == {"shard_probe:record": "shard_probe:record"}
    with pytest.raises(ValueError, match="not an import path"):
        check_targets({"x": "shard_probe.record"})
    with pytest.raises(TypeError):
        check_targets("shard_probe:record")
    with pytest.raises(ValueError, match="cannot import"):
        import_target("no_such_module_here:f")
    with pytest.raises(ValueError, match="has no"):
        import_target("shard_probe:nothing")
    assert check_store(None, "n") is None and check_store("memory", "n") is None
    with pytest.raises(ValueError, match="sqlite:DIR"):
        check_store("postgres", "n")
    with pytest.raises(TypeError):
        check_store(42, "n")
    with pytest.raises(TypeError, match=r"not an actors\.store\.Store"):
        make_store(lambda i, k: "nope", 0, 1)


def test_shard_keys_are_idempotent_and_survive_a_restart(tmp_path: Path) -> None:
    store = check_store(f"sqlite:{tmp_path}", "t")
    assert isinstance(store, SQLitePerShard)
    sh = Shard(0, 1, name="t", targets=TARGETS, store=store)
    try:
        reqs = [make_request("noop", [], 3600, key=f"k{i}") for i in range(5)]
        assert sh.schedule_many(reqs) == ([True] * 5, {})
        assert sh.schedule_many(reqs) == ([False] * 5, {})  # the same keys again: nothing new
        made = sh.keys()
        ids = {k: sh.get_schedule(k).id for k in made}
        assert sh.cancel_many(["k0", "zz"]) == [True, False]
        created, errors = sh.schedule_many([make_request("noop", [], 60, key="k0"),
                                            make_request("nope", [], 60, key="bad")])
        assert created == [True, False] and "unknown target" in errors["bad"]
        assert sh.get_schedule("k0").id != ids["k0"]  # a new schedule took the freed key
        assert sh.call("pause", "k1") and sh.get_schedule("k1").status is ScheduleStatus.PAUSED
        assert not sh.call("pause", "nobody")
        with pytest.raises(ValueError):
            sh.call("stop", "k1")
        new_k0 = sh.get_schedule("k0").id
    finally:
        assert sh.stop()
    assert (tmp_path / "t-shard-0-of-1.db").exists()
    again = Shard(0, 1, name="t", targets=TARGETS, store=store)
    try:
        assert sorted(again.keys()) == ["k0", "k1", "k2", "k3", "k4"]
        assert again.get_schedule("k0").id == new_k0 and again.get_schedule("k2").id == ids["k2"]
        assert again.get_schedule("k1").status is ScheduleStatus.PAUSED
        assert again.info()["restored"] == 6  # the cancelled one is stored too (its key is not)
        assert again.clear_completed_schedules() == 1 and len(again.keys()) == 5
    finally:
        again.stop()


def test_a_store_factory_callable(tmp_path: Path) -> None:
    made: list[int] = []

    def factory(index: int, shards: int) -> SQLiteStore:
        made.append(index)
        return SQLiteStore(tmp_path / f"custom-{index}.db")

    sh = Shard(1, 3, targets=TARGETS, store=check_store(factory, "t"))
    try:
        sh.schedule_many([make_request("noop", [], 60, key="a")])
        assert made == [1] and sh.info()["store_location"].endswith("custom-1.db")
    finally:
        sh.stop()


def test_a_postgres_dsn_gives_each_shard_a_group_of_its_own(pg_dsn: str, pg_group: str) -> None:
    name = pg_group.replace(".", "_")
    store = check_store(pg_dsn, name)
    assert isinstance(store, PostgresPerShard) and store == PostgresPerShard(pg_dsn, name)
    assert store.group(1, 3) == f"{name}.shard.1-of-3" and "shard.*" in repr(store)
    assert "s3cret" not in repr(check_store("postgresql://u:s3cret@localhost/db", name))
    with pytest.raises(ValueError, match="lease_ttl"):
        PostgresPerShard(pg_dsn, name, lease_ttl=0)
    sh = [Shard(i, 2, name=name, targets=TARGETS, store=store) for i in range(2)]
    try:
        sh[0].schedule_many([make_request("noop", [], 3600, key=f"a{i}") for i in range(3)])
        sh[1].schedule_many([make_request("noop", [], 3600, key="b")])
        assert sorted(sh[0].keys()) == ["a0", "a1", "a2"] and sh[1].keys() == ["b"]  # groups do not mix
        assert sh[0].info()["store_location"].endswith(f"group '{name}.shard.0-of-2'")
    finally:
        assert all([s.stop() for s in sh])  # noqa: C419 (a list: stop both, even if one fails)


def test_a_restarted_postgres_shard_takes_its_group_over_at_once(pg_dsn: str, pg_group: str) -> None:
    # The first incarnation never leaves the group (as if SIGKILLed): its leases stand.
    # Without the takeover the second would load nothing until they expired (lease_ttl).
    store = PostgresPerShard(pg_dsn, pg_group.replace(".", "_"), lease_ttl=60)
    first = Shard(0, 1, targets=TARGETS, store=store)
    first.schedule_many([make_request("noop", [], 3600, key=f"k{i}") for i in range(5)])
    made = first.keys()
    ids = {k: first.get_schedule(k).id for k in made}
    second = Shard(0, 1, targets=TARGETS, store=store)
    try:
        assert second.info()["restored"] == 5 and second.start_seconds < 10
        assert sorted(second.keys()) == sorted(made)
        assert {k: second.get_schedule(k).id for k in made} == ids
        assert first.stop()  # the old one is fenced: it writes nothing over what the new one runs
        assert second.call("pause", "k1") and second.get_schedule("k1").status is ScheduleStatus.PAUSED
        assert second.sched._rt.cluster.owned.keys() == set(range(32))
    finally:
        assert second.stop()


def test_merge_stats() -> None:
    a = {"total_executions": 3, "successful_executions": 2, "failed_executions": 1, "missed_executions": 0,
         "total_duration": Duration(30), "lateness_p50": Duration(5), "lateness_p99": Duration(50),
         "lateness_max": Duration(70), "schedules": 2, "rss_bytes": 10}
    b = {"total_executions": 1, "successful_executions": 1, "failed_executions": 0, "missed_executions": 4,
         "total_duration": Duration(10), "lateness_p50": Duration(9), "lateness_p99": Duration(20),
         "lateness_max": Duration(90), "schedules": 1, "rss_bytes": 5}
    m = merge_stats([a, b])
    assert (m["total_executions"], m["successful_executions"], m["missed_executions"], m["schedules"]) == (4, 3, 4, 3)
    assert m["success_rate"] == 0.75 and m["average_duration"] == Duration(10)
    assert (m["lateness_p50"], m["lateness_p99"], m["lateness_max"]) == (Duration(9), Duration(50), Duration(90))
    assert m["shards"] == 2 and merge_stats([])["lateness_p99"] is None


def test_the_core_never_imports_ray_and_says_how_to_get_it() -> None:
    code = (
        "import sys; sys.modules['ray'] = None\n"  # as if Ray were not installed
        "import actors, actors.shards, actors.cli, actors.cli.ray_run\n"
        "from actors.shards import ShardedScheduler\n"
        "try:\n"
        "    ShardedScheduler.deploy(1, targets=['shard_probe:noop'])\n"
        "except ImportError as e:\n"
        "    print('refused:', e)\n"
    )
    root = Path(__file__).resolve().parents[3]
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": f"{root}:{root / 'tests'}"})
    assert "refused:" in res.stdout and "pip install 'tickwork[ray]'" in res.stdout, res.stdout + res.stderr


def test_offloaded_targets_get_room_in_the_execution_pool() -> None:
    from actors.scheduler import DEFAULT_MAX_CONCURRENT

    offload = {"a": Offload("m:f", max_in_flight=3), "b": Offload("m:g", via="pool", pool_size=2)}
    assert _pool_size(None, offload) == DEFAULT_MAX_CONCURRENT + 5
    assert _pool_size(7, offload) == 7  # as given
    assert _pool_size(None, None) is None and _pool_size(None, {}) is None
