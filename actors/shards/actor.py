"""The Ray side: `Shard` as a named, detached, restartable Ray actor.

Imported only when a `ShardedScheduler` is made (it imports Ray).
"""

from __future__ import annotations

import functools
from typing import Any

__all__ = ["actor_name", "require_ray", "shard_actor_class"]


class RayNotInstalled(ImportError):
    """Ray is needed for sharding: ``pip install 'tickwork[ray]'``."""


def require_ray() -> Any:
    """The ``ray`` module, or `RayNotInstalled` saying how to get it."""
    try:
        import ray
    except ImportError as exc:
        raise RayNotInstalled(
            f"tickwork's sharding runs on Ray, which is not installed ({exc}): pip install 'tickwork[ray]'"
        ) from exc
    return ray


def actor_name(name: str, index: int) -> str:
    """The Ray actor name of shard ``index`` of deployment ``name``."""
    return f"{name}.shard.{index}"


@functools.cache
def shard_actor_class() -> Any:
    """`Shard` as a Ray actor class (options are given per deployment)."""
    ray = require_ray()
    from actors.shards.shard import Shard

    return ray.remote(Shard)
