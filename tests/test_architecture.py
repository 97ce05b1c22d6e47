"""The rules of the house (ARCHITECTURE.md), checked on the import graph of `bot` and `handlers`.

1. Handlers talk to services: never to the store, a messenger library, a channel or the wiring.
2. Channels import the kernel and their platform library, nothing else of ours.
3. SQL lives only in `bot/store/`: no database driver is imported anywhere else.
9. No import cycles, counting imports inside functions (not those only for type checkers).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers")
DRIVERS = ("aiosqlite", "sqlite3", "asyncpg")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _runtime_imports(tree: ast.Module, module: str, is_package: bool, known: set[str]) -> set[str]:
    """Modules imported when the code runs: top level and inside functions, but not under
    `if TYPE_CHECKING:`. `from package import submodule` counts as the submodule only."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                package = module.split(".")
                package = package if is_package else package[:-1]
                package = package[: len(package) - node.level + 1]
                base = ".".join([*package, base] if base else package)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in known else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _graph() -> dict[str, set[str]]:
    sources = {
        _module_name(path): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }
    graph: dict[str, set[str]] = {}
    for name, path in sources.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        imports = _runtime_imports(tree, name, path.name == "__init__.py", set(sources))
        graph[name] = {m for m in imports if m in sources and m != name} | {
            m for m in imports if m not in sources
        }
    return graph


GRAPH = _graph()


def _ours(name: str) -> bool:
    return name.split(".")[0] in PACKAGES


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _modules(prefix: str) -> list[str]:
    return sorted(m for m in GRAPH if _within(m, prefix))


@pytest.mark.parametrize("module", _modules("handlers"))
def test_handlers_talk_to_services_only(module):
    forbidden = ("bot.store", "bot.channels", "bot.app", "bot.cli", "bot.web", "telegram", *DRIVERS)
    bad = sorted(m for m in GRAPH[module] if any(_within(m, f) for f in forbidden))
    assert not bad, f"{module} imports {bad}"


@pytest.mark.parametrize("module", _modules("bot.channels"))
def test_channels_import_the_kernel_and_their_platform_only(module):
    bad = sorted(
        m
        for m in GRAPH[module]
        if _ours(m) and not (_within(m, "bot.core") or _within(m, "bot.channels"))
    )
    assert not bad, f"{module} imports {bad}"
    assert not [m for m in GRAPH[module] if m.split(".")[0] in DRIVERS]


@pytest.mark.parametrize("module", [m for m in GRAPH if not _within(m, "bot.store")])
def test_sql_only_in_the_store(module):
    drivers = sorted(m for m in GRAPH[module] if m.split(".")[0] in DRIVERS)
    assert not drivers, f"{module} imports {drivers}: SQL belongs in bot/store"


@pytest.mark.parametrize("module", _modules("bot.core"))
def test_the_kernel_knows_no_platform_and_no_service(module):
    bad = sorted(
        m
        for m in GRAPH[module]
        if (_ours(m) and not _within(m, "bot.core") and not _within(m, "bot.records"))
        or m.split(".")[0] in ("telegram", "aiohttp", *DRIVERS)
    )
    assert not bad, f"{module} imports {bad}"


def test_no_import_cycles():
    ours = {name: {m for m in targets if m in GRAPH} for name, targets in GRAPH.items()}
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> list[str] | None:
        if name in path:
            return [*path[path.index(name) :], name]
        if name in done:
            return None
        for other in sorted(ours[name]):
            loop = visit(other, [*path, name])
            if loop:
                return loop
        done.add(name)
        return None

    for name in sorted(ours):
        loop = visit(name, [])
        assert loop is None, "import cycle: " + " -> ".join(loop)


def test_the_graph_is_read():
    """The checks above see real edges (a broken parser would pass everything)."""
    assert "bot.core.router" in GRAPH["bot.app"]
    assert "bot.store" in GRAPH["bot.services.members"]
    assert "telegram" in {m.split(".")[0] for m in GRAPH["bot.channels.telegram"]}
