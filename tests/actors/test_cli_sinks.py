"""The file: sink keeps its file readable whatever happened to earlier writes."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from actors.cli import sinks
from actors.cli.sinks import FileSink, parse_sink, whole_frames_end
from actors.cli.spec import spec_from_text
from codec import FrameReader

SPEC = spec_from_text(
    """\
[messages.Heartbeat]
fields = { seq = "int(32)", ts = "int(64)", node = "str" }

[[schedules]]
name = "hb"
message = "Heartbeat"
values = { seq = 0, ts = 0, node = "hb" }
every = "1s"
increment = ["seq"]
sink = "stdout"
"""
)
PROTOCOL = SPEC.protocol
HB = SPEC.schedules[0]


def msg(n: int) -> Any:
    return HB.build(n, 0)


def read_all(path: Path) -> list[int]:
    """Every frame's seq; DecodeError if the file is not whole frames."""
    return [m.seq for m in FrameReader(PROTOCOL).messages([path.read_bytes()])]


def file_sink(path: Path) -> FileSink:
    sink = FileSink(parse_sink(f"file:{path.name}", path.parent))
    sink.open()
    return sink


def test_a_torn_frame_at_the_end_is_cut_off_when_the_sink_opens(tmp_path: Path) -> None:
    path = tmp_path / "out.frames"
    whole = PROTOCOL.frame(msg(1)) + PROTOCOL.frame(msg(2))
    torn = PROTOCOL.frame(msg(3))
    for cut in (1, 3, 4, 7, len(torn) - 1):  # inside the header, and inside the payload
        path.write_bytes(whole + torn[:cut])
        sink = file_sink(path)
        sink.send("hb", msg(4), PROTOCOL)
        sink.close()
        assert read_all(path) == [1, 2, 4], cut
        assert sink.repaired == cut


def test_whole_frames_end(tmp_path: Path) -> None:
    path = tmp_path / "f"
    assert whole_frames_end(path) == 0  # no file
    frame = PROTOCOL.frame(msg(1))
    path.write_bytes(frame * 3)
    assert whole_frames_end(path) == 3 * len(frame)
    path.write_bytes(frame * 3 + b"\x00\x00\x01")
    assert whole_frames_end(path) == 3 * len(frame)
    path.write_bytes(b"\xff\xff\xff\xff" + b"x" * 10)  # declares more than there is
    assert whole_frames_end(path) == 0


def test_a_write_that_fails_part_way_is_cut_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "out.frames"
    sink = file_sink(path)
    sink.send("hb", msg(1), PROTOCOL)
    real_write = os.write
    calls = {"n": 0}

    def disk_fills_up(fd: int, data: Any) -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            return real_write(fd, bytes(data)[:5])  # a short write...
        raise OSError(errno.ENOSPC, "No space left on device")  # ...then the disk is full

    monkeypatch.setattr(sinks.os, "write", disk_fills_up)
    with pytest.raises(OSError, match="No space"):
        sink.send("hb", msg(2), PROTOCOL)
    assert sink.failed == 1 and sink.status() == "error: No space left on device"
    monkeypatch.setattr(sinks.os, "write", real_write)
    assert read_all(path) == [1]  # the torn frame is gone already
    sink.send("hb", msg(3), PROTOCOL)
    sink.close()
    assert read_all(path) == [1, 3]


def test_a_failed_write_that_cannot_be_cut_back_is_repaired_on_reopen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "out.frames"
    sink = file_sink(path)
    sink.send("hb", msg(1), PROTOCOL)
    real_write = os.write

    def torn(fd: int, data: Any) -> int:
        real_write(fd, bytes(data)[:6])
        raise OSError(errno.EIO, "Input/output error")

    def no_truncate(fd: int, length: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(sinks.os, "write", torn)
    monkeypatch.setattr(sinks.os, "ftruncate", no_truncate)
    with pytest.raises(OSError):
        sink.send("hb", msg(2), PROTOCOL)
    monkeypatch.undo()
    assert sink.status().startswith("error") and sink._fd is None  # closed: the next send reopens
    sink.send("hb", msg(3), PROTOCOL)
    sink.close()
    assert read_all(path) == [1, 3]


def test_a_file_sink_stays_readable_after_sigkills_of_tickwork_run(tmp_path: Path) -> None:
    spec = tmp_path / "hb.toml"
    spec.write_text(
        '[messages.Heartbeat]\nfields = { seq = "int(32)", node = "str", pad = "str" }\n\n'
        '[[schedules]]\nname = "hb"\nmessage = "Heartbeat"\n'
        f'values = {{ seq = 0, node = "hb", pad = "{"x" * 2000}" }}\n'
        'every = "1ms"\nincrement = ["seq"]\nsink = "file:hb.frames"\n'
    )
    out = tmp_path / "hb.frames"
    protocol = spec_from_text(spec.read_text()).protocol
    for kill in range(3):
        p = subprocess.Popen(
            [sys.executable, "-m", "actors", "run", str(spec), "--plain"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        start = out.stat().st_size if out.exists() else 0
        while time.monotonic() < deadline and (not out.exists() or out.stat().st_size < start + 20_000):
            time.sleep(0.01)
        p.send_signal(signal.SIGKILL)
        p.wait(10)
        # A crash may leave a torn frame at the very end; a new run cuts it off.
        if kill == 0:
            with open(out, "ab") as f:
                f.write(b"\x00\x00\x10\x00torn")  # as a kill mid-write would
    p = subprocess.run(
        [sys.executable, "-m", "actors", "run", str(spec), "--plain", "--duration", "0.3"],
        check=False, capture_output=True, text=True, timeout=30,
    )
    assert p.returncode == 0, p.stderr
    seqs = [m.seq for m in FrameReader(protocol).messages([out.read_bytes()])]
    assert len(seqs) > 20 and seqs[0] == 1
