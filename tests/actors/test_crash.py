"""SIGKILL a scheduler that is busy scheduling and firing on a SQLite store; restart it."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from actors import Scheduler, SQLiteStore

CHILD = Path(__file__).with_name("crash_child.py")
ROOT = Path(__file__).resolve().parents[2]


def _run_child_and_kill(db: Path, delay: float) -> list[int]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(db)], stdout=subprocess.PIPE, text=True, env=env
    )
    assert child.stdout is not None
    acked: list[int] = []
    assert child.stdout.readline().strip() == "started"
    deadline = time.monotonic() + delay

    def read() -> None:
        for line in child.stdout:  # type: ignore[union-attr]
            if line.startswith("ack "):
                acked.append(int(line.split()[1]))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    while time.monotonic() < deadline:
        time.sleep(0.005)
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    reader.join(10)
    return acked


def test_sigkill_at_random_moments_loses_nothing_acknowledged(tmp_path: Path) -> None:
    rng = random.Random(1234)
    db = tmp_path / "crash.db"
    all_acked: set[int] = set()
    for _ in range(8):
        acked = _run_child_and_kill(db, rng.uniform(0.05, 0.4))
        all_acked.update(acked)

        # The store opens at once (the dead owner's lock died with it) and holds
        # every schedule that was acknowledged, in any run so far.
        store = SQLiteStore(db)
        store.open("checker")
        found = store.load()
        store.close()
        assert found.corrupt == []
        stored = {r.id: r for r in found.schedules}
        assert all_acked <= set(stored), f"lost: {sorted(all_acked - set(stored))[:10]}"
        completed = {r.id for r in found.schedules if r.status == "completed"}

        # Restart: completed one-shots never run again; the others run (at least once).
        ran: list[int] = []
        lock = threading.Lock()
        s = Scheduler(store=SQLiteStore(db))

        def once(n: int, _sid_of: dict[int, int] = {r.args[0]: r.id for r in found.schedules}) -> None:  # noqa: B006
            with lock:  # noqa: B023 - s (which calls once) is stopped before this iteration ends
                ran.append(_sid_of[n])  # noqa: B023

        s.register("once", once)
        s.register("every", lambda n: None)
        s.start()
        pending_once = {r.id for r in found.schedules if r.target == "once" and r.status != "completed"}
        t_end = time.monotonic() + 5
        while time.monotonic() < t_end and not pending_once <= set(ran):
            time.sleep(0.01)
        s.cancel_all()  # so the next child run starts from a quiet store
        s.stop()
        assert not (set(ran) & completed), "a completed one-shot ran again after the restart"
        assert pending_once <= set(ran), "an acknowledged one-shot never ran"
