"""A spec with 20,000 schedules: what `check` and `run` print stays bounded (the
first / busiest `LIMIT` schedules, then "... and N more", and the totals), the live
table shows what fits, and a slow view refreshes less often.

(20,000 rather than 100,000: reading the TOML alone takes ~11 s at 100k on this
machine, ~2.5 s at 20k; the output does not grow with the count either way.)
"""

from __future__ import annotations

import io
import re
import threading
import time
from pathlib import Path

import pytest
from rich.console import Console

from actors.cli import main
from actors.cli.commands import VIEW_SHARE, run_view
from actors.cli.display import LIMIT
from actors.cli.runner import Row
from actors.cli.view import LiveView, View, busiest, plain_table, summary_line

N = 20_000


def big_spec(path: Path, n: int = N) -> Path:
    parts = ['[messages.Heartbeat]\nfields = { seq = "int(32)", node = "str" }\n']
    parts += [
        f'[[schedules]]\nname = "s{i}"\nmessage = "Heartbeat"\nvalues = {{ seq = 0, node = "n{i}" }}\n'
        f'every = "1h"\nsink = "udp://127.0.0.1:9"\n'
        for i in range(n)
    ]
    path.write_text("\n".join(parts))
    return path


def test_check_and_run_output_is_bounded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = big_spec(tmp_path / "big.toml")
    assert main(["check", str(spec)]) == 0
    out, _ = capsys.readouterr()
    assert f"OK: 1 message type(s), {N} schedule(s)" in out
    assert len(re.findall(r"^s\d+: Heartbeat every 1h", out, re.M)) == LIMIT
    assert f"... and {N - LIMIT:,} more schedule(s) (all checked; `tickwork check --all` lists them)" in out
    assert len(out) < 20_000, len(out)  # today: 1.5 MB at 20k

    assert main(["run", str(spec), "--duration", "0.6", "--interval", "0.05"]) == 0
    out, _ = capsys.readouterr()
    assert len(re.findall(r"^  s\d+ \(id \d+\): ", out, re.M)) == LIMIT  # the start listing
    assert f"  ... and {N - LIMIT:,} more schedule(s)\n" in out
    summaries = [ln for ln in out.splitlines() if ln.startswith("tickwork ") and " | " in ln]
    assert summaries, out[:3000]
    for ln in summaries:  # today: 1.8 MB each at 20k
        assert len(ln) < 4_000 and ln.count(" | ") == LIMIT + 1, ln[:500]
        assert ln.endswith(f"| ... and {N - LIMIT:,} more schedule(s)")
    final = out[out.index("tickwork: finished"):]
    assert len(final.splitlines()) == 1 + 1 + LIMIT + 1 + 1  # headline, header, rows, "more", total
    assert len(out) < 10_000 + 4_000 * len(summaries), len(out)


def rows(n: int) -> list[Row]:
    return [Row(f"s{i}", i + 1, "every 1s", "pending", i % 7, 1 if i in (5, 77) else 0, 0, None, None, None,
                "udp://127.0.0.1:9", "ready") for i in range(n)]


def test_the_busiest_rows_are_shown_failures_first() -> None:
    top, hidden = busiest(rows(100_000), 4)
    assert [r.name for r in top] == ["s5", "s77", "s6", "s13"] and hidden == 99_996  # failed, then most sent
    small = rows(3)
    assert busiest(small, 4) == (small, 0)  # all fit: spec order
    line = summary_line(rows(100_000), 1.0)
    assert len(line) < 4_000 and line.endswith("... and 99,980 more schedule(s)")
    table = plain_table(rows(100_000))
    assert len(table) == 1 + LIMIT + 2 and table[-2] == "  ... and 99,980 more schedule(s)"
    assert table[-1].split() == ["total", str(sum(r.sent for r in rows(100_000))), "2", "0"]  # of all rows


class FakeRunner:
    def __init__(self, n: int) -> None:
        self._rows = rows(n)
        self.uptime = 1.0

    def rows(self) -> list[Row]:
        return self._rows


@pytest.mark.parametrize("height", [24, 60])
def test_the_live_table_shows_what_fits(height: int) -> None:
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, width=200, height=height)
    view = LiveView(FakeRunner(100_000), buf, console=console)  # type: ignore[arg-type]
    console.print(view.render())
    text = re.sub(r"\x1b\[[0-9;]*m", "", buf.getvalue())
    shown = re.findall(r"^│ s\d+ ", text, re.M)
    assert len(shown) == min(LIMIT, height - LiveView.chrome)
    assert len(text.splitlines()) <= height
    assert f"the {len(shown)} busiest of 100,000 schedules" in text
    assert f"... and {100_000 - len(shown):,} more schedule(s)" in text
    assert re.search(r"│ total .*│ +%d │ +2 │" % sum(r.sent for r in rows(100_000)), text)  # totals of all


class SlowView(View):
    """Each tick takes 20 ms; asked for one every millisecond."""

    period = 0.001

    def __init__(self) -> None:
        self.busy = 0.0
        self.ticks = 0

    def tick(self) -> None:
        t0 = time.monotonic()
        time.sleep(0.02)
        self.busy += time.monotonic() - t0
        self.ticks += 1


def test_a_slow_view_refreshes_less_often() -> None:
    view = SlowView()
    t0 = time.monotonic()
    assert run_view(view, threading.Event(), 1.0) == "finished"
    elapsed = time.monotonic() - t0
    assert view.ticks >= 2
    # at most 1/VIEW_SHARE of the time in the view (plus one tick of slack); today ~95%
    assert view.busy <= elapsed / VIEW_SHARE + 0.03, (view.busy, elapsed, view.ticks)
