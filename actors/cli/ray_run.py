"""``tickwork run SPEC.toml --ray ADDRESS --shards K``: run a spec on a Ray cluster.

Each of K shard actors (see `actors.shards`) runs the spec schedules whose names hash
to it, durable in its own SQLite file in ``--state-dir`` (default ``SPEC.ray-state/``
next to the spec; single host) or, with ``--store postgresql://...``, in a PostgreSQL
group of its own (``NAME.shard.I-of-K``, NAME the ``--group`` or the deployment's name;
multi-host). In the foreground (default) this process shows the
merged table until Ctrl-C / ``--duration``, then stops the shards (their state stays:
the next run resumes). ``--detach`` deploys and returns at once; the shards run on
until ``tickwork run SPEC --ray ADDRESS --stop``.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import IO, Any

from actors.cli.commands import (
    EXIT_FAILED,
    EXIT_OK,
    _report_spec_error,
    run_view,
    stop_on_signals,
)
from actors.cli.spec import SpecError, load_spec
from actors.cli.view import make_view
from actors.store import StoreError

__all__ = ["deployment_name", "run_on_ray"]


def deployment_name(spec_path: str | Path) -> str:
    """The shards' name for a spec: ``jobs.toml`` -> ``tickwork-jobs``."""
    return "tickwork-" + (re.sub(r"[^A-Za-z0-9_-]", "_", Path(spec_path).stem) or "spec")


class _Merged:
    """What the views read from a runner, from every shard."""

    def __init__(self, ss: Any) -> None:
        self.ss = ss
        self.started = time.monotonic()
        self.final: list[Any] | None = None

    def rows(self) -> list[Any]:
        return self.final if self.final is not None else self.ss.rows()

    @property
    def uptime(self) -> float:
        return time.monotonic() - self.started


def run_on_ray(
    spec_path: str, *, address: str, shards: int, state_dir: str | None, duration: float | None,
    out: IO[str], err: IO[str], plain: bool = False, interval: float = 1.0, detach: bool = False,
    stop_only: bool = False, store: str | None = None, group: str | None = None, lease_ttl: float = 10.0,
) -> int:
    """Deploy (or join) the spec's shards and run them; see the module docstring."""
    try:
        spec = load_spec(spec_path)
    except SpecError as exc:
        return _report_spec_error(exc, err)
    from actors.shards import ShardedScheduler

    name = deployment_name(spec_path)
    if stop_only:
        return _stop(name, address, out, err)
    text = Path(spec_path).read_text(encoding="utf-8")
    try:
        where, state_text = _shard_store(spec_path, state_dir, store, group or name, lease_ttl)
        ss = ShardedScheduler.deploy(
            shards, name=name, address=address, store=where, spec_text=text,
            spec_source=str(spec_path), spec_base_dir=str(Path(spec_path).resolve().parent),
        )
    except (ValueError, OSError, ConnectionError, ImportError, StoreError) as exc:
        err.write(f"tickwork: cannot run {spec_path} on Ray ({address}): {exc}\n")
        return EXIT_FAILED
    except Exception as exc:
        from actors.shards.actor import require_ray

        if not isinstance(exc, require_ray().exceptions.RayActorError):
            raise
        err.write(f"tickwork: cannot run {spec_path} on Ray ({address}): a shard failed to start: {_cause(exc)}\n")
        return EXIT_FAILED
    infos = ss.shard_info()
    restored = sum(i["restored"] for i in infos)
    out.write(
        f"tickwork: running {spec.source} on Ray: {len(spec.schedules)} schedule(s) over {ss.shards} shard(s) "
        f"({name}, pids {', '.join(str(i['pid']) for i in infos)}); {state_text}: {restored} restored\n"
    )
    out.flush()
    if detach:
        out.write(f"tickwork: detached; stop with: tickwork run {spec_path} --ray {address} --stop\n")
        ss.close()
        return EXIT_OK
    _watch(ss, out, plain=plain, interval=interval, duration=duration, footer=f"Ray {address}, {ss.shards} shard(s)")
    return EXIT_OK


def _stop(name: str, address: str, out: IO[str], err: IO[str]) -> int:
    """``--stop``: destroy the shards of a ``--detach`` run (their state stays)."""
    from actors.shards import ShardedScheduler, ShardsNotFound

    try:
        ss = ShardedScheduler.connect(name=name, address=address)
    except ShardsNotFound as exc:
        err.write(f"tickwork: {exc}\n")
        return EXIT_FAILED
    ss.destroy()
    out.write(f"tickwork: stopped the {ss.shards} shard(s) of {name}\n")
    return EXIT_OK


def _shard_store(spec_path: str, state_dir: str | None, store: str | None, group: str,
                 lease_ttl: float) -> tuple[Any, str]:
    """Where the shards keep their schedules (the ``store`` argument of `deploy`), and
    how the run names it: a PostgreSQL group per shard (``store``), else one SQLite file
    per shard in ``state_dir`` (default ``SPEC.ray-state/`` next to the spec)."""
    if store:
        from actors.shards.stores import PostgresPerShard

        where = PostgresPerShard(store, group, lease_ttl=lease_ttl)
        return where, f"store {where!r}"
    state = Path(state_dir) if state_dir else Path(spec_path).with_name(Path(spec_path).stem + ".ray-state")
    return f"sqlite:{state}", f"state {state}/"


def _watch(ss: Any, out: IO[str], *, plain: bool, interval: float, duration: float | None, footer: str) -> None:
    """The foreground run: the merged table until Ctrl-C / ``duration``, then the
    shards are destroyed (their state stays) and the final table shown."""
    merged = _Merged(ss)
    stop = threading.Event()
    with stop_on_signals(stop):
        try:
            view = make_view(merged, out, live=not plain and out.isatty(), period=interval,  # type: ignore[arg-type]
                             footer=footer)
            how = run_view(view, stop, duration)
            merged.final = ss.rows()
        finally:
            ss.destroy()
        view.final(how)


def _cause(exc: BaseException) -> str:
    """The last exception line(s) of a Ray actor error's remote traceback (not all of it)."""
    text = str(exc)
    found = list(re.finditer(r"(?m)^[\w.]+(?:Error|Exception|Exit): ", text))
    return text[found[-1].start():].strip() if found else text.strip().splitlines()[-1]


def add_arguments(run_parser: Any) -> None:
    """The ``--ray`` options of ``tickwork run``."""
    g = run_parser.add_argument_group("on a Ray cluster (pip install 'tickwork[ray]')")
    g.add_argument("--ray", metavar="ADDRESS", help="run on the Ray cluster at ADDRESS ('auto': the local one)")
    g.add_argument("--shards", metavar="K", type=int, default=2, help="shard actors to spread the schedules over (default 2)")
    g.add_argument("--state-dir", metavar="DIR", help="one SQLite file per shard here (default SPEC.ray-state/)")
    g.add_argument("--detach", action="store_true", help="deploy the shards and return; they run on")
    g.add_argument("--stop", action="store_true", help="stop the shards of a --detach run")


def main(args: Any, out: IO[str], err: IO[str]) -> int:
    """``tickwork run ... --ray``."""
    if args.shards < 1:
        err.write("tickwork: --shards must be at least 1\n")
        return 2
    if args.state:
        err.write("tickwork: --state is one file; with --ray each shard has its own: use --state-dir DIR\n")
        return 2
    if args.store and args.state_dir:
        err.write("tickwork: --store and --state-dir both say where the shards keep their schedules: pick one\n")
        return 2
    return run_on_ray(
        args.spec, address=args.ray, shards=args.shards, state_dir=args.state_dir, duration=args.duration,
        out=out, err=err, plain=args.plain, interval=args.interval, detach=args.detach, stop_only=args.stop,
        store=args.store, group=None if args.group == "default" else args.group, lease_ttl=args.lease_ttl,
    )
