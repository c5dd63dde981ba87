"""`Dispatcher`: the worker threads, the run queue and the actor turn loop.

A turn (`Dispatcher._turn`) is: start the actor if it is new (`_start_actor`),
handle at most ``batch`` of its messages (`_handle_batch`), then either tear the
actor down (`_finish`) or put it back on the run queue if messages remain
(`_requeue`). `run_here`/`run_turn` run the same turn on the calling thread.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Iterable
from queue import SimpleQueue
from typing import TYPE_CHECKING, Any, Self

from pykka import ActorRegistry
from pykka._envelope import Envelope
from pykka.messages import _ActorStop

from actors.pool.future import _on_worker_thread, _tls
from actors.pool.mailbox import (
    _DEAD,
    _NEW,
    _RUNNING,
    DeathHook,
    _fail_envelopes,
    _Mailbox,
    _Ring,
    _sq_pop,
    logger,
)

if TYPE_CHECKING:
    from actors.pool.actor import PooledActor

__all__ = ["Dispatcher", "run_here", "run_turn"]

_pykka_logger = logging.getLogger("pykka")  # where Pykka logs an exception returned to an asker
_SENTINEL: Any = object()  # tells a worker thread to exit
#: Mailbox transitions are guarded by one of a few striped locks (per dispatcher),
#: not one dispatcher-wide lock: producers of different actors rarely contend.
_STRIPES = 32


class Dispatcher:
    """A fixed pool of worker threads running `PooledActor`\\ s.

    Args:
        workers: number of worker threads (non-daemon, named ``f"{name}-{i}"``).
        batch: at most this many messages per actor turn; an actor that still
            has messages then goes to the back of the run queue.
        name: thread name prefix.
        on_actor_death: default death hook for actors started without
            ``on_death`` (see the `actors.pool` docstring).
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
                        mailbox.stop_now = True
                        if not mailbox.scheduled:
                            mailbox.scheduled = True
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
            if not getattr(mailbox.actor, "eager_start", True):
                with mailbox.lock:
                    if not mailbox:
                        # Lazy start: on_start runs on the first turn, before the first message.
                        mailbox.scheduled = False
                        return
        self._runq.put(mailbox)  # mailbox.scheduled is already True

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
        """One turn of an actor: start it if new, up to ``batch`` messages, then finish or requeue."""
        actor = mailbox.actor
        if actor is None or mailbox.state == _DEAD:
            return
        if mailbox.state == _NEW:
            _start_actor(mailbox, actor)
        _handle_batch(mailbox, actor, self._batch)
        if mailbox.state != _RUNNING:
            self._finish(mailbox)
            return
        self._requeue(mailbox)

    def _requeue(self, mailbox: _Mailbox) -> None:
        """After a turn: idle the actor if its mailbox is empty, else queue it behind the others."""
        with mailbox.lock:
            if not mailbox and not mailbox.stop_now:
                mailbox.scheduled = False
                return
        self._runq.put(mailbox)

    def _turn_here(self, mailbox: _Mailbox) -> None:
        """`_turn` on the calling thread (`run_here`), which counts as a worker meanwhile."""
        _tls.worker = self
        try:
            self._turn(mailbox)
        except BaseException:  # noqa: BLE001 - as in _work
            logger.critical("tickwork dispatcher %s: internal error", self._name, exc_info=True)
            try:
                self._finish(mailbox)
            except BaseException:  # noqa: BLE001
                logger.critical("tickwork dispatcher: cannot finish actor", exc_info=True)

    def _finish(self, mailbox: _Mailbox) -> None:
        """Tear down a stopped actor: fail its pending asks, release it, call the hook."""
        mailbox.set()  # no-op unless we got here through an internal error
        with self._lock, mailbox.lock:
            if mailbox.state == _DEAD:
                return
            mailbox.state = _DEAD
            pending: list[Any] = mailbox[:]
            del mailbox[:]
            self._live.discard(mailbox)
            post = self._closed and not self._live and not self._sentinels_posted
            if post:
                self._sentinels_posted = True
        actor = mailbox.actor
        exc = mailbox.death_exc
        hook = mailbox.on_death or self._on_actor_death
        mailbox.actor = mailbox.death_exc = mailbox.on_death = None
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


def _start_actor(mailbox: _Mailbox, actor: PooledActor) -> None:
    """Run ``on_start`` (first turn, or the first message of a lazily started actor)."""
    mailbox.state = _RUNNING
    try:
        actor.on_start()
    except BaseException:  # noqa: BLE001 - Pykka: log and stop, no on_failure
        actor._handle_failure(*sys.exc_info())  # Pykka's


def _handle_batch(mailbox: _Mailbox, actor: PooledActor, budget: int) -> None:
    """Handle at most ``budget`` messages, in order, while the actor runs (Pykka's loop body)."""
    pop = _sq_pop  # list builtins, not the mailbox's Python-level empty()/get()
    handle = actor._handle_receive  # Pykka's
    receive = actor.on_receive
    while mailbox.state == _RUNNING:
        if mailbox.stop_now:
            actor._stop()  # Pykka's (overridden by PooledActor)
            return
        if not budget or not mailbox:
            return
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
            mailbox.dispatcher._turn_here(mailbox)  # the package's own
    finally:
        _tls.worker = previous


def run_turn(mailbox: _Mailbox) -> None:
    """`run_here` for one mailbox (``post(..., True)`` returned True)."""
    previous = getattr(_tls, "worker", None)
    try:
        mailbox.dispatcher._turn_here(mailbox)  # the package's own
    finally:
        _tls.worker = previous


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
    with ActorRegistry._actor_refs_lock:
        found = ref in refs
    if found:
        ActorRegistry.unregister(ref)


def _fail(actor: PooledActor, exc_info: Any) -> None:
    """Exception in a tell handler (or any BaseException): log, stop, on_failure."""
    actor._handle_failure(*exc_info)
    try:
        actor.on_failure(*exc_info)
    except BaseException:  # noqa: BLE001
        actor._handle_failure(*sys.exc_info())
