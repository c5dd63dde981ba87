"""`_Mailbox`: a pooled actor's inbox, which is also its ``actor_stopped`` flag.

Its fields are public attributes of this module-private class: the dispatcher,
the actor and the ring of live mailboxes read and write them directly.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Literal

from pykka import ActorDeadError, ActorRef
from pykka._envelope import Envelope
from pykka.messages import _ActorStop

if TYPE_CHECKING:
    from actors.pool.actor import PooledActor

logger = logging.getLogger("tickwork")

DeathHook = Callable[[ActorRef[Any], BaseException | None], object]
"""``hook(actor_ref, exc)``: ``exc`` killed the actor, or ``None`` for a clean stop."""

# Mailbox states. ``actor_stopped.is_set()`` is ``state >= _STOPPED``.
_NEW = 0  # created, on_start not yet run
_RUNNING = 1
_STOPPED = 2  # stop/failure decided (Pykka's actor_stopped set); teardown pending
_DEAD = 3  # torn down: pending messages failed, removed from the dispatcher

_waiter_lock = threading.Lock()  # guards the lazily created Event of actor_stopped.wait()
_sq_put = list.append
_sq_pop = list.pop


class _Unbound:
    """Stand-in dispatcher of a PooledActor constructed without ``start()``."""

    __slots__ = ("lock", "stripes")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stripes = [self.lock]


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
        except Exception:  # already resolved by someone else
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
        extra = obj.extra
        return None if extra is None else getattr(extra, self.name)

    def __set__(self, obj: Any, value: Any) -> None:
        extra = obj.extra
        if extra is None:
            if value is None:
                return
            extra = obj.extra = _Extra()
        setattr(extra, self.name, value)


class _Mailbox(list):
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
        "actor",  # the actor while not dead (keeps it alive; ActorRef may hold a weakref)
        "dispatcher",
        "extra",  # _Extra: death hook, death exception, wait() event (rarely set)
        "lock",  # the dispatcher's stripe lock for this mailbox
        "next",  # neighbours in the dispatcher's ring of live mailboxes
        "prev",
        "scheduled",  # on the run queue or being run by a worker
        "state",
        "stop_now",  # dispatcher shutdown: stop before the next message
    )

    death_exc = _ExtraField("death_exc")
    on_death = _ExtraField("on_death")
    waiter = _ExtraField("waiter")

    __hash__ = object.__hash__  # type: ignore[assignment]  # identity, not list equality: mailboxes live in sets
    __eq__ = object.__eq__
    __ne__ = object.__ne__

    def __init__(self) -> None:
        self.actor: PooledActor | None = None
        self.next: Any = None
        self.prev: Any = None
        self.dispatcher: Any = _UNBOUND
        self.lock: Any = _UNBOUND.lock
        self.scheduled = True  # nothing schedules it until the dispatcher admits it
        self.state = _NEW
        self.stop_now = False
        self.extra: _Extra | None = None

    # -- inbox (pykka.ActorInbox protocol) ------------------------------------

    def bind(self, dispatcher: Any) -> None:
        self.dispatcher = dispatcher
        stripes = dispatcher._stripes
        self.lock = stripes[(id(self) >> 6) % len(stripes)]

    def empty(self) -> bool:
        return not self

    def get_nowait(self) -> Any:
        return _sq_pop(self, 0)

    get = get_nowait  # never blocks: only the actor's own turn (or teardown) takes messages

    def put(self, item: Envelope[Any], block: bool = True, timeout: float | None = None) -> None:  # Pykka's signature
        dispatcher = self.dispatcher
        with self.lock:
            if self.state == _DEAD:
                dead = True
            else:
                dead = False
                _sq_put(self, item)
                if self.scheduled:
                    return
                self.scheduled = True
        if dead:  # lost the race with tell()'s liveness check: fail fast, don't strand
            _fail_envelopes([item], "PooledActor (stopped)")
            return
        dispatcher._runq.put(self)

    def post(self, message: Any, here: list[_Mailbox] | Literal[True] | None = None) -> bool:
        """The runtime's fast ``tell``: queue ``message`` bare (no `Envelope`, no future).

        Raises `pykka.ActorDeadError`, as ``tell`` does, once the actor is stopping.
        If the actor was idle and ``here`` is a list, the mailbox is appended to it
        instead of the run queue: the caller then runs that turn itself with
        `run_here` (saving a thread hand-off), and must do so. With ``here=True``
        the same, but the return value says so: True means "run ``[self]`` now".
        """
        dispatcher = self.dispatcher
        with self.lock:
            if self.state >= _STOPPED:
                dead = True
            else:
                dead = False
                _sq_put(self, message)
                if self.scheduled:
                    return False
                self.scheduled = True
        if dead:
            raise ActorDeadError(f"{self.actor or 'PooledActor'} is stopped")
        if here is True:
            return True
        if here is None:
            dispatcher._runq.put(self)
        else:
            here.append(self)
        return False

    # -- actor_stopped (the part of threading.Event that Pykka and users use) --

    def is_set(self) -> bool:
        return self.state >= _STOPPED

    def set(self) -> None:
        with _waiter_lock:
            if self.state < _STOPPED:  # not max(): never write, _finish may make it _DEAD meanwhile
                self.state = _STOPPED
            waiter = self.waiter
        if waiter is not None:
            waiter.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the actor is stopped (like ``threading.Event.wait``)."""
        with _waiter_lock:
            if self.state >= _STOPPED:
                return True
            waiter = self.waiter
            if waiter is None:
                waiter = self.waiter = threading.Event()
        return bool(waiter.wait(timeout))


class _Ring:
    """A dispatcher's live mailboxes: a doubly linked ring through their own slots
    (16 bytes an actor, where a set costs ~40-100). Guarded by the dispatcher's lock."""

    __slots__ = ("n", "next", "prev")

    def __init__(self) -> None:
        self.next: Any = self
        self.prev: Any = self
        self.n = 0

    def add(self, m: _Mailbox) -> None:
        last = self.prev
        m.prev = last
        m.next = self
        last.next = m
        self.prev = m
        self.n += 1

    def discard(self, m: _Mailbox) -> None:
        prev = m.prev
        if prev is None:
            return
        nxt = m.next
        prev.next = nxt
        nxt.prev = prev
        m.prev = m.next = None
        self.n -= 1

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[_Mailbox]:
        out = []
        m = self.next
        while m is not self:
            out.append(m)
            m = m.next
        return iter(out)

