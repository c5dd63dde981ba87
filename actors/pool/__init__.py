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

Layout (as Pykka's own modules)
-------------------------------
``future.py`` (`PooledFuture`), ``mailbox.py`` (`_Mailbox`, the inbox that is
also ``actor_stopped``, and the ring of live mailboxes), ``dispatcher.py``
(`Dispatcher`: worker threads, run queue, the turn: start, message loop,
requeue or teardown; `run_here`/`run_turn`), ``actor.py`` (`PooledActor`).
"""

from __future__ import annotations

from typing import Any

from pykka.messages import _ActorStop

from actors.pool.actor import PooledActor
from actors.pool.dispatcher import Dispatcher, run_here, run_turn
from actors.pool.future import PooledFuture
from actors.pool.mailbox import DeathHook
from actors.pool.mailbox import (
    _Mailbox as _Mailbox,  # named in docs/design.md (``_Mailbox.post``)
)

__all__ = ["STOP", "DeathHook", "Dispatcher", "PooledActor", "PooledFuture", "run_here", "run_turn"]

STOP: Any = _ActorStop()
"""Pykka's stop message: ``ref.tell(STOP)`` stops an actor without allocating futures."""
