"""A deployment's parameters are checked on the client, before Ray is touched; what a
running deployment must match to be joined; the Ray connection is undone on failure."""

from __future__ import annotations

from typing import Any

import pytest

from actors.shards import Offload, ShardedScheduler
from actors.shards import deployment as deployment_module
from actors.shards.deployment import Deployment, ray_connection
from actors.shards.spec_run import spec_digest
from actors.shards.stores import SQLitePerShard

ARGS: dict[str, Any] = {
    "name": "t", "namespace": "ns", "targets": ["shard_probe:noop"], "store": None, "offload": None,
    "spec_text": None, "spec_source": "<spec>", "spec_base_dir": None, "max_concurrent_executions": None,
    "history_size": 1000, "num_cpus": 1, "max_task_retries": 3, "max_concurrency": 4, "runtime_env": None,
}


@pytest.mark.parametrize(
    ("change", "exc", "match"),
    [
        ({"shards": 0}, ValueError, "shards must be an int >= 1, got 0"),
        ({"shards": True}, ValueError, "shards must be an int >= 1"),
        ({"name": "a.b"}, ValueError, "name must be a non-empty str without '.'"),
        ({"name": ""}, ValueError, "name must be a non-empty str"),
        ({"targets": {"x": "not a path"}}, ValueError, "not an import path"),
        ({"store": 42}, TypeError, "store must be a str or a callable"),
        ({"offload": {"x": 5}}, TypeError, r"offload\['x'\] must be an Offload"),
        ({"spec_text": b"[messages]"}, TypeError, "spec_text must be the spec's TOML text"),
    ],
)
def test_deploy_checks_its_arguments_before_it_touches_ray(
    change: dict[str, Any], exc: type[Exception], match: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_ray() -> Any:
        raise AssertionError("Ray was touched before the arguments were checked")

    monkeypatch.setattr(deployment_module, "require_ray", no_ray)
    args = {**ARGS, **change}
    shards = args.pop("shards", 2)
    with pytest.raises(exc, match=match):
        Deployment.checked(shards, **args)
    with pytest.raises(exc, match=match):
        ShardedScheduler.deploy(shards, **args)


def test_a_checked_deployment_and_what_joining_it_needs(tmp_path: Any) -> None:
    plan = Deployment.checked(
        3, **{**ARGS, "store": f"sqlite:{tmp_path}", "offload": {"slow": "shard_probe:slow"}, "spec_text": "x = 1"}
    )
    assert plan.targets == {"shard_probe:noop": "shard_probe:noop"}
    assert plan.store == SQLitePerShard(tmp_path.resolve(), "t")
    assert plan.offload == {"slow": Offload("shard_probe:slow")}
    assert plan.identity() == {"shards": 3, "targets": plan.targets, "store": f"sqlite:{tmp_path.resolve()}",
                               "spec": spec_digest("x = 1")}
    assert plan.actor_options() == {"namespace": "ns", "lifetime": "detached", "get_if_exists": True, "num_cpus": 1,
                                    "max_restarts": -1, "max_task_retries": 3, "max_concurrency": 4}
    bare = Deployment.checked(1, **{**ARGS, "offload": {}, "runtime_env": {"env_vars": {"A": "1"}}})
    assert bare.offload is None and bare.identity()["store"] is None and bare.identity()["spec"] is None
    assert bare.actor_options()["runtime_env"] == {"env_vars": {"A": "1"}}


class _Ray:
    def __init__(self, connected: bool) -> None:
        self.connected = connected
        self.calls: list[str] = []

    def is_initialized(self) -> bool:
        return self.connected

    def init(self, **kw: Any) -> None:
        self.calls.append(f"init {kw['address']}")

    def shutdown(self) -> None:
        self.calls.append("shutdown")


@pytest.mark.parametrize("connected", [False, True])
def test_ray_connection_is_undone_on_failure_only_if_it_connected(
    connected: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    ray = _Ray(connected)
    monkeypatch.setattr(deployment_module, "require_ray", lambda: ray)
    with ray_connection("auto") as owns:
        assert owns is not connected
    assert ray.calls == ([] if connected else ["init auto"])  # a success stays connected
    with pytest.raises(KeyboardInterrupt), ray_connection("10.0.0.1:6379"):
        raise KeyboardInterrupt
    assert ray.calls == ([] if connected else ["init auto", "init 10.0.0.1:6379", "shutdown"])
