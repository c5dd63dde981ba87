"""Targets for the Ray shard tests: importable on the test cluster's workers (tests/ is
on their PYTHONPATH). Each firing appends a line to a file, so firings are counted
across processes and shard restarts."""

from __future__ import annotations

import os
import time


def record(path: str, tag: str) -> int:
    """Append ``tag pid time`` to ``path``; returns the pid."""
    with open(path, "a") as f:
        f.write(f"{tag} {os.getpid()} {time.time():.6f}\n")
    return os.getpid()


def noop() -> None:
    """Does nothing (benchmarks)."""


def fail(message: str) -> None:
    raise RuntimeError(message)


def pid() -> int:
    return os.getpid()


def lines(path: str) -> list[list[str]]:
    """The records in ``path`` (missing file: none)."""
    try:
        with open(path) as f:
            return [ln.split() for ln in f if ln.strip()]
    except FileNotFoundError:
        return []


def slow(path: str, tag: str, seconds: float) -> int:
    """Record ``tag start end pid`` after sleeping ``seconds`` (offload tests: overlap)."""
    start = time.time()
    time.sleep(seconds)
    with open(path, "a") as f:
        f.write(f"{tag} {start:.6f} {time.time():.6f} {os.getpid()}\n")
    return os.getpid()
