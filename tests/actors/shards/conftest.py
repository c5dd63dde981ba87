"""A local Ray cluster for the shard tests: one per test session, loopback only,
2 CPUs, started on first use and stopped (every process of it) at the end."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from actors.shards.local_cluster import LocalCluster, loopback_env

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[str]:
    """``ray start --head`` on 127.0.0.1 (its own process group), connected; its address."""
    loopback_env()
    ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'tickwork[ray]' to run the shard tests")
    cluster = LocalCluster(2, python_path=[str(ROOT), str(ROOT / "tests")])
    try:
        address = cluster.start()
        ray.init(address=address, logging_level="WARNING", log_to_driver=False)
        yield address
    finally:
        try:
            ray.shutdown()
        finally:
            cluster.stop()
    assert not cluster.stragglers()


@pytest.fixture
def deploy(ray_cluster: str, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """``deploy(shards, **kw)``: a `ShardedScheduler` in a namespace of this test's own,
    destroyed at the end of the test."""
    from actors.shards import ShardedScheduler

    made: list[Any] = []
    count = [0]

    def make(shards: int = 2, **kw: Any) -> Any:
        count[0] += 1
        kw.setdefault("namespace", f"t{os.getpid()}-{tmp_path.name}-{count[0]}")
        kw.setdefault("targets", {"rec": "shard_probe:record", "noop": "shard_probe:noop", "fail": "shard_probe:fail"})
        ss = ShardedScheduler.deploy(shards, **kw)
        made.append(ss)
        return ss

    yield make
    for ss in made:
        ss.destroy()
