"""`PooledActor`: a Pykka actor that runs on a `Dispatcher` instead of its own thread."""

from __future__ import annotations

import itertools
import logging
import sys
import uuid
from typing import TYPE_CHECKING, Any, ClassVar, Self

import pykka
from pykka import ActorRef, ActorRegistry

from actors.pool.dispatcher import Dispatcher, _unregister
from actors.pool.future import PooledFuture, _tls
from actors.pool.mailbox import _DEAD, DeathHook, _Mailbox, logger

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["PooledActor"]

_URN_PREFIX = "urn:uuid:" + str(uuid.uuid4())[:24]  # "xxxxxxxx-xxxx-4xxx-yxxx-"
_urn_counter = itertools.count()


def _urn(number: int) -> str:
    return f"{_URN_PREFIX}{number & 0xFFFFFFFFFFFF:012x}"


class PooledActor(pykka.Actor):
    """A Pykka actor that runs on a `Dispatcher`'s worker threads instead of its own.

    Subclass it like ``pykka.ThreadingActor`` (call ``super().__init__()``)
    and start it with ``MyActor.start(*args, dispatcher=d, **kwargs)``, or set
    the class attribute ``dispatcher``. Read the `actors.pool` docstring for the
    rules (never block in a handler, never wait on a future there).
    """

    dispatcher: ClassVar[Dispatcher | None] = None
    """Dispatcher used when ``start()`` gets none."""

    eager_start: bool = True
    """Run ``on_start`` as soon as the actor starts (True), or lazily on its first
    turn, just before its first message (False: costs no dispatcher turn for
    actors that may wait long for their first message). Read once, at start."""

    actor_inbox: _Mailbox

    # Per-actor memory matters at 100,000 actors: the URN string and the ActorRef
    # (with its weakref) are made on first use, and ``actor_stopped`` is the mailbox.
    @property
    def actor_stopped(self) -> _Mailbox:  # type: ignore[override]
        return self.actor_inbox

    @property
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
    def start(
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
        if d.is_shut_down:  # fail before running the constructor
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
        mailbox.on_death = on_death
        if register:
            ActorRegistry.register(obj.actor_ref)
        try:
            obj._start_actor_loop()  # Pykka's hook
        except BaseException:
            mailbox.state = _DEAD
            mailbox.actor = None
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
            mailbox.bind(dispatcher)
        mailbox.actor = self

    @staticmethod
    def _create_actor_inbox() -> _Mailbox:
        return _Mailbox()

    @staticmethod
    def _create_future() -> PooledFuture:
        return PooledFuture()

    def _start_actor_loop(self) -> None:
        mailbox = self.actor_inbox
        dispatcher = mailbox.dispatcher
        bound = isinstance(dispatcher, Dispatcher)
        if not bound:
            msg = f"{self} has no dispatcher: start it with {type(self).__name__}.start(dispatcher=...)"
            raise RuntimeError(msg)
        dispatcher._admit(mailbox)  # the package's own

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
        if mailbox.death_exc is None:
            mailbox.death_exc = exception_value
        _unregister(self)
        mailbox.set()
