"""Targets a shard can run, referenced durably by import path.

A shard's store keeps target *names* (see `actors.store`), and a restarted shard must
find the function again by that name, in a fresh process. So a sharded deployment
declares its targets up front, each as a name and a ``"package.module:function"``
import path; every shard imports and registers all of them before it restores its
store. Only declared names can be scheduled: a stored name that is not declared any
more is kept in the store and reported (as the core does), never imported.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["check_targets", "import_target"]

_PATH = re.compile(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*")


def check_targets(targets: Mapping[str, str] | Iterable[str] | None) -> dict[str, str]:
    """``{name: "module:function"}`` from a mapping, or from import paths (each its own
    name); TypeError/ValueError naming a bad entry."""
    if targets is None:
        return {}
    if isinstance(targets, str):
        raise TypeError("targets must be a list of 'module:function' paths or a {name: path} dict, not a str")
    items = targets.items() if isinstance(targets, Mapping) else ((p, p) for p in targets)
    out: dict[str, str] = {}
    for name, path in items:
        if not isinstance(name, str) or not name:
            raise TypeError(f"a target name must be a non-empty str, got {name!r}")
        if not isinstance(path, str) or not _PATH.fullmatch(path):
            raise ValueError(
                f"target {name!r}: {path!r} is not an import path; write 'package.module:function' "
                "(the function must be importable on every Ray node)"
            )
        out[name] = path
    return out


def import_target(path: str) -> Callable[..., Any]:
    """Import ``"package.module:attr.attr"`` and return the callable it names."""
    module_name, _, qual = path.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import target {path!r}: {exc} (is the module on this Ray node's path?)") from exc
    for part in qual.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ValueError(f"cannot import target {path!r}: {module_name} has no {qual}") from None
    if not callable(obj):
        raise TypeError(f"target {path!r} is a {type(obj).__name__}, not a callable")
    return obj  # type: ignore[no-any-return]
