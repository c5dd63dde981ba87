"""SQLiteStore against real process death: SIGKILLed owners release the lock at once,
and every write acknowledged before a kill is there, intact, afterwards."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from actors.store import SQLiteStore, StoreLockedError

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")

ROOT = Path(__file__).resolve().parents[2]

HOLDER = textwrap.dedent(
    """
    import sys, time
    from actors.store import SQLiteStore
    store = SQLiteStore(sys.argv[1])
    store.open("child holder")
    print("locked", flush=True)
    time.sleep(120)
    """
)

# Writes in a loop. Each operation is announced on stdout ("? <op>") before it starts and
# acknowledged ("<op>") after put/put_many/batch/delete returned, flushed each time:
# "P ids" new records, "U id:count ..." updates (in one batch), "D ids" deletes.
WRITER = textwrap.dedent(
    """
    import random, sys
    from actors.store import SQLiteStore, StoredSchedule
    path, seed, sync = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    rng = random.Random(seed)
    TRIGGER = {"kind": "interval", "every_us": 1_000_000}

    def rec(sid, count=0):
        return StoredSchedule(id=sid, name=f"s{sid}", target="job", args=[sid, "x" * rng.randint(0, 400)],
                              trigger=TRIGGER, created_us=sid, next_due_us=sid + 1, execution_count=count)

    def say(line):
        sys.stdout.write(line + "\\n")
        sys.stdout.flush()

    store = SQLiteStore(path, synchronous=sync, id_block=rng.choice([1, 7, 1000]))
    store.open(f"writer {seed}")
    count = {r.id: r.execution_count for r in store.load().schedules}
    ids = list(count)
    say("ready")
    while True:
        op = rng.random()
        if op < 0.55 or len(ids) < 20:
            new = [store.next_id() for _ in range(1 if op < 0.3 else rng.randint(2, 60))]
            line = "P " + " ".join(map(str, new))
            say("? " + line)
            if len(new) == 1:
                store.put(rec(new[0]))
            else:
                store.put_many([rec(i) for i in new])
            count.update(dict.fromkeys(new, 0))
            ids.extend(new)
        elif op < 0.85:
            picks = set(rng.choice(ids) for _ in range(rng.randint(1, 30)))
            line = "U " + " ".join(f"{i}:{count[i] + 1}" for i in picks)
            say("? " + line)
            with store.batch():
                for i in picks:
                    count[i] += 1
                    store.put(rec(i, count[i]))
        else:
            gone = set()
            for _ in range(rng.randint(1, 5)):
                k = rng.randrange(len(ids))
                ids[k], ids[-1] = ids[-1], ids[k]
                gone.add(ids.pop())
            line = "D " + " ".join(map(str, gone))
            say("? " + line)
            store.delete(gone)
            for i in gone:
                del count[i]
        say(line)
    """
)


def spawn(tmp_path: Path, script: str, *args: str, stdout: int | object = subprocess.PIPE) -> subprocess.Popen[bytes]:
    file = tmp_path / "child.py"
    file.write_text(script)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    return subprocess.Popen([sys.executable, str(file), *args], stdout=stdout, stderr=subprocess.PIPE, env=env)  # type: ignore[call-overload]


def kill(proc: subprocess.Popen[bytes]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL


def test_a_killed_owner_releases_the_lock_at_once(tmp_path: Path) -> None:
    path = tmp_path / "held.db"
    proc = spawn(tmp_path, HOLDER, str(path))
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line == b"locked\n", proc.stderr.read() if proc.stderr else line
        with pytest.raises(StoreLockedError) as info:
            SQLiteStore(path).open("parent")
        text = str(info.value)
        assert str(path) in text and "child holder" in text and f"pid {proc.pid}" in text
    finally:
        kill(proc)
    store = SQLiteStore(path)
    store.open("parent")  # no retry, no wait: the OS released the flock with the process
    assert store.load().schedules == []
    store.close()


def test_acknowledged_writes_survive_sigkill(tmp_path: Path) -> None:
    # Two independent files, each killed 10 times, in parallel to keep the suite quick.
    with ThreadPoolExecutor(2) as pool:
        lanes = [pool.submit(crash_lane, tmp_path / f"lane{k}", k, 10) for k in range(2)]
        acks = [lane.result() for lane in lanes]
    assert min(acks) > 100  # the writers really ran


def apply(model: dict[int, int], op: str) -> dict[int, int]:
    kind, *items = op.split()
    for item in items:
        if kind == "P":
            model[int(item)] = 0
        elif kind == "U":
            i, c = map(int, item.split(":"))
            model[i] = c
        else:
            del model[int(item)]
    return model


def crash_lane(tmp_path: Path, lane: int, runs: int) -> int:
    tmp_path.mkdir()
    path = tmp_path / "crash.db"
    rng = random.Random(20260101 + lane)
    state: dict[int, int] = {}  # what the store held after the previous kill: id -> execution_count
    seen_ids: set[int] = set()
    total_acks = 0
    for run in range(runs):
        out_path = tmp_path / f"out{run}.txt"
        sync = "FULL" if run % 4 == 3 else "NORMAL"
        with out_path.open("wb") as out:
            proc = spawn(tmp_path, WRITER, str(path), str(lane * 1000 + run), sync, stdout=out)
        try:
            deadline = time.monotonic() + 20
            while not out_path.read_bytes().startswith(b"ready\n"):
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else proc.returncode
                assert time.monotonic() < deadline, "the writer did not start"
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.2))
        finally:
            kill(proc)
            if proc.stderr is not None:
                proc.stderr.close()

        # Replay the acknowledged operations (complete lines only: the last may be cut
        # short). The store must hold exactly their result, or (all of) the operation
        # in flight at the kill applied on top: acknowledged means durable, and every
        # put_many, batch and delete is atomic.
        lines = out_path.read_bytes().split(b"\n")[1:-1]
        model = dict(state)
        in_flight: str | None = None
        top_before = max(seen_ids, default=0)
        for raw in lines:
            text = raw.decode()
            if text.startswith("? "):
                assert in_flight is None
                in_flight = text[2:]
                if in_flight.startswith("P "):
                    for i in map(int, in_flight.split()[1:]):
                        assert i not in seen_ids and i > top_before, f"id {i} handed out twice"
                        seen_ids.add(i)
            else:
                assert text == in_flight, (text, in_flight)
                apply(model, text)
                in_flight = None
                total_acks += 1
        expected = [model]
        if in_flight is not None:
            expected.append(apply(dict(model), in_flight))

        with SQLiteStore(path) as store:  # opens at once: the kill released the lock
            found = store.load()
        assert found.corrupt == [], found.corrupt[:3]
        for r in found.schedules:
            assert r.args[0] == r.id and r.name == f"s{r.id}"
        now = {r.id: r.execution_count for r in found.schedules}
        if now not in expected:
            lost = {i: c for i, c in model.items() if now.get(i) != c}
            extra = {i: c for i, c in now.items() if model.get(i) != c}
            pytest.fail(f"run {run}: store differs from the acknowledged writes: {lost=} {extra=} {in_flight=}")
        seen_ids.update(now)
        state = now
    return total_acks
