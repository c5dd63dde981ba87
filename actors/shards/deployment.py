"""A sharded deployment on Ray: its parameters checked, its shards started or found.

`Deployment.checked` validates and normalises what `ShardedScheduler.deploy` is given
(bad input raises on the client, before anything reaches Ray); `join_or_start` joins
the deployment's shards if they are up with the same shards, targets, store and spec,
else creates them as named, detached, restartable actors. `find_shards` looks a
deployment's shards up by name (`ShardsNotFound` if it has none), and `ray_connection`
connects this process to Ray for the time it takes.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from actors.shards.actor import actor_name, require_ray, shard_actor_class
from actors.shards.stores import check_store
from actors.shards.targets import check_targets

if TYPE_CHECKING:
    from actors.shards.offload import Offload

__all__ = ["Deployment", "ShardsNotFound", "find_shards", "ray_connection"]


class ShardsNotFound(LookupError):
    """No shards of that name are deployed on the cluster."""


@contextlib.contextmanager
def ray_connection(address: str | None) -> Iterator[bool]:
    """``ray.init(address)`` unless already connected; yields True if this connected,
    and then disconnects again if the body raises."""
    ray = require_ray()
    owns = not ray.is_initialized()
    if owns:
        ray.init(address=address, logging_level="WARNING", log_to_driver=False)
    try:
        yield owns
    except BaseException:
        if owns:
            ray.shutdown()
        raise


def find_shards(namespace: str, name: str, timeout: float) -> tuple[list[Any], list[dict[str, Any]]]:
    """The handles and `Shard.info` of the shards of deployment ``name``, found by name."""
    ray = require_ray()
    try:
        first = ray.get_actor(actor_name(name, 0), namespace=namespace)
    except ValueError:
        raise ShardsNotFound(
            f"no shards named {name!r} in Ray namespace {namespace!r}: deploy them first "
            "(ShardedScheduler.deploy or tickwork run --ray)"
        ) from None
    info0 = ray.get(first.info.remote(), timeout=timeout)
    handles = [first]
    for i in range(1, int(info0["shards"])):
        try:
            handles.append(ray.get_actor(actor_name(name, i), namespace=namespace))
        except ValueError:
            raise ShardsNotFound(
                f"shard {i} of {info0['shards']} of {name!r} is missing (half-destroyed deployment?): "
                "deploy again with the same shard count"
            ) from None
    infos = [info0] + ray.get([h.info.remote() for h in handles[1:]], timeout=timeout)
    return handles, infos


@dataclasses.dataclass(frozen=True, kw_only=True)
class Deployment:
    """What `ShardedScheduler.deploy` was given, checked (its arguments of the same names)."""

    shards: int
    name: str
    namespace: str
    targets: dict[str, str]
    #: The store argument as shipped to the shards (see `actors.shards.stores.check_store`).
    store: Any
    offload: dict[str, Offload] | None
    spec_text: str | None
    spec_source: str
    spec_base_dir: str | None
    max_concurrent_executions: int | None
    history_size: int
    num_cpus: float
    max_task_retries: int
    max_concurrency: int
    runtime_env: dict[str, Any] | None

    @classmethod
    def checked(
        cls, shards: int, *, name: str, namespace: str, targets: Mapping[str, str] | Iterable[str] | None,
        store: Any, offload: Mapping[str, Any] | None, spec_text: str | None, spec_source: str,
        spec_base_dir: str | None, max_concurrent_executions: int | None, history_size: int, num_cpus: float,
        max_task_retries: int, max_concurrency: int, runtime_env: dict[str, Any] | None,
    ) -> Deployment:
        """Check and normalise the arguments (TypeError / ValueError naming the bad one)."""
        if isinstance(shards, bool) or not isinstance(shards, int) or shards < 1:
            raise ValueError(f"shards must be an int >= 1, got {shards!r}")
        if not isinstance(name, str) or not name or "." in name:
            raise ValueError(f"name must be a non-empty str without '.', got {name!r}")
        tmap = check_targets(targets)
        store_arg = check_store(store, name)
        checked_offload = None
        if offload:
            from actors.shards.offload import check_offload

            checked_offload = check_offload(offload, tmap)
        if spec_text is not None and not isinstance(spec_text, str):
            raise TypeError("spec_text must be the spec's TOML text")
        return cls(
            shards=shards, name=name, namespace=namespace, targets=tmap, store=store_arg, offload=checked_offload,
            spec_text=spec_text, spec_source=spec_source, spec_base_dir=spec_base_dir,
            max_concurrent_executions=max_concurrent_executions, history_size=history_size, num_cpus=num_cpus,
            max_task_retries=max_task_retries, max_concurrency=max_concurrency, runtime_env=runtime_env,
        )

    def identity(self) -> dict[str, Any]:
        """What a running deployment must have been deployed with to be joined, as its
        `Shard.info` reports it."""
        from actors.shards.spec_run import spec_digest

        return {
            "shards": self.shards,
            "targets": self.targets,
            "store": None if self.store is None else repr(self.store),
            "spec": None if self.spec_text is None else spec_digest(self.spec_text),
        }

    def running(self) -> bool:
        """Whether shard 0 of this deployment is up (Ray is connected)."""
        try:
            require_ray().get_actor(actor_name(self.name, 0), namespace=self.namespace)
        except ValueError:
            return False
        return True

    def join_or_start(self, timeout: float) -> tuple[list[Any], list[dict[str, Any]]]:
        """The shards' handles and infos: those running under this name if they were
        deployed the same (else ValueError), or new ones, started (Ray is connected)."""
        if not self.running():
            return self.start(timeout)
        handles, infos = find_shards(self.namespace, self.name, timeout)
        want = self.identity()
        have = {k: infos[0][k] for k in want}
        if have != want:
            raise ValueError(
                f"shards {self.name!r} are already deployed in namespace {self.namespace!r} with {have}, "
                f"not {want}: connect() to use them, or destroy() them first (their stores stay)"
            )
        return handles, infos

    def actor_options(self) -> dict[str, Any]:
        """The Ray options every shard actor is created with (and its name)."""
        opts: dict[str, Any] = {
            "namespace": self.namespace,
            "lifetime": "detached",
            "get_if_exists": True,
            "num_cpus": self.num_cpus,
            "max_restarts": -1,
            "max_task_retries": self.max_task_retries,
            "max_concurrency": self.max_concurrency,
        }
        if self.runtime_env is not None:
            opts["runtime_env"] = self.runtime_env
        return opts

    def start(self, timeout: float) -> tuple[list[Any], list[dict[str, Any]]]:
        """Create the K named shard actors and wait until each has restored its store."""
        cls_actor = shard_actor_class()
        opts = self.actor_options()
        handles = [
            cls_actor.options(name=actor_name(self.name, i), **opts).remote(
                i,
                self.shards,
                name=self.name,
                targets=self.targets,
                store=self.store,
                offload=self.offload,
                spec_text=self.spec_text,
                spec_source=self.spec_source,
                spec_base_dir=self.spec_base_dir,
                max_concurrent_executions=self.max_concurrent_executions,
                history_size=self.history_size,
            )
            for i in range(self.shards)
        ]
        return handles, require_ray().get([h.info.remote() for h in handles], timeout=timeout)
