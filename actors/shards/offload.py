"""Heavy targets run off the shard: as Ray tasks, or on a pool of Ray actors.

A shard fires in-process by default (a firing costs microseconds there; the same
firing submitted as a Ray task costs ~0.6 ms of CPU). A target that computes for
long is better run elsewhere, declared as ``offload={"render": Offload("app.jobs:render")}``
when deploying: the shard registers a stand-in for it that submits the call
(``via="task"``: a Ray task with ``num_cpus``; ``via="pool"``: one of ``pool_size``
actors the shard owns) and waits for its result, so failures, retries, timeouts and
statistics work as for any target. At most ``max_in_flight`` calls per shard are
out at once (``pool_size`` for a pool): a firing beyond that waits for a slot (the
wait shows in its duration). The shard's execution pool is raised to fit.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Mapping
from typing import Any, Literal

import msgspec

from actors.shards.targets import check_targets, import_target

__all__ = ["Offload", "check_offload", "offload_target", "slots"]


class Offload(msgspec.Struct, frozen=True):
    """How to run one offloaded target (see the module docstring)."""

    path: str
    via: Literal["task", "pool"] = "task"
    #: Ray CPUs per task / pool actor. 0 lets Ray start as many worker processes as
    #: there are calls (bounded here only by ``max_in_flight``).
    num_cpus: float = 1.0
    max_in_flight: int = 4
    pool_size: int = 2

    def cap(self) -> int:
        """Calls out at once, per shard."""
        return self.pool_size if self.via == "pool" else self.max_in_flight


def check_offload(offload: Mapping[str, Any], targets: Mapping[str, str]) -> dict[str, Offload]:
    """Checked ``{name: Offload}`` (a bare import path means ``Offload(path)``)."""
    if not isinstance(offload, Mapping):
        raise TypeError(f"offload must be a {{name: Offload(...)}} dict, not {type(offload).__name__}")
    out: dict[str, Offload] = {}
    for name, given in offload.items():
        spec = Offload(given) if isinstance(given, str) else given
        if not isinstance(spec, Offload):
            raise TypeError(f"offload[{name!r}] must be an Offload or an import path, not {type(spec).__name__}")
        check_targets({name: spec.path})
        if name in targets:
            raise ValueError(f"{name!r} is both an in-shard target and an offloaded one: pick one")
        if spec.via not in ("task", "pool"):
            raise ValueError(f"offload[{name!r}].via must be 'task' or 'pool', not {spec.via!r}")
        for field in ("max_in_flight", "pool_size"):
            v = getattr(spec, field)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"offload[{name!r}].{field} must be an int >= 1, got {v!r}")
        if isinstance(spec.num_cpus, bool) or not isinstance(spec.num_cpus, int | float) or spec.num_cpus < 0:
            raise ValueError(f"offload[{name!r}].num_cpus must be a number >= 0, got {spec.num_cpus!r}")
        out[name] = spec
    return out


def slots(offload: Mapping[str, Offload]) -> int:
    """Execution-pool threads the offloaded targets can hold at once."""
    return sum(spec.cap() for spec in offload.values())


class _PoolWorker:
    """A pool actor: runs one target function, call after call."""

    def __init__(self, path: str) -> None:
        self._fn = import_target(path)

    def run(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return self._fn(*args, **kwargs)


def offload_target(spec: Offload) -> Callable[..., Any]:
    """The stand-in a shard registers for ``spec``: submits the call, waits, returns."""
    import ray

    fn = import_target(spec.path)  # fails the shard's start if it cannot be imported
    if spec.via == "task":
        remote = ray.remote(num_cpus=spec.num_cpus, max_retries=0)(fn)
        gate = threading.BoundedSemaphore(spec.max_in_flight)

        def run_task(*args: Any, **kwargs: Any) -> Any:
            with gate:
                return ray.get(remote.remote(*args, **kwargs))

        run_task.__qualname__ = f"task:{spec.path}"
        return run_task

    worker_cls = ray.remote(num_cpus=spec.num_cpus, max_restarts=-1)(_PoolWorker)
    idle: queue.Queue[Any] = queue.Queue()
    for _ in range(spec.pool_size):
        idle.put(worker_cls.remote(spec.path))  # owned by the shard: they end with it

    def run_pool(*args: Any, **kwargs: Any) -> Any:
        worker = idle.get()
        try:
            return ray.get(worker.run.remote(args, kwargs))
        finally:
            idle.put(worker)

    run_pool.__qualname__ = f"pool:{spec.path}"
    return run_pool
