"""ThreadingActor vs PooledActor: creation, memory, fan-out and latency.

Run: ``/work/venv/bin/python benchmarks/pool_bench.py`` (about 30 s).

Each (actor type, N) case runs in a fresh subprocess so RSS deltas are not
polluted by memory freed by an earlier case. Per case:

* create    -- wall time of ``start()`` per actor (ThreadingActor: starts a thread).
* RSS       -- resident-set growth per idle actor (includes thread stacks).
* heap      -- tracemalloc'd Python allocations per idle actor (a second batch of N;
               thread stacks are invisible to tracemalloc).
* tell      -- cost of one ``tell()`` seen by the sender during the fan-out.
* fan-out   -- tell one message to each of the N actors and wait until all N
               were handled (median of 5, and the best).

Latency: one actor, 3,000 sequential messages, each told while the actor is idle;
measured from just before ``tell()`` to the start of ``on_receive`` (p50/p99).
PooledActor runs on ``Dispatcher(workers=2)``. ThreadingActor is capped at
2,000 actors (one OS thread each); beyond that the table shows n/a.
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pykka

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actors.pool import STOP, Dispatcher, PooledActor

THREADING_CAP = 2_000
SIZES = (100, 1_000, 2_000, 10_000)
FANOUT_REPEATS = 5
LATENCY_SAMPLES = 3_000
TIMEOUT = 60.0


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _actor_classes(kind: str) -> tuple[type[pykka.Actor], dict[str, Any], Dispatcher | None]:
    state: dict[str, Any] = {}
    base: type[pykka.Actor] = pykka.ThreadingActor if kind == "threading" else PooledActor

    class Fan(base):  # type: ignore[valid-type, misc]
        def on_receive(self, message: Any) -> None:
            if next(state["count"]) == state["n"]:
                state["done"].set()

    dispatcher = Dispatcher(workers=2, name="tickwork-dispatch-bench") if kind == "pooled" else None
    return Fan, state, dispatcher


def _start_kwargs(dispatcher: Dispatcher | None) -> dict[str, Any]:
    return {} if dispatcher is None else {"dispatcher": dispatcher}


def _stop_all(refs: list[pykka.ActorRef[Any]]) -> None:
    for ref in refs:
        ref.tell(STOP)
    for ref in refs:
        ref.actor_stopped.wait(TIMEOUT)


def run_case(kind: str, n: int) -> dict[str, float]:
    cls, state, dispatcher = _actor_classes(kind)
    kwargs = _start_kwargs(dispatcher)
    if dispatcher is not None:
        dispatcher.start()
    state.update(n=1, count=itertools.count(1), done=threading.Event())
    warm = cls.start(**kwargs)  # warm-up: first start, first message, first stop
    warm.tell("tick")
    state["done"].wait(TIMEOUT)
    _stop_all([warm])
    gc.collect()
    rss0 = _rss_bytes()
    t0 = time.perf_counter()
    refs = [cls.start(**kwargs) for _ in range(n)]
    create = (time.perf_counter() - t0) / n
    gc.collect()
    rss = (_rss_bytes() - rss0) / n

    fanouts, tells = [], []
    for _ in range(FANOUT_REPEATS):
        state.update(n=n, count=itertools.count(1), done=threading.Event())
        t0 = time.perf_counter()
        for ref in refs:
            ref.tell("tick")
        t1 = time.perf_counter()
        if not state["done"].wait(TIMEOUT):
            raise RuntimeError("fan-out timed out")
        fanouts.append(time.perf_counter() - t0)
        tells.append((t1 - t0) / n)
    _stop_all(refs)
    del refs
    gc.collect()

    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    refs = [cls.start(**kwargs) for _ in range(n)]
    heap = (tracemalloc.get_traced_memory()[0] - base) / n
    tracemalloc.stop()
    _stop_all(refs)
    if dispatcher is not None and not dispatcher.shutdown(timeout=TIMEOUT):
        raise RuntimeError("dispatcher did not shut down")
    return {
        "create_us": create * 1e6,
        "rss_bytes": rss,
        "heap_bytes": heap,
        "tell_us": statistics.median(tells) * 1e6,
        "fanout_ms": statistics.median(fanouts) * 1e3,
        "fanout_best_ms": min(fanouts) * 1e3,
    }


def run_latency(kind: str) -> dict[str, float]:
    base: type[pykka.Actor] = pykka.ThreadingActor if kind == "threading" else PooledActor
    samples: list[int] = []
    handled = threading.Event()

    class Probe(base):  # type: ignore[valid-type, misc]
        def on_receive(self, message: int) -> None:
            samples.append(time.perf_counter_ns() - message)
            handled.set()

    dispatcher = Dispatcher(workers=2, name="tickwork-dispatch-bench") if kind == "pooled" else None
    ref = Probe.start(**_start_kwargs(dispatcher))
    for _ in range(LATENCY_SAMPLES + 100):
        handled.clear()
        ref.tell(time.perf_counter_ns())
        if not handled.wait(TIMEOUT):
            raise RuntimeError("latency probe timed out")
    ref.stop(timeout=TIMEOUT)
    if dispatcher is not None:
        dispatcher.shutdown(timeout=TIMEOUT)
    samples = sorted(samples[100:])  # drop warm-up
    return {
        "p50_us": samples[len(samples) // 2] / 1e3,
        "p99_us": samples[int(len(samples) * 0.99)] / 1e3,
    }


def run_pooled_100k() -> dict[str, float]:
    """Memory and create/stop time for 100,000 idle pooled actors."""
    n = 100_000
    cls, state, dispatcher = _actor_classes("pooled")
    assert dispatcher is not None
    dispatcher.start()
    gc.collect()
    rss0 = _rss_bytes()
    t0 = time.perf_counter()
    refs = [cls.start(dispatcher=dispatcher) for _ in range(n)]
    create = (time.perf_counter() - t0) / n
    gc.collect()
    rss = (_rss_bytes() - rss0) / n
    state.update(n=n, count=itertools.count(1), done=threading.Event())
    t0 = time.perf_counter()
    for ref in refs:
        ref.tell("tick")
    if not state["done"].wait(TIMEOUT):
        raise RuntimeError("fan-out timed out")
    fanout = time.perf_counter() - t0
    t0 = time.perf_counter()
    _stop_all(refs)
    stop = (time.perf_counter() - t0) / n
    dispatcher.shutdown(timeout=TIMEOUT)
    return {"create_us": create * 1e6, "rss_bytes": rss, "fanout_ms": fanout * 1e3, "stop_us": stop * 1e6}


def _subprocess(*args: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True, timeout=300
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _fmt(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def main() -> None:
    started = time.perf_counter()
    print(
        f"Python {platform.python_version()}, pykka {importlib.metadata.version('pykka')}, "
        f"{os.cpu_count()} CPUs, PooledActor on Dispatcher(workers=2, batch=32)\n"
    )
    results: dict[tuple[str, int], dict[str, float] | None] = {}
    for n in SIZES:
        for kind in ("threading", "pooled"):
            results[kind, n] = None if kind == "threading" and n > THREADING_CAP else _subprocess("--case", kind, str(n))

    cols = ("create µs/actor", "RSS B/actor", "heap B/actor", "tell µs", "fan-out ms (best)")
    header = f"| {'N':>6} | {'actor':<9} | " + " | ".join(f"{c:>17}" for c in cols) + " |"
    print(header)
    print("|" + "|".join("-" * len(part) for part in header.split("|")[1:-1]) + "|")
    for n in SIZES:
        thr, poo = results["threading", n], results["pooled", n]
        for name, r in (("Threading", thr), ("Pooled", poo)):
            cells = (
                _fmt(r and r["create_us"], ",.1f"),
                _fmt(r and r["rss_bytes"], ",.0f"),
                _fmt(r and r["heap_bytes"], ",.0f"),
                _fmt(r and r["tell_us"], ".2f"),
                "n/a" if r is None else f"{r['fanout_ms']:,.1f} ({r['fanout_best_ms']:,.1f})",
            )
            print(f"| {n:>6,} | {name:<9} | " + " | ".join(f"{c:>17}" for c in cells) + " |")
        if thr and poo:
            ratios = (
                thr["create_us"] / poo["create_us"],
                thr["rss_bytes"] / max(poo["rss_bytes"], 1.0),
                thr["heap_bytes"] / poo["heap_bytes"],
                thr["tell_us"] / poo["tell_us"],
                thr["fanout_ms"] / poo["fanout_ms"],
            )
            print(f"| {n:>6,} | {'T/P ratio':<9} | " + " | ".join(f"{f'{x:.1f}x':>17}" for x in ratios) + " |")

    print("\ntell -> on_receive latency, one idle actor, "
          f"{LATENCY_SAMPLES:,} sequential messages:")
    lat = {kind: _subprocess("--latency", kind) for kind in ("threading", "pooled")}
    for kind, r in lat.items():
        print(f"  {kind:<9}  p50 {r['p50_us']:7.1f} µs   p99 {r['p99_us']:7.1f} µs")
    print(
        f"  ratio T/P  p50 {lat['threading']['p50_us'] / lat['pooled']['p50_us']:.1f}x"
        f"   p99 {lat['threading']['p99_us'] / lat['pooled']['p99_us']:.1f}x"
    )

    big = _subprocess("--pooled-100k")
    print(
        f"\n100,000 pooled actors: create {big['create_us']:.1f} µs/actor, "
        f"RSS {big['rss_bytes']:,.0f} B/actor, fan-out {big['fanout_ms']:,.0f} ms, "
        f"stop (tell STOP, wait) {big['stop_us']:.1f} µs/actor"
    )
    print(f"\n(total {time.perf_counter() - started:.0f} s; timings vary with machine load)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", nargs=2, metavar=("KIND", "N"))
    parser.add_argument("--latency", metavar="KIND")
    parser.add_argument("--pooled-100k", action="store_true")
    ns = parser.parse_args()
    if ns.case:
        print(json.dumps(run_case(ns.case[0], int(ns.case[1]))))
    elif ns.latency:
        print(json.dumps(run_latency(ns.latency)))
    elif ns.pooled_100k:
        print(json.dumps(run_pooled_100k()))
    else:
        main()
