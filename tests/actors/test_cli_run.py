"""`tickwork run` / `tickwork demo` end to end, with real sockets on 127.0.0.1.

In-process runs use ``main([...])`` with ``--duration``; the TCP-outage and Ctrl-C
tests run the command as a subprocess and follow its summary lines as they come.
Every wait is on a condition with a deadline.
"""

from __future__ import annotations

import io
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from actors.cli import main
from actors.cli.runner import Runner
from actors.cli.spec import spec_from_text
from actors.cli.view import LiveView
from actors.store import MemoryStore, SQLiteStore, StoreError
from codec import FrameReader

HEARTBEAT = """\
[messages.Heartbeat]
fields = { seq = "int(32)", ts = "int(64)", node = "str" }
"""


def hb_schedule(name: str, sink: str, every: str = "100ms", first_seq: int = 0, **extra: str) -> str:
    lines = [
        "[[schedules]]",
        f'name = "{name}"',
        'message = "Heartbeat"',
        f'values = {{ seq = {first_seq}, node = "{name}" }}',
        f'every = "{every}"',
        'increment = ["seq"]',
        'now = { ts = "us" }',
        f'sink = "{sink}"',
        *(f"{k} = {v}" for k, v in extra.items()),
    ]
    return "\n" + "\n".join(lines) + "\n"


PROTOCOL = spec_from_text(HEARTBEAT + hb_schedule("x", "stdout")).protocol


@pytest.fixture
def udp() -> Iterator[socket.socket]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    yield s
    s.close()


def udp_url(s: socket.socket) -> str:
    return "udp://127.0.0.1:%d" % s.getsockname()[1]


def drain(sock: socket.socket, timeout: float = 0.3) -> list[Any]:
    """Every datagram waiting on ``sock`` (and those arriving within ``timeout``), decoded."""
    out = []
    sock.settimeout(timeout)
    while True:
        try:
            data = sock.recv(65536)
        except TimeoutError:
            return out
        out.append(PROTOCOL.decode(data))


def run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def ids_of(out: str) -> dict[str, int]:
    return {m[0]: int(m[1]) for m in re.findall(r"^  (\S+) \(id (\d+)\):", out, re.M)}


def final_totals(out: str) -> tuple[int, int, int]:
    m = re.search(r"^tickwork: (?:finished|stopped) after [\d.]+s: sent (\d+), failed (\d+), missed (\d+)$", out, re.M)
    assert m, out
    return int(m[1]), int(m[2]), int(m[3])


# --------------------------------------------------------------------------- in-process runs


def test_run_sends_udp_and_logs_summary_lines(
    tmp_path: Path, udp: socket.socket, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "hb.toml"
    spec.write_text(HEARTBEAT + hb_schedule("hb", udp_url(udp)))
    t0 = time.time_ns() // 1000
    code, out, err = run_main(["run", str(spec), "--duration", "1.0", "--interval", "0.25"], capsys)
    assert code == 0, err
    msgs = drain(udp)
    seqs = [m.seq for m in msgs]
    assert len(seqs) >= 5 and seqs == list(range(1, len(seqs) + 1)), seqs
    assert all(t0 < m.ts < t0 + 5_000_000 and m.node == "hb" for m in msgs)
    assert "tickwork: running" in out and "state " + str(tmp_path / "hb.state.db") in out
    summaries = re.findall(r"^tickwork +[\d.]+s  sent (\d+)  failed 0  missed \d+ \| hb: sent \d+ .*\[udp://", out, re.M)
    assert len(summaries) >= 2, out  # not a terminal: one summary line per interval
    assert [int(n) for n in summaries] == sorted(int(n) for n in summaries)
    sent, failed, _missed = final_totals(out)
    assert (sent, failed) == (len(seqs), 0)
    assert (tmp_path / "hb.state.db").exists()


def test_restart_resumes_the_same_schedules_and_continues_counting(
    tmp_path: Path, udp: socket.socket, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "hb.toml"
    state = tmp_path / "elsewhere.db"
    spec.write_text(HEARTBEAT + hb_schedule("a", udp_url(udp)) + hb_schedule("b", udp_url(udp), "150ms", 1000))
    args = ["run", str(spec), "--state", str(state), "--duration", "0.7"]

    code, out1, err = run_main(args, capsys)
    assert code == 0, err
    assert "2 created" in out1
    first = drain(udp)
    code, out2, err = run_main(args, capsys)
    assert code == 0, err
    assert "2 resumed" in out2
    second = drain(udp)

    assert ids_of(out1) == ids_of(out2) and len(ids_of(out1)) == 2  # reused by id
    with_store = SQLiteStore(state)
    with_store.open("test")
    try:
        assert len(with_store.load().schedules) == 2  # not duplicated
    finally:
        with_store.close()
    for node, start in (("a", 0), ("b", 1000)):
        s1 = [m.seq for m in first if m.node == node]
        s2 = [m.seq for m in second if m.node == node]
        assert s1 and s2
        # sequence numbers continue where the first run stopped
        assert s1 + s2 == list(range(start + 1, start + 1 + len(s1) + len(s2))), (s1, s2)
    sent1, _, _ = final_totals(out1)
    sent2, _, _ = final_totals(out2)
    assert sent1 == len(first) and sent2 == len(first) + len(second)  # counters continue


def test_restart_reconciles_a_changed_spec(
    tmp_path: Path, udp: socket.socket, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "jobs.toml"
    url = udp_url(udp)
    spec.write_text(HEARTBEAT + hb_schedule("keep", url) + hb_schedule("change", url) + hb_schedule("drop", url))
    code, out1, err = run_main(["run", str(spec), "--duration", "0.3"], capsys)
    assert code == 0, err
    spec.write_text(
        HEARTBEAT + hb_schedule("keep", url) + hb_schedule("change", url, "200ms") + hb_schedule("new", url)
    )
    # "drop" is gone from the spec: cancelling it (and its counters) needs --prune
    code, out2, err = run_main(["run", str(spec), "--duration", "0.3"], capsys)
    assert code == 2 and "'drop'" in err and "--prune" in err and "nothing was started" in err
    code, out2, err = run_main(["run", str(spec), "--duration", "0.3", "--prune"], capsys)
    assert code == 0, err
    assert "1 resumed, 1 created, 1 rescheduled, 1 cancelled" in out2
    ids1, ids2 = ids_of(out1), ids_of(out2)
    assert ids2["keep"] == ids1["keep"] and ids2["change"] == ids1["change"]
    assert ids2["new"] not in ids1.values()
    assert "change (id %d): Heartbeat every 200ms" % ids1["change"] in out2
    store = SQLiteStore(tmp_path / "jobs.state.db")
    store.open("test")
    try:
        by_id = {r.id: r for r in store.load().schedules}
    finally:
        store.close()
    assert by_id[ids1["drop"]].status == "cancelled"
    assert by_id[ids1["change"]].trigger["every_us"] == 200_000
    assert by_id[ids2["new"]].metadata == {"spec_name": "new"} and by_id[ids2["new"]].target == "send"
    drain(udp)


def test_another_specs_state_file_is_refused_unless_pruning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    state = tmp_path / "shared.db"
    a.write_text(HEARTBEAT + hb_schedule("a1", "file:a.frames", "20ms") + hb_schedule("a2", "file:a.frames", "30ms"))
    b.write_text(HEARTBEAT + hb_schedule("b1", "file:b.frames", "20ms"))
    code, _out, err = run_main(["run", str(a), "--state", str(state), "--duration", "0.3"], capsys)
    assert code == 0, err
    before = {r.id: r for r in stored_records(state)}
    code, _out, err = run_main(["run", str(b), "--state", str(state), "--duration", "0.3"], capsys)
    assert code == 2
    assert "holds 2 schedule(s) this spec does not have: 'a1', 'a2'" in err and "--prune" in err, err
    assert {r.id: r for r in stored_records(state)} == before  # untouched
    assert not (tmp_path / "b.frames").exists()  # nothing sent
    # a resumes where it stopped (its counters were not lost)
    code, _out, err = run_main(["run", str(a), "--state", str(state), "--duration", "0.3"], capsys)
    assert code == 0, err
    seqs = [m.seq for m in FrameReader(PROTOCOL).messages([(tmp_path / "a.frames").read_bytes()]) if m.node == "a1"]
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) > 2
    # --prune: b takes the state file over, a's schedules are cancelled
    code, out, err = run_main(["run", str(b), "--state", str(state), "--duration", "0.2", "--prune"], capsys)
    assert code == 0, err
    assert "1 created, 2 cancelled" in out, out


def stored_records(state: Path) -> list[Any]:
    store = SQLiteStore(state)
    store.open("test")
    try:
        return store.load().schedules
    finally:
        store.close()


class _FailsAfterRestore(SQLiteStore):
    """Commits fail (a full disk) once armed; slow to fail, so that a restored firing
    that is overdue reaches the target first."""

    full = False

    def _commit(self, puts: list[tuple[int, bytes]], deletes: list[int], high_water: int | None) -> None:
        if self.full:
            time.sleep(0.3)
            raise StoreError(f"schedule store {self.path}: writing failed: database or disk is full")
        super()._commit(puts, deletes, high_water)

    def load(self) -> Any:
        found = super().load()
        self.full = True  # everything after the restore fails
        return found


def test_a_start_that_fails_sends_nothing_and_changes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "hb.frames"
    one = HEARTBEAT + hb_schedule("hb", "file:hb.frames", "20ms")
    spec1 = spec_from_text(one, base_dir=tmp_path)
    state = tmp_path / "s.db"
    r = Runner(spec1, SQLiteStore(state))
    r.start()
    time.sleep(0.2)
    r.stop()
    sent = [m.seq for m in FrameReader(PROTOCOL).messages([out.read_bytes()])]
    before = stored_records(state)
    time.sleep(0.05)  # hb is overdue now: restoring fires it at once
    # a new entry to create: the store fails right after the restore
    spec2 = spec_from_text(one + hb_schedule("new", "file:hb.frames", "1h"), base_dir=tmp_path)
    r2 = Runner(spec2, _FailsAfterRestore(state))
    with pytest.raises(StoreError):
        r2.start()
    assert r2.sched.get_schedule(r.ids["hb"]).execution_count >= before[0].execution_count  # type: ignore[union-attr]
    assert [m.seq for m in FrameReader(PROTOCOL).messages([out.read_bytes()])] == sent  # nothing sent
    assert stored_records(state) == before  # nothing written
    r3 = Runner(spec1, SQLiteStore(state))
    r3.start()
    time.sleep(0.1)
    r3.stop()
    seqs = [m.seq for m in FrameReader(PROTOCOL).messages([out.read_bytes()])]
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) > len(sent)  # no duplicate


def test_a_locked_state_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "hb.toml"
    spec.write_text(HEARTBEAT + hb_schedule("hb", "stdout"))
    holder = SQLiteStore(tmp_path / "hb.state.db")
    holder.open("another tickwork")
    try:
        code, _out, err = run_main(["run", str(spec), "--duration", "0.2"], capsys)
    finally:
        holder.close()
    assert code == 1
    assert "cannot use the state file" in err and "another tickwork" in err


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_run_whose_every_send_failed_exits_1(
    tmp_path: Path, udp: socket.socket, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "down.toml"
    spec.write_text(HEARTBEAT + hb_schedule("down", f"tcp://127.0.0.1:{closed_port()}", "50ms"))
    code, out, err = run_main(["run", str(spec), "--duration", "0.5"], capsys)
    sent, failed, _ = final_totals(out)
    assert (code, sent) == (1, 0) and failed >= 3, (out, err)
    assert f"every send of this run failed ({failed} attempted, none delivered)" in err
    # one schedule delivering is enough for a success
    spec.write_text(spec.read_text() + hb_schedule("up", udp_url(udp), "50ms"))
    code, out, err = run_main(["run", str(spec), "--duration", "0.5"], capsys)
    assert code == 0, (out, err)
    drain(udp)


def test_stdout_and_file_sinks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "out.toml"
    spec.write_text(HEARTBEAT + hb_schedule("json", "stdout") + hb_schedule("frames", "file:hb.frames", "50ms"))
    code, out, err = run_main(["run", str(spec), "--duration", "0.6"], capsys)
    assert code == 0, err
    lines = [json.loads(ln) for ln in out.splitlines()]  # stdout holds the JSON lines only
    assert len(lines) >= 3
    assert [ln["fields"]["seq"] for ln in lines] == list(range(1, len(lines) + 1))
    assert lines[0]["schedule"] == "json" and lines[0]["type"] == "Heartbeat"
    assert "tickwork: running" in err  # the rest went to stderr
    frames = list(FrameReader(PROTOCOL).messages([(tmp_path / "hb.frames").read_bytes()]))
    assert len(frames) >= 6 and [m.seq for m in frames] == list(range(1, len(frames) + 1))
    sent, failed, _ = final_totals(err)
    assert failed == 0 and sent == len(lines) + len(frames)


def test_demo_runs_and_shows_what_the_receiver_decodes(capsys: pytest.CaptureFixture[str]) -> None:
    t0 = time.monotonic()
    code, out, err = run_main(["demo", "--seconds", "1.5"], capsys)
    assert code == 0, (out, err)
    assert time.monotonic() - t0 < 8
    seqs = [int(s) for s in re.findall(r"^  recv Heartbeat #(\d+) .*late +[\d.]+m?s .*one-way", out, re.M)]
    assert len(seqs) >= 5 and seqs == list(range(1, len(seqs) + 1)), out
    assert re.search(r"^  recv Status +#1 ", out, re.M)
    assert re.search(r"^receiver: decoded \d+ message\(s\) .* lost 0, sequence gaps 0", out, re.M)
    assert "OK: every message sent was received and decoded" in out
    assert main(["demo", "--print-spec"]) == 0
    assert "[[schedules]]" in capsys.readouterr().out


def test_live_view_renders_a_table() -> None:
    spec = spec_from_text(HEARTBEAT + hb_schedule("hb", "udp://127.0.0.1:9"))
    runner = Runner(spec, MemoryStore())
    runner.start()
    try:
        buf = io.StringIO()
        view = LiveView(runner, buf, console=Console(file=buf, force_terminal=True, width=160), footer="state x")
        view.console.print(view.render())
    finally:
        runner.stop()
    text = re.sub(r"\x1b\[[0-9;]*m", "", buf.getvalue())
    for word in ("schedule", "trigger", "sent", "failed", "missed", "late p50", "late p99", "next", "sink", "state",
                 "hb", "every 100ms", "udp://127.0.0.1:9", "ready", "total", "state x"):
        assert word in text, (word, text)


# --------------------------------------------------------------------------- subprocess runs


class Proc:
    """The command as a child process; stdout lines are collected as they come."""

    def __init__(self, args: list[str]) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.p = subprocess.Popen(
            [sys.executable, "-m", "actors", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.p.stdout is not None
        for line in self.p.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_line(self, pred: Callable[[str], bool], timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError("no such line; got:\n" + "\n".join(self.seen))
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            self.seen.append(line)
            if pred(line):
                return line

    def finish(self, timeout: float = 15.0) -> tuple[int, str, str]:
        try:
            code = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            raise
        self.reader.join(5)  # it has read everything once the pipe is closed
        while True:
            try:
                self.seen.append(self.lines.get_nowait())
            except queue.Empty:
                break
        assert self.p.stderr is not None
        return code, "\n".join(self.seen), self.p.stderr.read()


def schedule_stats(line: str, name: str) -> tuple[int, int]:
    m = re.search(rf"\| {name}: sent (\d+) failed (\d+) ", line)
    assert m, line
    return int(m[1]), int(m[2])


def listen(port: int = 0) -> socket.socket:
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(1)
    return srv


def read_frames(conn: socket.socket, reader: FrameReader, want: int, timeout: float = 10.0) -> list[Any]:
    got: list[Any] = []
    deadline = time.monotonic() + timeout
    conn.settimeout(0.1)
    while len(got) < want:
        assert time.monotonic() < deadline, f"only {len(got)} frames"
        try:
            chunk = conn.recv(4096)
        except TimeoutError:
            continue
        assert chunk, "the sender closed the connection"
        got.extend(reader.feed(chunk))
    return got


def test_tcp_peer_goes_away_and_comes_back(tmp_path: Path) -> None:
    srv = listen()
    port = srv.getsockname()[1]
    url = f"tcp://127.0.0.1:{port}"
    spec = tmp_path / "tcp.toml"
    # two schedules share one connection: their frames never interleave
    spec.write_text(HEARTBEAT + hb_schedule("hb", url, "50ms") + hb_schedule("hb2", url, "70ms", 500))
    proc = Proc(["run", str(spec), "--duration", "20", "--interval", "0.1", "--plain"])
    try:
        srv.settimeout(10)
        conn, _ = srv.accept()
        before = read_frames(conn, FrameReader(PROTOCOL), 6)
        proc.wait_line(lambda ln: "hb: sent" in ln and "[tcp://127.0.0.1:%d connected]" % port in ln)
        # the peer goes away: sends fail (and are counted), the schedules go on
        conn.close()
        srv.close()
        down = proc.wait_line(lambda ln: "hb: sent" in ln and schedule_stats(ln, "hb")[1] >= 3)
        assert "reconnecting in" in down
        # it comes back on the same port: the sink reconnects (backoff) and sends resume
        srv = listen(port)
        srv.settimeout(10)
        conn, _ = srv.accept()
        after = read_frames(conn, FrameReader(PROTOCOL), 6)
        up = proc.wait_line(lambda ln: "hb: sent" in ln and "connected]" in ln and "reconnecting" not in ln)
        conn.close()
        proc.p.send_signal(signal.SIGINT)
        code, out, err = proc.finish()
    finally:
        srv.close()
        if proc.p.poll() is None:
            proc.p.kill()
    assert code == 0, err
    for name, node_before in (("hb", [m for m in before if m.node == "hb"]),):
        seq_before = [m.seq for m in node_before]
        seq_after = [m.seq for m in after if m.node == name]
        assert seq_before == list(range(1, len(seq_before) + 1))
        assert seq_after and seq_after[0] > seq_before[-1] + 1  # failed sends used their numbers
        assert seq_after == list(range(seq_after[0], seq_after[0] + len(seq_after)))
    sent_up, failed_up = schedule_stats(up, "hb")
    assert failed_up >= 3 and sent_up >= len([m for m in before if m.node == "hb"])
    sent, failed, _ = final_totals(out)
    assert failed >= 3 and sent >= len(before) + len(after)
    assert "tickwork: stopped after" in out


def test_ctrl_c_stops_cleanly_and_prints_the_final_stats(tmp_path: Path, udp: socket.socket) -> None:
    spec = tmp_path / "hb.toml"
    spec.write_text(HEARTBEAT + hb_schedule("hb", udp_url(udp)))
    proc = Proc(["run", str(spec), "--interval", "0.2"])
    try:
        proc.wait_line(lambda ln: bool(re.search(r"\| hb: sent [1-9]", ln)))
        proc.p.send_signal(signal.SIGINT)
        code, out, err = proc.finish()
    finally:
        if proc.p.poll() is None:
            proc.p.kill()
    assert code == 0, err
    assert "Traceback" not in err
    sent, failed, _ = final_totals(out)
    assert sent >= 1 and failed == 0
    assert re.search(r"^  hb +every 100ms +%d +0 " % sent, out, re.M), out
    assert len(drain(udp)) == sent
    assert (tmp_path / "hb.state.db").exists()


@pytest.mark.parametrize(("text", "seconds"), [("10", 10.0), ("10.5", 10.5), (" 2 ", 2.0), ("1e1", 10.0), ("1m30s", 90.0)])
def test_parse_seconds_takes_numbers_and_duration_text(text: str, seconds: float) -> None:
    from actors.cli.commands import parse_seconds

    assert parse_seconds(text) == seconds


@pytest.mark.parametrize("text", ["\u0665", "\uff15", "1_0", "-5", "0", "nan", "inf", "1" * 400, "1e-9", "0us"])
def test_parse_seconds_refuses_non_ascii_digits_and_non_positive(text: str) -> None:
    """A span that rounds to no microsecond ("1e-9") is refused too: the one duration rule."""
    from actors.cli.commands import parse_seconds

    with pytest.raises(ValueError):
        parse_seconds(text)
