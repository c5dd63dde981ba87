"""Message: the msgspec Struct base class, and the packet-library declaration style.

Two ways to declare a message type; both give the same kind of class::

    class Heartbeat(Message):                 # annotations
        timestamp: Int64
        sequence: Int32
        name: str = ""

    class Heartbeat(Message):                 # packet-library declaration
        encoding = Encoding.BIG_ENDIAN
        fields = {"timestamp": {"type": "int(64)"}, "sequence": "int(32)", "name": "str"}

A declared field without a ``"default"`` defaults to ``msgspec.UNSET``: it may be
left out at construction, but encoding (or checking) a message that still has an
unset field fails. Messages are mutable and compare by value. On the wire a
message is a MessagePack array: its type name (the tag), then its fields in order.
"""

from __future__ import annotations

import enum
import keyword
import sys
import types
import typing
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Union

import msgspec
from msgspec import UNSET, UnsetType

from codec.fields import type_for_name
from codec.timeext import dec_hook, enc_hook
from codec.validation import explain_float_bound, same

if TYPE_CHECKING:
    from codec.protocol import Protocol

__all__ = ["Encoding", "Message", "make_message_type"]


class Encoding(enum.Enum):
    """Byte order of a packet-library message declaration.

    MessagePack is big-endian on the wire, so only ``BIG_ENDIAN`` is accepted;
    ``LITTLE_ENDIAN`` exists so that declarations using it fail loudly.
    """

    BIG_ENDIAN = "big"
    LITTLE_ENDIAN = "little"


_SPEC_KEYS = frozenset({"type", "default"})


def _is_classvar(annotation: object) -> bool:
    if isinstance(annotation, str):
        return annotation.replace("typing.", "").startswith("ClassVar")
    return annotation is typing.ClassVar or typing.get_origin(annotation) is typing.ClassVar


def _check_encoding(owner: str, value: object) -> None:
    if value is Encoding.BIG_ENDIAN:
        return
    if value is Encoding.LITTLE_ENDIAN:
        raise ValueError(
            f"{owner}: Encoding.LITTLE_ENDIAN is not supported: messages travel as "
            "MessagePack, which is big-endian on the wire; use Encoding.BIG_ENDIAN "
            "(or drop the encoding attribute)"
        )
    raise TypeError(f"{owner}: encoding must be Encoding.BIG_ENDIAN, not {value!r}")


def _checked_default(owner: str, name: str, tp: Any, default: Any) -> Any:
    """Return ``default`` as the field type holds it, or raise ValueError."""
    data = b""
    try:
        data = msgspec.msgpack.Encoder(enc_hook=enc_hook).encode(default)
        back = msgspec.msgpack.Decoder(tp, dec_hook=dec_hook).decode(data)
    except (msgspec.DecodeError, TypeError, ValueError, OverflowError) as exc:
        reason = explain_float_bound(data, str(exc)) if isinstance(exc, msgspec.ValidationError) else None
        raise ValueError(f"{owner}.{name}: invalid default {default!r}: {reason or exc}") from None
    if not same(back, default):
        raise ValueError(f"{owner}.{name}: invalid default {default!r} for the field's type")
    return back


def declared_fields(
    owner: str, spec: Mapping[str, Any], taken: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Annotations and defaults for a ``fields`` declaration.

    ``spec`` maps each field name to a type name (``"int(32)"``) or to
    ``{"type": "int(32)", "default": 0}``. ``taken`` holds names the class already
    uses for something else.
    """
    if not isinstance(spec, Mapping):
        raise TypeError(
            f"{owner}: fields must be a mapping of field name to type name or "
            f"{{'type': ..., 'default': ...}}, not {type(spec).__name__}"
        )
    annotations: dict[str, Any] = {}
    defaults: dict[str, Any] = {}
    for name, field_spec in spec.items():
        if (
            not isinstance(name, str)
            or not name.isidentifier()
            or keyword.iskeyword(name)
            or name.startswith("__")
        ):
            raise ValueError(
                f"{owner}: field name {name!r} is not usable: it must be a Python "
                "identifier, not a keyword, and not start with '__'"
            )
        if taken is not None and name in taken:
            raise ValueError(f"{owner}.{name}: clashes with a class attribute of the same name")
        if isinstance(field_spec, str):
            type_name, default = field_spec, UNSET
        elif isinstance(field_spec, Mapping):
            unknown = set(field_spec) - _SPEC_KEYS
            if unknown:
                raise ValueError(
                    f"{owner}.{name}: unknown key(s) {sorted(map(str, unknown))} in field "
                    "spec; accepted keys are 'type' and 'default'"
                )
            if "type" not in field_spec:
                raise ValueError(f"{owner}.{name}: field spec needs a 'type' key")
            type_name, default = field_spec["type"], field_spec.get("default", UNSET)
        else:
            raise TypeError(
                f"{owner}.{name}: field spec must be a type name or a mapping with a "
                f"'type' key, not {type(field_spec).__name__}"
            )
        try:
            tp = type_for_name(type_name)
        except ValueError as exc:
            raise ValueError(f"{owner}.{name}: {exc}") from None
        if default is UNSET:
            annotations[name] = Union[tp, UnsetType]  # noqa: UP007 - tp may be a typing form, where `|` is not defined
        else:
            annotations[name] = tp
            default = _checked_default(owner, name, tp, default)
        defaults[name] = default
    return annotations, defaults


class _MessageMeta(type(msgspec.Struct)):  # type: ignore[misc]
    """Struct metaclass that also understands the packet-library declaration style."""

    def __new__(
        mcls, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any
    ) -> Any:
        if "__slots__" in namespace:
            # msgspec.defstruct re-enters a StructMeta subclass with __slots__ set
            # (msgspec issue #974), which StructMeta then refuses obscurely.
            raise TypeError(
                f"{name}: msgspec.defstruct cannot build Message subclasses (msgspec issue "
                "#974); use codec.make_message_type or a class statement"
            )
        own_annotations: dict[str, Any] = namespace.get("__annotations__", {})
        if "encoding" in namespace and (
            "encoding" not in own_annotations or _is_classvar(own_annotations["encoding"])
        ):
            _check_encoding(name, namespace["encoding"])
        if "fields" in namespace and "fields" not in own_annotations:
            field_annotations = [
                k for k, v in own_annotations.items() if not _is_classvar(v)
            ]
            if field_annotations:
                raise ValueError(
                    f"{name}: declare fields either with annotations or with a `fields` "
                    f"mapping, not both (annotated: {', '.join(field_annotations)})"
                )
            annotations, defaults = declared_fields(name, namespace["fields"], namespace)
            namespace = dict(namespace)
            namespace["__annotations__"] = {**own_annotations, **annotations}
            namespace.update(defaults)
        return super().__new__(mcls, name, bases, namespace, **kwargs)


class Message(
    msgspec.Struct,
    metaclass=_MessageMeta,
    tag=True,
    array_like=True,
    forbid_unknown_fields=True,
):
    """Base class of message types: a mutable msgspec Struct compared by value.

    Subclass it with annotated fields (or a packet-library ``fields`` mapping) and
    register the subclass with a :class:`codec.Protocol`. Field types: the
    fixed-width ints and floats of :mod:`codec.fields`, ``bool``, ``str``,
    ``bytes``, lists, nested messages, enums, optionals, ``timekit.Timestamp`` and
    ``timekit.Duration``. On the wire: ``[type name, field1, field2, ...]``.
    """


def make_message_type(
    name: str,
    fields: Mapping[str, str | Mapping[str, Any]],
    protocol: Protocol | None = None,
) -> type[Message]:
    """Build a message type from data, e.g. a spec file's ``{seq = "int(32)", node = "str"}``.

    Each field is a type name or ``{"type": name, "default": value}`` (see
    ``codec.fields.TYPE_NAMES``). The type is registered with ``protocol`` if given.
    """
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"message type name {name!r} must be a Python identifier")
    if not isinstance(fields, Mapping):
        raise TypeError(f"{name}: fields must be a mapping, not {type(fields).__name__}")
    module = sys._getframe(1).f_globals.get("__name__", __name__)  # noqa: SLF001 - the caller's module, as namedtuple does

    def body(ns: dict[str, Any]) -> None:
        ns["__module__"] = module
        ns["__qualname__"] = name
        ns["__doc__"] = f"Message type {name}, declared from data."
        ns["fields"] = dict(fields)

    cls: type[Message] = types.new_class(name, (Message,), exec_body=body)
    if protocol is not None:
        protocol.register(cls)
    return cls
