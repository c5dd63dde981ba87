"""The examples run as scripts: each exits 0, prints its key line, writes no traceback."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

CASES = [
    ("message_scheduling_demo.py", [], ["cancel_all_scheduled_messages() -> 2", "OK: static message demo finished"]),
    ("message_scheduling_with_updates_demo.py", [], ["update callback failed, send skipped", "OK: update demo finished"]),
    ("time_scheduling_example.py", [], ["2026-03-29 03:30:00 CEST", "total_executions       713",
                                        "OK: time scheduling tour finished"]),
    # Real-time counts (about 10) depend on the machine's load: match them as patterns.
    ("heartbeat_udp.py", ["--seconds", "1"], [r"re:sent (\d+), received \1, lost 0", "one-way latency"]),
    ("async_tcp_ping.py", [], [r"re:pings sent (\d+), pongs received \1, lost 0", "OK: every ping answered"]),
]


@pytest.mark.parametrize(("script", "args", "expected"), CASES, ids=[c[0] for c in CASES])
def test_example_runs(script: str, args: list[str], expected: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / script), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    report = f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    assert proc.returncode == 0, report
    for line in expected:
        if line.startswith("re:"):
            assert re.search(line[3:], proc.stdout), f"no match for {line[3:]!r}\n{report}"
        else:
            assert line in proc.stdout, f"missing {line!r}\n{report}"
    assert "Traceback" not in proc.stderr, report
