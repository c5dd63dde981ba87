"""The execution pool, and the runtime's one fallback for a stopped pool
(`ExecutionPool.submit_or_run`): whatever is handed over during stop still ends."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from actors import Scheduler
from actors.activity import Activity
from actors.executor import ExecutionPool
from actors.leasing import Leases


def test_submit_or_run_queues_while_running_and_runs_here_once_stopped() -> None:
    pool = ExecutionPool(2, name="t-exec")
    ran: list[str] = []
    done = threading.Event()
    pool.submit_or_run(lambda: (ran.append(threading.current_thread().name), done.set()))
    assert done.wait(5)
    assert ran[0].startswith("t-exec-")
    assert pool.shutdown(timeout=5)
    pool.submit_or_run(lambda: ran.append(threading.current_thread().name))
    assert ran[1] == threading.current_thread().name  # stopped: run by the caller
    with pytest.raises(RuntimeError, match="stopped"):
        pool.submit(lambda: None)  # the strict form still refuses


def test_a_job_queued_behind_the_stop_marks_is_run_by_shutdown() -> None:
    pool = ExecutionPool(1, name="t-exec")
    pool.start()
    gate = threading.Event()
    pool.submit(gate.wait)  # holds the only thread
    ran: list[int] = []
    stopper = threading.Thread(target=pool.shutdown, kwargs={"timeout": 5})
    stopper.start()
    while not pool._stopped:  # the stop mark is queued before anything below
        pass
    pool._queue.put(lambda: ran.append(1))  # what a submit racing shutdown leaves behind
    gate.set()
    stopper.join(5)
    assert ran == [1]


def test_a_lease_made_as_the_pool_stops_releases_every_token() -> None:
    sched = Scheduler().start()
    rt: Any = sched._rt
    try:
        assert sched.wait_idle(5)
        rt.pool.shutdown(timeout=5)
        activity: Activity = rt.activity
        leases: Leases = rt.leases
        now = rt.timebase.timeline_us()
        run = [1, now + 3_000, 1, 2, now + 3_500, 1]  # due soon: a lease would nap until then
        activity.add(2)  # the clock's tokens for the two ticks
        leases.lease(run)
        assert activity.count == 0  # served here at once: the naps end, the ticks are dropped
    finally:
        assert sched.stop(timeout=10)


def test_an_execution_after_the_pool_stopped_is_booked_as_skipped() -> None:
    sched = Scheduler().start()
    rt: Any = sched._rt
    ran: list[int] = []
    try:
        sid = sched.schedule_at_interval(ran.append, (1,), 3600)
        st = rt.states[sid]
        assert sched.wait_idle(5)
        rt.stopping = True
        rt.pool.shutdown(timeout=5)
        st.running = True
        st.status = type(st.status).RUNNING
        st.exec_no += 1
        rt.activity.add()
        rt.execute(st, st.next_due_us, st.generation, st.exec_no, None)
        assert rt.activity.count == 0 and not st.running and ran == []
    finally:
        assert sched.stop(timeout=10)
