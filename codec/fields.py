"""Fixed-width field types and the packet-library type-name table.

Each type is an ``Annotated`` int or float whose ``msgspec.Meta`` range is the
range of that machine type. msgspec enforces the range when decoding;
``Protocol.encode`` enforces it when encoding.

msgspec always sends floats as MessagePack float 64, so a :data:`Float32` value travels
exactly (it is not rounded to 32 bits); the type only limits it to the finite float32 range (so ``inf`` and
``nan``, which a range cannot admit, are refused). :data:`Float64` is any Python
float, ``inf`` and ``nan`` included.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any, Final

from msgspec import Meta

__all__ = [
    "FLOAT32_MAX",
    "TYPE_NAMES",
    "Float32",
    "Float64",
    "Int8",
    "Int16",
    "Int32",
    "Int64",
    "UInt8",
    "UInt16",
    "UInt32",
    "UInt64",
    "type_for_name",
]

FLOAT32_MAX: Final = 3.4028234663852886e38
"""The largest finite IEEE 754 binary32 value."""

Int8 = Annotated[int, Meta(ge=-(2**7), le=2**7 - 1, description="signed 8-bit integer")]
Int16 = Annotated[int, Meta(ge=-(2**15), le=2**15 - 1, description="signed 16-bit integer")]
Int32 = Annotated[int, Meta(ge=-(2**31), le=2**31 - 1, description="signed 32-bit integer")]
Int64 = Annotated[int, Meta(ge=-(2**63), le=2**63 - 1, description="signed 64-bit integer")]
UInt8 = Annotated[int, Meta(ge=0, le=2**8 - 1, description="unsigned 8-bit integer")]
UInt16 = Annotated[int, Meta(ge=0, le=2**16 - 1, description="unsigned 16-bit integer")]
UInt32 = Annotated[int, Meta(ge=0, le=2**32 - 1, description="unsigned 32-bit integer")]
# msgspec cannot express an upper bound above 2**63 - 1; none is needed: MessagePack
# has no integers above 2**64 - 1, so encoding one fails and no decode yields one.
UInt64 = Annotated[int, Meta(ge=0, description="unsigned 64-bit integer")]
Float32 = Annotated[
    float, Meta(ge=-FLOAT32_MAX, le=FLOAT32_MAX, description="finite 32-bit float range")
]
Float64 = Annotated[float, Meta(description="64-bit float")]

TYPE_NAMES: Final[Mapping[str, Any]] = MappingProxyType(
    {
        "int(8)": Int8,
        "int(16)": Int16,
        "int(32)": Int32,
        "int(64)": Int64,
        "uint(8)": UInt8,
        "uint(16)": UInt16,
        "uint(32)": UInt32,
        "uint(64)": UInt64,
        "float": Float32,
        "double": Float64,
        "bool": bool,
        "str": str,
        "bytes": bytes,
    }
)
"""Declaration-style type names (``fields = {"seq": {"type": "int(32)"}}``) to field types."""


def type_for_name(name: object) -> Any:
    """The field type for a declaration-style type name; ValueError listing the accepted names."""
    key = "".join(name.split()) if isinstance(name, str) else None
    if key is not None and key in TYPE_NAMES:
        return TYPE_NAMES[key]
    raise ValueError(
        f"unknown field type name {name!r}; accepted names are: " + ", ".join(TYPE_NAMES)
    )
