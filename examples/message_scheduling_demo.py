"""Static periodic messages with ``actors.Protocol``.

A protocol declares its message types (packet-library ``fields`` style) and can
send any of them periodically: ``P.schedule_message(msg, interval, send)``
encodes the message once and hands the same bytes to ``send`` now and then every
``interval`` seconds. The demo runs three schedules at different intervals,
lists them, cancels one, then cancels the rest, decoding every payload it
"sent" back with the protocol.

Run: ``python examples/message_scheduling_demo.py``
"""

from __future__ import annotations

import threading
import time
from collections import Counter

from actors import Protocol, protocol
from codec import Encoding, Message

P = Protocol()


@protocol(P)
class Heartbeat(Message):
    encoding = Encoding.BIG_ENDIAN
    fields = {
        "timestamp": {"type": "int(64)"},
        "sequence": {"type": "int(32)"},
        "node": {"type": "str", "default": "node-a"},
    }


@protocol(P)
class Status(Message):
    encoding = Encoding.BIG_ENDIAN
    fields = {"node": "str", "load": "float", "healthy": "bool"}


T0 = time.monotonic()
_print_lock = threading.Lock()
sent: list[tuple[str, bytes]] = []


def log(text: str) -> None:
    with _print_lock:
        print(f"[{(time.monotonic() - T0) * 1000:7.1f} ms] {text}", flush=True)


def sender(channel: str):
    """A send callback: here it just records and prints; a real one writes to a socket."""

    def send(data: bytes) -> None:
        msg = P.decode(data)  # what a receiver would see
        with _print_lock:
            sent.append((channel, data))
        log(f"{channel:<6} {len(data):2d} bytes -> {msg!r}")

    return send


def main() -> int:
    print(f"Protocol message types: {', '.join(P.types)}")
    hb = Heartbeat(timestamp=1_700_000_000_000_000, sequence=1)
    print(f"Heartbeat encodes to {len(P.encode(hb))} bytes: {P.encode(hb).hex(' ')}\n")

    try:
        fast = P.schedule_message(hb, 0.1, sender("fast"))
        P.schedule_message(Heartbeat(timestamp=0, sequence=99, node="node-b"), 0.25, sender("slow"))
        P.schedule_message(Status(node="node-a", load=0.25, healthy=True), 0.4, sender("status"))

        time.sleep(0.45)
        print("\nActive scheduled messages (get_scheduled_messages):")
        for sid, entry in sorted(P.get_scheduled_messages().items()):
            print(f"  #{sid}: every {entry['interval']:.2f}s  {entry['message']!r}")

        print(f"\ncancel_scheduled_message({fast}) -> {P.cancel_scheduled_message(fast)}")
        print(f"cancel_scheduled_message({fast}) again -> {P.cancel_scheduled_message(fast)}")
        time.sleep(0.4)
        remaining = sorted(P.get_scheduled_messages())
        print(f"\nstill active: {remaining}")
        print(f"cancel_all_scheduled_messages() -> {P.cancel_all_scheduled_messages()}")
        P.scheduler.wait_idle(timeout=2)  # a send that had already started finishes
        with _print_lock:
            count_at_cancel = len(sent)
        time.sleep(0.3)
        with _print_lock:
            after = len(sent) - count_at_cancel
        print(f"sends after cancel_all: {after}; active now: {P.get_scheduled_messages()}")
    finally:
        stopped = P.stop_scheduler()

    per_channel = Counter(channel for channel, _ in sent)
    distinct = {channel: len({data for c, data in sent if c == channel}) for channel in per_channel}
    print("\nSummary (static messages: encoded once, identical bytes every time):")
    for channel in ("fast", "slow", "status"):
        print(f"  {channel:<6} sent {per_channel[channel]:2d} times, {distinct.get(channel, 0)} distinct payload(s)")
    print(f"scheduler stopped cleanly: {stopped}")
    ok = stopped and after == 0 and all(n == 1 for n in distinct.values())
    print("OK: static message demo finished" if ok else "FAILED: unexpected sends or a stuck scheduler")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
