"""The commands: ``run`` (until Ctrl-C or --duration), ``check`` (validate, show the
next firings) and ``demo`` (see `actors.cli.demo`).

Exit codes: 0 done (Ctrl-C is a normal way to stop), 1 could not run (state file
locked or unusable), 2 the spec (or the command line) is wrong: nothing started.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from timekit import Duration, Timestamp
from timekit.zones import get_zone

from actors.cli.runner import Runner
from actors.cli.spec import ScheduleSpec, SpecError, load_spec
from actors.cli.view import View, make_view
from actors.store import SQLiteStore, Store, StoreError

__all__ = ["check", "default_state_path", "isatty", "parse_seconds", "run", "run_view", "stop_on_signals"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_SPEC = 2


def default_state_path(spec_path: str | Path) -> Path:
    """``jobs.toml`` -> ``jobs.state.db``, next to the spec."""
    p = Path(spec_path)
    return p.with_name(p.stem + ".state.db")


def _report_spec_error(exc: SpecError, err: IO[str]) -> int:
    err.write(f"tickwork: {exc}\nnothing was started.\n")
    err.flush()
    return EXIT_SPEC


# --------------------------------------------------------------------------- check


def check(spec_path: str, out: IO[str], err: IO[str], *, count: int = 5) -> int:
    """Validate a spec and print what would run: each schedule's next ``count`` firings."""
    try:
        spec = load_spec(spec_path)
    except SpecError as exc:
        return _report_spec_error(exc, err)
    now = Timestamp.now()
    out.write(
        f"{spec.source}: OK: {len(spec.messages)} message type(s), {len(spec.schedules)} schedule(s)\n"
    )
    for s in spec.schedules:
        out.write("\n" + "\n".join(describe_schedule(s, now, count)) + "\n")
    out.flush()
    return EXIT_OK


def describe_schedule(s: ScheduleSpec, now: Timestamp, count: int = 5) -> list[str]:
    """What `check` prints for one schedule."""
    lines = [f"{s.name}: {s.message.name} {s.trigger_text} -> {s.sink.text}"]
    vals = ", ".join(f"{k}={v!r}" for k, v in s.values.items() if k not in s.now)
    extra = []
    if s.increment:
        extra.append("increment " + ", ".join(s.increment))
    if s.now:
        extra.append("now " + ", ".join(f"{k}={u}" for k, u in s.now.items()))
    lines.append(f"  values {{{vals}}}" + ("; " + "; ".join(extra) if extra else ""))
    label = s.zone or "UTC"
    zone = get_zone(label)
    firings: list[Timestamp] = []
    t = now
    while len(firings) < count:
        nxt = s.trigger.next_fire(t)
        if nxt is None:
            break
        firings.append(nxt)
        t = nxt
    if s.trigger.is_time():
        when = s.trigger.when
        if when <= now:
            lines.append(f"  once at {when.isoformat(zone)}: already past; runs at once when started "
                         "(unless the state file says it ran)")
            return lines
    lines.append(f"  next {len(firings)} firing(s) ({label}):")
    for f in firings:
        dt = f.to_datetime(zone)
        lines.append(f"    {f.isoformat(zone)}  {dt.tzname() or ''}  {f.format_relative(now).replace(chr(0x3bc), 'u')}")
    return lines


# --------------------------------------------------------------------------- run


@contextlib.contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGINT (Ctrl-C) and SIGTERM set ``stop``: the run stops cleanly. While it is
    stopping, a second one is acknowledged and a third exits at once (status 130).

    Only the main thread may install handlers: elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    count = [0]

    def handler(signum: int, frame: object) -> None:
        count[0] += 1
        stop.set()
        if count[0] == 2:
            os.write(2, b"tickwork: stopping (sends in flight finish, the state file is written); "
                        b"once more to exit at once\n")
        elif count[0] > 2:
            os._exit(130)

    old = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)


def run_view(view: View, stop: threading.Event, duration: float | None) -> str:
    """Tick ``view`` every ``view.period`` until ``stop`` is set or ``duration`` passes.

    Returns how it ended: "stopped" (signal) or "finished" (duration).
    """
    start = time.monotonic()
    deadline = None if duration is None else start + duration
    next_tick = start + view.period
    view.start()
    try:
        while not stop.is_set():
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                return "finished"
            until = next_tick if deadline is None else min(next_tick, deadline)
            if stop.wait(max(0.0, until - now)):
                break
            if time.monotonic() >= next_tick:
                view.tick()
                next_tick += view.period * max(1, int((time.monotonic() - next_tick) // view.period) + 1)
        return "stopped"
    except KeyboardInterrupt:  # no handler installed (not the main thread)
        return "stopped"
    finally:
        view.stop()


def parse_seconds(text: str) -> float:
    """``--duration 10``, ``10.5`` or duration text such as ``1m30s``."""
    try:
        value = float(text)
    except ValueError:
        value = Duration.parse(text).total_seconds()
    if not value > 0 or value != value or value == float("inf"):
        raise ValueError(f"must be a positive number of seconds, got {text!r}")
    return value


def run(
    spec_path: str,
    *,
    state: str | None,
    duration: float | None,
    out: IO[str],
    err: IO[str],
    plain: bool = False,
    interval: float = 1.0,
    store: str | None = None,
    group: str = "default",
    lease_ttl: float = 10.0,
) -> int:
    """``tickwork run``: run the spec's schedules, durable in a SQLite state file (or,
    with ``store``, a PostgreSQL store shared by every replica of the spec)."""
    try:
        spec = load_spec(spec_path)
    except SpecError as exc:
        return _report_spec_error(exc, err)
    state_path = Path(state) if state else default_state_path(spec_path)
    store_text = f"group {group!r}" if store else str(state_path)
    # A stdout sink writing into a pipe keeps stdout for the messages' JSON lines
    # alone: the rest goes to stderr. On a terminal the live table shares stdout.
    has_stdout_sink = any(s.sink.kind == "stdout" for s in spec.schedules)
    info = err if has_stdout_sink and not isatty(out) else out
    stop = threading.Event()
    with stop_on_signals(stop):  # a Ctrl-C while restoring stops right after the start
        try:
            runner = Runner(spec, _postgres(store, group, lease_ttl) if store else SQLiteStore(state_path))
            rec = runner.start()
        except (StoreError, OSError, ValueError, ImportError) as exc:
            err.write(f"tickwork: cannot use the {'store' if store else 'state file'} {store_text}: {exc}\n")
            err.flush()
            return EXIT_FAILED
        try:
            info.write(
                f"tickwork: running {spec.source}: {len(spec.schedules)} schedule(s); "
                f"state {store_text}: {rec.summary()}\n"
            )
            for s in spec.schedules:
                info.write(
                    f"  {s.name} (id {runner.ids[s.name]}): {s.message.name} {s.trigger_text} -> {s.sink.text}\n"
                )
            info.flush()
            live = not plain and isatty(info)
            view = make_view(runner, info, live=live, period=interval, footer=f"state {store_text}")
            how = run_view(view, stop, duration)
        finally:
            runner.stop()
        view.final(how)
    return EXIT_OK


def _postgres(dsn: str, group: str, lease_ttl: float) -> Store:
    from actors.store.postgres import PostgresStore  # needs tickwork[postgres]

    return PostgresStore(dsn, group=group, lease_ttl=lease_ttl)


def isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
