"""Several processes sharing one `PostgresStore` group: partition leases and claims.

The group's schedules are split into ``store.partitions`` partitions (schedule id
modulo the count). Each process runs a `Cluster`: a coordinator thread that every
``lease_ttl / 6`` seconds

* heartbeats its row in ``tickwork_members`` (members silent for the lease are removed),
* renews the leases of the partitions it holds (a partition it failed to renew in time
  may have been taken over: it stops running its schedules at once),
* releases partitions beyond its fair share ``ceil(partitions / live members)`` and takes
  free or expired ones up to it; taking a partition bumps its ``epoch`` (the fencing
  token) and loads its schedules, applying their misfire policy to what came due while
  nobody held it.

A process only runs the schedules of partitions it holds. Before a target runs, its
firing ``(schedule id, grid point, epoch)`` is claimed in ``tickwork_claims`` by a
fenced insert (it lands only while this process holds that partition at that epoch
under an unexpired lease); a claimer thread sends every claim queued meanwhile in one
statement. Completion is recorded the same way, batched. A firing claimed at an older
epoch and never completed is claimed again after a takeover (attempt + 1): at least once.
Schedule rows are fenced too (``PostgresStore.fence_member``): a process that lost a
partition cannot overwrite its schedules.

A cancel from a process that does not run the schedule writes a tombstone (claims check
it) and a ``cancel`` command, and returns once the owner answered it (after marking the
schedule cancelled, so nothing of it starts after) or the owner's lease ended (fenced).
Each heartbeat also stores this process's execution statistics, which `group_stats` adds up.

Leases (of members and partitions) last ``5/6 lease_ttl`` from their last renewal, so
the partitions of a process that died are taken over at most ``lease_ttl`` after its
last heartbeat (the lease, then at most one heartbeat period of the survivors).
Locally, a process also stops trusting a lease when it ends, counted from when it sent the renewal
(a monotonic clock, so a process stopped with SIGSTOP and continued refuses to run
what it claimed before it stopped once the lease time has passed).
"""

from __future__ import annotations

import hashlib
import heapq
import logging
import math
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec
import psycopg
import pykka

from actors import persist
from actors.firing import Firing
from actors.store.record import ACTIVE_STATUSES, StoredSchedule
from actors.supervisor import STATS
from timekit import Duration, Timestamp

if TYPE_CHECKING:
    from actors.runtime import Runtime
    from actors.state import ScheduleState
    from actors.store.postgres import PostgresStore

__all__ = ["Cluster"]

logger = logging.getLogger("tickwork")

#: A lease lasts this fraction of lease_ttl after its renewal (heartbeats every lease_ttl / 6):
#: a dead process's partitions are taken over within lease_ttl.
LEASE_FRACTION = 5 / 6

#: Firings armed here and due within this many µs are claimed ahead, in one statement.
AHEAD_US = 10_000


#: Statistics that are durations (stored as µs).
_DURATIONS = frozenset({"total_duration", "average_duration", "lateness_p50", "lateness_p99", "lateness_max"})
#: Statistics that are the largest of the members' (percentiles do not add up).
_HIGHEST = frozenset({"lateness_p50", "lateness_p99", "lateness_max"})


def _add_up(members: list[dict[str, Any]], like: dict[str, Any]) -> dict[str, Any]:
    """The group's statistics from each member's (the keys of ``like``): counts and total
    durations added, rates and averages recomputed, lateness the highest member's."""
    out: dict[str, Any] = {}
    for key, mine in like.items():
        values = [m[key] for m in members if m.get(key) is not None]
        if key in _HIGHEST:
            out[key] = max(values, key=lambda d: d.micros) if values else None
        elif isinstance(mine, Duration):
            out[key] = Duration(sum(v.micros for v in values if isinstance(v, Duration)))
        elif isinstance(mine, int) and not isinstance(mine, bool):
            out[key] = sum(v for v in values if isinstance(v, int))
        else:
            out[key] = mine
    total = out.get("total_executions", 0)
    if "success_rate" in out:
        out["success_rate"] = out.get("successful_executions", 0) / total if total else 0.0
    if "average_duration" in out:
        out["average_duration"] = Duration(out["total_duration"].micros // total) if total else Duration(0)
    return out


def channel_of(group: str) -> str:
    """The LISTEN/NOTIFY channel of a group (an identifier of at most 63 bytes)."""
    return "tickwork_" + hashlib.sha1(group.encode()).hexdigest()[:24]


class _Claim:
    __slots__ = ("done", "epoch", "grid", "result", "sid")

    def __init__(self, sid: int, grid: int, epoch: int) -> None:
        self.sid = sid
        self.grid = grid
        self.epoch = epoch
        self.result: tuple[int, int] | None = None
        self.done = threading.Event()


class Cluster:
    """This process's membership in a `PostgresStore` group (see the module docstring)."""

    def __init__(
        self,
        store: PostgresStore,
        rt: Runtime,
        resolve: Callable[[str], Callable[..., Any] | None],
        lock: threading.RLock,
        name: str,
        apply: Callable[[int, str, dict[str, Any]], bool] | None = None,
    ) -> None:
        self.store = store
        self.rt = rt
        self.resolve = resolve
        self.lock = lock  # the scheduler's: adding a schedule and taking its partition exclude each other
        self.name = name
        #: Applies a change another process asked for to a schedule run here (the scheduler's).
        self.apply = apply
        self.member = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.ttl = store.lease_ttl
        #: How long a lease lasts after its renewal; heartbeats come every ttl / 6.
        self.lease_s = store.lease_ttl * LEASE_FRACTION
        self.parts = store.partitions
        self.channel = channel_of(store.group)
        #: partition -> (epoch, monotonic time until which this process trusts its lease)
        self.owned: dict[int, tuple[int, float]] = {}
        self._stopping = threading.Event()
        self._cv = threading.Condition()
        self._claims: list[_Claim] = []
        self._completed: list[tuple[int, int, int]] = []
        self._conn: psycopg.Connection[Any] | None = None  # heartbeats and LISTEN
        self._claim_conn: psycopg.Connection[Any] | None = None  # the claimer's
        #: Firings armed here, to claim ahead: (due µs, schedule id), a heap.
        self._upcoming: list[tuple[int, int]] = []
        #: Claimed ahead: (schedule id, grid µs) -> (attempt, epoch).
        self._ready: dict[tuple[int, int], tuple[int, int]] = {}
        self.ahead_hits = 0  # claims found claimed ahead (for the benchmark)
        self._threads: list[threading.Thread] = []
        self.takeovers = 0  # partitions taken (for stats and tests)
        self._stats_asked: pykka.Future[Any] | None = None  # the supervisor's statistics, asked at a heartbeat

    # ----------------------------------------------------------------- life cycle
    def start(self) -> int:
        """Join the group: the first heartbeat (taking partitions) runs here. Returns how
        many schedules were loaded."""
        try:
            conn = psycopg.connect(self.store.dsn, autocommit=True)
            conn.execute(f'LISTEN "{self.channel}"')
            self._claim_conn = psycopg.connect(self.store.dsn, autocommit=True)
        except psycopg.Error as exc:
            raise self.store._error("joining the group", exc) from None  # noqa: SLF001 - the store's own group machinery
        self._conn = conn
        arm = self.rt.arm

        def arm_and_claim_ahead(sid: int, generation: int, due: int, wall: bool) -> None:
            arm(sid, generation, due, wall)
            with self._cv:
                heapq.heappush(self._upcoming, (due, sid))

        self.rt.arm = arm_and_claim_ahead  # type: ignore[method-assign]  # only this runtime's
        self.store.fence_member = self.member
        loaded = self._beat()
        for target, label in ((self._coordinate, "coordinator"), (self._claimer, "claimer")):
            t = threading.Thread(target=target, name=f"{self.name}-{label}", daemon=True)
            self._threads.append(t)
            t.start()
        return loaded

    def stop(self) -> None:
        """Leave the group: release every partition at once (the others take them at their
        next heartbeat) and stop the threads. Call after the last write."""
        self._stopping.set()
        with self._cv:
            self._cv.notify_all()
        for t in self._threads:
            t.join(max(5.0, self.ttl))
        self._flush_completed()
        claim_conn, self._claim_conn = self._claim_conn, None
        if claim_conn is not None:
            claim_conn.close()
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            with conn.transaction():
                conn.execute(
                    "UPDATE tickwork_partitions SET owner = NULL, expires_at = '-infinity' "
                    "WHERE grp = %s AND owner = %s",
                    (self.store.group, self.member),
                )
                conn.execute(
                    "DELETE FROM tickwork_members WHERE grp = %s AND member = %s", (self.store.group, self.member)
                )
        except psycopg.Error:
            logger.warning("tickwork: could not release the partitions of %s (they expire in %ss)", self.member, self.ttl)
        finally:
            conn.close()
            self.store.fence_member = None
            self.owned.clear()

    # ----------------------------------------------------------------- ownership
    def owns(self, sid: int) -> bool:
        held = self.owned.get(sid % self.parts)
        return held is not None and time.monotonic() < held[1]

    def adopt_new(self, sid: int) -> bool:
        """A schedule just stored by this process: True if it runs here; otherwise the
        owner of its partition is told (NOTIFY) and loads it."""
        if self.owns(sid):
            return True
        self.store.notify(self.channel, str(sid))
        return False

    def _coordinate(self) -> None:
        period = self.ttl / 6
        next_beat = time.monotonic() + period
        while not self._stopping.is_set():
            wait = next_beat - time.monotonic()
            if wait > 0:
                self._listen(min(wait, 0.25))
                continue
            next_beat = time.monotonic() + period
            try:
                self._beat()
            except Exception:
                logger.exception("tickwork: group heartbeat failed for %s", self.member)

    def _listen(self, seconds: float) -> None:
        conn = self._conn
        if conn is None:
            time.sleep(seconds)
            return
        try:
            # Each one handled as it comes (not when the wait is over): a command's sender waits on it.
            for n in conn.notifies(timeout=seconds):
                try:
                    self._on_notify(n.payload)
                except Exception:  # a store error: the sender times out or it is retried at a takeover
                    logger.exception("tickwork: handling notification %r failed", n.payload)
        except psycopg.Error:
            time.sleep(seconds)

    def _on_notify(self, payload: str) -> None:
        kind, _, num = payload.rpartition(":")
        if not num.isdigit():
            return
        sid = int(num)
        if kind == "c":
            self._apply_cancel(sid)
        elif kind == "m":
            self._apply_commands(self.store.pending_commands(seq=sid))
        elif self.owns(sid):
            self._load([sid])

    def command(self, sid: int, op: str, args: dict[str, Any], timeout: float) -> bool:
        """Ask the process that runs ``sid`` to apply ``op`` (pause, resume, reschedule,
        update) and wait for its answer: True once the change is applied and stored."""
        seq = self.store.submit_command(sid, op, msgspec.msgpack.encode(args), self.channel)
        deadline = time.monotonic() + timeout
        pause = 0.002
        while True:
            result = self.store.command_result(seq)
            if result is not None:
                return result
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"no process applied {op} of schedule {sid} within {timeout:.0f} s (is any scheduler of "
                    f"group {self.store.group!r} running?); it stays queued and is applied when one takes it over"
                )
            time.sleep(pause)
            pause = min(0.05, pause * 2)

    def _apply_commands(self, commands: list[tuple[int, int, str, bytes]]) -> None:
        apply = self.apply
        for seq, sid, op, payload in commands:
            if not self.owns(sid):
                continue  # not run here: its owner (maybe after a takeover) applies it
            if op == "cancel":  # marked cancelled here before the answer: nothing of it starts after
                s = self._mark_cancelled(sid)
                self.store.finish_command(seq, True)
                if s is not None:
                    self._store_cancelled(s)
                continue
            if apply is None or sid not in self.rt.states:
                continue
            try:
                result = apply(sid, op, msgspec.msgpack.decode(payload))
            except Exception:
                logger.exception("tickwork: applying %s of schedule %s for another process failed", op, sid)
                result = False
            self.store.finish_command(seq, result)

    def _apply_cancel(self, sid: int) -> None:
        """Another process cancelled ``sid``: stop it here and store it cancelled. Once
        this returns nothing of it starts here (it is not loaded, or marked cancelled)."""
        s = self._mark_cancelled(sid)
        if s is not None:
            self._store_cancelled(s)

    def _mark_cancelled(self, sid: int) -> ScheduleState | None:
        """Mark ``sid`` cancelled here (nothing of it starts from now on); its state if
        this did it (to store), else None."""
        rt = self.rt
        with self.lock:
            s = rt.states.get(sid)
            if s is None or not rt.mark_cancelled(s):
                return None
            rt.disarm(sid)
            return s

    def _store_cancelled(self, s: ScheduleState) -> None:
        try:
            self.rt.persist_now(s)
        except Exception:  # the tombstone keeps it cancelled for every reader and loader
            logger.exception("tickwork: storing the cancellation of %s failed", s.id)

    def cancel(self, sid: int) -> bool:
        """Cancel a schedule this process does not run: True once no process can start it
        any more. The tombstone stops new claims at once (`PostgresStore.cancel_shared`);
        this then waits until the owner answers that it marked it cancelled, or until the
        owner's lease ends (a dead or stopped owner: fenced, it starts nothing more) — within
        the lease, so at most ``lease_ttl``. TimeoutError if neither happened by then (the
        owner renews its lease but does not answer): the cancellation stays recorded."""
        got = self.store.cancel_shared(sid, self.channel)
        if got is None:
            return False
        seq, owner, epoch = got
        if owner is None:
            return True  # nobody held its lease: whoever takes it finds the tombstone
        deadline = time.monotonic() + self.ttl
        pause = 0.001
        while not self.store.cancel_settled(seq, sid, owner, epoch):
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"schedule {sid} is cancelled (no new firing of it is claimed), but its owner {owner} neither "
                    f"confirmed within lease_ttl={self.ttl:g} s that nothing claimed before still starts, nor let "
                    "its lease go: it is alive but not answering"
                )
            time.sleep(pause)
            pause = min(0.005, pause * 2)
        return True

    def record(self, sid: int) -> StoredSchedule | None:
        """The stored record of a schedule another process runs."""
        rec = self.store.load_one(sid)
        return None if rec is None else self._with_tombstones([rec])[0]

    def records(self) -> list[StoredSchedule]:
        """Every stored record of the group."""
        return self._with_tombstones(self.store.load().schedules)

    def _with_tombstones(self, recs: list[StoredSchedule]) -> list[StoredSchedule]:
        """Records cancelled by `cancel` read as cancelled, before their owner stored it."""
        gone = self.store.cancelled_among([r.id for r in recs if r.status in ACTIVE_STATUSES])
        if not gone:
            return recs
        return [msgspec.structs.replace(r, status="cancelled", next_due_us=None) if r.id in gone else r for r in recs]

    # ----------------------------------------------------------------- group statistics
    def _stats_snapshot(self) -> bytes | None:
        """This process's `get_execution_stats` to store with this heartbeat: the answer to
        the supervisor's previous beat's ask (never waited for: a busy supervisor must not
        delay the lease renewal). None if there is none yet (the stored one stays)."""
        fut, self._stats_asked = self._stats_asked, None
        stats: dict[str, Any] | None = None
        if fut is not None:
            try:
                stats = fut.get(timeout=0)
            except pykka.Timeout:
                self._stats_asked = fut  # still busy: asked again once it answered
                return None
            except Exception:  # the runtime is stopping
                logger.debug("tickwork: no statistics for the heartbeat of %s", self.member, exc_info=True)
        try:
            self._stats_asked = self.rt.supervisor_ref.ask(STATS, block=False)
        except pykka.ActorDeadError:
            pass
        if stats is None:
            return None
        return msgspec.msgpack.encode({k: v.micros if isinstance(v, Duration) else v for k, v in stats.items()})

    def group_stats(self, own: dict[str, Any]) -> dict[str, Any]:
        """The statistics of the whole group: ``own`` (this process's, current) and every
        other live member's as of its last heartbeat, added up; per member under
        ``"members"`` (member name -> statistics) and this one's name under ``"member"``."""
        members: dict[str, dict[str, Any]] = {}
        for name, data in self.store.member_stats().items():
            if name == self.member:
                continue
            try:
                raw = msgspec.msgpack.decode(data, type=dict[str, Any])
            except msgspec.DecodeError:
                logger.warning("tickwork: unreadable statistics of group member %s (ignored)", name)
                continue
            members[name] = {k: Duration(v) if k in _DURATIONS and isinstance(v, int) else v for k, v in raw.items()}
        members[self.member] = dict(own)
        total = _add_up(list(members.values()), own)
        total["members"] = dict(sorted(members.items()))
        total["member"] = self.member
        return total

    def _beat(self) -> int:
        """One heartbeat: renew, release, take. Returns how many schedules it loaded."""
        conn = self._conn
        assert conn is not None
        grp, me, ttl = self.store.group, self.member, self.lease_s
        snapshot = self._stats_snapshot()
        t0 = time.monotonic()
        with conn.transaction():
            conn.execute(
                "INSERT INTO tickwork_members AS m (grp, member, expires_at, stats) "
                "VALUES (%s, %s, now() + make_interval(secs => %s), %s) "
                "ON CONFLICT (grp, member) DO UPDATE SET expires_at = EXCLUDED.expires_at, "
                "stats = coalesce(EXCLUDED.stats, m.stats)",
                (grp, me, ttl, snapshot),
            )
            conn.execute("DELETE FROM tickwork_members WHERE grp = %s AND expires_at < now()", (grp,))
            alive = conn.execute("SELECT count(*) FROM tickwork_members WHERE grp = %s", (grp,)).fetchone()[0]  # type: ignore[index]
            renewed = dict(
                conn.execute(
                    "UPDATE tickwork_partitions SET expires_at = now() + make_interval(secs => %s) "
                    "WHERE grp = %s AND owner = %s AND expires_at > now() RETURNING part, epoch",
                    (ttl, grp, me),
                ).fetchall()
            )
        lost = [p for p, (epoch, _) in self.owned.items() if renewed.get(p) != epoch]
        if lost:
            self._drop(lost)
        fair = math.ceil(self.parts / max(1, alive))
        valid = t0 + ttl
        for p, epoch in renewed.items():
            self.owned[p] = (epoch, valid)
        if len(renewed) > fair:
            extra = sorted(renewed)[fair:]
            self._drop(extra)
            conn.execute(
                "UPDATE tickwork_partitions SET owner = NULL, expires_at = '-infinity' "
                "WHERE grp = %s AND owner = %s AND part = ANY(%s)",
                (grp, me, extra),
            )
            return 0
        want = fair - len(renewed)
        if want <= 0:
            return 0
        taken = dict(
            conn.execute(
                "UPDATE tickwork_partitions SET owner = %s, epoch = epoch + 1, "
                "expires_at = now() + make_interval(secs => %s) "
                "WHERE grp = %s AND part IN (SELECT part FROM tickwork_partitions WHERE grp = %s "
                "AND (owner IS NULL OR expires_at < now()) ORDER BY part LIMIT %s FOR UPDATE SKIP LOCKED) "
                "RETURNING part, epoch",
                (me, ttl, grp, grp, want),
            ).fetchall()
        )
        if not taken:
            return 0
        self.takeovers += len(taken)
        with self.lock:
            for p, epoch in taken.items():
                self.owned[p] = (epoch, valid)
            return self._load_partitions(sorted(taken))

    def _load_partitions(self, parts: list[int]) -> int:
        found = self.store.load_partitions(parts)
        for rid, reason in found.corrupt:
            logger.error("tickwork: skipped corrupt stored schedule (row %s) in %s: %s", rid, self.store.location, reason)
        return self._spawn(found.schedules)

    def _load(self, sids: list[int]) -> None:
        with self.lock:
            recs = [r for r in (self.store.load_one(sid) for sid in sids if sid not in self.rt.states) if r is not None]
            self._spawn(recs)

    def _spawn(self, recs: list[Any]) -> int:
        rt = self.rt
        now = rt.now_us(True)
        n = 0
        cancelled = self.store.cancelled_among([r.id for r in recs if r.status in ACTIVE_STATUSES])
        for rec in recs:
            if rec.id in rt.states or rt.stopping:
                continue
            state = persist.from_record(rec, self.resolve, now)
            if rec.id in cancelled:
                state.cancelled = True  # cancelled by another process before its change was stored
            rt.states[state.id] = state
            rt.spawn(state)
            if rec.id in cancelled:
                rt.persist_now(state)
            n += 1
            if state.unresolved:
                logger.error("tickwork: stored schedule %s: %s", state.id, state.last_error)
        if recs:  # changes other processes asked for while nobody ran these
            self._apply_commands(self.store.pending_commands(sids=[r.id for r in recs]))
        return n

    def _drop(self, parts: list[int]) -> None:
        """Stop running the schedules of ``parts`` here, without touching the store."""
        rt = self.rt
        gone = set(parts)
        for p in parts:
            self.owned.pop(p, None)
        with self._cv:  # what was claimed ahead under those leases is void
            for key in [k for k in self._ready if k[0] % self.parts in gone]:
                del self._ready[key]
        with self.lock:
            for sid, s in list(rt.states.items()):
                if sid % self.parts not in gone or not s.durable:
                    continue
                with rt.lock_for(sid):
                    s.durable = False  # nothing more of it is written from here
                    s.cancelled = True  # and nothing more of it starts
                rt.states.pop(sid, None)
                rt.disarm(sid)
                try:
                    s.actor_ref.stop(block=False)
                except pykka.ActorDeadError:
                    pass

    # ----------------------------------------------------------------- claims
    def claim(self, s: ScheduleState, grid: int) -> Firing | None:
        """Claim this firing before its target runs (blocks for one batched round trip);
        None if this process may not run it (not held, fenced, or already done)."""
        part = s.id % self.parts
        held = self.owned.get(part)
        if held is None or time.monotonic() >= held[1] or self._stopping.is_set():
            return None
        with self._cv:
            got = self._ready.pop((s.id, grid), None)
            if got is not None and got[1] != held[0]:
                got = None  # claimed ahead under an earlier lease of this partition: claim it again
            if got is None:
                req = _Claim(s.id, grid, held[0])
                self._claims.append(req)
                self._cv.notify()
            else:
                self.ahead_hits += 1
        if got is None:
            if not req.done.wait(self.ttl):
                return None
            got = req.result
        held = self.owned.get(part)
        if got is None or held is None or held[0] != got[1] or time.monotonic() >= held[1]:
            return None
        return Firing(s.id, Timestamp.from_micros(grid), got[0], got[1])

    def completed(self, firing: Firing) -> None:
        """Record that ``firing``'s target returned (batched with the next claims)."""
        with self._cv:
            self._completed.append((firing.schedule_id, firing.grid_point.micros, firing.epoch))
            self._cv.notify()

    def _claimer(self) -> None:
        """Claims in batches: every firing armed here and due within `AHEAD_US` is claimed
        ahead, in one statement with the claims execution threads are waiting for."""
        upcoming = self._upcoming
        while True:
            with self._cv:
                if not self._claims and not self._completed and not self._stopping.is_set():
                    self._cv.wait(AHEAD_US / 2e6)
                claims, self._claims = self._claims, []
                if not claims and self._stopping.is_set():
                    return
                horizon = self.rt.now_us(True) + AHEAD_US
                ahead: list[tuple[int, int]] = []
                while upcoming and upcoming[0][0] <= horizon:
                    due, sid = heapq.heappop(upcoming)
                    ahead.append((sid, due))
                if len(self._ready) > 100_000:  # claimed ahead, never run (cancelled, paused...)
                    self._ready.clear()
            asks = {(c.sid, c.grid): c.epoch for c in claims}  # one row per firing and statement
            for sid, due in ahead:
                held = self.owned.get(sid % self.parts)
                if held is not None:
                    asks.setdefault((sid, due), held[0])
            got: dict[tuple[int, int], tuple[int, int]] = {}
            if asks:
                try:
                    got = self.store.claim(self.member, [(k[0], k[1], e) for k, e in asks.items()], self._claim_conn)
                except Exception:
                    logger.exception("tickwork: claiming %d firing(s) failed", len(asks))
            with self._cv:
                for c in claims:
                    # Refused as claimed already: maybe by the claim ahead an earlier statement made.
                    c.result = got.pop((c.sid, c.grid), None) or self._ready.pop((c.sid, c.grid), None)
                    c.done.set()
                self._ready.update(got)
            self._flush_completed()

    def _flush_completed(self) -> None:
        with self._cv:
            done, self._completed = self._completed, []
        if done:
            try:
                self.store.complete(done, self._claim_conn)
            except Exception:
                logger.exception("tickwork: recording %d completion(s) failed", len(done))
