"""Spec text shown by `check`, `run` and the views is escaped: control characters
never reach the terminal, rich markup in names is shown as written."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.console import Console

from actors.cli import main
from actors.cli.display import more, safe, shown
from actors.cli.runner import Row, Runner
from actors.cli.spec import spec_from_text
from actors.cli.view import LiveView, plain_table, summary_line
from actors.store import MemoryStore

EVIL = "evil\x1b[2J\x9b31m\x7f\x07\u202ex"
EVIL_SHOWN = r"evil\x1b[2J\x9b31m\x7f\x07\u202ex"

SPEC = """\
[messages.Heartbeat]
fields = { seq = "int(32)", node = "str" }

[[schedules]]
name = "evil\\u001b[2J\\u009b31m\\u007f\\u0007\\u202ex"
message = "Heartbeat"
values = { seq = 0, node = "a\\u001bb" }
every = "1h"
sink = "file:o\\u001b.frames"

[[schedules]]
name = "[bold]x"
message = "Heartbeat"
values = { seq = 0, node = "b" }
every = "1h"
sink = "udp://127.0.0.1:9"
"""

#: Any control character (C0 but newline, DEL, C1) or bidi override in what was printed.
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def test_safe_escapes_controls_and_keeps_the_rest() -> None:
    assert safe(EVIL) == EVIL_SHOWN
    assert safe("tab\there\nnl\r\x00") == r"tab\there\nnl\r\x00"
    assert safe("\u2028\u2066") == r"\u2028\u2066"
    assert safe("plain [bold] é ü 東京 C:\\dir") == "plain [bold] é ü 東京 C:\\dir"  # unchanged
    assert safe(3) == "3"
    assert shown([1, 2, 3], 2) == ([1, 2], 1) and shown([1], 2) == ([1], 0)
    assert more(99_980) == "... and 99,980 more schedule(s)"


def test_check_and_run_print_names_and_sinks_escaped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "evil.toml"
    spec.write_text(SPEC)
    assert main(["check", str(spec)]) == 0
    out, _ = capsys.readouterr()
    assert not RAW_CONTROL.search(out), repr(out)
    assert f"{EVIL_SHOWN}: Heartbeat every 1h -> file:o\\x1b.frames" in out
    assert "node='a\\x1bb'" in out
    assert "[bold]x: Heartbeat every 1h" in out

    assert main(["run", str(spec), "--duration", "0.2", "--interval", "0.05"]) == 0
    out, err = capsys.readouterr()
    assert not RAW_CONTROL.search(out + err), repr(out + err)
    assert f"  {EVIL_SHOWN} (id 1): Heartbeat every 1h -> file:o\\x1b.frames" in out  # the header
    assert re.search(r"^tickwork .* \| " + re.escape(EVIL_SHOWN) + ": sent 0", out, re.M)  # a summary line
    assert re.search(r"^  " + re.escape(EVIL_SHOWN) + r" +every 1h", out, re.M)  # the final statistics


def test_spec_errors_escape_the_names_they_quote(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "dup.toml"
    spec.write_text(SPEC + SPEC.split("\n\n", 2)[1].replace("[[schedules]]", "\n[[schedules]]"))
    assert main(["check", str(spec)]) == 2
    _, err = capsys.readouterr()
    assert f"duplicate schedule name `{EVIL_SHOWN}`" in err
    assert not RAW_CONTROL.search(err), repr(err)


def row(name: str, sink: str = "udp://127.0.0.1:9", state: str = "ready") -> Row:
    return Row(name, 1, "every 1h", "pending", 3, 0, 0, None, None, None, sink, state)


def test_summary_line_and_plain_table_escape() -> None:
    rows = [row(EVIL, "file:/tmp/x\x1b", "error: \x1b[31mboom")]
    text = summary_line(rows, 1.0) + "\n".join(plain_table(rows))
    assert not RAW_CONTROL.search(text), repr(text)
    assert EVIL_SHOWN in text and "file:/tmp/x\\x1b" in text and "error: \\x1b[31mboom" in text


def test_live_table_shows_markup_literally_and_controls_escaped() -> None:
    spec = spec_from_text(SPEC.replace("file:o\\u001b.frames", "udp://127.0.0.1:9"))
    runner = Runner(spec, MemoryStore())
    runner.start()
    try:
        buf = io.StringIO()
        console = Console(file=buf, force_terminal=True, width=200, height=40)
        view = LiveView(runner, buf, console=console, footer="state [red]x")
        console.print(view.render())
        runner.stop()
        view.final("finished")
    finally:
        runner.stop()
    text = buf.getvalue()
    styled = re.sub(r"\x1b\[[0-9;]*m", "", text)  # rich's own styling
    assert not RAW_CONTROL.search(styled), repr(styled)
    assert styled.count(EVIL_SHOWN) == 2  # the live table and the final one
    assert styled.count("[bold]x") == 2 and "state [red]x" in styled
