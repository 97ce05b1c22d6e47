"""Rules 1 and 9 of the house for `handlers/`: a feature talks to services, never to the store or a
messenger, and features do not import each other in a loop, not even from inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

HANDLERS = Path(__file__).resolve().parents[2] / "handlers"
FORBIDDEN = ("bot.store", "bot.channels", "telegram")
# Still reaching into the store: being moved behind services on another branch. Remove each one
# from here when it is done; a module not listed here must never touch `services.store`.
STORE_PENDING = {"admin", "inbox", "ask"}


def _trees() -> dict[str, ast.Module]:
    return {
        path.stem: ast.parse(path.read_text(encoding="utf-8"), str(path))
        for path in sorted(HANDLERS.glob("*.py"))
    }


def _imports(tree: ast.Module) -> set[str]:
    """Every module imported anywhere in the file (top level and inside functions)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            if node.module == "handlers":  # from handlers import plans, ...
                found |= {f"handlers.{alias.name}" for alias in node.names}
    return found


def _graph() -> dict[str, set[str]]:
    trees = _trees()
    return {
        name: {
            module.removeprefix("handlers.")
            for module in _imports(tree)
            if module.startswith("handlers.") and module.removeprefix("handlers.") in trees
        }
        for name, tree in trees.items()
    }


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import loop, as the path around it, or None."""
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> list[str] | None:
        if name in path:
            return [*path[path.index(name) :], name]
        if name in done:
            return None
        for other in sorted(graph[name]):
            loop = visit(other, [*path, name])
            if loop:
                return loop
        done.add(name)
        return None

    for name in sorted(graph):
        loop = visit(name, [])
        if loop:
            return loop
    return None


def test_no_import_loops_between_handlers():
    graph = _graph()
    assert graph["menu"] == set() and graph["consent"] == set()  # everyone may import these
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_the_cycle_check_finds_a_loop():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_handlers_import_no_store_and_no_messenger():
    for name, tree in _trees().items():
        bad = {m for m in _imports(tree) if m.split(".")[0] == "telegram" or m in FORBIDDEN}
        bad |= {m for m in _imports(tree) if m.startswith(("bot.store.", "bot.channels."))}
        assert not bad, f"handlers/{name}.py imports {sorted(bad)}"


def test_handlers_do_not_touch_the_store():
    touching = {
        name
        for name, tree in _trees().items()
        if any(isinstance(n, ast.Attribute) and n.attr == "store" for n in ast.walk(tree))
    }
    assert touching <= STORE_PENDING, sorted(touching - STORE_PENDING)
