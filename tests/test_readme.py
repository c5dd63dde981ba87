"""Every ```python block of README.md's "A tour" section runs as written.

Each block runs on its own (a reader copies one) in a fresh interpreter, in an
empty directory (some write a state file), with a timeout.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def tour_blocks() -> list[tuple[str, str]]:
    """(heading, code) of each python block between "## A tour" and the next "## " heading."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"^## A tour\n(.*?)(?=^## )", text, re.S | re.M)
    assert m, "README.md has no '## A tour' section"
    blocks, heading = [], "A tour"
    for part in re.finditer(r"^### ([^\n]+)$|^```python\n(.*?)^```$", m.group(1), re.S | re.M):
        if part.group(1):
            heading = part.group(1).strip()
        else:
            blocks.append((heading, part.group(2)))
    return blocks


BLOCKS = tour_blocks()


def test_the_tour_has_its_snippets() -> None:
    assert len(BLOCKS) >= 6, [h for h, _ in BLOCKS]


@pytest.mark.parametrize("code", [c for _, c in BLOCKS], ids=[f"{i}-{h}" for i, (h, _) in enumerate(BLOCKS)])
def test_tour_snippet_runs(code: str, tmp_path: Path) -> None:
    p = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=30,
    )
    assert p.returncode == 0, f"--- snippet\n{code}\n--- stdout\n{p.stdout}\n--- stderr\n{p.stderr}"
    assert "Traceback" not in p.stderr, p.stderr
