"""Dispatcher- and PooledActor-specific behaviour (the shared semantics are in
test_pool_conformance.py)."""

from __future__ import annotations

import gc
import itertools
import logging
import threading
import tracemalloc
import weakref
from collections.abc import Iterator
from typing import Any

import pykka
import pytest
from pykka._envelope import Envelope

from actors.pool import STOP, Dispatcher, PooledActor, PooledFuture, run_here, run_turn

TIMEOUT = 5.0


@pytest.fixture
def dispatchers() -> Iterator[list[Dispatcher]]:
    """Dispatchers a test creates; all are shut down (and joined) afterwards."""
    created: list[Dispatcher] = []
    yield created
    for d in created:
        assert d.shutdown(timeout=TIMEOUT), d
        assert not any(t.is_alive() for t in d.threads)


@pytest.fixture
def make(dispatchers: list[Dispatcher]):
    def make(workers: int = 2, **kwargs: Any) -> Dispatcher:
        kwargs.setdefault("name", "tickwork-dispatch-test")
        d = Dispatcher(workers, **kwargs)
        dispatchers.append(d)
        return d

    return make


class Echo(PooledActor):
    def on_receive(self, message: Any) -> Any:
        return message


class Gate(PooledActor):
    """Blocks its worker on ``gate`` while handling "block" (signals ``entered``)."""

    def __init__(self, entered: threading.Event, gate: threading.Event) -> None:
        super().__init__()
        self.entered = entered
        self.gate = gate

    def on_receive(self, message: Any) -> Any:
        if message == "block":
            self.entered.set()
            assert self.gate.wait(TIMEOUT)
        return message


class Boom(PooledActor):
    def __init__(self, exc: BaseException | None = None, stopped: threading.Event | None = None) -> None:
        super().__init__()
        self.exc = exc
        self.stopped = stopped
        self.failures: list[BaseException] = []

    def on_receive(self, message: Any) -> Any:
        if message == "raise":
            raise self.exc  # type: ignore[misc]
        return message

    def on_failure(self, exc_type: Any, exc_value: Any, tb: Any) -> None:
        self.failures.append(exc_value)

    def on_stop(self) -> None:
        if self.stopped is not None:
            self.stopped.set()


class DeathLog:
    """A death hook recording ``(actor_ref, exc)`` calls."""

    def __init__(self, expected: int = 1) -> None:
        self.calls: list[tuple[pykka.ActorRef[Any], BaseException | None]] = []
        self.expected = expected
        self.done = threading.Event()
        self.lock = threading.Lock()

    def __call__(self, ref: pykka.ActorRef[Any], exc: BaseException | None) -> None:
        with self.lock:
            self.calls.append((ref, exc))
            if len(self.calls) >= self.expected:
                self.done.set()


def _dispatch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("tickwork-dispatch")]


# -- construction ----------------------------------------------------------------------


def test_start_without_a_dispatcher_raises_and_explains() -> None:
    with pytest.raises(RuntimeError, match="dispatcher="):
        Echo.start()


def test_class_attribute_dispatcher_is_the_default(make) -> None:
    d = make()

    class Defaulted(Echo):
        dispatcher = d

    ref = Defaulted.start()
    assert ref.ask(1, timeout=TIMEOUT) == 1
    assert d.actor_count == 1


@pytest.mark.parametrize("kwargs", [{"workers": 0}, {"workers": True}, {"batch": 0}, {"batch": 1.5}])
def test_invalid_dispatcher_arguments(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Dispatcher(**kwargs)


def test_workers_start_lazily_named_and_non_daemon(make) -> None:
    d = make(3, name="tickwork-dispatch-lazy")
    assert d.threads == ()
    Echo.start(dispatcher=d)
    assert [t.name for t in d.threads] == [f"tickwork-dispatch-lazy-{i}" for i in range(3)]
    assert all(t.is_alive() and not t.daemon for t in d.threads)
    threads = d.threads
    assert d.start() is d  # idempotent
    assert d.threads == threads


def test_daemon_workers_on_request(make) -> None:
    d = make(2, name="tickwork-dispatch-daemon", daemon=True)
    assert Echo.start(dispatcher=d).ask(1, timeout=TIMEOUT) == 1
    assert all(t.daemon for t in d.threads)


def test_ask_returns_a_pooled_threading_future(make) -> None:
    ref = Echo.start(dispatcher=make())
    future = ref.ask("x", block=False)
    assert isinstance(future, PooledFuture)
    assert isinstance(future, pykka.ThreadingFuture)
    assert future.get(timeout=TIMEOUT) == "x"


# -- scheduling ----------------------------------------------------------------------------


def test_many_more_actors_than_workers_all_progress(make) -> None:
    d = make(2)
    refs = [Echo.start(dispatcher=d) for _ in range(500)]
    futures = [ref.ask(i, block=False) for i, ref in enumerate(refs)]
    assert [f.get(timeout=TIMEOUT) for f in futures] == list(range(500))


def test_a_blocking_handler_blocks_only_one_worker(make) -> None:
    d = make(2)
    entered, gate = threading.Event(), threading.Event()
    blocker = Gate.start(entered, gate, dispatcher=d)
    blocker.tell("block")
    assert entered.wait(TIMEOUT)
    try:
        refs = [Echo.start(dispatcher=d) for _ in range(200)]
        futures = [ref.ask(i, block=False) for i, ref in enumerate(refs)]
        assert [f.get(timeout=TIMEOUT) for f in futures] == list(range(200))
        late = blocker.ask("late", block=False)
        with pytest.raises(pykka.Timeout):
            late.get(timeout=0)
    finally:
        gate.set()
    assert late.get(timeout=TIMEOUT) == "late"


class Counted(PooledActor):
    def __init__(self, counter: list[int]) -> None:
        super().__init__()
        self.counter = counter

    def on_receive(self, message: Any) -> Any:
        self.counter[0] += 1
        return self.counter[0]


class Snapshot(PooledActor):
    def __init__(self, counter: list[int]) -> None:
        super().__init__()
        self.counter = counter

    def on_receive(self, message: Any) -> Any:
        return self.counter[0]


def test_a_flooded_actor_does_not_starve_another(make) -> None:
    d = make(1, batch=8)
    entered, gate = threading.Event(), threading.Event()
    holder = Gate.start(entered, gate, dispatcher=d)
    holder.tell("block")
    assert entered.wait(TIMEOUT)  # the only worker is busy: everything below queues
    counter = [0]
    flooded = Counted.start(counter, dispatcher=d)
    flood = [flooded.ask(i, block=False) for i in range(2000)]
    probe = Snapshot.start(counter, dispatcher=d).ask("how far?", block=False)
    gate.set()
    # flooded ran one turn of `batch` messages, then went behind the probe actor
    assert probe.get(timeout=TIMEOUT) <= d.batch
    assert flood[-1].get(timeout=TIMEOUT) == 2000


def test_batch_bounds_messages_per_turn_but_keeps_order(make) -> None:
    d = make(1, batch=3)
    counter = [0]
    ref = Counted.start(counter, dispatcher=d)
    futures = [ref.ask(None, block=False) for _ in range(100)]
    assert [f.get(timeout=TIMEOUT) for f in futures] == list(range(1, 101))


# -- failures and death hooks ------------------------------------------------------------


def test_death_hook_gets_the_exception_of_a_failed_tell(make, caplog: pytest.LogCaptureFixture) -> None:
    d = make()
    hook = DeathLog()
    error = ValueError("tick failed")
    ref = Boom.start(error, dispatcher=d, on_death=hook)
    with caplog.at_level(logging.ERROR, logger="tickwork"):
        ref.tell("raise")
        assert hook.done.wait(TIMEOUT)
    assert hook.calls == [(ref, error)]
    assert not ref.is_alive()
    records = [r for r in caplog.records if r.name == "tickwork" and r.levelno == logging.ERROR]
    assert records
    assert records[0].exc_info is not None
    assert records[0].exc_info[1] is error
    assert d.actor_count == 0


def test_death_hook_gets_none_after_a_clean_stop(make) -> None:
    hook = DeathLog()
    ref = Echo.start(dispatcher=make(), on_death=hook)
    ref.tell(STOP)
    assert hook.done.wait(TIMEOUT)
    assert hook.calls == [(ref, None)]


def test_dispatcher_death_hook_is_the_default_and_per_actor_hook_wins(make) -> None:
    default, own = DeathLog(), DeathLog()
    d = make(on_actor_death=default)
    a = Boom.start(KeyError("a"), dispatcher=d)
    b = Boom.start(KeyError("b"), dispatcher=d, on_death=own)
    a.tell("raise")
    b.tell("raise")
    assert default.done.wait(TIMEOUT)
    assert own.done.wait(TIMEOUT)
    assert [(r, type(e)) for r, e in default.calls] == [(a, KeyError)]
    assert [(r, type(e)) for r, e in own.calls] == [(b, KeyError)]


def test_death_hook_sees_a_failing_on_start(make) -> None:
    class BadStart(Echo):
        def on_start(self) -> None:
            raise OSError("no")

    hook = DeathLog()
    ref = BadStart.start(dispatcher=make(), on_death=hook)
    assert hook.done.wait(TIMEOUT)
    assert isinstance(hook.calls[0][1], OSError)
    assert not ref.is_alive()


def test_a_supervisor_can_restart_from_the_death_hook(make) -> None:
    d = make()
    restarted: list[pykka.ActorRef[Any]] = []
    done = threading.Event()

    def supervise(ref: pykka.ActorRef[Any], exc: BaseException | None) -> None:
        if exc is not None:
            restarted.append(Boom.start(ValueError("again"), dispatcher=d, on_death=supervise))
            done.set()

    first = Boom.start(ValueError("once"), dispatcher=d, on_death=supervise)
    first.tell("raise")
    assert done.wait(TIMEOUT)
    assert restarted[0].ask("ok", timeout=TIMEOUT) == "ok"


@pytest.mark.parametrize("exc", [KeyboardInterrupt(), SystemExit(3), GeneratorExit(), type("Fatal", (BaseException,), {})()])
def test_a_base_exception_kills_only_that_actor_and_the_workers_survive(make, exc: BaseException) -> None:
    d = make(2)
    bystander = Echo.start(dispatcher=d)
    bystander.ask("warm", timeout=TIMEOUT)
    threads = d.threads
    registered = pykka.ThreadingActor.start()  # Pykka would stop it via ActorRegistry.stop_all()
    try:
        hook = DeathLog()
        victim = Boom.start(exc, dispatcher=d, on_death=hook)
        victim.tell("raise")
        assert hook.done.wait(TIMEOUT)
        assert hook.calls == [(victim, exc)]
        assert not victim.is_alive()
        assert d.threads == threads
        assert all(t.is_alive() for t in threads)
        assert [bystander.ask(i, timeout=TIMEOUT) for i in range(10)] == list(range(10))
        assert registered.is_alive()
        # a BaseException from an ask handler is returned to the caller, and kills the actor
        hook2 = DeathLog()
        victim2 = Boom.start(exc, dispatcher=d, on_death=hook2)
        with pytest.raises(type(exc)):
            victim2.ask("raise", timeout=TIMEOUT)
        assert hook2.done.wait(TIMEOUT)
        assert not victim2.is_alive()
        assert bystander.ask("still here", timeout=TIMEOUT) == "still here"
    finally:
        registered.stop(timeout=TIMEOUT)


def test_the_worker_survives_failing_hooks(make) -> None:
    class WorseFailure(Boom):
        def on_failure(self, *exc_info: Any) -> None:
            raise RuntimeError("on_failure failed")

        def on_stop(self) -> None:
            raise RuntimeError("on_stop failed")

    def bad_hook(ref: pykka.ActorRef[Any], exc: BaseException | None) -> None:
        raise RuntimeError("hook failed")

    d = make(1)
    a = WorseFailure.start(ValueError("x"), dispatcher=d, on_death=bad_hook)
    b = WorseFailure.start(ValueError("x"), dispatcher=d, on_death=bad_hook)
    a.tell("raise")
    assert b.stop(timeout=TIMEOUT) is True
    assert a.actor_stopped.wait(TIMEOUT)
    assert Echo.start(dispatcher=d).ask("alive", timeout=TIMEOUT) == "alive"
    assert d.threads[0].is_alive()


def test_an_exception_in_an_ask_handler_does_not_kill_the_actor(make) -> None:
    hook = DeathLog()
    ref = Boom.start(ValueError("bad request"), dispatcher=make(), on_death=hook)
    with pytest.raises(ValueError, match="bad request"):
        ref.ask("raise", timeout=TIMEOUT)
    assert ref.ask("fine", timeout=TIMEOUT) == "fine"
    assert hook.calls == []


# -- futures and proxies inside handlers ---------------------------------------------------


class Forwarder(PooledActor):
    def __init__(self, target: pykka.ActorRef[Any]) -> None:
        super().__init__()
        self.target = target

    def on_receive(self, message: Any) -> Any:
        if message == "blocking-ask":
            return self.target.ask("x")
        if message == "blocking-stop":
            return self.target.stop()
        if message == "poll":
            future = self.target.ask("x", block=False)
            try:
                return future.get(timeout=0)
            except pykka.Timeout:
                return "not yet"
        # non-blocking use of a proxy from inside a pooled actor
        proxy = self.target.proxy()
        proxy.add.defer(message)
        proxy.add(message)  # future dropped on purpose
        return "forwarded"


class Adder(PooledActor):
    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    def add(self, n: int) -> int:
        self.total += n
        return self.total


def test_blocking_on_a_future_inside_a_handler_raises(make) -> None:
    d = make(2)
    target = Echo.start(dispatcher=d)
    forwarder = Forwarder.start(target, dispatcher=d)
    with pytest.raises(RuntimeError, match="deadlock"):
        forwarder.ask("blocking-ask", timeout=TIMEOUT)
    assert forwarder.ask("poll", timeout=TIMEOUT) in ("x", "not yet")
    assert forwarder.is_alive() and target.is_alive()
    # stop() sends the stop message, then refuses to wait for it
    with pytest.raises(RuntimeError, match="deadlock"):
        forwarder.ask("blocking-stop", timeout=TIMEOUT)
    assert target.actor_stopped.wait(TIMEOUT)
    assert forwarder.is_alive()


def test_proxies_work_without_blocking_inside_handlers(make) -> None:
    d = make(2)
    adder = Adder.start(dispatcher=d)
    forwarder = Forwarder.start(adder, dispatcher=d)
    assert forwarder.ask(5, timeout=TIMEOUT) == "forwarded"
    # both calls were queued on the adder before the forwarder replied
    assert adder.proxy().total.get(timeout=TIMEOUT) == 10


# -- stopping and shutdown --------------------------------------------------------------------


def test_shutdown_stops_actors_fails_pending_asks_and_joins_every_worker() -> None:
    preexisting = set(_dispatch_threads())  # other suites' dispatchers are not ours to judge
    d = Dispatcher(1, name="tickwork-dispatch-shutdown")
    entered, gate = threading.Event(), threading.Event()
    stopped = [threading.Event() for _ in range(20)]
    hook = DeathLog(expected=21)
    idle = [Boom.start(None, ev, dispatcher=d, on_death=hook) for ev in stopped]
    holder = Gate.start(entered, gate, dispatcher=d, on_death=hook)
    holder.tell("block")
    assert entered.wait(TIMEOUT)
    pending = [ref.ask("never handled", block=False) for ref in idle]
    result: list[bool] = []
    shutting = threading.Thread(target=lambda: result.append(d.shutdown(timeout=TIMEOUT)))
    shutting.start()
    try:
        # the dispatcher refuses new actors as soon as it is shutting down
        while not d.is_shut_down:
            shutting.join(0.001)
        with pytest.raises(RuntimeError, match="shut down"):
            Echo.start(dispatcher=d)
    finally:
        gate.set()
    shutting.join(TIMEOUT)
    assert result == [True]
    assert all(ev.is_set() for ev in stopped)  # on_stop ran
    for future in pending:
        with pytest.raises(pykka.ActorDeadError):
            future.get(timeout=TIMEOUT)
    assert hook.done.is_set()
    assert all(exc is None for _, exc in hook.calls)
    assert not any(ref.is_alive() for ref in [*idle, holder])
    assert d.actor_count == 0
    assert not any(t.is_alive() for t in d.threads)
    assert [t for t in _dispatch_threads() if t not in preexisting] == []
    assert d.shutdown(timeout=TIMEOUT) is True  # idempotent
    with pytest.raises(RuntimeError):
        d.start()
    with pytest.raises(RuntimeError):
        Echo.start(dispatcher=d)


def test_shutdown_of_an_unstarted_dispatcher() -> None:
    d = Dispatcher()
    assert d.shutdown() is True
    assert d.threads == ()
    with pytest.raises(RuntimeError):
        Echo.start(dispatcher=d)


def test_shutdown_reports_a_worker_that_cannot_be_joined() -> None:
    d = Dispatcher(1, name="tickwork-dispatch-stuck")
    entered, gate = threading.Event(), threading.Event()
    Gate.start(entered, gate, dispatcher=d).tell("block")
    assert entered.wait(TIMEOUT)
    try:
        assert d.shutdown(timeout=0.05) is False
    finally:
        gate.set()
    assert d.shutdown(timeout=TIMEOUT) is True


def test_shutdown_from_a_worker_thread_is_refused(make) -> None:
    d = make()

    class Shutter(PooledActor):
        def on_receive(self, message: Any) -> Any:
            return d.shutdown()

    with pytest.raises(RuntimeError, match="worker thread"):
        Shutter.start(dispatcher=d).ask("go", timeout=TIMEOUT)


def test_context_manager_shuts_down() -> None:
    with Dispatcher(2, name="tickwork-dispatch-ctx") as d:
        ref = Echo.start(dispatcher=d)
        assert ref.ask(1, timeout=TIMEOUT) == 1
    assert not ref.is_alive()
    assert not any(t.is_alive() for t in d.threads)


def test_actor_stopped_wait(make) -> None:
    ref = Echo.start(dispatcher=make())
    assert ref.actor_stopped.wait(0.001) is False
    waiter = threading.Thread(target=ref.actor_stopped.wait, args=(TIMEOUT,))
    waiter.start()
    ref.stop(block=False)
    waiter.join(TIMEOUT)
    assert not waiter.is_alive()
    assert ref.actor_stopped.wait(0) is True


def test_a_message_racing_with_death_fails_fast(make) -> None:
    ref = Echo.start(dispatcher=make())
    inbox = ref.actor_inbox  # what tell/ask use after their liveness check
    ref.stop(timeout=TIMEOUT)
    future = PooledFuture()
    inbox.put(Envelope("late", reply_to=future))
    with pytest.raises(pykka.ActorDeadError):
        future.get(timeout=0)
    inbox.put(Envelope("late tell"))  # dropped, not stranded
    assert inbox.empty()


def test_running_actors_are_kept_alive_and_stopped_ones_released(make) -> None:
    class Me(PooledActor):
        def on_receive(self, message: Any) -> Any:
            return weakref.ref(self)

    ref = Me.start(dispatcher=make())
    actor = ref.ask("who", timeout=TIMEOUT)
    gc.collect()
    assert actor() is not None  # nobody but the dispatcher holds it strongly (pykka 4.5)
    assert ref.ask("still there?", timeout=TIMEOUT) is not None
    ref.stop(timeout=TIMEOUT)
    if hasattr(ref, "_actor_weakref"):  # older Pykka's ActorRef holds its actor strongly
        gc.collect()
        assert actor() is None


# -- registry and scale --------------------------------------------------------------------


def test_pooled_actors_stay_out_of_the_actor_registry(make) -> None:
    d = make()
    before = len(pykka.ActorRegistry.get_all())
    refs = [Echo.start(dispatcher=d) for _ in range(1000)]
    assert len(pykka.ActorRegistry.get_all()) == before
    for ref in refs:
        ref.tell(STOP)
    assert all(ref.actor_stopped.wait(TIMEOUT) for ref in refs)
    assert len(pykka.ActorRegistry.get_all()) == before


def test_register_opt_in(make) -> None:
    d = make()
    before = len(pykka.ActorRegistry.get_all())
    ref = Echo.start(dispatcher=d, register=True)
    assert pykka.ActorRegistry.get_by_urn(ref.actor_urn) is ref
    ref.stop(timeout=TIMEOUT)
    assert pykka.ActorRegistry.get_by_urn(ref.actor_urn) is None
    hook = DeathLog()
    failing = Boom.start(ValueError("x"), dispatcher=d, register=True, on_death=hook)
    assert pykka.ActorRegistry.get_by_urn(failing.actor_urn) is failing
    failing.tell("raise")
    assert hook.done.wait(TIMEOUT)
    assert pykka.ActorRegistry.get_by_urn(failing.actor_urn) is None
    assert len(pykka.ActorRegistry.get_all()) == before


def test_urns_are_unique(make) -> None:
    d = make()
    refs = [Echo.start(dispatcher=d) for _ in range(1000)]
    assert len({ref.actor_urn for ref in refs}) == 1000
    assert all(ref.actor_urn.startswith("urn:uuid:") and len(ref.actor_urn) == 45 for ref in refs)


def test_ten_thousand_actors_fan_out_and_stop(make) -> None:
    n = 10_000
    d = make(2)
    processed = threading.Event()
    count = itertools.count(1)

    class Tick(PooledActor):
        def on_receive(self, message: Any) -> None:
            if next(count) == n:
                processed.set()

    deaths = DeathLog(expected=n)
    refs = [Tick.start(dispatcher=d, on_death=deaths) for _ in range(n)]
    assert d.actor_count == n
    for ref in refs:
        ref.tell("tick")
    assert processed.wait(TIMEOUT)
    for ref in refs:
        ref.tell(STOP)
    assert deaths.done.wait(TIMEOUT)
    assert all(exc is None for _, exc in deaths.calls)
    assert d.actor_count == 0
    assert not any(ref.is_alive() for ref in refs)


def test_an_idle_actor_costs_little_memory(make) -> None:
    d = make()
    n = 5000
    Echo.start(dispatcher=d).ask("warm up", timeout=TIMEOUT)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        refs = [Echo.start(dispatcher=d) for _ in range(n)]
        refs[-1].ask("all started", timeout=TIMEOUT)
        per_actor = (tracemalloc.get_traced_memory()[0] - before) / n
    finally:
        tracemalloc.stop()
    assert per_actor < 2600, per_actor  # a ThreadingActor is ~22 KiB, mostly its thread
    for ref in refs:
        ref.tell(STOP)


# -- runtime fast paths: launch, post, caller-run turns, lazy refs, the live ring --------


class Recorder(PooledActor):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[Any] = []
        self.threads: list[str] = []

    def on_receive(self, message: Any) -> Any:
        self.seen.append(message)
        self.threads.append(threading.current_thread().name)
        return len(self.seen)


def test_launch_returns_the_actor_and_makes_refs_and_urns_on_first_use(make) -> None:
    d = make()
    actor = Recorder.launch(dispatcher=d)
    assert "_actor_ref" not in actor.__dict__ and "_urn_no" not in actor.__dict__
    ref = actor.actor_ref
    assert actor.actor_ref is ref  # one ref per actor
    assert ref.actor_urn == actor.actor_urn == actor.actor_urn
    other = Recorder.launch(dispatcher=d)
    assert other.actor_urn != actor.actor_urn
    assert ref.ask("x", timeout=TIMEOUT) == 1
    assert ref.actor_stopped is actor.actor_inbox and not ref.actor_stopped.is_set()


def test_stopping_an_actor_nobody_made_a_ref_for_leaves_the_registry_alone(make) -> None:
    # Issue 16 item 18: stopping unregisters an actor that is in ActorRegistry, but an
    # actor whose ref was never made cannot be there: no ref is made, nothing is searched.
    d = make()
    other = pykka.ThreadingActor.start()  # a non-empty registry
    try:
        actor = Recorder.launch(dispatcher=d)
        actor.actor_inbox.post("x")
        actor.actor_inbox.post(STOP)
        assert actor.actor_inbox.wait(TIMEOUT)
        assert d.shutdown(timeout=TIMEOUT)  # the teardown has run too
        assert "_actor_ref" not in actor.__dict__
        assert actor.seen == ["x"]
        assert other in pykka.ActorRegistry.get_all()
    finally:
        other.stop(timeout=TIMEOUT)


def test_post_is_a_tell_in_the_same_order(make) -> None:
    d = make(workers=2)
    actor = Recorder.launch(dispatcher=d)
    ref = actor.actor_ref
    for i in range(200):
        if i % 2:
            actor.actor_inbox.post(i)
        else:
            ref.tell(i)
    assert ref.ask("end", timeout=TIMEOUT) == 201
    assert actor.seen == [*range(200), "end"]


def test_post_keeps_each_senders_order_under_concurrency(make) -> None:
    d = make(workers=2)
    actors = [Recorder.launch(dispatcher=d) for _ in range(4)]

    def sender(k: int) -> None:
        for i in range(500):
            here: list[Any] = []
            actors[i % 4].actor_inbox.post((k, i), here if i % 3 == 0 else None)
            run_here(here)  # sometimes this thread takes the turn itself

    threads = [threading.Thread(target=sender, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    for a in actors:
        assert a.actor_ref.ask("end", timeout=TIMEOUT) == 501
        for k in range(4):
            mine = [i for (kk, i) in a.seen[:-1] if kk == k]
            assert mine == sorted(mine) and len(mine) == 125


def test_run_here_runs_the_turn_on_the_calling_thread_as_a_worker(make) -> None:
    d = make()

    class Waits(PooledActor):
        def on_receive(self, message: Any) -> Any:
            self.thread = threading.current_thread()
            with pytest.raises(RuntimeError, match="dispatcher worker thread"):
                PooledFuture().get(timeout=1)  # blocking is refused here too
            return None

    actor = Waits.launch(dispatcher=d)
    actor.actor_ref.ask("warm", timeout=TIMEOUT)  # on_start done, idle again
    here: list[Any] = []
    actor.actor_inbox.post("go", here)
    assert here == [actor.actor_inbox]
    run_here(here)
    assert actor.thread is threading.current_thread()
    with pytest.raises(pykka.Timeout):
        PooledFuture().get(timeout=0.01)  # an ordinary thread again afterwards
    assert actor.actor_inbox.post("again", True) is True
    run_turn(actor.actor_inbox)


def test_post_to_a_stopped_actor_raises_like_tell(make) -> None:
    d = make()
    actor = Recorder.launch(dispatcher=d)
    actor.actor_ref.stop(timeout=TIMEOUT)
    with pytest.raises(pykka.ActorDeadError):
        actor.actor_inbox.post("late")


def test_the_live_ring_counts_and_shutdown_stops_what_is_left(make) -> None:
    d = make(workers=2)
    deaths = DeathLog(expected=300)
    actors = [Recorder.launch(dispatcher=d, on_death=deaths) for _ in range(300)]
    assert d.actor_count == 300
    for a in actors[::2]:
        a.actor_inbox.post(STOP)
    assert actors[-2].actor_stopped.wait(TIMEOUT)
    for a in actors[::2]:
        assert a.actor_stopped.wait(TIMEOUT)
    deadline = threading.Event()
    for _ in range(100):
        if d.actor_count == 150:
            break
        deadline.wait(0.01)
    assert d.actor_count == 150
    assert d.shutdown(timeout=TIMEOUT)
    assert deaths.done.wait(TIMEOUT)
    assert d.actor_count == 0 and all(exc is None for _, exc in deaths.calls)


def test_the_package_exports_what_the_module_did() -> None:
    import actors.pool as pool

    assert sorted(pool.__all__) == [
        "DeathHook", "Dispatcher", "PooledActor", "PooledFuture", "STOP", "run_here", "run_turn",
    ]
    assert pykka.messages._ActorStop() == pool.STOP
    assert issubclass(pool.PooledFuture, pykka.ThreadingFuture)
    assert pool.Dispatcher.__module__ == "actors.pool.dispatcher"
    assert "Pykka internals relied on" in (pool.__doc__ or "")
