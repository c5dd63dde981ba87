"""The documentation stays true to the tree: README.md and docs/*.md link only to files
and headings that exist, and the code names docs/design.md draws the path of a tick
with (``Class.attribute``, constants, functions) are names the code has."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
DESIGN = ROOT / "docs" / "design.md"

#: Where the names in design.md live.
MODULES = [
    "actors.activity", "actors.planning", "actors.clock_actor", "actors.execution", "actors.executor",
    "actors.leasing", "actors.messages", "actors.pool", "actors.runtime", "actors.schedule_actor",
    "actors.scheduler", "actors.state", "actors.stepping", "actors.supervisor", "actors.supervisor.actor",
    "actors.supervisor.ledger", "actors.threaded", "actors.timerslack", "timekit.clock", "timekit",
]
#: Capitalised words of the prose that are not code.
NOT_CODE = {"GIL", "CPU", "TARGET", "PR_SET_TIMERSLACK", "README"}
#: Called in the diagrams but not defined by tickwork.
NOT_OURS = {"ask", "partial", "fn", "heappush", "prctl"}


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"^```.*?^```$", "", path.read_text(encoding="utf-8"), flags=re.DOTALL | re.MULTILINE)
    return {slug(m.group(1)) for m in re.finditer(r"^#+ (.+)$", text, re.MULTILINE)}


def links(path: Path) -> list[str]:
    text = re.sub(r"^```.*?^```$", "", path.read_text(encoding="utf-8"), flags=re.DOTALL | re.MULTILINE)
    return [m.group(1) for m in re.finditer(r"\]\(([^)\s]+)\)", text) if "://" not in m.group(1)]


@pytest.mark.parametrize("doc", DOCS, ids=[p.name for p in DOCS])
def test_relative_links_resolve(doc: Path) -> None:
    bad = []
    for link in links(doc):
        target, _, anchor = link.partition("#")
        path = (doc.parent / target).resolve() if target else doc
        if not path.exists():
            bad.append(f"{link}: no file {path}")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            bad.append(f"{link}: no heading #{anchor} in {path.name}")
    assert not bad, bad


def namespace() -> dict[str, Any]:
    ns: dict[str, Any] = {}
    for name in MODULES:
        mod = importlib.import_module(name)
        ns.update({k: v for k, v in vars(mod).items() if not k.startswith("__")})
    return ns


def has(cls: type, attr: str) -> bool:
    """``cls`` (or a base) has ``attr``, as a class attribute or one set in its methods."""
    if hasattr(cls, attr):
        return True
    for klass in cls.__mro__:
        try:
            src = inspect.getsource(klass)
        except (OSError, TypeError):
            continue
        if re.search(rf"self\.{re.escape(attr)}\b[^=\n]*(?<![=!<>])=(?!=)", src):
            return True
    return False


def test_design_names_exist() -> None:
    text = DESIGN.read_text(encoding="utf-8")
    ns = namespace()
    missing = []
    for cls_name, attr in set(re.findall(r"\b(_?[A-Z]\w*)\.(_?[a-z]\w*)\b(?![*])", text)):
        if attr == "md":  # README.md
            continue
        cls = ns.get(cls_name)
        if not isinstance(cls, type):
            missing.append(f"class {cls_name} (in {cls_name}.{attr})")
        elif not has(cls, attr):
            missing.append(f"{cls_name}.{attr}")
    for const in set(re.findall(r"\b[A-Z][A-Z_]{2,}\b", text)) - NOT_CODE:
        if const not in ns:
            missing.append(const)
    classes = [v for v in ns.values() if isinstance(v, type)]
    for fn in set(re.findall(r"(?<![.\w])([a-z_]\w*)\(", text)) - NOT_OURS:
        # a function, or a method named without its class
        if not callable(ns.get(fn)) and not any(callable(getattr(c, fn, None)) for c in classes):
            missing.append(f"{fn}()")
    assert not missing, sorted(missing)


def test_design_draws_the_path_of_one_tick() -> None:
    text = DESIGN.read_text(encoding="utf-8")
    m = re.search(r"^## The path of one tick\n(.*?)(?=^## )", text, re.DOTALL | re.MULTILINE)
    assert m, "docs/design.md has no '## The path of one tick' section"
    section = m.group(1)
    # In order, the steps from the schedule call to the statistics.
    steps = [
        "Scheduler.schedule_at_interval", "Runtime.arm", "_ClockInbox.get", "ClockActor.fire_due",
        "ScheduleActor.on_receive", "Execution.execute", "Execution.run", "TARGET", "Execution.deliver",
        "Ledger.record", "SupervisorActor.on_receive", "_run_callbacks", "Runtime.stats",
    ]
    at = [section.find(s) for s in steps]
    assert -1 not in at, [s for s, i in zip(steps, at, strict=True) if i < 0]
    assert at == sorted(at), steps


def imported_packages(package: str) -> set[str]:
    """Our top-level packages that ``package``'s modules import (absolute imports)."""
    import ast

    found: set[str] = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            found.update(n.split(".")[0] for n in names)
    return found & {"timekit", "codec", "actors"}


def test_dependencies_point_one_way() -> None:
    """design.md: timekit <- codec <- actors, nothing imports upward."""
    assert imported_packages("timekit") <= {"timekit"}
    assert imported_packages("codec") <= {"timekit", "codec"}


def test_the_readme_gives_exactly_the_commands_ci_runs() -> None:
    """The README's "exactly what CI runs" block and `.ci/run` stay in step: each of the
    block's commands is a line of `.ci/run`, in the same order."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"this is exactly what CI runs\):\n\n```sh\n(.*?)```", readme, re.DOTALL)
    assert m, "README.md has no 'exactly what CI runs' block"
    commands = [line.split("  #")[0].strip() for line in m.group(1).splitlines() if line.strip()]
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    at = [ci.index(c) if c in ci else -1 for c in commands]
    assert -1 not in at, [c for c, i in zip(commands, at, strict=True) if i < 0]
    assert at == sorted(at)
