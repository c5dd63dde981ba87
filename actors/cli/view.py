"""What `tickwork run` and `tickwork demo` show while they run, and when they stop.

On a terminal: a rich table refreshed in place 4 times a second (`LiveView`): per
schedule its trigger, sends, failures, missed firings, lateness p50/p99, next
firing and its sink's state, with totals in the footer. Elsewhere (a pipe, a file,
a CI log): one summary line per interval (`LineView`). Both end with the same
final statistics.
"""

from __future__ import annotations

import heapq
import sys
import threading
from collections.abc import Sequence
from typing import IO

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from actors.cli.display import LIMIT, more, safe
from actors.cli.runner import Row, Runner
from timekit import Duration, Timestamp

__all__ = [
    "LineView", "LiveView", "View", "busiest", "fmt_late", "fmt_next", "make_view", "plain_table", "summary_line",
]


def fmt_late(us: int | None) -> str:
    """Lateness for humans: "0.21ms", "12.5ms", "1.30s"; "-" before any execution."""
    if us is None:
        return "-"
    if abs(us) >= 60_000_000:
        return str(Duration(us))  # "1.5min", "2518.8d"
    if abs(us) >= 1_000_000:
        return f"{us / 1e6:.2f}s"
    return f"{us / 1000:.2f}ms"


def fmt_next(next_us: int | None, now: Timestamp, status: str = "pending") -> str:
    """The next firing relative to now ("in 62.0ms"); "done" for a finished one-shot."""
    if status in ("completed", "failed"):
        return "done"
    if next_us is None:
        return "-"
    return Timestamp.from_micros(next_us).format_relative(now).replace("\u03bcs", "us")


def fmt_secs(seconds: float) -> str:
    return f"{seconds:.1f}s"


def totals(rows: Sequence[Row]) -> tuple[int, int, int]:
    return sum(r.sent for r in rows), sum(r.failed for r in rows), sum(r.missed for r in rows)


def busiest(rows: Sequence[Row], limit: int = LIMIT) -> tuple[Sequence[Row], int]:
    """The rows to show and how many are left out: all of them, in spec order, when
    they fit; else the ``limit`` busiest (most failures, then most sends; ties in spec
    order), busiest first."""
    if len(rows) <= limit:
        return rows, 0
    top = heapq.nsmallest(max(0, limit), range(len(rows)), key=lambda i: (-rows[i].failed, -rows[i].sent, i))
    return [rows[i] for i in top], len(rows) - len(top)


def summary_line(rows: Sequence[Row], uptime: float, now: Timestamp | None = None, limit: int = LIMIT) -> str:
    """One line for non-terminal output: totals, then each schedule (the ``limit``
    busiest, then "... and N more", when there are more)."""
    now = now or Timestamp.now()
    sent, failed, missed = totals(rows)
    parts = [f"tickwork {fmt_secs(uptime):>7}  sent {sent}  failed {failed}  missed {missed}"]
    top, hidden = busiest(rows, limit)
    for r in top:
        parts.append(
            f"{safe(r.name)}: sent {r.sent} failed {r.failed} missed {r.missed} "
            f"p50 {fmt_late(r.late_p50_us)} p99 {fmt_late(r.late_p99_us)} "
            f"next {fmt_next(r.next_us, now, r.status)} [{safe(r.sink)} {safe(r.sink_state)}]"
        )
    if hidden:
        parts.append(more(hidden))
    return " | ".join(parts)


_HEADERS = ("schedule", "trigger", "sent", "failed", "missed", "late p50", "late p99", "sink")


def plain_table(rows: Sequence[Row], limit: int = LIMIT) -> list[str]:
    """The final statistics as aligned text lines (header, one per schedule, total);
    past ``limit`` schedules, the busiest ones and a "... and N more" line."""
    top, hidden = busiest(rows, limit)
    body = [
        (safe(r.name), safe(r.trigger), str(r.sent), str(r.failed), str(r.missed), fmt_late(r.late_p50_us),
         fmt_late(r.late_p99_us), safe(f"{r.sink} ({r.sink_state})"))
        for r in top
    ]
    sent, failed, missed = totals(rows)
    body.append(("total", "", str(sent), str(failed), str(missed), "", "", ""))
    table = [_HEADERS, *body]
    widths = [max(len(row[i]) for row in table) for i in range(len(_HEADERS) - 1)]
    lines = []
    for row in table:
        cells = [
            row[i].rjust(widths[i]) if 2 <= i <= 6 else row[i].ljust(widths[i]) for i in range(len(widths))
        ]
        lines.append(("  " + "  ".join(cells) + "  " + row[-1]).rstrip())
    if hidden:  # before the total, outside the columns
        lines.insert(-1, "  " + more(hidden))
    return lines


class View:
    """Shows a runner's schedules: `start`, `tick` every `period` seconds, `stop`, `final`."""

    period = 1.0

    def __init__(self, runner: Runner, out: IO[str], *, footer: str = "") -> None:
        self.runner = runner
        self.out = out
        self.footer = footer
        self._lock = threading.Lock()

    def start(self) -> None:
        pass

    def tick(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def say(self, text: str) -> None:
        """Print a line (above the live table, if there is one)."""
        with self._lock:
            self.out.write(text + "\n")
            self.out.flush()

    def final(self, how: str) -> None:
        """The final statistics, after the runner stopped."""
        rows = self.runner.rows()
        sent, failed, missed = totals(rows)
        self.say(f"tickwork: {how} after {fmt_secs(self.runner.uptime)}: "
                 f"sent {sent}, failed {failed}, missed {missed}")
        for line in plain_table(rows):
            self.say(line)


class LineView(View):
    """One summary line per `period` (non-terminal output)."""

    def __init__(self, runner: Runner, out: IO[str], *, period: float = 1.0, footer: str = "") -> None:
        super().__init__(runner, out, footer=footer)
        self.period = period

    def tick(self) -> None:
        self.say(summary_line(self.runner.rows(), self.runner.uptime))


class LiveView(View):
    """A rich table refreshed in place ~4 times a second."""

    period = 0.25

    def __init__(self, runner: Runner, out: IO[str], *, footer: str = "", console: Console | None = None) -> None:
        super().__init__(runner, out, footer=footer)
        self.console = console or Console(file=out)
        self.live: Live | None = None

    #: Lines of the live display that are not schedule rows (title, header, footer, borders, caption).
    chrome = 10

    def fit(self) -> int:
        """How many schedule rows the live table shows: what fits the terminal, at most `LIMIT`."""
        return max(3, min(LIMIT, self.console.size.height - self.chrome))

    def render(self) -> Table:
        rows = self.runner.rows()
        now = Timestamp.now()
        sent, failed, missed = totals(rows)
        top, hidden = busiest(rows, self.fit())
        count = f"{len(rows):,} schedule(s)" if not hidden else f"the {len(top)} busiest of {len(rows):,} schedules"
        t = Table(
            title="tickwork",
            caption=f"{count} · up {fmt_secs(self.runner.uptime)}"
            + (f" · {escape(safe(self.footer))}" if self.footer else "") + " · Ctrl-C to stop",
            show_footer=True,
            expand=False,
        )
        t.add_column("schedule", footer="total", style="bold")
        t.add_column("trigger")
        t.add_column("sent", justify="right", footer=str(sent))
        t.add_column("failed", justify="right", footer=str(failed))
        t.add_column("missed", justify="right", footer=str(missed))
        t.add_column("late p50", justify="right")
        t.add_column("late p99", justify="right")
        t.add_column("next", justify="right")
        t.add_column("sink")
        t.add_column("state")
        for r in top:
            state = r.sink_state
            style = "green" if state in ("connected", "ready", "appending", "ok") else "yellow"
            if state.startswith("error"):
                style = "red"
            t.add_row(
                _cell(r.name), _cell(r.trigger), str(r.sent),
                f"[red]{r.failed}[/]" if r.failed else "0",
                f"[yellow]{r.missed}[/]" if r.missed else "0",
                fmt_late(r.late_p50_us), fmt_late(r.late_p99_us), fmt_next(r.next_us, now, r.status),
                _cell(r.sink), f"[{style}]{_cell(state)}[/]",
            )
        if hidden:
            t.add_row(f"[dim]{more(hidden)}[/]")
        return t

    def start(self) -> None:
        # Lines written to sys.stdout / sys.stderr while the table is up are printed above
        # it; stdout only when the table is on stdout (a stdout sink piped elsewhere
        # must keep its JSON lines).
        self.live = Live(
            self.render(), console=self.console, auto_refresh=False, transient=True,
            redirect_stdout=self.out is sys.stdout, redirect_stderr=True,
        )
        self.live.start(refresh=True)

    def tick(self) -> None:
        if self.live is not None:
            self.live.update(self.render(), refresh=True)

    def stop(self) -> None:
        if self.live is not None:
            self.live.update(self.render(), refresh=True)
            self.live.stop()
            self.live = None

    def say(self, text: str) -> None:
        with self._lock:
            self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def final(self, how: str) -> None:
        rows = self.runner.rows()
        sent, failed, missed = totals(rows)
        self.say(f"tickwork: {how} after {fmt_secs(self.runner.uptime)}: "
                 f"sent {sent}, failed {failed}, missed {missed}")
        t = Table(show_footer=True)
        for i, h in enumerate(_HEADERS):
            t.add_column(h, justify="right" if 2 <= i <= 6 else "left",
                         footer={0: "total", 2: str(sent), 3: str(failed), 4: str(missed)}.get(i, ""))
        top, hidden = busiest(rows)
        for r in top:
            t.add_row(_cell(r.name), _cell(r.trigger), str(r.sent), str(r.failed), str(r.missed),
                      fmt_late(r.late_p50_us), fmt_late(r.late_p99_us), _cell(f"{r.sink} ({r.sink_state})"))
        if hidden:
            t.add_row(more(hidden))
        self.console.print(t)


def _cell(text: str) -> str:
    """Spec text as a rich table cell: controls escaped, ``[markup]`` shown as written."""
    return escape(safe(text))


def make_view(runner: Runner, out: IO[str], *, live: bool, period: float = 1.0, footer: str = "") -> View:
    """A live table on a terminal, summary lines otherwise."""
    if live:
        return LiveView(runner, out, footer=footer)
    return LineView(runner, out, period=period, footer=footer)
