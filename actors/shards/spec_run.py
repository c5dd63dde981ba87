"""A shard's share of a ``tickwork run`` spec: the spec schedules whose names hash to
this shard, run by the CLI's own `Runner` (durable, reconciled with the store)."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any

from actors.scheduler import Scheduler
from actors.shards.routing import shard_of

__all__ = ["shard_runner", "spec_digest"]


def spec_digest(spec_text: str) -> str:
    """A short digest of a spec's text (a redeploy with another spec is refused)."""
    return hashlib.blake2b(spec_text.encode("utf-8"), digest_size=8).hexdigest()


def shard_runner(spec_text: str, source: str, sched: Scheduler, index: int, shards: int,
                 base_dir: str | None = None) -> Any:
    """A `Runner` (not started) for the schedules of the spec that shard ``index`` owns."""
    from actors.cli.runner import Runner
    from actors.cli.spec import spec_from_text

    spec = spec_from_text(spec_text, source=source, base_dir=Path(base_dir) if base_dir else None)
    mine = [s for s in spec.schedules if shard_of(s.name, shards) == index]
    return Runner(dataclasses.replace(spec, schedules=mine), scheduler=sched)
