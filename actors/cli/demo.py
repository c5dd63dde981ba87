"""``tickwork demo``: a built-in spec sending to a UDP receiver on 127.0.0.1, no files.

The receiver binds an ephemeral port, the spec below (with that port) runs on an
in-memory store for a few seconds, and every datagram the receiver decodes is
printed: type, sequence number, lateness (its ``ts`` minus the slot on the
schedule's anchored grid, i.e. how late the send ran) and one-way latency. The
summary compares what the scheduler sent with what the receiver decoded.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from actors.cli.commands import isatty, run_view, stop_on_signals
from actors.cli.runner import Runner
from actors.cli.spec import Spec, spec_from_text
from actors.cli.view import View, fmt_late, make_view
from actors.stats import percentile
from actors.store import MemoryStore
from codec import DecodeError
from timekit import Timestamp

__all__ = ["DEMO_SPEC", "demo", "demo_spec_text"]

DEMO_SPEC = """\
# tickwork demo spec: heartbeats and status messages to one UDP receiver.
[messages.Heartbeat]
fields = { seq = "int(32)", ts = "int(64)", node = "str" }

[messages.Status]
fields = { seq = "uint(32)", ts = "int(64)", node = "str", load = "float" }

[messages.Report]
fields = { ts = "int(64)", node = "str", note = { type = "str", default = "nightly" } }

[[schedules]]
name = "heartbeat"
message = "Heartbeat"
values = { seq = 0, node = "edge-1" }
every = "100ms"
increment = ["seq"]
now = { ts = "us" }
sink = "udp://127.0.0.1:{port}"

[[schedules]]
name = "status"
message = "Status"
values = { seq = 0, node = "edge-1", load = 0.25 }
every = "1s"
increment = ["seq"]
now = { ts = "us" }
sink = "udp://127.0.0.1:{port}"

[[schedules]]
name = "nightly-report"
message = "Report"
values = { node = "edge-1" }
daily = "02:30"
tz = "Europe/Paris"
now = { ts = "us" }
sink = "udp://127.0.0.1:{port}"
"""


def demo_spec_text(port: int) -> str:
    return DEMO_SPEC.replace("{port}", str(port))


@dataclass
class Arrival:
    type: str
    seq: int | None
    sent_us: int
    recv_us: int
    late_us: int | None


class Receiver(threading.Thread):
    """Decodes the demo's datagrams and reports each one through ``say``."""

    def __init__(
        self, sock: socket.socket, spec: Spec, say: Callable[[str], None], on_closed: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__(name="tickwork-demo-receiver", daemon=True)
        self.sock = sock
        self.protocol = spec.protocol
        self._say = say
        self.on_closed = on_closed  # called when the output is closed (`tickwork demo | head`)
        self.arrivals: list[Arrival] = []
        self.bad = 0
        #: message type -> (anchor us, period us) of the interval schedule sending it
        self.grids: dict[str, tuple[int, int]] = {}
        self.stopping = threading.Event()
        self.lock = threading.Lock()

    def say(self, text: str) -> None:
        try:
            self._say(text)
        except BrokenPipeError:  # nobody reads any more: stop (the main thread exits quietly)
            self.stopping.set()
            self.on_closed()

    def run(self) -> None:
        self.sock.settimeout(0.05)
        while not self.stopping.is_set():
            try:
                data, _ = self.sock.recvfrom(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            recv_us = Timestamp.now().micros
            try:
                msg = self.protocol.decode(data)
            except DecodeError as exc:
                self.bad += 1
                self.say(f"  recv undecodable datagram ({len(data)} bytes): {exc}")
                continue
            tname = type(msg).__name__
            seq = getattr(msg, "seq", None)
            sent_us = msg.ts  # type: ignore[attr-defined]
            late = None
            grid = self.grids.get(tname)
            if grid is not None and seq is not None:
                late = sent_us - (grid[0] + seq * grid[1])
            a = Arrival(tname, seq, sent_us, recv_us, late)
            with self.lock:
                self.arrivals.append(a)
            seq_text = f"#{seq:<4}" if seq is not None else "     "
            self.say(
                f"  recv {tname:<9} {seq_text} node={getattr(msg, 'node', '?')}  late {fmt_late(late):>8}  "
                f"one-way {fmt_late(recv_us - sent_us):>8}  {len(data)} B"
            )


def demo(seconds: float, out: IO[str], *, plain: bool = False) -> int:
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with rx:
        rx.bind(("127.0.0.1", 0))
        port = rx.getsockname()[1]
        spec = spec_from_text(demo_spec_text(port), source="<demo spec>")
        runner = Runner(spec, MemoryStore())
        live = not plain and isatty(out)
        view: View = make_view(runner, out, live=live, footer=f"receiver udp://127.0.0.1:{port}")
        stop = threading.Event()
        receiver = Receiver(rx, spec, view.say, on_closed=stop.set)
        receiver.start()
        out.write(
            f"tickwork demo: a UDP receiver on 127.0.0.1:{port} decodes what the built-in spec sends "
            f"for {seconds:g}s\n  (see it with: tickwork demo --print-spec)\n"
        )
        out.flush()
        with stop_on_signals(stop):
            runner.start()
            for s in spec.schedules:
                info = runner.sched.get_schedule(runner.ids[s.name])
                if info is not None and info.trigger.is_interval() and info.trigger.start is not None:
                    receiver.grids[s.message.name] = (info.trigger.start.micros, info.trigger.every.micros)
            try:
                how = run_view(view, stop, seconds)
            finally:
                runner.stop()
        sent = sum(r.sent for r in runner.rows())
        deadline = time.monotonic() + 1.0  # let the last datagrams land
        while len(receiver.arrivals) < sent and time.monotonic() < deadline:
            time.sleep(0.01)
        receiver.stopping.set()
        receiver.join(2)
    view.final(how)
    return _summary(receiver, sent, view)


def _summary(receiver: Receiver, sent: int, view: View) -> int:
    arrivals = list(receiver.arrivals)
    by_type: dict[str, list[Arrival]] = {}
    for a in arrivals:
        by_type.setdefault(a.type, []).append(a)
    gaps = out_of_order = 0
    for items in by_type.values():
        seqs = [a.seq for a in items if a.seq is not None]
        for x, y in zip(seqs, seqs[1:], strict=False):
            if y < x:
                out_of_order += 1
            elif y > x + 1:
                gaps += y - x - 1
    lost = max(0, sent - len(arrivals))
    kinds = ", ".join(f"{t} {len(v)}" for t, v in sorted(by_type.items())) or "none"
    view.say(
        f"receiver: decoded {len(arrivals)} message(s) ({kinds}); sent {sent}, lost {lost}, "
        f"sequence gaps {gaps}, out of order {out_of_order}, undecodable {receiver.bad}"
    )
    one_way = sorted(a.recv_us - a.sent_us for a in arrivals)
    late = sorted(a.late_us for a in arrivals if a.late_us is not None)
    if one_way:
        view.say(
            f"  one-way latency  p50 {fmt_late(percentile(one_way, 0.5))}  p99 {fmt_late(percentile(one_way, 0.99))}"
        )
    if late:
        view.say(f"  send lateness    p50 {fmt_late(percentile(late, 0.5))}  p99 {fmt_late(percentile(late, 0.99))}"
                 "  (message ts vs its slot on the schedule's grid)")
    ok = arrivals and lost == 0 and receiver.bad == 0 and gaps == 0
    view.say("OK: every message sent was received and decoded" if ok else
             "WARNING: messages were lost or could not be decoded" if arrivals else "no message was received")
    return 0 if arrivals else 1
