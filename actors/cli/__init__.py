"""The ``tickwork`` command (also ``python -m actors``).

::

    tickwork run SPEC.toml [--state FILE] [--duration SECONDS]   # until Ctrl-C
    tickwork check SPEC.toml                                     # validate, show next firings
    tickwork demo [--seconds N]                                  # UDP heartbeats, no files

Modules: `spec` (the TOML spec: msgspec structs, checks with paths, `SpecError`),
`sinks` (udp / tcp / file / stdout), `runner` (durable schedules and the ``send``
target), `view` (live table, summary lines), `commands` (run, check), `demo`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main"]


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
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    r = sub.add_parser("run", help="run a spec's schedules until Ctrl-C (durable: a restart resumes)")
    r.add_argument("spec", metavar="SPEC.toml")
    r.add_argument("--state", metavar="FILE", help="SQLite state file (default: SPEC.state.db next to the spec)")
    r.add_argument("--store", metavar="DSN",
                   help="a PostgreSQL store (postgresql://...) shared by replicas of the spec, instead of --state")
    r.add_argument("--group", metavar="NAME", default="default", help="the group within --store (default 'default')")
    r.add_argument("--lease-ttl", metavar="SECONDS", type=_seconds, default=10.0,
                   help="with --store: a silent replica's schedules move to the others after this long (default 10)")
    r.add_argument("--duration", metavar="SECONDS", type=_seconds, help="stop after this long (default: until Ctrl-C)")
    r.add_argument("--plain", action="store_true", help="summary lines instead of the live table, even on a terminal")
    r.add_argument("--interval", metavar="SECONDS", type=_seconds, default=1.0,
                   help="seconds between summary lines when not on a terminal (default 1)")

    c = sub.add_parser("check", help="validate a spec and print each schedule's next five firings")
    c.add_argument("spec", metavar="SPEC.toml")

    d = sub.add_parser("demo", help="heartbeats and status messages to a UDP receiver on 127.0.0.1, no files needed")
    d.add_argument("--seconds", metavar="N", type=_seconds, default=4.0, help="how long to run (default 4)")
    d.add_argument("--plain", action="store_true", help="summary lines instead of the live table")
    d.add_argument("--print-spec", action="store_true", help="print the demo's spec (a starting point) and exit")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``tickwork`` command line; returns the exit code (0 ok, 1 failed, 2 bad spec/usage)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2)
        return int(exc.code) if isinstance(exc.code, int) else 2
    from actors.cli import commands

    out, err = sys.stdout, sys.stderr
    try:
        if args.command == "check":
            return commands.check(args.spec, out, err)
        if args.command == "run":
            return commands.run(
                args.spec, state=args.state, duration=args.duration, out=out, err=err,
                store=args.store, group=args.group, lease_ttl=args.lease_ttl,
                plain=args.plain, interval=args.interval,
            )
        from actors.cli import demo

        if args.print_spec:
            out.write(demo.demo_spec_text(9999))
            return 0
        return demo.demo(args.seconds, out, plain=args.plain)
    except KeyboardInterrupt:
        err.write("tickwork: interrupted\n")
        return 130
