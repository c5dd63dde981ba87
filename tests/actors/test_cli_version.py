"""`tickwork --version`: the installed distribution's version, else the checkout's pyproject.toml."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from actors.cli import version as version_module

ROOT = Path(__file__).resolve().parents[2]


def test_version_flag_prints_the_project_version() -> None:
    wanted = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    p = subprocess.run([sys.executable, "-m", "actors", "--version"], capture_output=True, text=True, timeout=30)
    assert (p.returncode, p.stdout, p.stderr) == (0, f"tickwork {wanted}\n", "")


def _not_installed(name: str) -> str:
    raise importlib.metadata.PackageNotFoundError(name)


def test_version_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "tickwork"\nversion = "9.8.7"\n')
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "1.2.3" if name == "tickwork" else "?")
    assert version_module.version(pyproject) == "1.2.3"  # installed: its metadata
    monkeypatch.setattr(importlib.metadata, "version", _not_installed)
    assert version_module.version(pyproject) == "9.8.7"  # PYTHONPATH only: the checkout's pyproject
    pyproject.write_text('[project]\nname = "other"\nversion = "9.8.7"\n')
    assert version_module.version(pyproject) == "unknown"  # someone else's pyproject
    assert version_module.version(tmp_path / "missing.toml") == "unknown"
