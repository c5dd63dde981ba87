"""Several schedulers sharing one PostgresStore group, against a real server: partition
leases, fenced claims, takeover, and a chaos run of 3 processes (SIGKILL, SIGSTOP)."""

from __future__ import annotations

import itertools
import os
import random
import signal
import subprocess
import sys
import threading
import time
import types
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import pytest

from actors import Scheduler, current_firing
from actors.store import StoredSchedule
from timekit import Duration, ScheduleAt

psycopg = pytest.importorskip("psycopg")
from actors.cluster.membership import channel_of  # noqa: E402 - imports psycopg
from actors.store.postgres import PostgresStore  # noqa: E402 - only once psycopg is known to be there

if TYPE_CHECKING:
    from actors.cli.spec import Spec

CHILD = Path(__file__).with_name("cluster_child.py")


def grid_gaps(points: list[int], every_us: int) -> list[int]:
    return [b - a for a, b in itertools.pairwise(points) if b - a != every_us]


def two_members(pg_dsn: str, group: str, lease_ttl: float, tick: Callable[[], None]) -> tuple[Scheduler, Scheduler]:
    """Schedulers "a" and "b" in one group of 2 partitions, each running ``tick`` as
    "tick"; returns once b owns a partition (or after 5 s)."""

    def member(tag: str) -> Scheduler:
        s = Scheduler(store=PostgresStore(pg_dsn, group=group, lease_ttl=lease_ttl, partitions=2), name=tag)
        s.register("tick", tick)
        s.start()
        return s

    a = member("a")
    b = member("b")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(b._rt.cluster.owned) < 1:
        time.sleep(0.05)
    return a, b


def test_two_schedulers_split_the_partitions_and_take_over_without_gaps(pg_dsn: str, pg_group: str) -> None:
    seen: list[tuple[str, int, int, int, int]] = []
    lock = threading.Lock()

    def member(tag: str) -> Scheduler:
        s = Scheduler(store=PostgresStore(pg_dsn, group=pg_group, lease_ttl=1.0, partitions=8), name=tag)

        def tick(_i: int) -> None:
            f = current_firing()
            assert f is not None
            with lock:
                seen.append((tag, f.schedule_id, f.grid_point.micros, f.attempt, f.epoch))

        s.register("tick", tick)
        s.start()
        return s

    a = member("a")
    ids = [a.schedule("tick", (i,), 0.05, misfire="catch_up", catch_up_limit=1000) for i in range(8)]
    b = member("b")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(b._rt.cluster.owned) < 4:
        time.sleep(0.05)
    assert len(a._rt.cluster.owned) == len(b._rt.cluster.owned) == 4  # rebalanced: 8 / 2
    time.sleep(0.5)
    with lock:
        both = {tag for tag, *_ in seen[-40:]}
    assert both == {"a", "b"}  # each runs the schedules of its own partitions
    assert a.stop()
    time.sleep(1.0)  # a let go at stop: b takes a's partitions at its next heartbeat
    assert len(b._rt.cluster.owned) == 8
    assert b.stop()
    runs = Counter((sid, grid) for _, sid, grid, _, _ in seen)
    assert max(runs.values()) == 1  # no firing ran twice
    for sid in ids:
        points = sorted(grid for _, s, grid, _, _ in seen if s == sid)
        assert len(points) > 20 and grid_gaps(points, 50_000) == []  # none lost, across the handover


def test_schedules_run_by_another_process_are_visible_and_cancellable(pg_dsn: str, pg_group: str) -> None:
    runs: Counter[int] = Counter()
    lock = threading.Lock()

    def tick() -> None:
        f = current_firing()
        assert f is not None
        with lock:
            runs[f.schedule_id] += 1

    a, b = two_members(pg_dsn, pg_group, 1.0, tick)
    try:
        ids = [a.schedule("tick", (), 0.05, name=f"s{i}") for i in range(4)]
        theirs = [sid for sid in ids if a.get_schedule(sid) is not None and not a._rt.cluster.owns(sid)]
        assert len(theirs) == 2  # created here, run by b
        assert {i.id for i in a.list_schedules()} == {i.id for i in b.list_schedules()} == set(ids)
        time.sleep(0.5)
        with lock:
            assert all(runs[sid] > 3 for sid in ids)  # b picked them up (NOTIFY) and runs them
        # pause / resume / reschedule / update from a: b applies them before a hears True
        assert a.pause(theirs[1])
        assert b.get_schedule(theirs[1]).status.value == "paused"  # type: ignore[union-attr]
        assert a.get_schedule(theirs[1]).status.value == "paused"  # type: ignore[union-attr]  # stored
        with lock:
            paused_at = runs[theirs[1]]
        time.sleep(0.3)
        with lock:
            assert runs[theirs[1]] <= paused_at + 1
        assert not a.pause(theirs[1])  # paused already: b says no
        assert a.resume(theirs[1])
        assert a.reschedule(theirs[1], 0.04)
        assert b.get_schedule(theirs[1]).trigger.every == Duration.from_millis(40)  # type: ignore[union-attr]
        assert a.update(theirs[1], interval=0.05)
        assert b.get_schedule(theirs[1]).trigger.every == Duration.from_millis(50)  # type: ignore[union-attr]
        with pytest.raises(ValueError, match="not supported"):
            a.update(theirs[1], message=object())
        assert not a.pause(999_999)  # no such schedule anywhere
        assert a.cancel_schedule(theirs[0])
        with lock:
            after = runs[theirs[0]]
        assert not a.cancel_schedule(theirs[0])  # once
        info = a.get_schedule(theirs[0])
        assert info is not None and info.status.value == "cancelled"
        time.sleep(0.6)
        with lock:
            assert runs[theirs[0]] <= after + 1  # at most a firing claimed before the cancel committed
            assert runs[theirs[1]] > paused_at
        binfo = b.get_schedule(theirs[0])
        assert binfo is not None and binfo.status.value == "cancelled"  # the owner applied it
    finally:
        a.stop()
        b.stop()


def test_claims_are_fenced_by_partition_epoch_and_retried_after_takeover(pg_dsn: str, pg_group: str) -> None:
    with PostgresStore(pg_dsn, group=pg_group, partitions=4) as store, psycopg.connect(pg_dsn, autocommit=True) as c:

        def hold(member: str | None, epoch: int, seconds: float) -> None:
            c.execute(
                "UPDATE tickwork_partitions SET owner = %s, epoch = %s, "
                "expires_at = now() + make_interval(secs => %s) WHERE grp = %s AND part = 1",
                (member, epoch, seconds, pg_group),
            )

        hold("A", 1, 30)
        assert store.claim("A", [(5, 100, 1), (9, 100, 1)]) == {(5, 100): (1, 1), (9, 100): (1, 1)}
        assert store.claim("A", [(5, 100, 1)]) == {}  # already claimed at this epoch
        assert store.claim("B", [(5, 200, 1)]) == {}  # B does not hold partition 1
        assert store.claim("A", [(6, 100, 1)]) == {}  # A holds partition 1, not 2
        store.complete([(9, 100, 1)])
        hold("B", 2, 30)  # A's lease lapsed; B took over: epoch 2
        assert store.claim("A", [(5, 300, 1)]) == {}  # the zombie is fenced
        # B re-runs the firing A claimed and never completed (attempt 2), not the completed one
        assert store.claim("B", [(5, 100, 2), (9, 100, 2)]) == {(5, 100): (2, 2)}
        hold("B", 2, -1)  # expired: even the holder may not claim
        assert store.claim("B", [(5, 400, 2)]) == {}


def test_a_fenced_member_cannot_overwrite_schedules(pg_dsn: str, pg_group: str) -> None:
    rec = StoredSchedule(
        id=3, name="x", target="t", trigger=ScheduleAt.at_interval(Duration.from_seconds(1)).to_dict(), created_us=1,
        next_due_us=2,
    )
    with PostgresStore(pg_dsn, group=pg_group, partitions=2) as store, psycopg.connect(pg_dsn, autocommit=True) as c:
        store.put(rec)
        c.execute(
            "UPDATE tickwork_partitions SET owner = 'B', epoch = 1, expires_at = now() + interval '30 s' "
            "WHERE grp = %s AND part = 1",
            (pg_group,),
        )
        store.fence_member = "A"  # A lost partition 1 to B
        store.put(msgspec.structs.replace(rec, execution_count=9))
        store.delete([3])
        assert store.load().schedules == [rec]  # neither landed
        store.fence_member = "B"
        store.put(msgspec.structs.replace(rec, execution_count=9))
        assert store.load().schedules[0].execution_count == 9


def test_chaos_three_processes_sigkill_and_sigstop(pg_dsn: str, pg_group: str) -> None:
    """3 members; 20 random faults (SIGKILL + restart, or SIGSTOP past the lease then
    SIGCONT: a zombie) while 6 schedules fire every 100 ms. No grid point is lost, no
    claim runs twice, and re-runs (a claim whose process died before completing it) are
    told apart by current_firing().attempt / epoch."""
    ttl = 1.0
    every_us = 100_000
    rng = random.Random(int(os.environ.get("TICKWORK_CHAOS_SEED", "18")))
    with psycopg.connect(pg_dsn, autocommit=True) as c:
        c.execute(
            "CREATE TABLE IF NOT EXISTS tickwork_test_runs (grp text, sid bigint, grid_us bigint, attempt int, "
            "epoch bigint, pid int, at timestamptz DEFAULT clock_timestamp())"
        )
        c.execute("ALTER TABLE tickwork_test_runs ADD COLUMN IF NOT EXISTS started double precision")
    creator = Scheduler(store=PostgresStore(pg_dsn, group=pg_group, lease_ttl=ttl))
    creator.register("run", lambda *a: None)
    ids = [creator.schedule("run", (i,), every_us / 1e6, misfire="catch_up", catch_up_limit=10_000) for i in range(6)]
    assert creator.stop()  # stored; it lets go of every partition
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path.cwd()), os.environ.get("PYTHONPATH", "")])}

    def spawn() -> subprocess.Popen[str]:
        p = subprocess.Popen(
            [sys.executable, str(CHILD), pg_dsn, pg_group, str(ttl)], stdout=subprocess.PIPE, text=True, env=env
        )
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        return p

    procs = [spawn() for _ in range(3)]
    kills = stops = 0
    # A client in the group makes acknowledged changes meanwhile (it also runs its share,
    # logging like the others; it is never killed).
    client = Scheduler(store=PostgresStore(pg_dsn, group=pg_group, lease_ttl=ttl), name="client")
    client_conn = psycopg.connect(pg_dsn, autocommit=True)
    client_lock = threading.Lock()

    def client_run(*_a: object) -> None:
        started = time.time()
        f = current_firing()
        assert f is not None
        with client_lock:
            client_conn.execute(
                "INSERT INTO tickwork_test_runs (grp, sid, grid_us, attempt, epoch, pid, started) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (pg_group, f.schedule_id, f.grid_point.micros, f.attempt, f.epoch, os.getpid(), started),
            )

    client.register("run", client_run)
    client.start()
    created: list[int] = []
    cancelled: dict[int, float] = {}  # id -> when cancel returned True (time.time(), as the runs' start)
    paused: list[int] = []
    try:
        time.sleep(1.0)
        for _ in range(20):
            sid = client.schedule("run", ("extra",), 0.2)
            created.append(sid)
            if len(created) >= 2 and len(created) % 2 == 0:
                assert client.cancel_schedule(created[-2])
                cancelled[created[-2]] = time.time()
            elif len(created) >= 3:
                assert client.pause(created[-2])  # applied by its owner (after a takeover, if need be)
                paused.append(created[-2])
            i = rng.randrange(3)
            if rng.random() < 0.7:
                procs[i].kill()
                procs[i].wait()
                kills += 1
                time.sleep(rng.uniform(0.1, 0.6))
                procs[i] = spawn()
            else:
                procs[i].send_signal(signal.SIGSTOP)
                stops += 1
                time.sleep(ttl * rng.uniform(1.2, 2.0))  # past its lease: the others took over
                procs[i].send_signal(signal.SIGCONT)
            time.sleep(rng.uniform(0.2, 0.8))
        time.sleep(2 * ttl)
        end_us = int(time.time() * 1e6) - int(3 * ttl * 1e6)  # everything due by then has run
    finally:
        client.stop()
        client_conn.close()
        for p in procs:
            p.send_signal(signal.SIGCONT)
            p.terminate()
        for p in procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
    with psycopg.connect(pg_dsn, autocommit=True) as c:
        rows = c.execute(
            "SELECT sid, grid_us, attempt, epoch, pid FROM tickwork_test_runs WHERE grp = %s", (pg_group,)
        ).fetchall()
        late = c.execute(
            "SELECT sid, max(started) FROM tickwork_test_runs WHERE grp = %s GROUP BY sid",
            (pg_group,),
        ).fetchall()
    with PostgresStore(pg_dsn, group=pg_group) as check:
        stored = {r.id: r for r in check.load().schedules}
    # every acknowledged change kept
    assert set(created) <= set(stored), "an acknowledged schedule was lost"
    assert all(stored[sid].status == "cancelled" for sid in cancelled)
    assert all(stored[sid].status == "paused" for sid in paused if sid not in cancelled)
    last_run = dict(late)
    for sid, at in cancelled.items():  # nothing started after cancel returned (no slack)
        assert last_run.get(sid, 0.0) < at, f"schedule {sid} started {last_run[sid] - at:.4f}s after its cancel returned"
    print(f"chaos: {len(created)} created, {len(cancelled)} cancelled, {len(paused)} paused from the client")
    assert kills + stops == 20
    print(f"chaos: {kills} SIGKILLs, {stops} SIGSTOPs, {len(rows)} runs, {len({r[4] for r in rows})} pids")
    per_claim = Counter((sid, grid, epoch) for sid, grid, _, epoch, _ in rows)
    assert max(per_claim.values()) == 1, "a claim ran twice"  # fencing: never twice under one claim
    reruns = [(sid, grid) for (sid, grid), n in Counter((r[0], r[1]) for r in rows).items() if n > 1]
    for sid, grid in reruns:  # each re-run is a later attempt under a newer epoch
        attempts = sorted((a, e) for s, g, a, e, _ in rows if (s, g) == (sid, grid))
        assert [a for a, _ in attempts] == sorted({a for a, _ in attempts}) and attempts[0][0] >= 1
    print(f"chaos: {len(reruns)} re-runs after a kill mid-firing")
    assert len(reruns) <= kills  # only a process killed mid-firing leaves one to re-run
    for sid in ids:
        points = sorted({grid for s, grid, *_ in rows if s == sid and grid <= end_us})
        assert len(points) > 100
        assert grid_gaps(points, every_us) == [], f"schedule {sid} lost firings"


def test_two_tickwork_run_replicas_share_the_sends_and_survive_a_kill(
    pg_dsn: str, pg_group: str, tmp_path: Path
) -> None:
    import socket

    from actors.cli.spec import spec_from_text

    text = (
        '[messages.Heartbeat]\nfields = { seq = "int(32)", node = "str" }\n\n'
        "[[schedules]]\nname = \"hb\"\nmessage = \"Heartbeat\"\nvalues = { seq = 0, node = \"hb\" }\n"
        'every = "50ms"\nincrement = ["seq"]\nsink = "udp://127.0.0.1:%d"\n'
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    spec = tmp_path / "hb.toml"
    spec.write_text(text % sock.getsockname()[1])
    protocol = spec_from_text(text % 1).protocol
    got: list[tuple[float, int]] = []
    done = threading.Event()

    def receive() -> None:
        sock.settimeout(0.2)
        while not done.is_set():
            try:
                data = sock.recv(65536)
            except TimeoutError:
                continue
            got.append((time.monotonic(), protocol.decode(data).seq))

    rx = threading.Thread(target=receive)
    rx.start()
    ttl = 1.5
    args = [sys.executable, "-m", "actors", "run", str(spec), "--store", pg_dsn, "--group", pg_group,
            "--lease-ttl", str(ttl), "--plain", "--interval", "10"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path.cwd()), os.environ.get("PYTHONPATH", "")])}
    first = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    second = None
    try:
        assert first.stdout is not None and "tickwork: running" in first.stdout.readline()
        second = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        assert second.stdout is not None and "1 resumed" in second.stdout.readline()  # the same schedule
        time.sleep(1.5)
        first.kill()  # SIGKILL: the other replica takes the schedule over within lease_ttl
        killed_at = time.monotonic()
        first.wait()
        time.sleep(2 * ttl + 1.0)
    finally:
        for p in (first, second):
            if p is not None and p.poll() is None:
                p.terminate()
                p.wait(15)
        done.set()
        rx.join()
        sock.close()
    seqs = [n for _, n in got]
    assert len(seqs) == len(set(seqs)), "a sequence number was sent twice"
    after = [t for t, _ in got if t > killed_at]
    assert after, "nothing was sent after the kill"
    times = [t for t, _ in got]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert max(gaps) < ttl + 0.5, f"a gap of {max(gaps):.2f}s"


def test_a_claim_made_ahead_under_an_earlier_lease_is_claimed_again(pg_dsn: str, pg_group: str) -> None:
    """Regression: a partition lost and taken back left firings claimed ahead at the old
    epoch; using one must claim it again at the new epoch, not skip the firing."""
    s = Scheduler(store=PostgresStore(pg_dsn, group=pg_group, lease_ttl=5.0, partitions=1))
    s.register("noop", lambda: None)
    s.start()
    try:
        cluster = s._rt.cluster
        epoch = cluster.owned[0][0]
        state = types.SimpleNamespace(id=77)
        with cluster.claims._cv:
            cluster.claims._ready[(77, 1234)] = (1, epoch - 1)  # left from an earlier lease
        firing = cluster.claim(state, 1234)
        assert firing is not None and (firing.attempt, firing.epoch) == (1, epoch)
        assert cluster.claim(state, 1234) is None  # claimed at this epoch now: never twice
    finally:
        s.stop()


def test_the_firing_path_reaches_the_claims_without_a_forwarding_call() -> None:
    """`Cluster.claim` / `completed` (called per firing by the runtime) are the `Claims`
    part's own bound methods, not wrappers; every part reads the one lease table."""
    from actors.cluster import Cluster
    from actors.cluster.claims import Claims

    store = types.SimpleNamespace(lease_ttl=10.0, partitions=4, group="g")
    c = Cluster(store, types.SimpleNamespace(), lambda name: None, threading.RLock(), "t")
    assert c.claim.__func__ is Claims.claim and c.claim.__self__ is c.claims
    assert c.completed.__func__ is Claims.completed
    c.owned[1] = (7, time.monotonic() + 60)
    assert c.claims.owned is c.leases.owned is c.owned
    assert c.owns(5) and c.commands.owns(5) and not c.owns(4)


def test_replicas_starting_at_once_create_each_spec_schedule_once(pg_dsn: str, pg_group: str) -> None:
    """Two `tickwork run` replicas of one spec starting into an empty group at the same
    instant: each spec schedule exists once (they reconcile under the group's lock; both
    used to find nothing stored and create it)."""
    from actors.cli.spec import spec_from_text

    names = [f"s{i}" for i in range(5)]
    text = '[messages.M]\nfields = { seq = "int(32)" }\n' + "".join(
        f'\n[[schedules]]\nname = "{n}"\nmessage = "M"\nvalues = {{ seq = 0 }}\nevery = "1h"\n'
        'sink = "udp://127.0.0.1:9"\n'
        for n in names
    )
    for attempt in range(3):  # the race without the lock was lost about one time in three
        race_to_create(spec_from_text(text), pg_dsn, f"{pg_group}-{attempt}", names)


def race_to_create(spec: Spec, pg_dsn: str, group: str, names: list[str]) -> None:
    from actors.cli.runner import Runner

    runners = [Runner(spec, PostgresStore(pg_dsn, group=group, lease_ttl=2.0)) for _ in range(2)]
    barrier = threading.Barrier(len(runners))
    errors: list[BaseException] = []

    def start(r: Runner) -> None:
        try:
            barrier.wait()
            r.start()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(r,)) for r in runners]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert not errors
        with PostgresStore(pg_dsn, group=group) as check:
            active = Counter(s.name for s in check.load().schedules if s.is_active)
        assert active == Counter(names)
    finally:
        for r in runners:
            r.stop()


def test_nothing_starts_after_a_cancel_from_another_process_returned(pg_dsn: str, pg_group: str) -> None:
    """A non-owner's cancel returns True only once the owner marked the schedule
    cancelled: no firing claimed ahead (or claimed meanwhile) starts after it (0 ms)."""
    starts: dict[int, list[float]] = {}
    lock = threading.Lock()

    def tick() -> None:
        at = time.time()  # first thing: when the target started
        f = current_firing()
        assert f is not None
        with lock:
            starts.setdefault(f.schedule_id, []).append(at)

    a, b = two_members(pg_dsn, pg_group, 2.0, tick)
    try:
        ids = [a.schedule("tick", (), 0.002) for _ in range(24)]
        theirs = [sid for sid in ids if not a._rt.cluster.owns(sid)]
        assert len(theirs) == 12
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not all(len(starts.get(sid, ())) > 5 for sid in theirs):
            time.sleep(0.02)
        returned: dict[int, float] = {}
        for sid in theirs:  # b runs them; a cancels them while firings are claimed ahead
            assert a.cancel_schedule(sid)
            returned[sid] = time.time()
        time.sleep(0.2)
        with lock:
            late = {sid: max(starts[sid]) - at for sid, at in returned.items() if max(starts[sid]) >= at}
        assert late == {}, f"started after cancel returned (s): {late}"
        assert all(b.get_schedule(sid).status.value == "cancelled" for sid in theirs)  # type: ignore[union-attr]
    finally:
        a.stop()
        b.stop()


def test_a_cancel_waits_for_a_silent_owners_lease_to_end(pg_dsn: str, pg_group: str) -> None:
    """The owner is dead (it never answers): cancel returns True once its lease ended
    (fenced, it can start nothing more), and TimeoutError if the lease outlives lease_ttl."""
    trigger = ScheduleAt.at_interval(Duration.from_seconds(1)).to_dict()
    with PostgresStore(pg_dsn, group=pg_group, partitions=2) as store, psycopg.connect(pg_dsn, autocommit=True) as c:
        for sid in (3, 5):  # both in partition 1
            store.put(StoredSchedule(id=sid, name=f"s{sid}", target="t", trigger=trigger, created_us=1,
                                     next_due_us=int(time.time() * 1e6) + 3_600_000_000))

        def ghost_holds(seconds: float) -> None:
            c.execute(
                "UPDATE tickwork_partitions SET owner = 'ghost', epoch = 5, "
                "expires_at = now() + make_interval(secs => %s) WHERE grp = %s AND part = 1",
                (seconds, pg_group),
            )

        ghost_holds(60)
        s = Scheduler(store=PostgresStore(pg_dsn, group=pg_group, lease_ttl=1.0, partitions=2))
        s.register("t", lambda: None)
        s.start()
        try:
            assert not s._rt.cluster.owns(3)
            t0 = time.monotonic()
            with pytest.raises(TimeoutError, match="ghost"):
                s.cancel_schedule(5)  # the ghost keeps its lease for a minute
            assert 0.9 < time.monotonic() - t0 < 5
            info = s.get_schedule(5)
            assert info is not None and info.status.value == "cancelled"  # recorded all the same
            ghost_holds(0.6)
            t0 = time.monotonic()
            assert s.cancel_schedule(3)
            waited = time.monotonic() - t0
            assert 0.4 < waited < 1.5, waited  # until the ghost's lease ended, not before
            assert not s.cancel_schedule(3)
        finally:
            s.stop()


def test_execution_stats_add_up_the_whole_group(pg_dsn: str, pg_group: str) -> None:
    """get_execution_stats() on a member: the group's totals (this process's, current, and a
    child process's as of its last heartbeat), each member's under "members"."""
    ttl = 0.6
    with psycopg.connect(pg_dsn, autocommit=True) as c:
        c.execute(
            "CREATE TABLE IF NOT EXISTS tickwork_test_runs (grp text, sid bigint, grid_us bigint, attempt int, "
            "epoch bigint, pid int, at timestamptz DEFAULT clock_timestamp())"
        )
        c.execute("ALTER TABLE tickwork_test_runs ADD COLUMN IF NOT EXISTS started double precision")
    s = Scheduler(store=PostgresStore(pg_dsn, group=pg_group, lease_ttl=ttl))
    s.register("run", lambda *a: None)
    s.start()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path.cwd()), os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen(
        [sys.executable, str(CHILD), pg_dsn, pg_group, str(ttl)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(s._rt.cluster.owned) > 16:
            time.sleep(0.05)
        assert len(s._rt.cluster.owned) == 16  # the child took its half
        for i in range(16):
            s.schedule("run", (i,), 0.02)
        me = s._rt.cluster.member
        deadline = time.monotonic() + 10
        stats = s.get_execution_stats()
        while time.monotonic() < deadline and not (
            len(stats["members"]) == 2 and all(m["total_executions"] > 20 for m in stats["members"].values())
        ):
            time.sleep(0.1)
            stats = s.get_execution_stats()
        assert stats["member"] == me and set(stats["members"]) >= {me}
        assert len(stats["members"]) == 2, stats["members"]
        (other,) = set(stats["members"]) - {me}
        assert other.split(":")[1] == str(child.pid)
        theirs, mine = stats["members"][other], stats["members"][me]
        assert theirs["total_executions"] > 20 and mine["total_executions"] > 20
        with psycopg.connect(pg_dsn, autocommit=True) as c:
            logged = c.execute(
                "SELECT count(*) FROM tickwork_test_runs WHERE grp = %s AND pid = %s", (pg_group, child.pid)
            ).fetchone()[0]
        assert theirs["total_executions"] <= logged  # a snapshot of the child's own count
        for key in ("total_executions", "successful_executions", "failed_executions", "missed_executions"):
            assert stats[key] == theirs[key] + mine[key], key
        assert stats["total_duration"] == Duration(theirs["total_duration"].micros + mine["total_duration"].micros)
        assert stats["success_rate"] == 1.0
        assert stats["lateness_max"] == max(theirs["lateness_max"], mine["lateness_max"], key=lambda d: d.micros)
    finally:
        child.terminate()
        child.wait(15)
    try:
        assert set(s.get_execution_stats()["members"]) == {me}  # the child left the group
    finally:
        s.stop()
    assert "members" not in s.get_execution_stats()  # after stop: this process's final ones


def deaf(s: Scheduler) -> None:
    """``s`` stops hearing the group's NOTIFYs (as after its LISTEN connection dropped and
    came back without them): UNLISTEN on its own listening connection."""
    cluster = s._rt.cluster
    assert cluster is not None and cluster._conn is not None
    cluster._conn.execute(f'UNLISTEN "{channel_of(cluster.store.group)}"')


def test_commands_whose_notify_the_owner_missed_are_applied_at_its_next_heartbeat(
    pg_dsn: str, pg_group: str
) -> None:
    """b runs the schedules but hears no NOTIFY: a's pause and cancel of them still return
    True (not TimeoutError) within a couple of heartbeats, and nothing of the cancelled one
    starts afterwards."""
    starts: dict[int, list[float]] = {}
    lock = threading.Lock()

    def tick() -> None:
        at = time.time()
        f = current_firing()
        assert f is not None
        with lock:
            starts.setdefault(f.schedule_id, []).append(at)

    ttl = 1.2  # heartbeats every 0.2 s
    a, b = two_members(pg_dsn, pg_group, ttl, tick)
    try:
        ids = [a.schedule("tick", (), 0.01) for _ in range(4)]
        paused, cancelled = [sid for sid in ids if not a._rt.cluster.owns(sid)][:2]
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not all(len(starts.get(sid, ())) > 3 for sid in (paused, cancelled)):
            time.sleep(0.02)
        assert b._rt.cluster.owns(paused) and b._rt.cluster.owns(cancelled)
        deaf(b)

        t0 = time.monotonic()
        assert a.pause(paused)
        assert time.monotonic() - t0 < 3 * ttl / 6 + 0.5  # at b's next heartbeat, not at a takeover
        info = b.get_schedule(paused)
        assert info is not None and info.status.value == "paused"

        t0 = time.monotonic()
        assert a.cancel_schedule(cancelled)  # not TimeoutError after lease_ttl
        returned = time.time()
        assert time.monotonic() - t0 < 3 * ttl / 6 + 0.5
        info = b.get_schedule(cancelled)
        assert info is not None and info.status.value == "cancelled"  # b marked it itself
        assert b._rt.cluster.owns(cancelled)  # b kept its lease all along: no takeover did it
        time.sleep(0.1)  # ten intervals of the cancelled schedule
        with lock:
            late = [at - returned for at in starts[cancelled] if at >= returned]
        assert late == []
    finally:
        a.stop()
        b.stop()


def test_a_command_of_a_schedule_the_owner_never_heard_of_is_answered_at_its_heartbeat(
    pg_dsn: str, pg_group: str
) -> None:
    """b hears no NOTIFY: a schedule a stores in b's partition is not loaded by b until a
    command for it comes, which b then finds at its heartbeat (loading the schedule and
    applying it); one for a schedule not stored gets False, not silence."""
    a, b = two_members(pg_dsn, pg_group, 1.2, lambda: None)
    try:
        deaf(b)
        ids = [a.schedule("tick", (), 60) for _ in range(4)]
        sid = next(sid for sid in ids if not a._rt.cluster.owns(sid))
        assert b._rt.cluster.owns(sid) and sid not in b._rt.states  # its NOTIFY was missed
        assert a.pause(sid)
        info = b.get_schedule(sid)
        assert info is not None and info.status.value == "paused"
        store = a._rt.cluster.store
        ghost = next(n for n in range(10**6, 10**6 + 4) if b._rt.cluster.owns(n))  # never stored
        seq = store.submit_command(ghost, "pause", msgspec.msgpack.encode({}), "nobody-listens")
        deadline = time.monotonic() + 2
        while (result := store.command_result(seq)) is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert result is False
    finally:
        a.stop()
        b.stop()


def backends(s: Scheduler) -> list[int]:
    """The server pids of every connection ``s`` holds: the store's, the coordinator's
    (heartbeats, LISTEN) and the claimer's."""
    cluster = s._rt.cluster
    assert cluster is not None
    conns = [cluster.store._live.conn if cluster.store._live else None, cluster._live.conn, cluster.claims.live.conn]
    return [c.info.backend_pid for c in conns if c is not None and not c.closed]


def ticking_member(dsn: str, group: str, tag: str, record: Callable[[Any], None]) -> Scheduler:
    """A started member (lease_ttl 1.2 s, 2 partitions) whose target "tick" hands each
    firing's `current_firing()` to ``record``."""
    s = Scheduler(store=PostgresStore(dsn, group=group, lease_ttl=1.2, partitions=2), name=tag)

    def tick() -> None:
        f = current_firing()
        assert f is not None
        record(f)

    s.register("tick", tick)
    s.start()
    return s


def test_a_member_whose_connections_are_all_dropped_reconnects_and_carries_on(pg_dsn: str, pg_group: str) -> None:
    """The server drops every connection of b (as at a restart): b reconnects, heartbeats
    again (holding partitions), keeps firing its schedules, and applies a's pause."""
    starts: dict[str, list[tuple[float, int]]] = {"a": [], "b": []}
    lock = threading.Lock()

    def member(tag: str) -> Scheduler:
        def record(f: Any) -> None:
            with lock:
                starts[tag].append((time.monotonic(), f.schedule_id))

        return ticking_member(pg_dsn, pg_group, tag, record)

    def fired_by_b_since(t: float) -> set[int]:
        with lock:
            return {sid for at, sid in starts["b"] if at > t}

    a, b = member("a"), member("b")
    try:
        ids = [a.schedule("tick", (), 0.05) for _ in range(6)]
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not fired_by_b_since(0):
            time.sleep(0.02)
        assert fired_by_b_since(0), "b never fired"
        old = backends(b)
        assert len(old) == 3
        with psycopg.connect(pg_dsn, autocommit=True) as admin:
            killed = admin.execute(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) FROM unnest(%s::int[]) AS pid", (old,)
            ).fetchone()
        assert killed == (3,)
        dropped = time.monotonic()

        deadline = dropped + 6
        while time.monotonic() < deadline and not (
            b._rt.cluster.owned
            and any(b._rt.cluster.owns(sid) for sid in ids)
            and len(fired_by_b_since(dropped)) > 0
            and len(backends(b)) == 3
        ):
            time.sleep(0.02)
        assert any(b._rt.cluster.owns(sid) for sid in ids), "b never held a partition again"
        ran = fired_by_b_since(dropped)
        assert ran, "b never fired again after its connections were dropped"
        assert len(backends(b)) == 3 and not set(backends(b)) & set(old)  # all three reopened...

        sid = next(sid for sid in sorted(ran) if b._rt.cluster.owns(sid))
        assert a.pause(sid)  # ...the coordinator's LISTENing again (or caught up at a heartbeat)
        info = b.get_schedule(sid)
        assert info is not None and info.status.value == "paused"
        again = time.monotonic()
        deadline = again + 3
        while time.monotonic() < deadline and not fired_by_b_since(again) - {sid}:
            time.sleep(0.02)
        assert fired_by_b_since(again) - {sid}, "b stopped firing its other schedules"
    finally:
        a.stop()
        b.stop()


def test_a_member_cut_off_past_its_lease_rejoins_at_new_epochs_only(pg_dsn: str, pg_group: str) -> None:
    """b's connections drop and it cannot reconnect for longer than its lease: a takes every
    partition over; when b gets through again it takes partitions anew (epochs bumped) and
    nothing it runs afterwards is claimed under an epoch it held before the drop."""
    ran: list[tuple[str, int, int, float]] = []
    lock = threading.Lock()

    def member(tag: str) -> Scheduler:
        def record(f: Any) -> None:
            with lock:
                ran.append((tag, f.schedule_id, f.epoch, time.monotonic()))

        return ticking_member(pg_dsn, pg_group, tag, record)

    a, b = member("a"), member("b")
    try:
        ids = [a.schedule("tick", (), 0.05) for _ in range(6)]
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not (len(b._rt.cluster.owned) == 1 and any(r[0] == "b" for r in ran)):
            time.sleep(0.02)
        cluster = b._rt.cluster
        before = {p: epoch for p, (epoch, _) in cluster.owned.items()}
        assert len(before) == 1
        store = cluster.store
        assert store._live is not None
        cut = threading.Event()
        cut.set()

        def unreachable(real: Callable[[], object]) -> Callable[[], object]:
            def connect() -> object:
                if cut.is_set():
                    raise psycopg.OperationalError("connection refused (test)")
                return real()

            return connect

        store._connect = unreachable(store._connect)  # type: ignore[method-assign]  # the claimer's, the coordinator's
        store._live._open = unreachable(store._live._open)  # type: ignore[assignment]  # the store's own
        with psycopg.connect(pg_dsn, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid, 5000) FROM unnest(%s::int[]) AS pid", (backends(b),))
        dropped = time.monotonic()
        deadline = dropped + 6
        while time.monotonic() < deadline and not all(a._rt.cluster.owns(sid) for sid in ids):
            time.sleep(0.02)
        assert all(a._rt.cluster.owns(sid) for sid in ids), "a never took b's partition over"
        cut.clear()
        back = time.monotonic()
        deadline = back + 6
        while time.monotonic() < deadline and not any(r[0] == "b" and r[3] > back for r in ran):
            time.sleep(0.02)
        with lock:
            after = [(sid, epoch) for tag, sid, epoch, at in ran if tag == "b" and at > back]
        assert after, "b never fired again"
        (part, old_epoch), = before.items()
        assert all(epoch > old_epoch for sid, epoch in after if sid % 2 == part), (after, before)
        assert b._rt.cluster.owned and all(e > before.get(p, 0) for p, (e, _) in b._rt.cluster.owned.items())
    finally:
        a.stop()
        b.stop()
