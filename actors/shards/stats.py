"""Execution statistics summed over shards."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from timekit import Duration

__all__ = ["merge_stats"]

_SUMS = (
    "total_executions",
    "successful_executions",
    "failed_executions",
    "missed_executions",
    "restarts",
    "retried_executions",
    "callback_errors",
    "schedules",
    "rss_bytes",
)


def merge_stats(per_shard: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One `Scheduler.get_execution_stats`-shaped dict for all shards.

    Counts, durations and memory are summed; ``success_rate`` and ``average_duration``
    are recomputed from the sums; ``lateness_max`` is the largest. ``lateness_p50`` and
    ``lateness_p99`` are the worst shard's: each shard has at most 1 % of its firings
    later than its own p99, so at most 1 % of all are later than the largest (an upper
    bound on the combined percentile, not the exact figure). ``shards`` counts them.
    """
    out: dict[str, Any] = {k: sum(int(s.get(k, 0)) for s in per_shard) for k in _SUMS}
    total = out["total_executions"]
    dur_us = sum(s["total_duration"].micros for s in per_shard if s.get("total_duration") is not None)
    out["total_duration"] = Duration(dur_us)
    out["average_duration"] = Duration(dur_us // total) if total else Duration(0)
    out["success_rate"] = out["successful_executions"] / total if total else 0.0
    for k in ("lateness_p50", "lateness_p99", "lateness_max"):
        vals = [s[k] for s in per_shard if s.get(k) is not None]
        out[k] = max(vals, key=lambda d: d.micros) if vals else None
    out["shards"] = len(per_shard)
    return out
