"""The packages import one way: no cycle between them (storage below the domain, cogs above the client).

Imports under `if TYPE_CHECKING:` do not count: they run only for the type checker.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The units whose imports must not go round in a circle: each package of bot/ (bot.polls, bot.storage, ...),
# each top-level module of bot/ (bot.client, bot.publishing, ...), and cogs/ as one unit.
STORAGE_MAY_NOT_IMPORT = ("bot.polls", "bot.articles", "bot.feeds", "bot.summaries", "bot.client", "cogs")


def unit_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] == "cogs":
        return "cogs"
    if parts[0] != "bot":
        return None
    return "bot" if len(parts) == 1 else f"bot.{parts[1]}"


def module_name(path: Path) -> str:
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    return name.removesuffix(".__init__")


def runtime_imports(tree: ast.Module) -> Iterator[str]:
    """Modules a file imports when it runs (so not under TYPE_CHECKING), at any depth of its top level."""

    def walk(nodes: list[ast.stmt]) -> Iterator[str]:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                yield from walk(node.orelse)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                yield node.module
                yield from (f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                yield from (alias.name for alias in node.names)
            elif isinstance(node, ast.If | ast.Try | ast.With):
                yield from walk([*node.body, *getattr(node, "orelse", []), *getattr(node, "finalbody", [])])
                for handler in getattr(node, "handlers", []):
                    yield from walk(handler.body)

    return walk(tree.body)


def import_graph() -> dict[str, dict[str, set[str]]]:
    """unit → unit it imports → the 'module -> module' imports that make the edge."""
    graph: dict[str, dict[str, set[str]]] = {}
    for path in sorted([*ROOT.glob("bot/**/*.py"), *ROOT.glob("cogs/*.py")]):
        module = module_name(path)
        source = unit_of(module)
        assert source is not None
        graph.setdefault(source, {})
        for target in runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            unit = unit_of(target)
            if unit is not None and unit != source and _exists(unit):
                graph[source].setdefault(unit, set()).add(f"{module} -> {target}")
    return graph


def _exists(unit: str) -> bool:
    if unit in ("bot", "cogs"):
        return True
    name = unit.split(".")[1]
    return (ROOT / "bot" / name).is_dir() or (ROOT / "bot" / f"{name}.py").is_file()


def cycles(graph: dict[str, dict[str, set[str]]]) -> list[list[str]]:
    """The strongly connected groups of more than one unit (Tarjan's algorithm), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph.get(node, {}):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle_through_three_units() -> None:
    graph = {"a": {"b": {"a.x -> b.y"}}, "b": {"c": {"b.y -> c.z"}}, "c": {"a": {"c.z -> a.x"}}, "d": {"a": set()}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_the_walk_skips_type_checking_imports_only() -> None:
    tree = ast.parse(
        "from typing import TYPE_CHECKING\nimport bot.polls\nif TYPE_CHECKING:\n    from bot.client import AgoraBot\n"
        "try:\n    from bot.storage import polls\nexcept ImportError:\n    pass\n"
    )
    expected = {"typing", "typing.TYPE_CHECKING", "bot.polls", "bot.storage", "bot.storage.polls"}
    assert set(runtime_imports(tree)) == expected


def test_no_import_cycle_between_packages() -> None:
    graph = import_graph()
    assert {"bot.polls", "bot.storage", "bot.client", "cogs"} <= graph.keys()  # the walk found the code
    described = []
    for group in cycles(graph):
        edges = sorted(edge for a in group for b in group for edge in graph[a].get(b, ()))
        described.append(" <-> ".join(group) + ": " + "; ".join(edges))
    assert described == []


def test_storage_imports_no_domain_package() -> None:
    imported = import_graph()["bot.storage"]
    assert [edge for unit in STORAGE_MAY_NOT_IMPORT for edge in sorted(imported.get(unit, ()))] == []


def test_cogs_import_the_client_for_type_checking_only() -> None:
    assert "bot.client" not in import_graph()["cogs"]


def imported_test_modules(source: str, module: str) -> list[str]:
    """The test modules (test_*) that `source`, the text of `module`, imports anywhere in it; relative
    imports are resolved against the module's package."""
    package = module.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(
                [*package[: len(package) - node.level + 1], node.module or ""] if node.level else [node.module or ""]
            )
            names = [base.strip("."), *(f"{base.strip('.')}.{alias.name}" for alias in node.names)]
        else:
            continue
        found += [name for name in names if name.rsplit(".", 1)[-1].startswith("test_")]
    return found


def test_the_test_module_finder_resolves_relative_imports() -> None:
    source = (
        "from .helpers import OPTIONS\nfrom .test_vote_accuracy import poll_number\nfrom . import test_polls\n"
        "import tests.polls.test_service\nfrom tests.polls.helpers import World\nfrom ..builders import fake_bot\n"
        "def later():\n    from ..polls.test_ingest import vote\n"
    )
    assert imported_test_modules(source, "tests.e2e.test_a") == [
        "tests.e2e.test_vote_accuracy",
        "tests.e2e.test_polls",
        "tests.polls.test_service",
        "tests.polls.test_ingest",
    ]


def test_no_test_module_imports_another() -> None:
    """Shared helpers live in helpers modules and fixtures in conftest.py, so each helper has one home and
    running one test module never depends on another one's contents."""
    modules = sorted((ROOT / "tests").rglob("*.py"))
    assert len(modules) > 50  # the walk found the tests
    offenders = {
        module_name(path): imported
        for path in modules
        if (imported := imported_test_modules(path.read_text(encoding="utf-8"), module_name(path)))
    }
    assert offenders == {}
