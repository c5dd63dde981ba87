"""Scheduled async pings over TCP: an asyncio echo server and a client.

The client enters ``async with Scheduler() as sched:`` (the scheduler picks up
the running event loop) and schedules a *coroutine function* every 100 ms. The
runtime's timer threads hand each firing to the loop, so ``ping()`` runs on the
event loop thread and may ``await`` freely. Pings and pongs are length-prefixed
MessagePack frames (``Protocol.frame`` / ``FrameReader``); the server answers
each ping with a pong carrying the same sequence number and send time, and the
client prints the round-trip times and a summary.

Leaving ``async with`` stops the scheduler; ``Scheduler.stop()`` blocks, so
``__aexit__`` runs it in the loop's default executor instead of on the loop.

Run: ``python examples/async_tcp_ping.py``
"""

from __future__ import annotations

import asyncio
import math
import threading
import time

from actors import Scheduler
from codec import FrameReader, Int32, Int64, Message, Protocol, protocol
from timekit import Duration

P = Protocol()


@protocol(P)
class Ping(Message):
    sequence: Int32
    sent_us: Int64  # client's monotonic clock, µs


@protocol(P)
class Pong(Message):
    sequence: Int32
    sent_us: Int64  # echoed from the ping
    server_seen: Int32  # pings this server connection has answered


PINGS_FOR = 1.0  # seconds
INTERVAL = Duration.from_millis(100)


def now_us() -> int:
    return time.monotonic_ns() // 1000


async def handle_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Echo server: answer every Ping frame with a Pong frame."""
    frames = FrameReader(P)
    seen = 0
    try:
        while chunk := await reader.read(4096):
            for msg in frames.feed(chunk):
                if isinstance(msg, Ping):
                    seen += 1
                    writer.write(P.frame(Pong(sequence=msg.sequence, sent_us=msg.sent_us, server_seen=seen)))
            await writer.drain()
    finally:
        writer.close()


async def read_pongs(reader: asyncio.StreamReader, rtts: dict[int, int], all_in: asyncio.Event,
                     expected: list[int]) -> None:
    frames = FrameReader(P)
    while chunk := await reader.read(4096):
        for pong in frames.feed(chunk):
            rtt = now_us() - pong.sent_us
            rtts[pong.sequence] = rtt
            print(f"  pong #{pong.sequence:<3} rtt {rtt / 1000:6.3f} ms   (server has answered {pong.server_seen})")
            if expected[0] and len(rtts) >= expected[0]:
                all_in.set()


def percentile(values: list[int], q: float) -> int:
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(q * len(ordered)))) - 1]


async def main() -> int:
    server = await asyncio.start_server(handle_client, "127.0.0.1", 0)
    host, port = server.sockets[0].getsockname()[:2]
    print(f"echo server on {host}:{port}; pinging every {INTERVAL} for {PINGS_FOR:g}s")
    reader, writer = await asyncio.open_connection(host, port)
    loop_thread = threading.current_thread().name
    ping_threads: set[str] = set()
    rtts: dict[int, int] = {}
    sent = [0]
    expected = [0]  # set once pinging stops
    all_in = asyncio.Event()
    pong_task = asyncio.create_task(read_pongs(reader, rtts, all_in, expected))

    async def ping() -> int:
        """The scheduled target: a coroutine function, so it runs on this event loop."""
        ping_threads.add(threading.current_thread().name)
        sent[0] += 1
        writer.write(P.frame(Ping(sequence=sent[0], sent_us=now_us())))
        await writer.drain()
        return sent[0]

    async with Scheduler(name="ping-client") as sched:
        sid = sched.schedule(ping, when=INTERVAL, name="ping")
        await asyncio.sleep(PINGS_FOR + INTERVAL.total_seconds() / 2)
        # cancel_schedule and get_execution_stats are blocking calls (they ask an
        # actor): run them off the loop so a ping in flight can still finish.
        await asyncio.to_thread(sched.cancel_schedule, sid)
        await asyncio.to_thread(sched.wait_idle, 2)  # the last ping() has finished and been recorded
        expected[0] = sent[0]
        if len(rtts) >= sent[0]:
            all_in.set()
        try:
            await asyncio.wait_for(all_in.wait(), timeout=2)
        except TimeoutError:
            print("  (timed out waiting for the last pongs)")
        stats = await asyncio.to_thread(sched.get_execution_stats)
        info = sched.get_schedule(sid)
    print("scheduler stopped (Scheduler.stop ran in an executor thread)")

    writer.close()
    await writer.wait_closed()
    await pong_task
    server.close()
    await server.wait_closed()

    print("\nSummary")
    print(f"  pings sent {sent[0]}, pongs received {len(rtts)}, lost {sent[0] - len(rtts)}")
    if rtts:
        values = list(rtts.values())
        print(f"  round trip: min {min(values) / 1000:.3f} ms, p50 {percentile(values, 0.5) / 1000:.3f} ms, "
              f"p99 {percentile(values, 0.99) / 1000:.3f} ms, max {max(values) / 1000:.3f} ms")
    print(f"  ping() ran on {sorted(ping_threads)}; the event loop runs on {loop_thread!r}")
    print(f"  scheduler: {stats['total_executions']} executions, {stats['failed_executions']} failed, "
          f"firing lateness p50 {stats['lateness_p50']} max {stats['lateness_max']}; "
          f"schedule status {info.status.value if info else '?'}")
    ok = sent[0] > 0 and len(rtts) == sent[0] and ping_threads == {loop_thread}
    print("OK: every ping answered" if ok else "FAILED: missing pongs or a ping ran off the loop")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
