"""No import cycle inside the `musechat` package, counting imports inside functions.

Why: a cycle hidden by an import inside a function (the CLI error type imported by explain/cli.py from
cli.py, which imports explain/cli.py; store/settings.py <-> store/qdrant.py) works until someone moves
the import to the top, and it makes the layering impossible to read. The walk is static (ast), so it
sees every import statement wherever it sits, without importing anything (fast: no torch).

Counted: `import a.b`, `from a.b import c` (an edge to `a.b.c` when that is a module, else to `a.b`),
relative imports, at any depth (functions, methods, try blocks). Not counted: imports under
`if TYPE_CHECKING:` (never executed, they are for the type checker) and the implicit import of a
parent package's `__init__` (a submodule importing a sibling while the package initialises is fine).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = "musechat"


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int
    in_function: bool


def module_files(src: Path = SRC, package: str = PACKAGE) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file of the package (`__init__` names the package)."""
    modules: dict[str, Path] = {}
    for path in sorted((src / package).rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(tree: ast.AST) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every executed import statement with whether it sits inside a function; skips TYPE_CHECKING blocks."""
    def walk(node: ast.AST, in_function: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for other in child.orelse:
                    yield from walk(other, in_function)
                continue
            if isinstance(child, ast.Import | ast.ImportFrom):
                yield child, in_function
            yield from walk(child, in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef))

    yield from walk(tree, False)


def _resolve_from(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def import_edges(modules: dict[str, Path]) -> list[Edge]:
    """Edges between the package's own modules (third-party imports are not followed)."""
    edges: list[Edge] = []
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        for node, in_function in _import_nodes(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = _resolve_from(module, is_package, node)
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    targets.append(sub if sub in modules else base)
            for target in targets:
                # `import a.b.c` of a name that is not a module file: fall back to its longest module prefix
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != module:
                    edges.append(Edge(module, target, node.lineno, in_function))
    return edges


def strongly_connected(nodes: list[str], edges: list[Edge]) -> list[list[str]]:
    """Tarjan's algorithm (iterative): the components with more than one module are the cycles."""
    graph: dict[str, list[str]] = {n: [] for n in nodes}
    for edge in edges:
        graph[edge.source].append(edge.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            successors = graph[node]
            if i < len(successors):
                work.append((node, i + 1))
                nxt = successors[i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return components


def describe(component: list[str], edges: list[Edge], modules: dict[str, Path]) -> str:
    members = set(component)
    lines = [f"import cycle among {', '.join(component)}:"]
    for edge in edges:
        if edge.source in members and edge.target in members:
            where = modules[edge.source].relative_to(SRC.parent)
            kind = "inside a function" if edge.in_function else "at module level"
            lines.append(f"  {edge.source} -> {edge.target}  ({where}:{edge.line}, {kind})")
    return "\n".join(lines)


def test_package_has_no_import_cycle() -> None:
    modules = module_files()
    edges = import_edges(modules)
    assert len(modules) > 50 and len(edges) > 100  # the walk saw the package, not an empty tree
    cycles = strongly_connected(sorted(modules), edges)
    assert not cycles, "break these cycles (move the shared name to a module both can import):\n" + "\n".join(
        describe(c, edges, modules) for c in cycles)


def test_walk_sees_function_level_imports_and_skips_type_checking(tmp_path: Path) -> None:
    """The detector itself: a cycle closed only inside a function is found; a TYPE_CHECKING one is not."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg.sub import b\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from ..a import x\n")
    (pkg / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import d\n")
    (pkg / "d.py").write_text("import pkg.c\n")
    modules = module_files(tmp_path, "pkg")
    edges = import_edges(modules)
    assert {(e.source, e.target, e.in_function) for e in edges} == {
        ("pkg.a", "pkg.sub.b", False), ("pkg.sub.b", "pkg.a", True), ("pkg.d", "pkg.c", False)}
    assert strongly_connected(sorted(modules), edges) == [["pkg.a", "pkg.sub.b"]]
