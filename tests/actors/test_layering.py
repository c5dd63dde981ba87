"""The runtime's modules import each other one way: no cycle, not even through
``if TYPE_CHECKING:`` imports (the actors take protocols declared beside them, not
the `Runtime`). Imports inside functions (lazy, e.g. the CLI's subcommands) are not
module dependencies and are not counted."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "actors"


def modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def module_imports(path: Path, known: dict[str, Path]) -> set[str]:
    """Our modules ``path`` imports at module level (TYPE_CHECKING blocks included)."""
    found: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    found.add(sub if sub in known else node.module)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.If | ast.Try):
                visit(node.body)
                visit(node.orelse)
                for h in getattr(node, "handlers", []):
                    visit(h.body)

    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    return {m for m in found if m in known}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles_between_the_runtime_modules() -> None:
    known = modules()
    graph = {m: module_imports(p, known) - {m} for m, p in known.items()}
    found = [c for c in cycles(graph) if not all(m.startswith("actors.pool.") for m in c)]
    # The pooled actor's own modules name each other's types (as pykka's do): one package.
    assert not found, found


def test_the_actors_do_not_import_the_runtime() -> None:
    known = modules()
    for name in ("actors.schedule_actor", "actors.supervisor.actor", "actors.supervisor.ledger",
                 "actors.execution", "actors.leasing", "actors.clock_actor", "actors.persist",
                 "actors.planning", "actors.stepping"):
        assert "actors.runtime" not in module_imports(known[name], known), name
