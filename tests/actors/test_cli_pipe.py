"""A closed stdout (``tickwork check x.toml | head -1``) ends the command quietly
with exit status 141 and no traceback; a ``stdout`` sink whose reader went away
stops the run, saying so on stderr.

Each child writes into a pipe whose read end is already closed, so every write
fails with EPIPE: deterministic, unlike racing a real ``head``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

SPEC = """\
[messages.Heartbeat]
fields = { seq = "int(32)", node = "str" }

[[schedules]]
name = "hb"
message = "Heartbeat"
values = { seq = 0, node = "a" }
every = "{every}"
increment = ["seq"]
sink = "{sink}"
"""


def closed_stdout(args: list[str], tmp_path: Path, timeout: float = 30) -> tuple[int, str, float]:
    """Run ``python -m actors ARGS`` with stdout a pipe nobody reads: (exit code, stderr, seconds)."""
    r, w = os.pipe()
    os.close(r)
    t0 = time.monotonic()
    try:
        p = subprocess.run(
            [sys.executable, "-m", "actors", *args], stdout=w, stderr=subprocess.PIPE, text=True,
            timeout=timeout, cwd=tmp_path,
        )
    finally:
        os.close(w)
    return p.returncode, p.stderr, time.monotonic() - t0


def spec(tmp_path: Path, sink: str, every: str = "50ms") -> str:
    path = tmp_path / "hb.toml"
    path.write_text(SPEC.replace("{sink}", sink).replace("{every}", every))
    return str(path)


@pytest.mark.parametrize(
    "args",
    [["check", "SPEC"], ["run", "SPEC", "--duration", "0.3"], ["demo", "--seconds", "0.3"], ["demo", "--print-spec"]],
    ids=["check", "run", "demo", "print-spec"],
)  # (--help and --version: argparse ignores write errors itself, exit 0)
def test_a_closed_stdout_exits_141_without_a_traceback(args: list[str], tmp_path: Path) -> None:
    path = spec(tmp_path, "udp://127.0.0.1:9", "1h")
    code, err, _ = closed_stdout([path if a == "SPEC" else a for a in args], tmp_path)
    assert code == 141, err
    assert "Traceback" not in err and "Exception ignored" not in err, err


def test_a_stdout_sink_into_a_closed_pipe_stops_the_run(tmp_path: Path) -> None:
    code, err, took = closed_stdout(["run", spec(tmp_path, "stdout"), "--duration", "20"], tmp_path)
    assert code == 141, err
    assert took < 15, took  # stopped at the first failed send, not after --duration
    assert "tickwork: stopped: stdout was closed (the reader of the stdout sink went away)" in err
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert "tickwork: stopped after" in err  # the final statistics went to stderr


def test_demo_whose_reader_goes_away_midway_exits_quietly(tmp_path: Path) -> None:
    """The receiver thread's output fails first: it stops the demo instead of dying with a traceback."""
    p = subprocess.Popen(
        [sys.executable, "-m", "actors", "demo", "--seconds", "20", "--plain"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
    )
    try:
        assert p.stdout is not None
        for line in p.stdout:
            if "recv Heartbeat" in line:
                break
        p.stdout.close()
        t0 = time.monotonic()
        _, err = p.communicate(timeout=15)
    finally:
        p.kill()
    assert p.returncode == 141, err
    assert time.monotonic() - t0 < 10  # stopped by the closed output, not after --seconds
    assert "Traceback" not in err and "Exception" not in err, err
