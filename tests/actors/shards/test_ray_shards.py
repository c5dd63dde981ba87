"""ShardedScheduler on a local Ray cluster: routing, batches, idempotent keys, cancel,
stats, and a shard SIGKILLed while firing that Ray restarts and that restores its
SQLite or PostgreSQL store with nothing lost."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import shard_probe

from actors.results import ScheduleStatus
from actors.shards import (
    Offload,
    ShardedScheduleError,
    ShardedScheduler,
    ShardsNotFound,
    shard_of,
)
from timekit import Timestamp


def _wait(cond: Any, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def test_routing_batch_and_idempotent_keys(deploy: Any, tmp_path: Path) -> None:
    ss = deploy(2, store=f"sqlite:{tmp_path / 'stores'}")
    keys = ss.schedule_many([ss.request("noop", [], 3600, key=f"job-{i}") for i in range(400)])
    assert keys == [f"job-{i}" for i in range(400)]
    per_shard = [set(part) for part in ss._calls.every("keys")]
    for i, part in enumerate(per_shard):  # each key lives on the shard its hash names, only there
        assert part == {k for k in keys if shard_of(k, 2) == i}
    assert all(len(p) > 100 for p in per_shard)  # both shards got a fair share
    # Idempotent: the same keys again (as Ray would retry them) make nothing new.
    again = ss.schedule_many([ss.request("noop", [], 5, key=f"job-{i}") for i in range(400)])
    assert again == keys
    assert len(ss.list_schedules()) == 400
    assert ss.get_schedule("job-7").trigger.every.total_seconds() == 3600  # kept unchanged
    assert ss.schedule("noop", [], 3600, key="job-7") == "job-7"
    assert ss.get_execution_stats()["schedules"] == 400
    # A key is free again once cancelled.
    assert ss.cancel_many([f"job-{i}" for i in range(100)] + ["never-made"]) == 100
    assert ss.get_schedule("job-3") is None
    assert len(ss.keys()) == 300
    assert ss.schedule("noop", [], 60, key="job-3") == "job-3"
    info = ss.get_schedule("job-3")
    assert info is not None and info.status is ScheduleStatus.PENDING and info.durable
    assert info.metadata["tickwork.key"] == "job-3"
    assert ss.cancel_schedule("job-3") and not ss.cancel_schedule("job-3")


def test_fires_in_shards_and_stats_add_up(deploy: Any, tmp_path: Path) -> None:
    ss = deploy(2)
    out = str(tmp_path / "fired")
    ss.schedule_many([ss.request("rec", [out, f"k{i}"], 0.05, key=f"k{i}") for i in range(20)])
    ss.schedule("fail", ["boom"], 0.05, key="bad")
    _wait(lambda: len({r[0] for r in shard_probe.lines(out)}) == 20, 20, "every schedule to fire")
    pids = {r[1] for r in shard_probe.lines(out)}
    assert pids == {str(i["pid"]) for i in ss.shard_info()}  # fired inside the two shard processes
    _wait(lambda: ss.get_execution_stats()["failed_executions"] >= 1, 10, "the failing target")
    ss.cancel_all()
    assert ss.wait_idle(10)
    per = ss.shard_stats()
    merged = ss.get_execution_stats()
    assert merged["shards"] == 2
    assert merged["total_executions"] == sum(p["total_executions"] for p in per) > 20
    assert merged["failed_executions"] == sum(p["failed_executions"] for p in per) >= 1
    assert merged["lateness_max"] == max(p["lateness_max"] for p in per if p["lateness_max"] is not None)
    bad = ss.get_schedule("bad")
    assert bad is None  # cancelled by cancel_all: the key is free


def test_bad_input_is_refused_before_sending(deploy: Any) -> None:
    ss = deploy(1)
    with pytest.raises(ValueError, match="unknown target 'nope'"):
        ss.schedule("nope", [], 1, key="x")
    with pytest.raises(TypeError, match="declared target name"):
        ss.schedule(print, [], 1, key="x")
    with pytest.raises(TypeError, match="cannot store"):
        ss.schedule("noop", [object()], 1, key="x")
    with pytest.raises(TypeError, match="a schedule key is a str"):
        ss.schedule("noop", [], 1, key=5)
    with pytest.raises(ValueError, match="misfire"):
        ss.schedule("noop", [], 1, key="x", misfire="sometimes")
    assert ss.keys() == []
    # A shard-side refusal names the key; the rest of the batch is made.
    with pytest.raises(ShardedScheduleError) as err:
        ss.schedule_many([ss.request("noop", [], 60, key="ok"), ss.request("noop", [], 1, key="j", jitter=5)])
    assert list(err.value.errors) == ["j"] and "jitter" in err.value.errors["j"]
    assert ss.keys() == ["ok"]


def test_connect_finds_the_shards_and_a_different_k_is_refused(deploy: Any, tmp_path: Path) -> None:
    ss = deploy(2, store=f"sqlite:{tmp_path}")
    ss.schedule("noop", [], 60, key="a")
    other = ShardedScheduler.connect(namespace=ss.namespace)
    assert other.shards == 2 and other.get_schedule("a") is not None
    again = ShardedScheduler.deploy(2, namespace=ss.namespace, targets=ss.targets, store=f"sqlite:{tmp_path}")
    assert again.keys() == ["a"]  # joined, not made twice
    with pytest.raises(ValueError, match="already deployed"):
        ShardedScheduler.deploy(3, namespace=ss.namespace, targets=ss.targets, store=f"sqlite:{tmp_path}")
    with pytest.raises(ShardsNotFound):
        ShardedScheduler.connect(namespace=ss.namespace + "-nobody")


def test_a_closed_client_and_a_half_destroyed_deployment(deploy: Any) -> None:
    import ray

    ss = deploy(2)
    other = ShardedScheduler.connect(namespace=ss.namespace)
    other.close()
    other.close()  # idempotent
    with pytest.raises(RuntimeError, match="was closed; connect"):
        other.keys()
    assert ss.keys() == []  # the shards are untouched
    ray.kill(ray.get_actor("tickwork.shard.1", namespace=ss.namespace), no_restart=True)

    def refused() -> bool:
        try:
            ShardedScheduler.connect(namespace=ss.namespace).close()
        except ShardsNotFound as exc:
            assert "shard 1 of 2 of 'tickwork' is missing" in str(exc)
            return True
        return False

    _wait(refused, 20, "the killed shard's name to go")


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_sigkilled_shard_restarts_and_restores_everything(
    deploy: Any, tmp_path: Path, kind: str, request: pytest.FixtureRequest
) -> None:
    if kind == "sqlite":
        ss = deploy(2, store=f"sqlite:{tmp_path / 'stores'}")
    else:  # a group per shard in PostgreSQL, named after this test's own deployment name
        dsn = request.getfixturevalue("pg_dsn")
        ss = deploy(2, store=dsn, name=request.getfixturevalue("pg_group"))
    out = str(tmp_path / "fired")
    keys = [f"k{i}" for i in range(40)]
    ss.schedule_many([ss.request("rec", [out, k], 0.05, key=k) for k in keys])
    victim = ss.shard_of("k0")
    victim_keys = {k for k in keys if ss.shard_of(k) == victim}
    # A one-shot due while the shard is down, on the victim's side.
    once = next(f"once{i}" for i in range(100) if shard_of(f"once{i}", 2) == victim)
    before_ids = {k: ss.get_schedule(k).id for k in keys}
    _wait(lambda: len({r[0] for r in shard_probe.lines(out)}) == 40, 20, "every schedule to fire")
    old_pid = ss.shard_info()[victim]["pid"]
    ss.schedule_in_seconds("rec", [out, once], 0.3, key=once)

    killed_at = time.time()
    os.kill(old_pid, signal.SIGKILL)  # while it fires every 50 ms
    # Calls sent while it is down wait for the restart (Ray queues or retries them).
    during = next(f"during{i}" for i in range(100) if shard_of(f"during{i}", 2) == victim)
    assert ss.schedule("noop", [], 3600, key=during) == during
    infos = ss.shard_info()
    restored_in = infos[victim]["started_at"] + infos[victim]["start_seconds"] - killed_at
    assert infos[victim]["pid"] != old_pid
    assert infos[victim]["restored"] in (len(victim_keys) + 1, len(victim_keys) + 2)  # with `during` or not yet
    assert sorted(ss.keys()) == sorted(keys + [once, during])
    assert {k: ss.get_schedule(k).id for k in keys} == before_ids  # the same schedules, not new ones
    new_pid = str(infos[victim]["pid"])
    _wait(
        lambda: {r[0] for r in shard_probe.lines(out) if r[1] == new_pid} >= victim_keys | {once},
        20,
        "every restored schedule (and the one-shot due while down) to fire in the new process",
    )
    fired_once = [r for r in shard_probe.lines(out) if r[0] == once]
    assert len(fired_once) == 1 and fired_once[0][1] == new_pid
    assert ss.get_schedule(once).status is ScheduleStatus.COMPLETED
    # Idempotent across the restart: scheduling the keys again makes nothing.
    ss.schedule_many([ss.request("rec", [out, k], 0.05, key=k) for k in keys])
    assert len(ss.list_schedules()) == 42
    assert [i.metadata["tickwork.key"] for i in ss.list_schedules()].count(during) == 1
    print(f"{kind}: restored {infos[victim]['restored']} in {restored_in:.2f} s from the kill")
    assert 0 < restored_in < 30, restored_in
    counts = Counter(r[0] for r in shard_probe.lines(out))
    assert set(counts) == set(keys) | {once}


def test_offloaded_tasks_run_elsewhere_with_a_cap_in_flight(deploy: Any, tmp_path: Path) -> None:
    # num_cpus=0: Ray alone would start a worker per call at once; the cap holds them to 2.
    ss = deploy(1, offload={"slow": Offload("shard_probe:slow", num_cpus=0, max_in_flight=2)})
    out = str(tmp_path / "slow")
    now = Timestamp.now()
    ss.schedule_many([ss.request("slow", [out, f"t{i}", 0.4], now, key=f"t{i}") for i in range(5)])
    _wait(lambda: len(shard_probe.lines(out)) == 5, 30, "the five offloaded calls")
    rows = [(float(r[1]), float(r[2]), r[3]) for r in shard_probe.lines(out)]
    most = max(sum(1 for s, e, _ in rows if s <= t < e) for t, _, _ in rows)
    assert most == 2  # never more than the cap, and the cap was used
    shard_pid = str(ss.shard_info()[0]["pid"])
    assert shard_pid not in {p for _, _, p in rows}  # ran in Ray workers, not in the shard
    assert ss.wait_idle(10)
    st = ss.get_execution_stats()
    assert st["successful_executions"] == 5 and st["failed_executions"] == 0


def test_offloaded_to_an_actor_pool(deploy: Any, tmp_path: Path) -> None:
    ss = deploy(1, offload={"onpool": Offload("shard_probe:record", via="pool", num_cpus=0, pool_size=1),
                            "bad": Offload("shard_probe:fail", via="pool", num_cpus=0, pool_size=1)})
    out = str(tmp_path / "pool")
    ss.schedule("onpool", [out, "a"], 0.1, key="a")
    ss.schedule("bad", ["pool says no"], Timestamp.now(), key="b")
    _wait(lambda: len(shard_probe.lines(out)) >= 3, 20, "three pool firings")
    pids = {r[1] for r in shard_probe.lines(out)}
    assert len(pids) == 1 and pids != {str(ss.shard_info()[0]["pid"])}  # one pool actor, not the shard
    _wait(lambda: ss.get_schedule("b").status is ScheduleStatus.FAILED, 20, "the failing pool call")
    assert "pool says no" in repr(ss.get_schedule("b").last_error)
