"""The ``tickwork`` command (also ``python -m actors``).

::

    tickwork run SPEC.toml [--state FILE] [--duration SECONDS]   # until Ctrl-C
    tickwork check SPEC.toml [--all]                             # validate, show next firings
    tickwork demo [--seconds N]                                  # UDP heartbeats, no files
    tickwork --version

Modules: `spec` (the TOML spec: msgspec structs, checks with paths, `SpecError`),
`sinks` (udp / tcp / file / stdout), `runner` (durable schedules and the ``send``
target), `view` (live table, summary lines), `display` (escaping spec text, cutting
long listings), `commands` (run, check), `demo`, `version`.

A closed stdout (``tickwork check big.toml | head -1``) ends the command quietly
with exit status 141 (128 + SIGPIPE, what a shell reports for a filter killed by
SIGPIPE), never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

__all__ = ["EXIT_PIPE", "main"]

#: The exit status when stdout was closed by its reader (128 + SIGPIPE).
EXIT_PIPE = 141


def _seconds(text: str) -> float:
    from actors.cli.commands import parse_seconds

    try:
        return parse_seconds(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tickwork",
        description="Run timed and periodic messages described by a TOML spec (see `tickwork demo`).",
    )
    from actors.cli.version import version

    p.add_argument("--version", action="version", version=f"tickwork {version()}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    r = sub.add_parser("run", help="run a spec's schedules until Ctrl-C (durable: a restart resumes)")
    r.add_argument("spec", metavar="SPEC.toml")
    r.add_argument("--state", metavar="FILE", help="SQLite state file (default: SPEC.state.db next to the spec)")
    r.add_argument("--store", metavar="DSN",
                   help="a PostgreSQL store (postgresql://...) shared by replicas of the spec, instead of --state "
                        "(with --ray: a group per shard, instead of --state-dir)")
    r.add_argument("--group", metavar="NAME", default="default",
                   help="the group within --store (default 'default'; with --ray: the shards' groups "
                        "are NAME.shard.I-of-K, NAME by default the spec's deployment name)")
    r.add_argument("--lease-ttl", metavar="SECONDS", type=_seconds, default=10.0,
                   help="with --store: a silent replica's schedules move to the others after this long (default 10)")
    r.add_argument("--duration", metavar="SECONDS", type=_seconds, help="stop after this long (default: until Ctrl-C)")
    r.add_argument("--plain", action="store_true", help="summary lines instead of the live table, even on a terminal")
    r.add_argument("--interval", metavar="SECONDS", type=_seconds, default=1.0,
                   help="seconds between summary lines when not on a terminal (default 1)")
    r.add_argument("--prune", action="store_true",
                   help="cancel stored schedules the spec no longer has (without it, such a state file is refused)")
    from actors.cli import ray_run

    ray_run.add_arguments(r)

    c = sub.add_parser("check", help="validate a spec and print each schedule's next five firings")
    c.add_argument("spec", metavar="SPEC.toml")
    c.add_argument("--all", action="store_true", dest="show_all",
                   help="describe every schedule (default: the first 20, then a count)")

    d = sub.add_parser("demo", help="heartbeats and status messages to a UDP receiver on 127.0.0.1, no files needed")
    d.add_argument("--seconds", metavar="N", type=_seconds, default=4.0, help="how long to run (default 4)")
    d.add_argument("--plain", action="store_true", help="summary lines instead of the live table")
    d.add_argument("--print-spec", action="store_true", help="print the demo's spec (a starting point) and exit")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``tickwork`` command line; returns the exit code (0 ok, 1 failed, 2 bad
    spec/usage, 130 interrupted, 141 stdout closed)."""
    try:
        code = _main(argv)
        sys.stdout.flush()  # what is still buffered fails now, not in the interpreter's exit
        return code
    except BrokenPipeError:  # `tickwork check big.toml | head -1`: the reader went away
        _silence(sys.stdout)
        return EXIT_PIPE
    finally:
        _flush_or_silence(sys.stderr)


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) or a usage error (2)
        return int(exc.code) if isinstance(exc.code, int) else 2
    from actors.cli import commands

    out, err = sys.stdout, sys.stderr
    try:
        if args.command == "check":
            return commands.check(args.spec, out, err, show_all=args.show_all)
        if args.command == "run" and args.ray:
            from actors.cli import ray_run

            return ray_run.main(args, out, err)
        if args.command == "run":
            return commands.run(
                args.spec, state=args.state, duration=args.duration, out=out, err=err,
                store=args.store, group=args.group, lease_ttl=args.lease_ttl,
                plain=args.plain, interval=args.interval, prune=args.prune,
            )
        from actors.cli import demo

        if args.print_spec:
            out.write(demo.demo_spec_text(9999))
            return 0
        return demo.demo(args.seconds, out, plain=args.plain)
    except KeyboardInterrupt:
        err.write("tickwork: interrupted\n")
        return 130


def _silence(stream: object) -> None:
    """Point ``stream``'s file descriptor at /dev/null, so the interpreter's final
    flush of what it still buffers does not fail again (the Python docs' recipe)."""
    try:
        fd = stream.fileno()  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):  # not a real file (a test's capture)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def _flush_or_silence(stream: object) -> None:
    try:
        stream.flush()  # type: ignore[attr-defined]
    except (BrokenPipeError, ValueError):
        _silence(stream)
