"""One actor-semantics suite, run against pykka.ThreadingActor and tickwork's PooledActor.

Every test builds its actor classes through the ``spawn`` fixture, which mixes the
test's behaviour class into either base and starts it (on a fresh Dispatcher for
PooledActor); the fixture stops everything afterwards. Both types must agree.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import pykka
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors.pool import STOP, Dispatcher, PooledActor

TIMEOUT = 5.0


class Spawner:
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.base: type[pykka.Actor] = pykka.ThreadingActor if kind == "threading" else PooledActor
        self.dispatcher = (
            Dispatcher(workers=2, name="tickwork-dispatch-conformance") if kind == "pooled" else None
        )
        self.refs: list[pykka.ActorRef[Any]] = []
        self._classes: dict[type, type] = {}

    def __call__(
        self, behaviour: type, *args: Any, registered: bool = False, **kwargs: Any
    ) -> pykka.ActorRef[Any]:
        """Start ``behaviour`` on this kind's base; ``registered``: in ``ActorRegistry``
        (a ThreadingActor always is; a PooledActor is started with ``register=True``)."""
        cls = self.actor_class(behaviour)
        if self.dispatcher is not None:
            kwargs["dispatcher"] = self.dispatcher
            kwargs["register"] = registered
        ref = cls.start(*args, **kwargs)
        self.refs.append(ref)
        return ref

    def actor_class(self, behaviour: type) -> type:
        cls = self._classes.get(behaviour)
        if cls is None:
            cls = type(f"{behaviour.__name__}{self.base.__name__}", (behaviour, self.base), {})
            self._classes[behaviour] = cls
        return cls

    def close(self) -> None:
        for ref in self.refs:
            if ref.is_alive():
                ref.stop(block=False)
        for ref in self.refs:
            assert ref.actor_stopped.wait(TIMEOUT)
        if self.dispatcher is not None:
            assert self.dispatcher.shutdown(timeout=TIMEOUT)


@pytest.fixture(params=["threading", "pooled"])
def spawn(request: pytest.FixtureRequest):
    spawner = Spawner(request.param)
    try:
        yield spawner
    finally:
        spawner.close()


# -- behaviours (mixed into ThreadingActor or PooledActor) ---------------------------


class Fatal(BaseException):
    """A BaseException that is not an Exception (like SystemExit, KeyboardInterrupt)."""


class Recorder:
    """Records every message; ``"log"`` returns the record, ``"boom"`` raises."""

    def __init__(self, events: dict[str, threading.Event] | None = None) -> None:
        super().__init__()
        self.log: list[Any] = []
        self.events = events or {}

    def on_receive(self, message: Any) -> Any:
        if message == "log":
            return list(self.log)
        if message == "boom":
            raise ValueError("boom")
        if message == "fatal":
            raise Fatal("fatal")
        if message == "stop-me":
            self.log.append(message)
            self.stop()
            return None
        if isinstance(message, tuple) and message[:1] == ("wait",):
            self.events["entered"].set()
            assert self.events[message[1]].wait(TIMEOUT)
        self.log.append(message)
        return ("ack", message)

    def on_stop(self) -> None:
        if "stopped" in self.events:
            self.events["stopped"].set()

    def on_failure(self, exc_type: Any, exc_value: Any, tb: Any) -> None:
        self.failure = exc_value
        if "failed" in self.events:
            self.events["failed"].set()


def _events(*names: str) -> dict[str, threading.Event]:
    return {name: threading.Event() for name in names}


# -- ordering -------------------------------------------------------------------------


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    senders=st.lists(
        st.lists(st.booleans(), max_size=40),  # per message: ask (True) or tell (False)
        min_size=1,
        max_size=5,
    )
)
def test_each_senders_messages_arrive_in_order_and_none_is_lost(
    spawn: Spawner, senders: list[list[bool]]
) -> None:
    ref = spawn(Recorder)
    barrier = threading.Barrier(len(senders))
    futures: list[list[pykka.Future[Any]]] = [[] for _ in senders]

    def send(sender: int, kinds: list[bool]) -> None:
        barrier.wait(TIMEOUT)
        for seq, is_ask in enumerate(kinds):
            if is_ask:
                futures[sender].append(ref.ask((sender, seq), block=False))
            else:
                ref.tell((sender, seq))

    threads = [threading.Thread(target=send, args=(s, k)) for s, k in enumerate(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
        assert not thread.is_alive()

    log = ref.ask("log", timeout=TIMEOUT)
    assert len(log) == sum(len(kinds) for kinds in senders)
    for sender, kinds in enumerate(senders):
        assert [seq for (s, seq) in log if s == sender] == list(range(len(kinds)))
        expected = [("ack", (sender, seq)) for seq, is_ask in enumerate(kinds) if is_ask]
        assert [f.get(timeout=TIMEOUT) for f in futures[sender]] == expected
    assert ref.stop(timeout=TIMEOUT) is True


# -- ask / proxies ------------------------------------------------------------------------


def test_ask_returns_the_handlers_value(spawn: Spawner) -> None:
    ref = spawn(Recorder)
    assert ref.ask("a", timeout=TIMEOUT) == ("ack", "a")
    future = ref.ask("b", block=False)
    assert isinstance(future, pykka.ThreadingFuture)
    assert future.get(timeout=TIMEOUT) == ("ack", "b")
    assert ref.ask("log", timeout=TIMEOUT) == ["a", "b"]


def test_ask_propagates_the_exception_and_the_actor_keeps_running(spawn: Spawner) -> None:
    ref = spawn(Recorder, _events("failed"))
    with pytest.raises(ValueError, match="boom"):
        ref.ask("boom", timeout=TIMEOUT)
    future = ref.ask("boom", block=False)
    with pytest.raises(ValueError, match="boom"):
        future.get(timeout=TIMEOUT)
    assert ref.is_alive()
    assert ref.ask("after", timeout=TIMEOUT) == ("ack", "after")


class Calculator:
    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    def add(self, n: int) -> int:
        self.total += n
        return self.total

    def fail(self) -> None:
        raise KeyError("nope")


def test_proxy_attribute_get_set_and_method_calls(spawn: Spawner) -> None:
    proxy = spawn(Calculator).proxy()
    assert proxy.total.get(timeout=TIMEOUT) == 0
    assert proxy.add(2).get(timeout=TIMEOUT) == 2
    proxy.add.defer(3)
    assert proxy.total.get(timeout=TIMEOUT) == 5
    proxy.total = 10
    assert proxy.add(1).get(timeout=TIMEOUT) == 11
    with pytest.raises(KeyError):
        proxy.fail().get(timeout=TIMEOUT)
    assert proxy.actor_ref.is_alive()


# -- lifecycle hooks -------------------------------------------------------------------


class StartRecorder(Recorder):
    def __init__(self) -> None:
        super().__init__()
        self.actor_ref.tell("told-from-init")  # queued before the actor runs

    def on_start(self) -> None:
        self.log.append("on_start")


def test_on_start_runs_before_the_first_message(spawn: Spawner) -> None:
    ref = spawn(StartRecorder)
    ref.tell("first")
    assert ref.ask("log", timeout=TIMEOUT) == ["on_start", "told-from-init", "first"]


def test_on_stop_runs_on_stop_and_the_actor_dies(spawn: Spawner) -> None:
    events = _events("stopped", "failed")
    ref = spawn(Recorder, events)
    ref.tell("a")
    assert ref.is_alive()
    assert ref.stop(timeout=TIMEOUT) is True
    assert events["stopped"].is_set()
    assert not events["failed"].is_set()
    assert not ref.is_alive()
    assert ref.stop(timeout=TIMEOUT) is False  # already dead


def test_stop_without_blocking_returns_a_future(spawn: Spawner) -> None:
    events = _events("stopped")
    ref = spawn(Recorder, events)
    assert ref.stop(block=False).get(timeout=TIMEOUT) is True
    assert events["stopped"].is_set()


def test_telling_the_stop_message_stops_the_actor(spawn: Spawner) -> None:
    events = _events("stopped")
    ref = spawn(Recorder, events)
    ref.tell("a")
    ref.tell(STOP)
    assert ref.actor_stopped.wait(TIMEOUT)
    assert events["stopped"].wait(TIMEOUT)


def test_self_stop_handles_already_queued_messages_first(spawn: Spawner) -> None:
    events = _events("stopped", "entered", "gate")
    ref = spawn(Recorder, events)
    ref.tell(("wait", "gate"))  # hold the actor so the next three queue up together
    assert events["entered"].wait(TIMEOUT)
    ref.tell("stop-me")  # the handler calls self.stop(): queued behind "after"
    late = ref.ask("after", block=False)
    events["gate"].set()
    assert late.get(timeout=TIMEOUT) == ("ack", "after")
    assert events["stopped"].wait(TIMEOUT)
    assert ref.actor_stopped.wait(TIMEOUT)


def test_exception_in_a_tell_handler_calls_on_failure_and_kills_the_actor(spawn: Spawner) -> None:
    events = _events("failed", "stopped")
    ref = spawn(Recorder, events)
    ref.tell("boom")
    assert events["failed"].wait(TIMEOUT)
    assert ref.actor_stopped.wait(TIMEOUT)
    assert not ref.is_alive()
    assert not events["stopped"].is_set()  # on_stop is not called after a failure
    with pytest.raises(pykka.ActorDeadError):
        ref.tell("x")
    with pytest.raises(pykka.ActorDeadError):
        ref.ask("x", timeout=TIMEOUT)


class FailingStart(Recorder):
    def on_start(self) -> None:
        raise RuntimeError("cannot start")


def test_exception_in_on_start_kills_the_actor(spawn: Spawner) -> None:
    events = _events("stopped")
    ref = spawn(FailingStart, events)
    assert ref.actor_stopped.wait(TIMEOUT)
    assert not ref.is_alive()
    with pytest.raises(pykka.ActorDeadError):
        ref.ask("x", timeout=TIMEOUT)
    assert not events["stopped"].is_set()


def test_stop_handles_earlier_asks_and_fails_later_ones(spawn: Spawner) -> None:
    events = _events("entered", "gate", "stopped")
    ref = spawn(Recorder, events)
    ref.tell(("wait", "gate"))
    assert events["entered"].wait(TIMEOUT)
    before = ref.ask("before", block=False)
    stopped = ref.stop(block=False)
    second_stop = ref.stop(block=False)
    after = ref.ask("after", block=False)
    ref.tell("told-after")  # silently dropped, as by Pykka
    events["gate"].set()
    assert before.get(timeout=TIMEOUT) == ("ack", "before")
    assert stopped.get(timeout=TIMEOUT) is True
    assert second_stop.get(timeout=TIMEOUT) is True  # "was being stopped"
    with pytest.raises(pykka.ActorDeadError):
        after.get(timeout=TIMEOUT)
    assert events["stopped"].is_set()


def test_messages_to_a_dead_actor_raise_actor_dead_error(spawn: Spawner) -> None:
    ref = spawn(Recorder)
    ref.stop(timeout=TIMEOUT)
    with pytest.raises(pykka.ActorDeadError):
        ref.tell("x")
    with pytest.raises(pykka.ActorDeadError):
        ref.ask("x", timeout=TIMEOUT)
    with pytest.raises(pykka.ActorDeadError):
        ref.ask("x", block=False).get(timeout=TIMEOUT)
    with pytest.raises(pykka.ActorDeadError):
        ref.proxy()


def test_is_alive_tracks_the_lifecycle(spawn: Spawner) -> None:
    ref = spawn(Recorder)
    assert ref.is_alive()
    assert ref.ask("x", timeout=TIMEOUT)
    assert ref.is_alive()
    ref.stop(timeout=TIMEOUT)
    assert not ref.is_alive()
    assert ref.actor_stopped.is_set()
    assert ref.actor_stopped.wait(0)


# -- the registry (issue 16, item 18) ------------------------------------------------------


@pytest.mark.parametrize("how", ["stop", "self-stop", "failure"])
def test_an_actor_registered_by_hand_is_unregistered_when_it_stops(spawn: Spawner, how: str) -> None:
    events = _events("failed")
    ref = spawn(Recorder, events)
    cls = spawn.actor_class(Recorder)
    if ref not in pykka.ActorRegistry.get_all():  # a ThreadingActor registers itself
        pykka.ActorRegistry.register(ref)
    assert pykka.ActorRegistry.get_by_class(cls) == [ref]
    if how == "stop":
        assert ref.stop(timeout=TIMEOUT) is True
    elif how == "self-stop":
        ref.tell("stop-me")
    else:
        ref.tell("boom")
        assert events["failed"].wait(TIMEOUT)
    assert ref.actor_stopped.wait(TIMEOUT)
    assert ref not in pykka.ActorRegistry.get_all()
    pykka.ActorRegistry.broadcast("hello", target_class=cls)  # no ActorDeadError from a dead ref


def test_stop_all_stops_registered_actors(spawn: Spawner) -> None:
    events = _events("stopped")
    ref = spawn(Recorder, events, registered=True)
    assert ref in pykka.ActorRegistry.get_by_class(spawn.actor_class(Recorder))
    assert pykka.ActorRegistry.stop_all(timeout=TIMEOUT)
    assert events["stopped"].is_set()
    assert not ref.is_alive()
    assert ref not in pykka.ActorRegistry.get_all()


# -- logging and BaseException (issue 16, item 19) -----------------------------------------


def test_an_exception_returned_to_an_asker_is_logged_at_info_on_pykka(
    spawn: Spawner, caplog: pytest.LogCaptureFixture
) -> None:
    ref = spawn(Recorder)
    with caplog.at_level(logging.DEBUG), pytest.raises(ValueError, match="boom"):
        ref.ask("boom", timeout=TIMEOUT)
    records = [r for r in caplog.records if "to caller" in r.getMessage()]
    assert [(r.name, r.levelno, r.getMessage()) for r in records] == [
        ("pykka", logging.INFO, f"Exception returned from {ref} to caller:")
    ]
    assert records[0].exc_info is not None
    assert records[0].exc_info[0] is ValueError
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]  # not a failure


def test_a_base_exception_in_a_handler_differs_deliberately(
    spawn: Spawner, caplog: pytest.LogCaptureFixture
) -> None:
    """Pykka: the actor runs ``on_stop``, then ``ActorRegistry.stop_all()`` stops every
    registered actor. tickwork: a failure of that actor alone (``on_failure``, logged
    at ERROR on "tickwork"), so its supervisor can salvage its mailbox and restart it."""
    bystander_events = _events("stopped")
    bystander = spawn(Recorder, bystander_events, registered=True)
    events = _events("failed", "stopped")
    victim = spawn(Recorder, events, registered=True)
    with caplog.at_level(logging.DEBUG):
        victim.tell("fatal")
        assert victim.actor_stopped.wait(TIMEOUT)
        if spawn.kind == "threading":
            assert events["stopped"].wait(TIMEOUT)
            assert bystander_events["stopped"].wait(TIMEOUT)  # stop_all() reached it
            assert not bystander.is_alive()
            assert not events["failed"].is_set()
        else:
            assert events["failed"].wait(TIMEOUT)
            assert not events["stopped"].is_set()
            assert bystander.ask("still here", timeout=TIMEOUT) == ("ack", "still here")
            errors = [r for r in caplog.records if r.name == "tickwork" and r.levelno == logging.ERROR]
            assert [r.getMessage() for r in errors] == [f"Unhandled exception in {victim}:"]
            assert errors[0].exc_info is not None
            assert errors[0].exc_info[0] is Fatal
    assert victim not in pykka.ActorRegistry.get_all()
