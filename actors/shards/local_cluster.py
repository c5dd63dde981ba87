"""`LocalCluster`: a throwaway single-host Ray cluster on loopback (tests, benchmarks).

``ray start --head --block`` in a process group of its own, bound to 127.0.0.1, with
its own temp dir; `stop` ends every process of it (the group, then anything left
that names its temp dir) and nothing else, unlike ``ray stop``, which ends every Ray
process of the user on the host.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Self

__all__ = ["LocalCluster", "loopback_env"]


def loopback_env() -> None:
    """Let this process's Ray talk to a loopback cluster. Call before importing ray:
    without ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` Ray (on Linux) replaces 127.0.0.1
    in an address by the host's outward IP and cannot reach a cluster bound to
    loopback."""
    if "ray" in sys.modules and os.environ.get("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER") != "0":
        raise RuntimeError("call loopback_env() before importing ray (Ray reads the setting at import)")
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalCluster:
    """A Ray head on 127.0.0.1 with ``num_cpus``; ``python_path`` entries are put on its
    workers' PYTHONPATH (where shard targets are imported from)."""

    def __init__(self, num_cpus: int = 2, *, python_path: list[str] | None = None,
                 object_store_mb: int = 80, ray_bin: str | None = None) -> None:
        self.num_cpus = num_cpus
        self.python_path = list(python_path or [])
        self.object_store_mb = object_store_mb
        self.ray_bin = ray_bin or str(Path(sys.executable).with_name("ray"))
        self.temp_dir = ""
        self.address = ""
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[str] | None = None

    def start(self, timeout: float = 60.0) -> str:
        """Start the head and wait until it listens; returns its address."""
        if not Path(self.ray_bin).exists():
            raise FileNotFoundError(f"the ray command is not at {self.ray_bin}: pip install 'tickwork[ray]'")
        self.temp_dir = tempfile.mkdtemp(prefix="tw-ray-", dir="/tmp")  # short: socket paths must fit
        port = _free_port()
        env = dict(os.environ, RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0", RAY_USAGE_STATS_ENABLED="0")
        if self.python_path:
            env["PYTHONPATH"] = os.pathsep.join(self.python_path + [env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        self._log = open(Path(self.temp_dir) / "ray-start.log", "w")  # noqa: SIM115 - closed by stop()
        self._proc = subprocess.Popen(
            [
                self.ray_bin, "start", "--head", "--block", "--node-ip-address=127.0.0.1", f"--port={port}",
                f"--num-cpus={self.num_cpus}", "--include-dashboard=false", "--disable-usage-stats",
                f"--temp-dir={self.temp_dir}", f"--object-store-memory={self.object_store_mb * 2**20}",
            ],
            env=env, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
        self.address = f"127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while True:
            if self._proc.poll() is not None:
                self.stop()
                raise RuntimeError(f"ray start exited with {self._proc.returncode}: see {self._log.name}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return self.address
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"the Ray head did not listen on {self.address} within {timeout} s") from None
                time.sleep(0.2)

    def _group_alive(self) -> bool:
        assert self._proc is not None
        try:
            os.killpg(self._proc.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def stop(self) -> None:
        """End every process of this cluster (idempotent). Nothing is drained."""
        proc = self._proc
        if proc is None:
            return
        for sig, wait in ((signal.SIGKILL, 5.0),):  # a throwaway cluster: nothing to drain
            if not self._group_alive():
                break
            os.killpg(proc.pid, sig)
            end = time.monotonic() + wait
            while self._group_alive() and time.monotonic() < end:
                time.sleep(0.1)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for pid in self.stragglers():  # a process of this cluster that left the group
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self._log is not None:
            self._log.close()
        self._proc = None

    def stragglers(self) -> list[int]:
        """Pids of live processes whose command line names this cluster's temp dir."""
        out = []
        marker = self.temp_dir.encode()
        for d in Path("/proc").iterdir():
            if d.name.isdigit() and int(d.name) != os.getpid():
                try:
                    if marker in (d / "cmdline").read_bytes():
                        out.append(int(d.name))
                except OSError:
                    pass
        return out

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
