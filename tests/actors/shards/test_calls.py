"""How the client's calls reach the shards (`ShardCalls`, `by_shard`), and the
`ShardedScheduler` over in-process `Shard`s behind stand-in handles: no Ray."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from actors.results import ScheduleStatus
from actors.shards import ShardedScheduleError, ShardedScheduler, shard_of
from actors.shards import calls as calls_module
from actors.shards.calls import ShardCalls
from actors.shards.routing import by_shard
from actors.shards.shard import Shard

TARGETS = {"noop": "shard_probe:noop"}


class _Method:
    def __init__(self, fn: Any) -> None:
        self.remote = fn  # a stand-in "ObjectRef" is the answer itself


class _Handle:
    """A Ray actor handle's shape (``handle.method.remote(...)``) over an object here."""

    def __init__(self, target: Any) -> None:
        self.target = target

    def __getattr__(self, method: str) -> _Method:
        return _Method(getattr(self.target, method))


class _Echo:
    """Answers every call with who was called with what."""

    def __init__(self, index: int) -> None:
        self.index = index

    def __getattr__(self, method: str) -> Any:
        return lambda *args, **kwargs: (self.index, method, args, kwargs)


class _Ray:
    def __init__(self) -> None:
        self.timeouts: list[float | None] = []

    def get(self, refs: Any, timeout: float | None = None) -> Any:
        self.timeouts.append(timeout)
        return refs


@pytest.fixture
def ray(monkeypatch: pytest.MonkeyPatch) -> _Ray:
    fake = _Ray()
    monkeypatch.setattr(calls_module, "require_ray", lambda: fake)
    return fake


def test_by_shard_groups_in_order_by_the_key_hash() -> None:
    keys = [f"k{i}" for i in range(40)]
    parts = by_shard(range(40), keys, 3)
    assert sorted(parts) == [0, 1, 2]
    for shard, items in parts.items():
        assert items == [i for i in range(40) if shard_of(keys[i], 3) == shard]
    assert by_shard([], [], 3) == {}
    assert list(by_shard(["a"], ["a"], 7)) == [shard_of("a", 7)]  # only shards that got an item
    with pytest.raises(ValueError):
        by_shard([1, 2], ["a"], 2)  # a key per item
    with pytest.raises(TypeError, match="a schedule key is a str"):
        by_shard([1], [5], 2)  # type: ignore[list-item]


def test_shard_calls_route_fan_out_and_wait_with_the_timeout(ray: _Ray) -> None:
    calls = ShardCalls([_Handle(_Echo(i)) for i in range(3)], timeout=7.0)
    assert calls.on("user-1", "get_schedule", "user-1") == (shard_of("user-1", 3), "get_schedule", ("user-1",), {})
    assert calls.every("lateness_us", 5) == [(i, "lateness_us", (5,), {}) for i in range(3)]
    assert calls.parts("cancel_many", {2: ["a"], 0: ["b", "c"]}) == [
        (2, "cancel_many", (["a"],), {}), (0, "cancel_many", (["b", "c"],), {})]  # in the order of the parts
    assert calls.get("ref", None) == "ref"
    assert ray.timeouts == [7.0, 7.0, 7.0, None]
    with pytest.raises(TypeError, match="a schedule key is a str"):
        calls.on(5, "get_schedule")  # type: ignore[arg-type]
    assert calls.close() and not calls.close()
    with pytest.raises(RuntimeError, match="was closed; connect"):
        calls.every("info")


@pytest.fixture
def client(ray: _Ray) -> Iterator[ShardedScheduler]:
    shards = [Shard(i, 2, name="t", targets=TARGETS) for i in range(2)]
    try:
        yield ShardedScheduler([_Handle(s) for s in shards], [s.info() for s in shards], namespace="t")
    finally:
        for s in shards:
            s.stop()


def test_the_client_over_in_process_shards(client: ShardedScheduler) -> None:
    ss = client
    assert (ss.shards, ss.name, ss.target_names) == (2, "t", frozenset({"noop"}))
    keys = ss.schedule_many([ss.request("noop", [], 3600, key=f"k{i}") for i in range(30)] +
                            [{"target": "noop", "when": 60, "key": "from-a-dict"}])
    assert keys == [f"k{i}" for i in range(30)] + ["from-a-dict"]
    per_shard = [set(part) for part in ss._calls.every("keys")]  # the routing itself
    assert per_shard == [{k for k in keys if shard_of(k, 2) == i} for i in range(2)]
    assert ss.schedule("noop", [], 5, key="k3") == "k3"  # idempotent: k3 kept as it was
    assert ss.get_schedule("k3").trigger.every.total_seconds() == 3600
    with pytest.raises(ValueError, match="unknown target 'nope'"):
        ss.schedule("nope", [], 1, key="x")
    with pytest.raises(ShardedScheduleError) as err:  # one refused by its shard; the rest made
        ss.schedule_many([ss.request("noop", [], 60, key="ok"), ss.request("noop", [], 1, key="j", jitter=5)])
    assert list(err.value.errors) == ["j"] and err.value.keys == ["ok", "j"]
    assert ss.pause("k1") and ss.get_schedule("k1").status is ScheduleStatus.PAUSED
    assert ss.resume("k1") and not ss.pause("nobody")
    assert ss.reschedule("k2", 10) and ss.get_schedule("k2").trigger.every.total_seconds() == 10
    with pytest.raises(TypeError, match="a schedule key is a str"):
        ss.reschedule(5, "not a trigger")  # type: ignore[arg-type]  # the key is checked first
    assert ss.cancel_schedule("k0") and not ss.cancel_schedule("k0")
    assert ss.cancel_many(["k4", "k5", "never-made"]) == 2
    assert len(ss.keys()) == len(ss.list_schedules(ScheduleStatus.PENDING)) == 29
    assert ss.get_execution_stats()["schedules"] == 29 and ss.get_next_execution_time() is not None
    assert ss.cancel_all() == 29 and ss.keys() == []
    assert ss.wait_idle(5)
    ss.close()
    with pytest.raises(RuntimeError, match="was closed"):
        ss.keys()


def test_a_closed_client_sends_nothing(client: ShardedScheduler) -> None:
    """Closed means closed before anything reaches a shard: a batch on a closed client
    creates nothing (it used to be sent, created, and only then refused)."""
    ss = client
    ss.schedule("noop", [], 3600, key="before")
    shards = [h.target for h in ss._calls.handles]
    ss.close()
    calls = [
        lambda: ss.schedule_many([ss.request("noop", [], 60, key=f"late{i}") for i in range(4)]),
        lambda: ss.schedule("noop", [], 60, key="late"),
        lambda: ss.cancel_schedule("before"),
        ss.cancel_all,
        lambda: ss.wait_idle(1),
    ]
    for call in calls:
        with pytest.raises(RuntimeError, match="was closed"):
            call()
    left = [key for shard in shards for key in shard.keys()]  # noqa: SIM118  # Shard.keys(), not a dict
    assert left == ["before"]  # nothing made, nothing cancelled
