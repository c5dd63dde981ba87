"""A local Ray cluster for the shard tests: one per test session, loopback only,
2 CPUs, started on first use and stopped (every process of it) at the end."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# Read by Ray when it is imported: without it a driver turns 127.0.0.1 into the
# host's outward address and cannot reach a cluster bound to loopback.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _stragglers(marker: str) -> list[int]:
    """Pids of processes whose command line mentions ``marker`` (this cluster's temp dir)."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if marker.encode() in (d / "cmdline").read_bytes():
                    out.append(int(d.name))
            except OSError:
                pass
    return out


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[str]:
    """``ray start --head`` on 127.0.0.1 (its own process group), connected; its address."""
    ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'tickwork[ray]' to run the shard tests")
    ray_bin = Path(sys.executable).with_name("ray")
    if not ray_bin.exists():
        pytest.skip(f"the ray command is not next to {sys.executable}")
    temp = tempfile.mkdtemp(prefix="tw-ray-", dir="/tmp")  # short: Ray's socket paths must fit
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests")]))
    log = open(Path(temp) / "ray-start.log", "w")  # noqa: SIM115 - closed at the end
    proc = subprocess.Popen(
        [
            str(ray_bin), "start", "--head", "--block", "--node-ip-address=127.0.0.1", f"--port={port}",
            "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp}",
            f"--object-store-memory={80 * 2**20}",
        ],
        env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
    )
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"ray start exited with {proc.returncode}: see {log.name}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the Ray head did not listen on {address} within 60 s") from None
                time.sleep(0.2)
        ray.init(address=address, logging_level="WARNING", log_to_driver=False)
        yield address
    finally:
        try:
            ray.shutdown()
        finally:
            for sig, wait in ((signal.SIGTERM, 2.0), (signal.SIGKILL, 5.0)):  # nothing to drain
                if not _group_alive(proc.pid):
                    break
                os.killpg(proc.pid, sig)
                end = time.monotonic() + wait
                while _group_alive(proc.pid) and time.monotonic() < end:
                    time.sleep(0.1)
            proc.wait(timeout=5)
            for pid in _stragglers(temp):  # a process of this cluster that left the group
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            log.close()


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
