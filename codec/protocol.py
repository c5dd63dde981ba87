"""Protocol: a registry of message types and their MessagePack codec.

Wire format: each message is a MessagePack array ``[type name, field1, ...]``
(msgspec's array-like tagged Structs); the type name is the class name, unique
within a protocol. ``timekit`` values are ext types (see :mod:`codec.timeext`).

Encoding validates, because msgspec checks no types or ranges on encode. The
rule: a message is valid when its encoding decodes, with its type's own decoder,
to a message equal to it (NaN matching NaN). So a receiver never gets a wrong
object, and an unset field (which an array-like Struct cannot encode) fails.
Two tiers enforce the rule, both built once per type on first use:

* fast: a generated check of each field's exact class and range, then msgspec
  (:mod:`codec.checks`); costs about one extra msgspec encode's worth of time;
* exact: encode, decode with the type's decoder, compare. Used for types the
  generator does not cover, and whenever the fast check fails, in which case
  a message that still fails is explained field by field (:mod:`codec.validation`)
  in the ValueError.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, TypeVar, Union

import msgspec

from codec.checks import build_encoder
from codec.errors import DecodeError
from codec.framing import frame_bytes
from codec.message import Message
from codec.stdtimestamp import inexact_timestamp, take_seen
from codec.timeext import dec_hook, enc_hook
from codec.validation import (
    explain_float_bound,
    find_problem,
    find_unset,
    same,
    unset_capable,
)

__all__ = ["Protocol", "protocol"]

M = TypeVar("M", bound=Message)


def _decode_checked(
    encode: Callable[[Any], bytes], check: Callable[[bytes], Any], slow: Callable[[Any], bytes]
) -> Callable[[Any], bytes]:
    """A validating encoder for any type: encode, decode with the type's decoder, compare."""

    def encode_checked(msg: Any) -> bytes:
        try:
            data = encode(msg)
            if check(data) == msg:
                return data
        except Exception:  # noqa: BLE001 - any failure of the fast path falls back to the checked slow path
            pass
        return slow(msg)

    return encode_checked


def _no_types(data: Any) -> Message:
    raise DecodeError("no message types are registered with this protocol")


class Protocol:
    """A registry of message types with an encoder and decoder for exactly those types.

    Register with ``@protocol(P)`` or ``P.register(cls)``. Protocols are
    independent of each other; one type may be registered with several. Safe to
    use from several threads; decoders are built once, lazily, and rebuilt only
    after a new registration.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._by_name: dict[str, type[Message]] = {}
        self._by_tag: dict[Any, type[Message]] = {}
        # type -> bound Decoder(type).decode: the exact test of an encoding's validity
        self._checkers: dict[type, Callable[[Any], Any]] = {}
        # type -> validating encoder (codec.checks, or _decode_checked when unsupported)
        self._encoders: dict[type, Callable[[Any], bytes]] = {}
        self._unset_capable: frozenset[type] = frozenset()
        self._encode: Callable[[Any], bytes] = msgspec.msgpack.Encoder(enc_hook=enc_hook).encode
        self._decode: Callable[[Any], Any] = self._build_decoder

    # ------------------------------------------------------------------ registry

    def register(self, cls: type[M]) -> type[M]:
        """Register message type ``cls`` and return it (idempotent for the same class).

        ValueError if another type of the same name is registered here already.
        """
        if not (isinstance(cls, type) and issubclass(cls, Message)) or cls is Message:
            raise TypeError(f"only Message subclasses can be registered, not {cls!r}")
        config = cls.__struct_config__
        if config.tag is None or not config.array_like or not config.forbid_unknown_fields:
            raise ValueError(
                f"{cls.__qualname__} changed Message's struct options; registered types "
                "need tag, array_like=True and forbid_unknown_fields=True (the wire format)"
            )
        name = cls.__name__
        with self._lock:
            existing = self._by_name.get(name)
            if existing is cls:
                return cls
            if existing is not None:
                raise ValueError(
                    f"a message type named {name!r} is already registered with this "
                    f"protocol ({existing.__module__}.{existing.__qualname__}); rename one "
                    "of them or use a separate Protocol"
                )
            clash = self._by_tag.get(config.tag)
            if clash is not None:
                raise ValueError(
                    f"{name} has the wire tag {config.tag!r} of the registered "
                    f"{clash.__qualname__}; tags must be unique within a protocol"
                )
            self._by_name[name] = cls
            self._by_tag[config.tag] = cls
            self._decode = self._build_decoder
        return cls

    @property
    def types(self) -> Mapping[str, type[Message]]:
        """Registered message types by name (a live read-only view)."""
        return MappingProxyType(self._by_name)

    def get_type(self, name: str) -> type[Message]:
        """The registered message type called ``name``; KeyError if there is none."""
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(
                f"no message type {name!r} in this protocol; registered: "
                + (", ".join(self._by_name) or "none")
            ) from None

    def __contains__(self, item: object) -> bool:
        """``"Name" in P`` or ``SomeType in P``."""
        if isinstance(item, str):
            return item in self._by_name
        return isinstance(item, type) and self._by_name.get(item.__name__) is item

    def __repr__(self) -> str:
        return f"<Protocol: {', '.join(self._by_name) or 'no types'}>"

    # ------------------------------------------------------------------ encoding

    def encode(self, msg: Message) -> bytes:
        """MessagePack encoding of ``msg``, validated (see the module docstring).

        ValueError naming the field and what to do if a value is outside its
        field's type or width, a field is unset, or the type is not registered here.
        """
        try:
            encode = self._encoders[msg.__class__]
        except KeyError:
            encode = self._encoder_for(msg)
        try:
            return encode(msg)
        except RecursionError:
            raise ValueError(
                f"{type(msg).__name__} is nested too deeply to encode (or to decode)"
            ) from None

    def frame(self, msg: Message) -> bytes:
        """``encode(msg)`` behind a 4-byte big-endian length, for :class:`FrameReader`."""
        return frame_bytes(self.encode(msg))

    def check(self, msg: Message) -> None:
        """Raise the ValueError ``encode`` would raise for ``msg``; return None if it is valid."""
        self.encode(msg)

    def validate(self, msg: Message) -> bool:
        """Whether ``msg`` would encode (see :meth:`check` for the reason when not)."""
        try:
            self.encode(msg)
        except ValueError:
            return False
        return True

    def _registered(self, msg: object) -> type[Message]:
        cls = type(msg)
        if not isinstance(msg, Message):
            raise ValueError(
                f"expected a message (a Message subclass instance) registered with this "
                f"protocol, got {cls.__qualname__}"
            )
        if self._by_name.get(cls.__name__) is not cls:
            raise ValueError(
                f"{cls.__qualname__} is not registered with this protocol; register it "
                f"with @protocol(P) or P.register({cls.__name__}) first"
            )
        return cls

    def _checker(self, msg: object) -> Callable[[Any], Any]:
        """Bound ``Decoder(type(msg)).decode``, the exact validity test for encodings."""
        cls = self._registered(msg)
        check = self._checkers.get(cls)
        if check is None:
            with self._lock:
                check = self._checkers.get(cls)
                if check is None:
                    try:
                        check = msgspec.msgpack.Decoder(cls, dec_hook=dec_hook).decode
                    except Exception as exc:
                        raise ValueError(
                            f"cannot build a codec for {cls.__qualname__}: {exc}"
                        ) from exc
                    self._checkers[cls] = check
        return check

    def _encoder_for(self, msg: object) -> Callable[[Any], bytes]:
        """The validating encoder of ``type(msg)``, built on first use."""
        cls = self._registered(msg)
        check = self._checker(msg)
        with self._lock:
            encoder = self._encoders.get(cls)
            if encoder is None:
                try:
                    encoder = build_encoder(cls, self._encode, self._encode_slow)
                except Exception as exc:
                    raise ValueError(f"cannot build a codec for {cls.__qualname__}: {exc}") from exc
                if encoder is None:
                    encoder = _decode_checked(self._encode, check, self._encode_slow)
                self._encoders[cls] = encoder
        return encoder

    def _encode_slow(self, msg: Message) -> bytes:
        check = self._checker(msg)
        error: BaseException | None = None
        try:
            data = self._encode(msg)
            back = check(data)
        except Exception as exc:  # noqa: BLE001 - kept and reported with the field that caused it below
            error = exc
        else:
            try:  # same(): a NaN float never compares equal
                if back == msg or same(back, msg):
                    return data
            except RecursionError:
                pass
        reason = find_problem(msg)
        if reason is None:
            reason = (
                f"{type(msg).__name__} cannot be encoded: {error}"
                if error is not None
                else f"{type(msg).__name__} would not decode back equal ({back!r})"
            )
        raise ValueError(reason) from error

    # ------------------------------------------------------------------ decoding

    def decode(self, data: bytes | bytearray | memoryview) -> Message:
        """The message encoded in ``data``: an instance of a registered type.

        Anything else (truncated, trailing bytes, unknown type, wrong field types,
        out-of-range values, missing fields, bad ext values, excessive nesting)
        raises :class:`DecodeError`. TypeError if ``data`` is not bytes-like.
        """
        try:
            msg = self._decode(data)
        except msgspec.DecodeError as exc:
            take_seen()  # forget an ext -1 read before the failure
            reason = explain_float_bound(data, str(exc)) if isinstance(exc, msgspec.ValidationError) else None
            raise DecodeError(f"invalid message: {reason or exc}") from exc
        except UnicodeDecodeError as exc:  # msgspec passes these through unwrapped
            raise DecodeError(f"invalid message: a string is not valid UTF-8 ({exc})") from exc
        except RecursionError:
            raise DecodeError("invalid message: nested too deeply") from None
        if msg.__class__ in self._unset_capable:
            self._reject_unset(msg)  # type: ignore[arg-type]
        if take_seen():  # a Timestamp came from a standard ext -1 value: was it exact?
            ns = inexact_timestamp(data)
            if ns is not None:
                raise DecodeError(
                    f"invalid message: a standard MessagePack timestamp (ext -1) has {ns} nanoseconds, "
                    "not a whole number of microseconds; a Timestamp is exact to the microsecond, so "
                    "send the instant rounded to microseconds (or as ext 84)"
                )
        return msg  # type: ignore[no-any-return]

    def _reject_unset(self, msg: Message) -> None:
        try:
            self._encode(msg)
        except Exception:  # noqa: BLE001 - a probe for an UNSET field only; the real encode reports other errors
            try:
                path = find_unset(msg)
            except RecursionError:
                path = f"a field of {type(msg).__name__}"
            if path is not None:
                raise DecodeError(f"invalid message: {path} is missing") from None

    def _build_decoder(self, data: Any) -> Any:
        with self._lock:
            if self._decode == self._build_decoder:
                types = tuple(self._by_name.values())
                if not types:
                    decode: Callable[[Any], Any] = _no_types
                else:
                    try:
                        union = Union[types] if len(types) > 1 else types[0]  # noqa: UP007 - a Union over a runtime tuple
                        decoder = msgspec.msgpack.Decoder(union, dec_hook=dec_hook)
                        capable = unset_capable(types)
                    except Exception as exc:
                        raise ValueError(f"cannot build this protocol's decoder: {exc}") from exc
                    decode = decoder.decode
                    self._unset_capable = capable
                self._decode = decode
            decode = self._decode
        return decode(data)


def protocol(registry: Protocol) -> Callable[[type[M]], type[M]]:
    """Class decorator registering a message type with ``registry``: ``@protocol(P)``."""
    if not isinstance(registry, Protocol):
        raise TypeError(f"protocol() needs a Protocol, not {type(registry).__name__}")
    return registry.register

