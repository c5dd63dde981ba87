"""Static vs updating periodic messages, side by side.

``Scheduler.schedule_message(msg, interval, send, update, protocol=P)``:

* without ``update`` the message is encoded once and the same bytes go out
  every time (a beacon);
* with ``update`` the callback changes the message in place before each send
  (here: ``sequence += 1`` and ``timestamp = Timestamp.now().micros``) and the
  message is re-encoded;
* if ``update`` raises, only that one send is skipped: the error callbacks get
  an ``actors.UpdateCallbackError`` (its ``__cause__`` is the original error)
  and the schedule carries on at the next interval.

Run: ``python examples/message_scheduling_with_updates_demo.py``
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict

from actors import Protocol, Scheduler, UpdateCallbackError, protocol
from codec import Encoding, Message
from timekit import Timestamp

P = Protocol()


@protocol(P)
class Heartbeat(Message):
    encoding = Encoding.BIG_ENDIAN
    fields = {
        "timestamp": {"type": "int(64)"},
        "sequence": {"type": "int(32)"},
        "source": {"type": "str", "default": ""},
    }


RUN_SECONDS = 0.95  # just short of the 1.0 s grid slot, so the counts are exact
_lock = threading.Lock()
received: dict[str, list[Heartbeat]] = defaultdict(list)
payloads: dict[str, set[bytes]] = defaultdict(set)
T0 = Timestamp.now()


def channel(name: str):
    """A send callback that decodes what it gets, like a receiver would."""

    def send(data: bytes) -> None:
        msg = P.decode(data)
        with _lock:
            received[name].append(msg)
            payloads[name].add(data)

    return send


def bump(msg: Heartbeat) -> None:
    """Update callback: next sequence number, current time."""
    msg.sequence += 1
    msg.timestamp = Timestamp.now().micros


def flaky_bump(msg: Heartbeat) -> None:
    """Like `bump`, but fails every third time (after changing the sequence)."""
    bump(msg)
    if msg.sequence % 3 == 0:
        raise RuntimeError(f"sensor read failed at sequence {msg.sequence}")


def on_error(schedule_id: int, exc: BaseException) -> None:
    cause = f" (cause: {exc.__cause__!r})" if exc.__cause__ is not None else ""
    kind = "update callback failed, send skipped" if isinstance(exc, UpdateCallbackError) else "send failed"
    print(f"  ! schedule #{schedule_id}: {kind}{cause}", flush=True)


def main() -> int:
    schedules = {
        # name: (message, interval s, update callback)
        "static": (Heartbeat(timestamp=T0.micros, sequence=0, source="static"), 0.1, None),
        "counter": (Heartbeat(timestamp=0, sequence=0, source="counter"), 0.1, bump),
        "slow": (Heartbeat(timestamp=0, sequence=1000, source="slow"), 0.25, bump),
        "flaky": (Heartbeat(timestamp=0, sequence=0, source="flaky"), 0.1, flaky_bump),
    }
    ids: dict[str, int] = {}
    with Scheduler(name="updates-demo") as sched:
        sched.add_error_callback(on_error)
        print(f"Running {len(schedules)} periodic messages for {RUN_SECONDS:g}s; errors as they happen:")
        for name, (msg, interval, update) in schedules.items():
            ids[name] = sched.schedule_message(msg, interval, channel(name), update, protocol=P, name=name)
        time.sleep(RUN_SECONDS)
        cancelled = sched.cancel_all_scheduled_messages()
        sched.wait_idle(timeout=2)  # a send that had already started finishes and is counted
        infos = {name: sched.get_schedule(sid) for name, sid in ids.items()}
    print(f"cancel_all_scheduled_messages() -> {cancelled}; scheduler stopped\n")

    header = f"{'schedule':<9}{'every':>7}{'update':>13}{'sends':>7}{'failed':>8}{'payloads':>10}  sequences sent"
    print(header)
    print("-" * len(header))
    with _lock:
        for name, (_msg, interval, update) in schedules.items():
            info = infos[name]
            msgs = received[name]
            seqs = [m.sequence for m in msgs]
            shown = ", ".join(map(str, seqs[:12])) + (", ..." if len(seqs) > 12 else "")
            upd = update.__name__ if update else "-"
            print(
                f"{name:<9}{interval:>6.2f}s{upd:>13}{len(msgs):>7}{info.failure_count:>8}"
                f"{len(payloads[name]):>10}  [{shown}]"
            )

        counter = received["counter"]
        steps = [(b.timestamp - a.timestamp) / 1000 for a, b in zip(counter, counter[1:], strict=False)]
        print(
            f"\ncounter: timestamps advance by {min(steps):.1f}..{max(steps):.1f} ms between sends "
            f"(first at {Timestamp.from_micros(counter[0].timestamp).isoformat()})"
        )
        flaky = [m.sequence for m in received["flaky"]]
        skipped = sorted(set(range(1, max(flaky) + 1)) - set(flaky))
        print(f"flaky: sequences {skipped} were never sent (their update raised); the rest went out on time")
        print(f"static: {len(payloads['static'])} distinct payload, sequence stays {received['static'][0].sequence}")
        print(
            "the message objects were updated in place: "
            + ", ".join(f"{n}.sequence={m.sequence}" for n, (m, _, _) in schedules.items())
        )

        ok = (
            len(payloads["static"]) == 1
            and [m.sequence for m in counter] == list(range(1, len(counter) + 1))
            and skipped
            and all(s % 3 == 0 for s in skipped)
        )
    print("OK: update demo finished" if ok else "FAILED: unexpected sequence numbers")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
