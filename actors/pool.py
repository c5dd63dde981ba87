"""Pooled Pykka actors: many actors multiplexed onto a few worker threads.

A `pykka.ThreadingActor` is one OS thread. tickwork runs one actor per schedule,
possibly 100,000 of them, so instead `PooledActor` subclasses run on a
`Dispatcher`: a fixed set of worker threads that run the actors whose mailboxes
are non-empty, at most ``batch`` messages per actor turn, re-queueing an actor
behind the others when it still has messages (fairness, like Akka's dispatcher
"throughput").

Usage::

    dispatcher = Dispatcher(workers=2)

    class Counter(PooledActor):
        def __init__(self) -> None:
            super().__init__()
            self.n = 0

        def on_receive(self, message):
            self.n += 1
            return self.n

    ref = Counter.start(dispatcher=dispatcher)     # or set Counter.dispatcher
    ref.tell("x")
    assert ref.ask("y", timeout=1) == 2
    ref.stop(block=False)                          # cheap, does not wait
    dispatcher.shutdown(timeout=5)                 # stops every actor left

Guarantees kept from Pykka
--------------------------
* One message at a time per actor, in mailbox (FIFO) order; ``on_start`` runs
  before the first message (also before messages told from ``__init__``).
* ``tell``/``ask``/``stop(block=...)``/``is_alive()``/proxies work as for
  ``ThreadingActor``. ``ask`` returns a `PooledFuture` (a
  `pykka.ThreadingFuture` subclass), so ``.get(timeout=...)`` works from any
  thread that is not a dispatcher worker.
* Stop semantics are Pykka's: messages queued before the stop message are
  handled; asks queued after it fail with `pykka.ActorDeadError`; ``on_stop``
  runs on a stop, ``on_failure`` (not ``on_stop``) after an exception in a tell
  handler, which also stops the actor. An exception in an ask handler is set
  on the future and the actor keeps running; it is logged as Pykka does, at INFO
  on the ``pykka`` logger ("Exception returned from ... to caller:").
* An actor in `pykka.ActorRegistry` leaves it when it stops or fails, however it
  got there (``start(register=True)`` or ``ActorRegistry.register(ref)`` by hand).
* Pykka's own test suite runs against `PooledActor` in CI
  (tests/actors/test_pykka_upstream.py); the tests it fails are listed there,
  each for one of the differences below.

Differences from ``ThreadingActor`` (deliberate)
------------------------------------------------
* Not registered in `pykka.ActorRegistry` unless ``start(..., register=True)``
  (the registry is a list with O(n) removal). Unregistered actors are not seen
  by ``ActorRegistry.stop_all()``/``broadcast``: stop them with
  `Dispatcher.shutdown`. Stopping costs nothing extra for the registry unless it
  holds something and the actor's ``actor_ref`` was made (else it cannot be there).
* Failures are logged to ``logging.getLogger("tickwork")`` at ERROR with the
  traceback (Pykka logs to its own logger, which has only a NullHandler, so an
  application that configured no logging would never see them). Pykka's other
  records (unexpected message, exception returned to an asker, registry) stay on
  ``pykka``.
* A ``BaseException`` (``SystemExit``, ``KeyboardInterrupt``, ...) raised by a
  handler is treated like an exception in a tell handler *for that actor only*:
  logged at ERROR, ``on_failure`` (not ``on_stop``), actor stopped, death hook
  called with it (if it came from an ask handler it is also set on the future,
  which Pykka leaves unresolved). ``ActorRegistry.stop_all()`` is never called
  and the worker thread carries on. Pykka instead runs ``on_stop`` and stops
  every registered actor, logging at DEBUG only. Why not here: one actor's
  crash must not stop the unrelated actors of the process (and would not even
  reach the unregistered pooled ones); ``on_failure`` is where tickwork's
  schedule actors hand their mailbox to the supervisor, which restarts them
  (``on_stop`` would lose those messages); and ``stop_all()`` blocks, which a
  dispatcher worker must not. (tickwork's runtime runs user code only in
  targets and callbacks, where it catches everything, BaseException included.)
* A death hook, ``start(..., on_death=f)`` or ``Dispatcher(on_actor_death=f)``
  (the per-actor hook wins), is called exactly once when the actor has
  terminated, as ``f(actor_ref, exc)``: ``exc`` is the exception that killed it,
  or ``None`` after a clean stop (stop message, ``self.stop()``, dispatcher
  shutdown). It runs on a worker thread after the actor's pending asks were
  failed; it must be quick and must not block. A supervisor restarts when
  ``exc is not None``.
* Messages that reach a pooled actor after it has fully stopped (a race with
  ``tell``'s liveness check) are dropped, and asks among them fail with
  ``ActorDeadError`` at once (a ``ThreadingActor`` leaves such futures
  unresolved forever).
* ``actor_urn`` is UUID-formatted but not a fresh uuid4 per actor: a random
  uuid4 prefix per process plus a 48-bit counter (unique, and ~10x cheaper),
  numbered when first read. ``actor_ref`` is likewise made on first read (one
  per actor), and ``actor_stopped`` is the mailbox itself: an actor nobody
  looks at costs an instance dict and its mailbox (~250 bytes with its state).

Fast paths for a runtime built on it
------------------------------------
* ``PooledActor.launch(...)`` is ``start`` returning the actor (no `ActorRef`).
* ``actor.actor_inbox.post(msg)`` is ``tell`` without an `Envelope`;
  ``post(msg, here)`` also lets the *calling* thread take the turn of an idle
  actor (`run_here` / `run_turn`) instead of handing it to a worker: the turn
  is the same (batch limit, failure handling), and the thread counts as a
  worker while it runs it. tickwork's clock thread runs the turns of the
  schedule actors it ticks, and execution threads those of the actors whose
  results they deliver, saving two thread hand-offs per firing.

Rules for code running on a dispatcher
--------------------------------------
* **Never block in a handler** (``on_receive``, proxied methods, ``on_start``,
  ``on_stop``, ``on_failure``, death hooks). A blocked handler holds one worker
  thread; with all workers blocked, every pooled actor on that dispatcher stalls.
  User work (I/O, targets, callbacks) belongs on an execution pool
  (``actors.executor.ExecutionPool``), which reports back with a ``tell``.
* **Never wait on a future in a handler.** Use ``tell``, ``proxy.method.defer()``
  or ``proxy.method()``/``ask(block=False)`` and drop or forward the future.
  To enforce this, `PooledFuture.get` raises ``RuntimeError`` when called on a
  dispatcher worker thread with a timeout other than ``0`` (``get(timeout=0)``
  is a non-blocking poll). This also forbids ``ref.ask(msg)`` (blocking),
  ``ref.stop()`` with the default ``block=True``, and ``proxy.attr = value``
  (Pykka's proxy ``__setattr__`` blocks) on pooled actors from a worker thread:
  use ``ref.stop(block=False)`` / ``ref.tell(STOP)`` there. (A blocking
  ``stop()`` there has already sent the stop message when it raises.) Futures of
  ``ThreadingActor``\\ s are plain ``ThreadingFuture``\\ s and are not guarded.
* Handlers must not rely on thread identity or thread-locals: consecutive
  messages of one actor may run on different worker threads (never
  concurrently).

Stopping cheaply and learning of deaths
---------------------------------------
``ref.stop(block=False)`` allocates two futures; ``ref.tell(STOP)`` (`STOP` is
Pykka's internal stop message, re-exported here) allocates none, and the death
hook (``exc is None``) reports when it is done. ``ref.actor_stopped.wait()``
also works (the wait-event is only created for actors somebody waits on).

Workers are non-daemon threads by default: call `Dispatcher.shutdown` (or use
the dispatcher as a context manager), or the interpreter will not exit.

Pykka internals relied on (pyproject pins ``pykka>=4.1,<4.6``; the conformance
suite in tests/actors/test_pool_conformance.py and Pykka's own suite,
tests/actors/test_pykka_upstream.py, must pass before widening it)
--------------------------------------------------------------------------
* The actor-type hooks ``Actor._create_actor_inbox``, ``Actor._create_future``,
  ``Actor._start_actor_loop``, and the attributes ``Actor.__init__`` sets
  (``actor_urn``, ``actor_inbox``, ``actor_stopped``, ``_actor_ref`` behind the
  ``actor_ref`` property): `PooledActor.__init__` sets ``actor_inbox`` and
  provides the others as properties instead of calling ``Actor.__init__``
  (which allocates a ``threading.Event``, a uuid4 and an `ActorRef`).
* ``ActorRef.__init__`` copying ``actor_inbox``/``actor_stopped`` from the actor,
  ``ActorRef.tell``/``ask`` calling ``actor_stopped.is_set()`` and
  ``actor_inbox.put(Envelope(...))``; ``ActorRef.stop`` asking
  ``messages._ActorStop()`` and building its result future with
  ``type(ask_future)()``; ``ActorProxy`` reaching the actor through the ref (a
  weakref in Pykka 4.5, so the mailbox keeps a running pooled actor alive and
  drops it when it dies; Pykka 4.1's ref holds the actor strongly).
* ``pykka._envelope.Envelope`` (``message``, ``reply_to``) and
  ``pykka.messages._ActorStop``.
* ``Actor._handle_receive`` (reused as is; it calls ``self._stop()`` on a stop
  message), and ``Actor._stop``/``Actor._handle_failure``, overridden here to skip
  ``ActorRegistry.unregister`` for actors that cannot be registered and to log to
  "tickwork". ``ActorRegistry._actor_refs``/``_actor_refs_lock`` are read to see
  whether an actor is registered (without them, ``unregister`` is always called).
  ``Actor._actor_loop*`` are not used: `Dispatcher` implements the loop with the
  same semantics.
* ``ThreadingFuture`` (subclassed by `PooledFuture`).

Concurrency: a mailbox is a ``list`` (append and ``pop(0)`` are single
GIL-atomic operations); the transitions that could lose or double-run an actor
(idle <-> scheduled, alive -> dead) happen under the mailbox's stripe lock (one
of 32 per dispatcher, so producers of different actors rarely contend); the
flags read without it (stopped, shutdown requested) only ever go one way. The
set of live actors (for shutdown) is a ring through the mailboxes under the
dispatcher's own lock. Tested on the GIL build of CPython 3.11 only.
"""

from __future__ import annotations

import itertools
import logging
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from queue import SimpleQueue
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self

import pykka
from pykka import ActorDeadError, ActorRef, ActorRegistry, ThreadingFuture
from pykka._envelope import Envelope
from pykka.messages import _ActorStop

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["STOP", "DeathHook", "Dispatcher", "PooledActor", "PooledFuture", "run_here", "run_turn"]

logger = logging.getLogger("tickwork")
_pykka_logger = logging.getLogger("pykka")  # where Pykka logs an exception returned to an asker

DeathHook = Callable[[ActorRef[Any], BaseException | None], object]
"""``hook(actor_ref, exc)``: ``exc`` killed the actor, or ``None`` for a clean stop."""

STOP: Any = _ActorStop()
"""Pykka's stop message: ``ref.tell(STOP)`` stops an actor without allocating futures."""

# Mailbox states. ``actor_stopped.is_set()`` is ``state >= _STOPPED``.
_NEW = 0  # created, on_start not yet run
_RUNNING = 1
_STOPPED = 2  # stop/failure decided (Pykka's actor_stopped set); teardown pending
_DEAD = 3  # torn down: pending messages failed, removed from the dispatcher

_SENTINEL: Any = object()  # tells a worker thread to exit
_tls = threading.local()  # .worker: Dispatcher on worker threads; .binding: see start()
_waiter_lock = threading.Lock()  # guards the lazily created Event of actor_stopped.wait()
_sq_put = list.append
_sq_pop = list.pop
#: Mailbox transitions are guarded by one of a few striped locks (per dispatcher),
#: not one dispatcher-wide lock: producers of different actors rarely contend.
_STRIPES = 32


def _on_worker_thread() -> bool:
    return getattr(_tls, "worker", None) is not None


_URN_PREFIX = "urn:uuid:" + str(uuid.uuid4())[:24]  # "xxxxxxxx-xxxx-4xxx-yxxx-"
_urn_counter = itertools.count()


def _urn(number: int) -> str:
    return f"{_URN_PREFIX}{number & 0xFFFFFFFFFFFF:012x}"


class PooledFuture(ThreadingFuture[Any]):
    """The future `ActorRef.ask` returns for a `PooledActor` (a ``ThreadingFuture``).

    ``get()`` refuses to block a dispatcher worker thread: on a worker, only
    ``get(timeout=0)`` (a poll, raising `pykka.Timeout` if there is no value yet)
    is allowed, anything else raises ``RuntimeError``. Blocking there could
    deadlock the dispatcher (the awaited actor may need that very worker).
    """

    def get(self, *, timeout: float | None = None) -> Any:
        if (timeout is None or timeout > 0) and _on_worker_thread():
            msg = (
                "blocking on a future on a tickwork dispatcher worker thread "
                "(inside a PooledActor handler or death hook) can deadlock the "
                "dispatcher: use tell(), proxy.method.defer(), ask(block=False) "
                "without get(), stop(block=False), or get(timeout=0) to poll"
            )
            raise RuntimeError(msg)
        return super().get(timeout=timeout)


class _Unbound:
    """Stand-in dispatcher of a PooledActor constructed without ``start()``."""

    __slots__ = ("_lock", "_stripes")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stripes = [self._lock]


_UNBOUND: Any = _Unbound()


def _dead_error(actor_ref: Any) -> tuple[type[ActorDeadError], ActorDeadError, None]:
    err = ActorDeadError(f"{actor_ref} stopped before handling the message")
    return (ActorDeadError, err, None)


def _fail_envelopes(envelopes: list[Any], actor_ref: Any) -> None:
    """Resolve the futures of messages an actor will never handle (as Pykka's teardown)."""
    for envelope in envelopes:
        if type(envelope) is not Envelope:
            continue  # a bare message from `_Mailbox.post`: nobody waits for it
        reply_to = envelope.reply_to
        if reply_to is None:
            continue
        try:
            if isinstance(envelope.message, _ActorStop):
                reply_to.set(None)  # "was being stopped": stop() returns True
            else:
                reply_to.set_exception(exc_info=_dead_error(actor_ref))
        except Exception:  # noqa: BLE001 - already resolved by someone else
            logger.debug("could not resolve a future of %s", actor_ref, exc_info=True)


class _Extra:
    __slots__ = ("death_exc", "on_death", "waiter")

    def __init__(self) -> None:
        self.death_exc: BaseException | None = None  # first exception that killed the actor
        self.on_death: DeathHook | None = None  # per-actor death hook
        self.waiter: threading.Event | None = None  # only once someone calls wait()


class _ExtraField:
    """A `_Mailbox` attribute kept in its `_Extra` (made on the first non-None write)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return self
        extra = obj._extra  # noqa: SLF001
        return None if extra is None else getattr(extra, self.name)

    def __set__(self, obj: Any, value: Any) -> None:
        extra = obj._extra  # noqa: SLF001
        if extra is None:
            if value is None:
                return
            extra = obj._extra = _Extra()  # noqa: SLF001
        setattr(extra, self.name, value)


class _Mailbox(list):  # type: ignore[type-arg]
    """A pooled actor's inbox, which is also its ``actor_stopped`` flag.

    One small object per actor (a list of pending messages plus a few slots, ~140
    bytes; the list's item array only exists while messages wait), where a
    ``ThreadingActor`` has a ``queue.Queue``, a ``threading.Event`` and a thread.
    ``put`` (called by ``ActorRef.tell``/``ask``) queues the envelope and, if the
    actor was idle, puts it on its dispatcher's run queue. Appending and popping
    are single (GIL-atomic) list operations; the idle/scheduled and alive/dead
    transitions take the mailbox's stripe lock.
    """

    __slots__ = (
        "_actor",  # the actor while not dead (keeps it alive; ActorRef may hold a weakref)
        "_next",  # neighbours in the dispatcher's ring of live mailboxes
        "_prev",
        "_dispatcher",
        "_lock",  # the dispatcher's stripe lock for this mailbox
        "_scheduled",  # on the run queue or being run by a worker
        "_state",
        "_stop_now",  # dispatcher shutdown: stop before the next message
        "_extra",  # _Extra: death hook, death exception, wait() event (rarely set)
    )

    _death_exc = _ExtraField("death_exc")
    _on_death = _ExtraField("on_death")
    _waiter = _ExtraField("waiter")

    __hash__ = object.__hash__  # type: ignore[assignment]  # identity, not list equality: mailboxes live in sets
    __eq__ = object.__eq__  # type: ignore[assignment]
    __ne__ = object.__ne__  # type: ignore[assignment]

    def __init__(self) -> None:
        self._actor: PooledActor | None = None
        self._next: Any = None
        self._prev: Any = None
        self._dispatcher: Any = _UNBOUND
        self._lock: Any = _UNBOUND._lock  # noqa: SLF001
        self._scheduled = True  # nothing schedules it until the dispatcher admits it
        self._state = _NEW
        self._stop_now = False
        self._extra: _Extra | None = None

    # -- inbox (pykka.ActorInbox protocol) ------------------------------------

    def _bind(self, dispatcher: Any) -> None:
        self._dispatcher = dispatcher
        stripes = dispatcher._stripes  # noqa: SLF001
        self._lock = stripes[(id(self) >> 6) % len(stripes)]

    def empty(self) -> bool:
        return not self

    def get_nowait(self) -> Any:
        return _sq_pop(self, 0)

    get = get_nowait  # never blocks: only the actor's own turn (or teardown) takes messages

    def put(self, item: Envelope[Any], block: bool = True, timeout: float | None = None) -> None:  # noqa: ARG002, FBT001, FBT002
        dispatcher = self._dispatcher
        with self._lock:
            if self._state == _DEAD:
                dead = True
            else:
                dead = False
                _sq_put(self, item)
                if self._scheduled:
                    return
                self._scheduled = True
        if dead:  # lost the race with tell()'s liveness check: fail fast, don't strand
            _fail_envelopes([item], "PooledActor (stopped)")
            return
        dispatcher._runq.put(self)  # noqa: SLF001

    def post(self, message: Any, here: list[_Mailbox] | Literal[True] | None = None) -> bool:
        """The runtime's fast ``tell``: queue ``message`` bare (no `Envelope`, no future).

        Raises `pykka.ActorDeadError`, as ``tell`` does, once the actor is stopping.
        If the actor was idle and ``here`` is a list, the mailbox is appended to it
        instead of the run queue: the caller then runs that turn itself with
        `run_here` (saving a thread hand-off), and must do so. With ``here=True``
        the same, but the return value says so: True means "run ``[self]`` now".
        """
        dispatcher = self._dispatcher
        with self._lock:
            if self._state >= _STOPPED:
                dead = True
            else:
                dead = False
                _sq_put(self, message)
                if self._scheduled:
                    return False
                self._scheduled = True
        if dead:
            raise ActorDeadError(f"{self._actor or 'PooledActor'} is stopped")
        if here is True:
            return True
        if here is None:
            dispatcher._runq.put(self)  # noqa: SLF001
        else:
            here.append(self)
        return False

    # -- actor_stopped (the part of threading.Event that Pykka and users use) --

    def is_set(self) -> bool:
        return self._state >= _STOPPED

    def set(self) -> None:
        with _waiter_lock:
            if self._state < _STOPPED:
                self._state = _STOPPED
            waiter = self._waiter
        if waiter is not None:
            waiter.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the actor is stopped (like ``threading.Event.wait``)."""
        with _waiter_lock:
            if self._state >= _STOPPED:
                return True
            waiter = self._waiter
            if waiter is None:
                waiter = self._waiter = threading.Event()
        return waiter.wait(timeout)


class _Ring:
    """A dispatcher's live mailboxes: a doubly linked ring through their own slots
    (16 bytes an actor, where a set costs ~40-100). Guarded by the dispatcher's lock."""

    __slots__ = ("_n", "_next", "_prev")

    def __init__(self) -> None:
        self._next: Any = self
        self._prev: Any = self
        self._n = 0

    def add(self, m: _Mailbox) -> None:
        last = self._prev
        m._prev = last  # noqa: SLF001
        m._next = self  # noqa: SLF001
        last._next = m
        self._prev = m
        self._n += 1

    def discard(self, m: _Mailbox) -> None:
        prev = m._prev  # noqa: SLF001
        if prev is None:
            return
        nxt = m._next  # noqa: SLF001
        prev._next = nxt
        nxt._prev = prev
        m._prev = m._next = None  # noqa: SLF001
        self._n -= 1

    def __len__(self) -> int:
        return self._n

    def __iter__(self) -> Iterator[_Mailbox]:
        out = []
        m = self._next
        while m is not self:
            out.append(m)
            m = m._next  # noqa: SLF001
        return iter(out)


class Dispatcher:
    """A fixed pool of worker threads running `PooledActor`\\ s.

    Args:
        workers: number of worker threads (non-daemon, named ``f"{name}-{i}"``).
        batch: at most this many messages per actor turn; an actor that still
            has messages then goes to the back of the run queue.
        name: thread name prefix.
        on_actor_death: default death hook for actors started without
            ``on_death`` (see the module docstring).
        daemon: make the workers daemon threads (default ``False``). Daemon
            workers do not keep the interpreter alive, but at exit they die
            mid-message and ``on_stop`` does not run (as with Pykka's
            ``use_daemon_thread``); only for runtimes that must not block exit.

    Workers start on `start()` or lazily with the first actor. `shutdown`
    stops every actor still running here and joins the workers; afterwards
    the dispatcher refuses new actors with ``RuntimeError``.
    """

    def __init__(
        self,
        workers: int = 2,
        *,
        batch: int = 32,
        name: str = "tickwork-dispatch",
        on_actor_death: DeathHook | None = None,
        daemon: bool = False,
    ) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            msg = f"workers must be an int >= 1, got {workers!r}"
            raise ValueError(msg)
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            msg = f"batch must be an int >= 1, got {batch!r}"
            raise ValueError(msg)
        self._workers = workers
        self._batch = batch
        self._name = name
        self._on_actor_death = on_actor_death
        self._daemon = daemon
        self._lock = threading.Lock()  # _live, start/close; taken before any stripe lock
        self._stripes = [threading.Lock() for _ in range(_STRIPES)]
        self._runq: SimpleQueue[Any] = SimpleQueue()
        self._live = _Ring()
        self._threads: list[threading.Thread] = []
        self._started = False
        self._closed = False
        self._sentinels_posted = False

    def __repr__(self) -> str:
        state = "shut down" if self._closed else ("running" if self._started else "not started")
        return (
            f"<Dispatcher {self._name!r} workers={self._workers} batch={self._batch} "
            f"actors={len(self._live)} {state}>"
        )

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.shutdown()

    @property
    def name(self) -> str:
        return self._name

    @property
    def workers(self) -> int:
        return self._workers

    @property
    def batch(self) -> int:
        return self._batch

    @property
    def threads(self) -> tuple[threading.Thread, ...]:
        """The worker threads (empty before the dispatcher started)."""
        return tuple(self._threads)

    @property
    def actor_count(self) -> int:
        """Actors admitted and not yet dead."""
        return len(self._live)

    @property
    def is_shut_down(self) -> bool:
        return self._closed

    def start(self) -> Self:
        """Start the worker threads (idempotent). ``RuntimeError`` after `shutdown`."""
        with self._lock:
            self._start_locked()
        return self

    def _start_locked(self) -> None:
        if self._closed:
            msg = f"{self!r} is shut down and accepts no new actors"
            raise RuntimeError(msg)
        if self._started:
            return
        self._started = True
        for i in range(self._workers):
            thread = threading.Thread(target=self._work, name=f"{self._name}-{i}", daemon=self._daemon)
            self._threads.append(thread)
            thread.start()

    def shutdown(self, timeout: float | None = None) -> bool:
        """Stop every actor still running here, then join every worker thread.

        Each live actor stops before its next message: ``on_stop`` runs, asks
        still in its mailbox fail with `pykka.ActorDeadError`, its death hook is
        called with ``exc=None``. Then the workers exit and are joined.

        Idempotent; returns whether all workers were joined within ``timeout``
        seconds (``None``: wait forever). A handler that never returns keeps
        its worker alive, making this return ``False``. Must not be called from
        a worker thread (``RuntimeError``).
        """
        if _on_worker_thread():
            msg = "Dispatcher.shutdown() cannot be called on a dispatcher worker thread"
            raise RuntimeError(msg)
        deadline = None if timeout is None else time.monotonic() + timeout
        wake: list[_Mailbox] = []
        post = False
        with self._lock:
            if not self._closed:
                self._closed = True
                for stripe in self._stripes:
                    stripe.acquire()
                try:
                    for mailbox in self._live:
                        mailbox._stop_now = True  # noqa: SLF001
                        if not mailbox._scheduled:  # noqa: SLF001
                            mailbox._scheduled = True  # noqa: SLF001
                            wake.append(mailbox)
                finally:
                    for stripe in self._stripes:
                        stripe.release()
                if not self._live and not self._sentinels_posted:
                    self._sentinels_posted = post = True
        for mailbox in wake:
            self._runq.put(mailbox)
        if post:
            self._post_sentinels()
        for thread in self._threads:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            thread.join(remaining)
        return not any(thread.is_alive() for thread in self._threads)

    def _post_sentinels(self) -> None:
        for _ in self._threads:
            self._runq.put(_SENTINEL)

    # -- internals --------------------------------------------------------------

    def _admit(self, mailbox: _Mailbox) -> None:
        with self._lock:
            self._start_locked()  # raises once shut down
            self._live.add(mailbox)
            if not getattr(mailbox._actor, "eager_start", True):  # noqa: SLF001
                with mailbox._lock:  # noqa: SLF001
                    if not mailbox:
                        # Lazy start: on_start runs on the first turn, before the first message.
                        mailbox._scheduled = False  # noqa: SLF001
                        return
        self._runq.put(mailbox)  # mailbox._scheduled is already True

    def _work(self) -> None:
        _tls.worker = self
        get = self._runq.get
        turn = self._turn
        while True:
            mailbox = get()
            if mailbox is _SENTINEL:
                return
            try:
                turn(mailbox)
            except BaseException:  # noqa: BLE001 - the worker must survive anything
                logger.critical("tickwork dispatcher %s: internal error", self._name, exc_info=True)
                try:
                    self._finish(mailbox)
                except BaseException:  # noqa: BLE001
                    logger.critical("tickwork dispatcher %s: cannot finish actor", self._name, exc_info=True)

    def _turn(self, mailbox: _Mailbox) -> None:
        actor = mailbox._actor  # noqa: SLF001
        if actor is None or mailbox._state == _DEAD:  # noqa: SLF001
            return
        if mailbox._state == _NEW:  # noqa: SLF001
            mailbox._state = _RUNNING  # noqa: SLF001
            try:
                actor.on_start()
            except BaseException:  # noqa: BLE001 - Pykka: log and stop, no on_failure
                actor._handle_failure(*sys.exc_info())  # noqa: SLF001
        budget = self._batch
        pop = _sq_pop  # list builtins, not the mailbox's Python-level empty()/get()
        handle = actor._handle_receive  # noqa: SLF001
        receive = actor.on_receive
        while mailbox._state == _RUNNING:  # noqa: SLF001
            if mailbox._stop_now:  # noqa: SLF001
                actor._stop()  # noqa: SLF001
                break
            if not budget or not mailbox:
                break
            budget -= 1
            item = pop(mailbox, 0)
            try:
                if type(item) is not Envelope:  # posted bare: a tell
                    reply_to = None
                    if type(item) is _ActorStop:
                        handle(item)
                    else:
                        receive(item)  # straight to on_receive: never a Pykka proxy message
                    continue
                reply_to = item.reply_to
                response = handle(item.message)
            except Exception:
                if reply_to is not None:
                    _pykka_logger.info("Exception returned from %s to caller:", actor, exc_info=True)
                    reply_to.set_exception()
                else:
                    _fail(actor, sys.exc_info())
            except BaseException:  # noqa: BLE001 - only this actor dies
                if reply_to is not None:
                    reply_to.set_exception()
                _fail(actor, sys.exc_info())
            else:
                if reply_to is not None:
                    reply_to.set(response)
        if mailbox._state != _RUNNING:  # noqa: SLF001
            self._finish(mailbox)
            return
        with mailbox._lock:  # noqa: SLF001
            if not mailbox and not mailbox._stop_now:  # noqa: SLF001
                mailbox._scheduled = False  # noqa: SLF001
                return
        self._runq.put(mailbox)

    def _finish(self, mailbox: _Mailbox) -> None:
        """Tear down a stopped actor: fail its pending asks, release it, call the hook."""
        mailbox.set()  # no-op unless we got here through an internal error
        with self._lock, mailbox._lock:  # noqa: SLF001
            if mailbox._state == _DEAD:  # noqa: SLF001
                return
            mailbox._state = _DEAD  # noqa: SLF001
            pending: list[Any] = mailbox[:]
            del mailbox[:]
            self._live.discard(mailbox)
            post = self._closed and not self._live and not self._sentinels_posted
            if post:
                self._sentinels_posted = True
        actor = mailbox._actor  # noqa: SLF001
        exc = mailbox._death_exc  # noqa: SLF001
        hook = mailbox._on_death or self._on_actor_death  # noqa: SLF001
        mailbox._actor = mailbox._death_exc = mailbox._on_death = None  # noqa: SLF001
        if actor is not None:
            _unregister(actor)  # normally done by _stop/_handle_failure; not after an internal error
        if actor is not None and (pending or hook is not None):
            actor_ref = actor.actor_ref
            _fail_envelopes(pending, actor_ref)
            if hook is not None:
                try:
                    hook(actor_ref, exc)
                except BaseException:  # noqa: BLE001
                    logger.exception("death hook %r failed for %s", hook, actor_ref)
        if post:
            self._post_sentinels()


def run_here(mailboxes: Iterable[_Mailbox]) -> None:
    """Run, on the calling thread, the turns that `_Mailbox.post` handed to it.

    Used by the threads that produce most messages (the clock actor delivering
    ticks, execution threads delivering results) to skip a hand-off to a worker:
    the same turn a worker would run (at most ``batch`` messages, leftovers go to
    the run queue), with the same rules (the thread counts as a worker meanwhile).
    """
    previous = getattr(_tls, "worker", None)
    try:
        for mailbox in mailboxes:
            _turn_here(mailbox)
    finally:
        _tls.worker = previous


def run_turn(mailbox: _Mailbox) -> None:
    """`run_here` for one mailbox (``post(..., True)`` returned True)."""
    previous = getattr(_tls, "worker", None)
    try:
        _turn_here(mailbox)
    finally:
        _tls.worker = previous


def _turn_here(mailbox: _Mailbox) -> None:
    dispatcher = mailbox._dispatcher  # noqa: SLF001
    _tls.worker = dispatcher
    try:
        dispatcher._turn(mailbox)  # noqa: SLF001
    except BaseException:  # noqa: BLE001 - as in Dispatcher._work
        logger.critical("tickwork dispatcher %s: internal error", dispatcher._name, exc_info=True)  # noqa: SLF001
        try:
            dispatcher._finish(mailbox)  # noqa: SLF001
        except BaseException:  # noqa: BLE001
            logger.critical("tickwork dispatcher: cannot finish actor", exc_info=True)


def _unregister(actor: PooledActor) -> None:
    """Remove ``actor`` from `pykka.ActorRegistry` if it is there, as Pykka does on every stop.

    However it got there: ``start(register=True)`` or ``ActorRegistry.register(ref)``
    by hand. Costs a dict lookup when it cannot be there: an actor whose
    ``actor_ref`` was never made has no ref to register, and an empty registry
    holds nothing (tickwork registers no actor by default). Only then is the
    registry searched (under its lock, like ``ActorRegistry.unregister``).
    """
    ref = actor.__dict__.get("_actor_ref")
    if ref is None:
        return
    refs = getattr(ActorRegistry, "_actor_refs", None)
    if refs is None:  # Pykka's registry internals changed: use the public call
        ActorRegistry.unregister(ref)
        return
    if not refs:
        return
    with ActorRegistry._actor_refs_lock:  # noqa: SLF001
        found = ref in refs
    if found:
        ActorRegistry.unregister(ref)


def _fail(actor: PooledActor, exc_info: Any) -> None:
    """Exception in a tell handler (or any BaseException): log, stop, on_failure."""
    actor._handle_failure(*exc_info)  # noqa: SLF001
    try:
        actor.on_failure(*exc_info)
    except BaseException:  # noqa: BLE001
        actor._handle_failure(*sys.exc_info())  # noqa: SLF001


class PooledActor(pykka.Actor):
    """A Pykka actor that runs on a `Dispatcher`'s worker threads instead of its own.

    Subclass it like ``pykka.ThreadingActor`` (call ``super().__init__()``)
    and start it with ``MyActor.start(*args, dispatcher=d, **kwargs)``, or set
    the class attribute ``dispatcher``. Read the module docstring for the
    rules (never block in a handler, never wait on a future there).
    """

    dispatcher: ClassVar[Dispatcher | None] = None
    """Dispatcher used when ``start()`` gets none."""

    eager_start: bool = True
    """Run ``on_start`` as soon as the actor starts (True), or lazily on its first
    turn, just before its first message (False: costs no dispatcher turn for
    actors that may wait long for their first message). Read once, at start."""

    actor_inbox: _Mailbox  # type: ignore[assignment]

    # Per-actor memory matters at 100,000 actors: the URN string and the ActorRef
    # (with its weakref) are made on first use, and ``actor_stopped`` is the mailbox.
    @property  # type: ignore[override]
    def actor_stopped(self) -> _Mailbox:  # type: ignore[override]
        return self.actor_inbox

    @property  # type: ignore[override]
    def actor_urn(self) -> str:  # type: ignore[override]
        number = self.__dict__.get("_urn_no")
        if number is None:  # numbered on first use (setdefault: atomic)
            number = self.__dict__.setdefault("_urn_no", next(_urn_counter))
        return _urn(number)

    @property
    def actor_ref(self) -> ActorRef[Self]:
        ref = self.__dict__.get("_actor_ref")
        if ref is None:
            # setdefault is atomic: two threads asking at once get the same ref.
            ref = self.__dict__.setdefault("_actor_ref", ActorRef(self))
        return ref  # type: ignore[no-any-return]

    @classmethod
    def start(  # type: ignore[override]
        cls,
        *args: Any,
        dispatcher: Dispatcher | None = None,
        register: bool = False,
        on_death: DeathHook | None = None,
        **kwargs: Any,
    ) -> ActorRef[Self]:
        """Create the actor with ``cls(*args, **kwargs)`` and start it on a dispatcher.

        Args:
            dispatcher: where the actor runs; default ``cls.dispatcher``.
            register: also register it in ``pykka.ActorRegistry`` (O(n) removal:
                keep off for large numbers of actors).
            on_death: ``hook(actor_ref, exc)`` called once when the actor has
                terminated (``exc`` is ``None`` for a clean stop); overrides the
                dispatcher's ``on_actor_death``.

        Raises:
            RuntimeError: no dispatcher, or the dispatcher is shut down.
        """
        return cls.launch(*args, dispatcher=dispatcher, register=register, on_death=on_death, **kwargs).actor_ref

    @classmethod
    def launch(
        cls,
        *args: Any,
        dispatcher: Dispatcher | None = None,
        register: bool = False,
        on_death: DeathHook | None = None,
        **kwargs: Any,
    ) -> Self:
        """`start`, returning the actor itself: no `ActorRef` is made until somebody
        reads ``actor.actor_ref`` (tell it with ``actor.actor_inbox.post(msg)``).
        For runtimes holding many actors; the caller must not call the actor's
        methods from outside it."""
        d = dispatcher if dispatcher is not None else cls.dispatcher
        if d is None:
            msg = (
                f"{cls.__name__}.start() needs a Dispatcher: pass "
                f"{cls.__name__}.start(..., dispatcher=Dispatcher(...)) or set the "
                f"class attribute {cls.__name__}.dispatcher"
            )
            raise RuntimeError(msg)
        if not isinstance(d, Dispatcher):
            msg = f"dispatcher must be a tickwork Dispatcher, got {d!r}"
            raise TypeError(msg)
        if d._closed:  # noqa: SLF001 - fail before running the constructor
            msg = f"{d!r} is shut down and accepts no new actors"
            raise RuntimeError(msg)
        previous = getattr(_tls, "binding", None)
        _tls.binding = d
        try:
            obj = cls(*args, **kwargs)
        finally:
            _tls.binding = previous
        if not isinstance(getattr(obj, "actor_inbox", None), _Mailbox):
            msg = (
                "PooledActor.__init__() has not been called. "
                "Did you forget to call super() in your override?"
            )
            raise TypeError(msg)
        mailbox = obj.actor_inbox
        mailbox._on_death = on_death  # noqa: SLF001
        if register:
            ActorRegistry.register(obj.actor_ref)
        try:
            obj._start_actor_loop()  # noqa: SLF001
        except BaseException:
            mailbox._state = _DEAD  # noqa: SLF001
            mailbox._actor = None  # noqa: SLF001
            _unregister(obj)
            raise
        return obj

    def __init__(self, *_args: Any, **_kwargs: Any) -> None:
        """Set up the fields ``pykka.Actor.__init__`` would, cheaply.

        No ``threading.Event`` (the mailbox doubles as ``actor_stopped``) and no
        per-actor uuid4. Call it from your ``__init__`` with ``super().__init__()``.
        """
        mailbox = self.actor_inbox = self._create_actor_inbox()
        dispatcher = getattr(_tls, "binding", None) or type(self).dispatcher
        if dispatcher is not None:
            mailbox._bind(dispatcher)  # noqa: SLF001
        mailbox._actor = self  # noqa: SLF001

    @staticmethod
    def _create_actor_inbox() -> _Mailbox:
        return _Mailbox()

    @staticmethod
    def _create_future() -> PooledFuture:
        return PooledFuture()

    def _start_actor_loop(self) -> None:
        mailbox = self.actor_inbox
        dispatcher = mailbox._dispatcher  # noqa: SLF001
        if not isinstance(dispatcher, Dispatcher):
            msg = f"{self} has no dispatcher: start it with {type(self).__name__}.start(dispatcher=...)"
            raise RuntimeError(msg)
        dispatcher._admit(mailbox)  # noqa: SLF001

    def _stop(self) -> None:
        """Pykka's ``_stop``; the registry is only scanned if the actor can be in it."""
        mailbox = self.actor_inbox
        _unregister(self)
        mailbox.set()
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("Stopped %s", self)
        try:
            self.on_stop()
        except BaseException:  # noqa: BLE001
            self._handle_failure(*sys.exc_info())

    def _handle_failure(
        self,
        exception_type: type[BaseException] | None,
        exception_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Log to "tickwork" (ERROR, traceback), remember the exception, stop."""
        logger.error(
            "Unhandled exception in %s:",
            self,
            exc_info=(exception_type, exception_value, traceback),  # type: ignore[arg-type]
        )
        mailbox = self.actor_inbox
        if mailbox._death_exc is None:  # noqa: SLF001
            mailbox._death_exc = exception_value  # noqa: SLF001
        _unregister(self)
        mailbox.set()
