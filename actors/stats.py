"""Small statistics helpers shared by the supervisor and schedule snapshots."""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["percentile"]


def percentile(sorted_values: Sequence[int], q: float) -> int | None:
    """Nearest-rank percentile (``q`` in 0..1) of already sorted values; None if empty."""
    n = len(sorted_values)
    if n == 0:
        return None
    rank = max(1, math.ceil(q * n))
    return sorted_values[min(n, rank) - 1]
