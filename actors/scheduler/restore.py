"""Restoring a scheduler's schedules from its store, at start."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from typing import Any

from actors import persist
from actors.runtime import Runtime
from actors.store import Store

__all__ = ["restore"]

logger = logging.getLogger("tickwork")


def restore(
    rt: Runtime, store: Store, resolve: Callable[[str], Callable[..., Any] | None]
) -> tuple[int, tuple[int, list[tuple[int, str]]]]:
    """Re-create every stored schedule (misfire policies applied) and re-arm it.

    ``resolve`` finds a registered target by name. Returns the first id free for new
    schedules and what was found: (restored, corrupt rows)."""
    # Restoring allocates many long-lived objects and no garbage cycles: the
    # collector would only rescan them over and over (most of the restore time).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _restore_all(rt, store, resolve)
    finally:
        if was_enabled:
            gc.enable()


def _restore_all(
    rt: Runtime, store: Store, resolve: Callable[[str], Callable[..., Any] | None]
) -> tuple[int, tuple[int, list[tuple[int, str]]]]:
    found = store.load()
    for rid, reason in found.corrupt:
        logger.error("tickwork: skipped corrupt stored schedule (row %s) in %s: %s", rid, store.location, reason)
    now = rt.now_us(True)
    top = 0
    for rec in found.schedules:
        state = persist.from_record(rec, resolve, now)
        rt.states[state.id] = state
        rt.spawn(state)
        top = max(top, rec.id)
        if state.unresolved:
            logger.error("tickwork: stored schedule %s: %s", state.id, state.last_error)
    return max(top + 1, store.next_id()), (len(found.schedules), list(found.corrupt))

