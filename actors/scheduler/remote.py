"""A change to a schedule another process of a shared store's group runs, as plain data.

`Changes.update` of such a schedule sends `to_wire` of its changes to the process that
runs it (`actors.cluster`), where `Changes._apply_remote` turns them back with `from_wire`.
"""

from __future__ import annotations

from typing import Any

from actors.store import check_encodable
from timekit import Duration, ScheduleAt

__all__ = ["from_wire", "to_wire"]


def to_wire(changes: dict[str, Any]) -> dict[str, Any]:
    """`Changes.update`'s changes as plain data for another process of the group."""
    out: dict[str, Any] = {}
    for key, value in changes.items():
        if value is None:
            continue
        if key == "trigger":
            out[key] = ScheduleAt.coerce(value, "trigger").to_dict()
        elif key == "interval":
            out["interval_us"] = ScheduleAt.coerce(value, "interval").every.micros
        elif key in ("args", "kwargs"):
            check_encodable(list(value) if key == "args" else (), value if key == "kwargs" else None)
            out[key] = list(value) if key == "args" else dict(value)
        else:
            raise ValueError(
                f"update({key}=...) of a schedule another process runs is not supported: "
                "pass trigger=, args= or kwargs=, or call it in the process that runs it"
            )
    return out


def from_wire(args: dict[str, Any]) -> dict[str, Any]:
    """`to_wire`'s data as `Changes.update`'s changes again (``args`` is changed in place)."""
    if "trigger" in args:
        args["trigger"] = ScheduleAt.from_dict(args["trigger"])
    if "args" in args:
        args["args"] = tuple(args["args"])
    if "interval_us" in args:
        args["interval"] = Duration(args.pop("interval_us"))
    return args
