"""The commands: ``run`` (until Ctrl-C or --duration), ``check`` (validate, show the
next firings) and ``demo`` (see `actors.cli.demo`).

Exit codes: 0 done (Ctrl-C is a normal way to stop), 1 could not run (state file
locked or unusable) or every send of the run failed, 2 the spec (or the command
line) is wrong: nothing started, 141 stdout was closed (``| head``; a ``stdout``
sink's reader went away).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from actors.cli import EXIT_PIPE
from actors.cli.display import LIMIT, more, safe, shown
from actors.cli.runner import Runner, WouldCancel
from actors.cli.spec import ScheduleSpec, SpecError, load_spec
from actors.cli.view import View, make_view
from actors.store import SQLiteStore, Store, StoreError
from timekit import Duration, Timestamp
from timekit.zones import get_zone

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


def check(spec_path: str, out: IO[str], err: IO[str], *, count: int = 5, show_all: bool = False) -> int:
    """Validate a spec and print what would run: each schedule's next ``count`` firings
    (the first `LIMIT` schedules, unless ``show_all``)."""
    try:
        spec = load_spec(spec_path)
    except SpecError as exc:
        return _report_spec_error(exc, err)
    now = Timestamp.now()
    out.write(
        f"{safe(spec.source)}: OK: {len(spec.messages)} message type(s), {len(spec.schedules)} schedule(s)\n"
    )
    listed, hidden = shown(spec.schedules, len(spec.schedules) if show_all else LIMIT)
    for s in listed:
        out.write("\n" + "\n".join(describe_schedule(s, now, count)) + "\n")
    if hidden:
        out.write(f"\n{more(hidden)} (all checked; `tickwork check --all` lists them)\n")
    out.flush()
    return EXIT_OK


def describe_schedule(s: ScheduleSpec, now: Timestamp, count: int = 5) -> list[str]:
    """What `check` prints for one schedule."""
    lines = [safe(f"{s.name}: {s.message.name} {s.trigger_text} -> {s.sink.text}")]
    vals = safe(", ".join(f"{k}={v!r}" for k, v in s.values.items() if k not in s.now))
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


#: The view may take at most 1/VIEW_SHARE of the time: a slower tick delays the next one.
VIEW_SHARE = 5


def run_view(view: View, stop: threading.Event, duration: float | None) -> str:
    """Tick ``view`` every ``view.period`` (or less often, when a tick is slow: see
    `VIEW_SHARE`) until ``stop`` is set or ``duration`` passes.

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
                began = time.monotonic()
                view.tick()
                done = time.monotonic()
                next_tick += view.period * max(1, int((done - next_tick) // view.period) + 1)
                # A big spec's rows take long to gather: refresh less often rather than
                # spend more than 1/VIEW_SHARE of the time (and the GIL) on the view.
                next_tick = max(next_tick, done + (VIEW_SHARE - 1) * (done - began))
        return "stopped"
    except KeyboardInterrupt:  # no handler installed (not the main thread)
        return "stopped"
    finally:
        view.stop()


_PLAIN_SECONDS = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def parse_seconds(text: str) -> float:
    """``--duration 10``, ``10.5`` or duration text such as ``1m30s``: a positive span
    (at least 1 microsecond, as `Duration.coerce` rules), in seconds."""
    # A bare number is seconds on the command line. float() would also take other
    # scripts' digits ("٥") and underscores: plain ASCII only.
    value: float | str = float(text) if _PLAIN_SECONDS.fullmatch(text.strip()) else text
    return Duration.coerce(value, "the value", minimum=1).total_seconds()


def run(
    spec_path: str,
    *,
    state: str | None,
    duration: float | None,
    out: IO[str],
    err: IO[str],
    plain: bool = False,
    interval: float = 1.0,
    prune: bool = False,
    store: str | None = None,
    group: str = "default",
    lease_ttl: float = 10.0,
) -> int:
    """``tickwork run``: run the spec's schedules, durable in a SQLite state file (or,
    with ``store``, a PostgreSQL store shared by every replica of the spec).
    Stored schedules the spec does not have are cancelled only with ``prune``."""
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
            backend = _postgres(store, group, lease_ttl) if store else SQLiteStore(state_path)
            runner = Runner(spec, backend, stop=stop)
            rec = runner.start(prune=prune)
        except WouldCancel as exc:
            err.write(f"tickwork: {safe(exc)}.\nnothing was started.\n")
            err.flush()
            return EXIT_SPEC
        except (StoreError, OSError, ValueError, ImportError) as exc:
            what = "store" if store else "state file"
            err.write(f"tickwork: cannot use the {what} {safe(store_text)}: {safe(exc)}\n")
            err.flush()
            return EXIT_FAILED
        try:
            _announce(info, runner, f"state {safe(store_text)}: {rec.summary()}")
            live = not plain and isatty(info)
            view = make_view(runner, info, live=live, period=interval, footer=f"state {safe(store_text)}")
            how = run_view(view, stop, duration)
        finally:
            runner.stop()
        view.final(how)
    return _outcome(runner, err)


def _announce(info: IO[str], runner: Runner, state: str) -> None:
    """What a run prints before its table: the spec, the state, the schedules (the
    first `LIMIT`) with their ids."""
    spec = runner.spec
    info.write(f"tickwork: running {safe(spec.source)}: {len(spec.schedules)} schedule(s); {state}\n")
    listed, hidden = shown(spec.schedules)
    for s in listed:
        info.write(safe(
            f"  {s.name} (id {runner.ids[s.name]}): {s.message.name} {s.trigger_text} -> {s.sink.text}"
        ) + "\n")
    if hidden:
        info.write(f"  {more(hidden)}\n")
    info.flush()


def _outcome(runner: Runner, err: IO[str]) -> int:
    """The exit status of a run that ended: `EXIT_PIPE` if it halted (stdout closed),
    `EXIT_FAILED` if every send failed, else `EXIT_OK`."""
    if runner.halt_reason is not None:
        err.write(f"tickwork: stopped: {runner.halt_reason}\n")
        err.flush()
        return EXIT_PIPE
    delivered = sum(k.sent for k in runner.sinks.values())
    attempted = delivered + sum(k.failed for k in runner.sinks.values())
    if attempted and not delivered:
        err.write(f"tickwork: every send of this run failed ({attempted} attempted, none delivered): "
                  "see the sink states above\n")
        err.flush()
        return EXIT_FAILED
    return EXIT_OK


def _postgres(dsn: str, group: str, lease_ttl: float) -> Store:
    from actors.store.postgres import PostgresStore  # needs tickwork[postgres]

    return PostgresStore(dsn, group=group, lease_ttl=lease_ttl)


def isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
