"""UDP heartbeats on 127.0.0.1: a scheduled sender and a decoding receiver.

The sender is one ``Scheduler.schedule_message`` call: every 100 ms the update
callback bumps ``sequence`` and stamps ``timestamp`` (µs since the epoch), the
message is re-encoded with the protocol and sent with ``sendto``. A receiver
thread decodes each datagram and prints its sequence number, how far from the
100 ms grid it was sent (send-side lateness), its one-way latency (receive time
minus the message's timestamp) and the gap since the previous heartbeat. A
summary follows: sent, received, lost, and latency/lateness percentiles.

Run: ``python examples/heartbeat_udp.py [--seconds N] [--interval-ms MS]``
"""

from __future__ import annotations

import argparse
import math
import socket
import sys
import threading
import time
from dataclasses import dataclass

from actors import Scheduler
from codec import DecodeError, Encoding, Message, Protocol, protocol
from timekit import Duration, Timestamp

P = Protocol()


@protocol(P)
class Heartbeat(Message):
    encoding = Encoding.BIG_ENDIAN
    fields = {
        "timestamp": {"type": "int(64)"},  # µs since the Unix epoch, set just before sending
        "sequence": {"type": "int(32)"},
        "node": {"type": "str", "default": "sender-1"},
    }


@dataclass
class Arrival:
    sequence: int
    sent_us: int  # the message's timestamp
    recv_us: int  # receive time, µs since the epoch


def ms(micros: float | int) -> str:
    """Microseconds as fixed-width milliseconds, e.g. " 0.274 ms"."""
    return f"{micros / 1000:6.3f} ms"


def percentile(values: list[int], q: float) -> int:
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(q * len(ordered)))) - 1]


class Receiver(threading.Thread):
    """Decodes heartbeats and prints one line per datagram."""

    def __init__(self, sock: socket.socket, interval_us: int) -> None:
        super().__init__(name="heartbeat-receiver", daemon=True)
        self.sock = sock
        self.interval_us = interval_us
        self.arrivals: list[Arrival] = []
        self.bad = 0
        self.anchor_us: int | None = None  # when sequence 1 was due (set by main)
        self.anchor_ready = threading.Event()
        self.stopping = threading.Event()

    def grid_offset(self, a: Arrival) -> int:
        assert self.anchor_us is not None
        return a.sent_us - (self.anchor_us + (a.sequence - 1) * self.interval_us)

    def run(self) -> None:
        self.sock.settimeout(0.05)
        last: Arrival | None = None
        while not self.stopping.is_set():
            try:
                data, _addr = self.sock.recvfrom(65536)
            except TimeoutError:
                continue
            except OSError:
                return  # socket closed
            recv_us = Timestamp.now().micros
            try:
                msg = P.decode(data)
            except DecodeError as exc:
                self.bad += 1
                print(f"  undecodable datagram ({len(data)} bytes): {exc}", flush=True)
                continue
            a = Arrival(msg.sequence, msg.timestamp, recv_us)
            self.arrivals.append(a)
            self.anchor_ready.wait(5)
            note = ""
            if last is not None and a.sequence != last.sequence + 1:
                note = f"  <- expected #{last.sequence + 1}"
            gap = "" if last is None else f"{(a.recv_us - last.recv_us) / 1000:.1f} ms"
            print(
                f"  #{a.sequence:<5} {(a.sent_us - self.anchor_us) / 1000:9.1f} ms  {ms(self.grid_offset(a))}  "
                f"{ms(a.recv_us - a.sent_us)}  {gap:>10}  {len(data)} B{note}",
                flush=True,
            )
            last = a


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="how long to send heartbeats (default 2)")
    parser.add_argument("--interval-ms", type=float, default=100.0, help="heartbeat interval (default 100 ms)")
    args = parser.parse_args(argv)
    if not (args.seconds > 0 and args.interval_ms > 0):
        parser.error("--seconds and --interval-ms must be positive")
    interval = Duration.from_millis(args.interval_ms)

    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with rx, tx:
        rx.bind(("127.0.0.1", 0))
        tx.bind(("127.0.0.1", 0))
        dest = rx.getsockname()
        receiver = Receiver(rx, interval.micros)
        receiver.start()
        sent = [0]
        send_errors: list[BaseException] = []

        def send(data: bytes) -> None:
            tx.sendto(data, dest)
            sent[0] += 1

        def stamp(msg: Heartbeat) -> None:
            msg.sequence += 1
            msg.timestamp = Timestamp.now().micros

        print(f"tickwork UDP heartbeat: {tx.getsockname()[0]}:{tx.getsockname()[1]} -> {dest[0]}:{dest[1]}, "
              f"every {interval} for {args.seconds:g}s")
        print("  vs grid: send time minus the anchored grid slot; one-way: receive time minus the")
        print("  message's timestamp; gap: time since the previous heartbeat arrived\n")
        with Scheduler(name="heartbeat") as sched:
            sched.add_error_callback(lambda sid, exc: send_errors.append(exc))
            print(f"  {'seq':<6} {'sent at':>12}  {'vs grid':>9}  {'one-way':>9}  {'gap':>10}  size")
            sid = sched.schedule_message(Heartbeat(timestamp=0, sequence=0), interval, send, stamp, protocol=P)
            info = sched.get_schedule(sid)
            assert info is not None and info.trigger.start is not None
            receiver.anchor_us = info.trigger.start.micros  # sequence 1 is due here, then every interval
            receiver.anchor_ready.set()
            # Stop half an interval before the last grid slot so the count is exact:
            # N seconds at interval T is N/T heartbeats (the first one goes out at once).
            time.sleep(max(0.0, args.seconds - interval.total_seconds() / 2))
            sched.cancel_scheduled_message(sid)
            sched.wait_idle(timeout=2)  # a send in flight when cancelling finishes and is counted
            info = sched.get_schedule(sid)
        # The scheduler is stopped: nothing more is sent. Let the last datagram land.
        deadline = time.monotonic() + 0.5
        while len(receiver.arrivals) < sent[0] and time.monotonic() < deadline:
            time.sleep(0.01)
        receiver.stopping.set()
        receiver.join(2)

    arrivals = receiver.arrivals
    received = len(arrivals)
    seqs = [a.sequence for a in arrivals]
    lost = sent[0] - received
    out_of_order = sum(1 for x, y in zip(seqs, seqs[1:], strict=False) if y < x)
    print("\nSummary")
    print(f"  sent {sent[0]}, received {received}, lost {lost} ({100 * lost / max(1, sent[0]):.1f}%), "
          f"out of order {out_of_order}, undecodable {receiver.bad}, send errors {len(send_errors)}")
    if received:
        one_way = [a.recv_us - a.sent_us for a in arrivals]
        grid = [receiver.grid_offset(a) for a in arrivals]
        jitter = [abs(b.recv_us - a.recv_us - interval.micros) for a, b in zip(arrivals, arrivals[1:], strict=False)]
        rows = [("one-way latency", one_way), (f"sent vs {interval} grid", grid)]
        if jitter:
            rows.append((f"|gap - {interval}|", jitter))
        for label, values in rows:
            print(f"  {label:<22} p50 {ms(percentile(values, 0.5))}   p99 {ms(percentile(values, 0.99))}"
                  f"   max {ms(max(values))}")
        if received > 1:
            span = arrivals[-1].sent_us - arrivals[0].sent_us
            print(f"  mean period {(span / (received - 1)) / 1000:.3f} ms (target {interval.micros / 1000:.3f} ms)"
                  f" over {span / 1e6:.3f} s")
    if info is not None and info.lateness_p50 is not None:
        print(f"  scheduler's own view: {info.execution_count} executions, {info.failure_count} failed, "
              f"{info.missed_count} missed")
        print(f"  {'start lateness':<22} p50 {ms(info.lateness_p50.micros)}   p99 {ms(info.lateness_p99.micros)}"
              f"   max {ms(info.lateness_max.micros)}")
    ok = received > 0 and lost == 0 and receiver.bad == 0 and not send_errors
    print("OK: all heartbeats received" if ok else "WARNING: heartbeats were lost or failed")
    return 0 if received > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
