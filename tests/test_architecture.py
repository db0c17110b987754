"""The project's modules import each other without a cycle.

A cycle makes the order of imports matter (a name is missing while its module is half run),
and it hides which layer depends on which: the command depends on the load, never the other
way. Every import counts, at module level and inside functions (a lazy import is still a
dependency). `from . import x` where `x` is a submodule is an edge to `x`; importing a name
from a package is an edge to the package (its `__init__` runs and must already hold the name).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("sources", "pipelines", "transforms")


def project_modules() -> dict[str, Path]:
    """Map each module's dotted name to its file (a package's name to its `__init__.py`)."""
    modules: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def imported(name: str, path: Path, modules: dict[str, Path]) -> Iterator[str]:
    """Yield the project modules that the module `name` (in `path`) imports, anywhere in it."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in modules:
                    yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                if submodule in modules:
                    yield submodule
                elif target in modules:
                    yield target


def import_graph() -> dict[str, set[str]]:
    """Return each project module's imports of other project modules."""
    modules = project_modules()
    return {
        name: {target for target in imported(name, path, modules) if target != name}
        for name, path in modules.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return one cycle (`a, b, ..., a`) per strongly connected group of modules (Tarjan).

    The group's other cycles go through the same modules: `modules_in_cycles` names them all.
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_one_cycle(graph, group) for group in sorted(groups, key=min)]


def modules_in_cycles(graph: dict[str, set[str]]) -> set[str]:
    """Return every module that some cycle goes through."""
    found: set[str] = set()
    for cycle in cycles(graph):
        start = cycle[0]
        reach = _reachable(graph, start)
        found |= {node for node in reach if start in _reachable(graph, node)}
    return found


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for target in graph[todo.pop()] - seen:
            seen.add(target)
            todo.append(target)
    return seen


def _one_cycle(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """Return a shortest path from the group's first module back to itself, inside the group."""
    start = min(group)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for target in sorted(graph[node] & group):
            if target == start:
                return [*paths[node], start]
            if target not in paths:
                paths[target] = [*paths[node], target]
                queue.append(target)
    raise AssertionError(f"no cycle through {start}")  # pragma: no cover


def test_the_graph_sees_every_kind_of_import() -> None:
    """The edges the rules name: lazy imports, submodules by `from . import`, package names."""
    graph = import_graph()
    assert "pipelines.accounts_cli" in graph["pipelines.cli"]  # inside a function
    assert "sources.livechat.reports" in graph["sources.livechat"]  # `from .reports import`
    assert "sources.livechat" in graph["pipelines.orchestration.loads"]  # a name of a package
    assert "pipelines.dashboard.read" in graph["pipelines.dashboard.command"]


def test_cycles_are_found() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c", "a"]]
    assert modules_in_cycles(graph) == {"a", "b", "c"}
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_among_the_projects_modules() -> None:
    graph = import_graph()
    found = cycles(graph)
    assert not found, (
        "import cycles among the project's modules:\n"
        + "\n".join(" -> ".join(cycle) for cycle in found)
        + f"\nmodules on some cycle: {', '.join(sorted(modules_in_cycles(graph)))}"
    )


def test_no_layer_imports_the_command() -> None:
    """The command depends on the layers below; they say what happened, never how it exits."""
    graph = import_graph()
    importers = sorted(name for name, targets in graph.items() if "pipelines.cli" in targets)
    assert importers == []


def test_the_exit_codes_are_defined_in_the_command_only() -> None:
    modules = project_modules()
    defining = sorted(
        name
        for name, path in modules.items()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Name)
        and isinstance(node.ctx, ast.Store)
        and node.id.startswith("EXIT_")
    )
    assert set(defining) == {"pipelines.cli"}


# Functions longer than this many lines of code (the docstring not counted) must say why.
MAX_FUNCTION_LINES = 60
LONG_REASON = "It is long because"


def long_functions() -> Iterator[str]:
    """Yield each function of sources/ and pipelines/ over the limit whose docstring has no reason."""
    for package in ("sources", "pipelines"):
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for node in ast.walk(tree):
                if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                docstring = ast.get_docstring(node) or ""
                body = node.body[1:] if docstring else node.body
                if not body:
                    continue
                lines = (node.end_lineno or node.lineno) - body[0].lineno + 1
                if lines > MAX_FUNCTION_LINES and LONG_REASON not in docstring:
                    yield f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines} lines)"


def test_no_function_is_longer_than_60_lines_without_saying_why() -> None:
    assert list(long_functions()) == []
