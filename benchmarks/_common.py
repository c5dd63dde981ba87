"""Small helpers shared by the benchmark scripts: percentiles, number formatting,
plain-text tables and an environment header.

Import it from a script in this directory with ``from _common import ...`` (a
script's own directory is on ``sys.path`` when it is run as ``python benchmarks/x.py``).
"""

from __future__ import annotations

import importlib.metadata
import math
import os
import platform
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

__all__ = ["NA", "env_header", "fmt_num", "fmt_ratio", "format_table", "percentile", "pkg_version"]

#: What a cell shows when the value does not exist (mechanism not available, no data).
NA = "n/a"


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..1) of already sorted values; None if empty."""
    n = len(sorted_values)
    if n == 0:
        return None
    rank = max(1, math.ceil(q * n))
    return sorted_values[min(n, rank) - 1]


def fmt_num(value: float | None, digits: int = 2) -> str:
    """``value`` with ``digits`` decimals, or "n/a" for None."""
    if value is None:
        return NA
    return f"{value:.{digits}f}"


def fmt_ratio(num: float | None, den: float | None) -> str:
    """``num/den`` as "1.23x" ("n/a" if either is missing, "inf" if den is 0)."""
    if num is None or den is None:
        return NA
    if den <= 0:
        return "inf" if num > 0 else NA
    r = num / den
    if abs(r) >= 100:
        return f"{r:.0f}x"
    if abs(r) < 0.01:
        return "<0.01x" if r >= 0 else f"{r:.2g}x"
    return f"{r:.2f}x"


def format_table(headers: Sequence[str], rows: Iterable[Sequence[object]], *, left: int = 1) -> str:
    """A plain-text table: the first ``left`` columns left-aligned, the rest right-aligned.

    A row that is a plain ``str`` is printed as is (a note or separator line).
    """
    rows = list(rows)
    cells = [[str(c) for c in r] for r in rows if not isinstance(r, str)]
    widths = [len(h) for h in headers]
    for r in cells:
        for i, c in enumerate(r):
            widths[i] = max(widths[i], len(c))

    def line(r: Sequence[str]) -> str:
        out = []
        for i, c in enumerate(r):
            out.append(c.ljust(widths[i]) if i < left else c.rjust(widths[i]))
        return "  ".join(out).rstrip()

    text = [line(list(headers)), "  ".join("-" * w for w in widths)]
    it = iter(cells)
    for r in rows:
        text.append(r if isinstance(r, str) else line(next(it)))
    return "\n".join(text)


def pkg_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def env_header(packages: Sequence[str] = ()) -> str:
    """One line about the machine, Python, the checkout and some package versions."""
    root = Path(__file__).resolve().parents[1]
    try:
        rev = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        rev = ""
    parts = [
        f"Python {platform.python_version()} ({sys.implementation.name})",
        f"{platform.system()} {platform.machine()}",
        f"{os.cpu_count()} CPUs",
    ]
    if rev:
        parts.append(f"git {rev}")
    parts += [f"{p} {pkg_version(p)}" for p in packages]
    return "; ".join(parts)
