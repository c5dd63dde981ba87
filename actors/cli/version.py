"""The version ``tickwork --version`` reports."""

from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path

__all__ = ["DIST", "version"]

#: The distribution name in pyproject.toml.
DIST = "tickwork"

#: pyproject.toml of a source checkout (the code run with PYTHONPATH, not installed).
_PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def version(pyproject: Path = _PYPROJECT) -> str:
    """The installed distribution's version; when it is not installed (run from a
    checkout with PYTHONPATH), the checkout's pyproject.toml version; else "unknown"."""
    try:
        return importlib.metadata.version(DIST)
    except importlib.metadata.PackageNotFoundError:
        pass
    try:
        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return "unknown"
    v = project.get("version") if project.get("name") == DIST else None
    return v if isinstance(v, str) else "unknown"
