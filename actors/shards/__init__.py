"""Scale-out: a schedule set sharded over Ray actors (the ``tickwork[ray]`` extra).

::

    from actors.shards import ShardedScheduler

    ss = ShardedScheduler.deploy(2, targets={"ping": "myapp.jobs:ping"}, store="sqlite:/var/lib/tickwork")
    ss.schedule("ping", ["db"], 60, key="ping-db")          # idempotent by key
    ss.schedule_many([ss.request("ping", [h], 60, key=f"ping-{h}") for h in hosts])
    ss.get_execution_stats()                                 # over all shards
    ShardedScheduler.connect()                               # elsewhere: finds the shards by name

Each shard is a named, detached Ray actor (``{name}.shard.{i}``, one CPU,
``max_restarts=-1``) holding an in-process `Scheduler` that fires in-process; a key
belongs to shard ``shard_of(key, K)`` (BLAKE2b of the key). Ray is imported only
when a `ShardedScheduler` is made.

Modules: `routing` (`shard_of`), `targets` (import paths), `stores` (a store factory
per shard), `requests` (`ScheduleRequest`), `shard` (`Shard`, no Ray), `actor` (the Ray
actor class), `deployment` (deploy's arguments checked; the shards started or found),
`calls` (how the client's calls reach the shards), `client` (`ShardedScheduler`),
`stats` (`merge_stats`), `offload` (targets run as Ray tasks / on an actor pool),
`spec_run` (``tickwork run --ray``).
"""

from actors.shards.client import ShardedScheduleError, ShardedScheduler, ShardsNotFound
from actors.shards.offload import Offload
from actors.shards.requests import KEY_META, ScheduleRequest, make_request
from actors.shards.routing import shard_of
from actors.shards.stats import merge_stats
from actors.shards.stores import PostgresPerShard, SQLitePerShard, StoreFactory

__all__ = [
    "KEY_META",
    "Offload",
    "PostgresPerShard",
    "SQLitePerShard",
    "ScheduleRequest",
    "ShardedScheduleError",
    "ShardedScheduler",
    "ShardsNotFound",
    "StoreFactory",
    "make_request",
    "merge_stats",
    "shard_of",
]
