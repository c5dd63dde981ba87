"""Small pieces, checked: no class in `actors/` over 300 lines and no function of the
library (`actors/`, `timekit/`, `codec/`) over 60 (decorators not counted, docstrings
counted). Split by what the code holds when one grows past it (see docs/design.md)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_CLASS = 300
MAX_FUNCTION = 60


def too_long() -> list[str]:
    found = []
    for package in ("actors", "timekit", "codec"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                where = f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines} lines)"
                if isinstance(node, ast.ClassDef):
                    if package == "actors" and lines > MAX_CLASS:
                        found.append(f"class {where}")
                elif lines > MAX_FUNCTION:
                    found.append(f"function {where}")
    return found


def test_no_class_or_function_outgrows_the_limits() -> None:
    assert not too_long(), too_long()
