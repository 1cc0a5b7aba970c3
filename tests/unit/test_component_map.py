"""The README's component map is complete and true: a newcomer can walk from any deployable to its code,
settings, chart block, tests and doc, and from any package back to the deployable that runs it.

Why a test: the map rots the day someone adds a package or a chart component without a row (the layout
table once listed 8 of 17 subpackages). Checked both ways: everything in the tree has a row, and every
path, settings class, env prefix, chart key and CLI worker a row names exists. Static: the settings
classes are found with ast and the chart from values.yaml, so the test imports no service (fast).
Also holds the settings rule: every `BaseSettings` class lives in a `<package>/settings.py`.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "musechat"
README = ROOT / "README.md"
VALUES = ROOT / "charts" / "musechat" / "values.yaml"
HEADING = "## Component map"
COLUMNS = ["deployable", "service shell", "core packages", "settings (env prefix)", "chart key", "tests", "doc"]
CODE = re.compile(r"`([^`]+)`")
PART = re.compile(r"[a-z_][a-z0-9_/]*(/|\.py)")
SETTINGS_PAIR = re.compile(r"`(\w+)` \(`(MUSECHAT_[A-Z0-9_]+_)`\)")
ROW_TEMPLATE = ("| <deployable, or (library) <what>> | <services/<name>/service.py, or `musechat worker <name>`, or —> "
                "| {package} | <`XSettings` (`MUSECHAT_X_`), or —> | <chart key, or —> | {tests} | <docs/<page>.md> |")


@dataclass(frozen=True)
class Row:
    cells: dict[str, str]

    def codes(self, column: str) -> list[str]:
        return CODE.findall(self.cells[column])

    def parts(self) -> list[str]:
        """The package paths of the 'core packages' cell (`name/`, `name.py`, `pkg/module.py`), not the
        other code spans (class names, collection names) its notes may hold."""
        return [code for code in self.codes("core packages") if PART.fullmatch(code)]


def component_map(text: str) -> list[Row]:
    """The rows of the first table after the `## Component map` heading."""
    assert HEADING in text, f"README.md has no {HEADING!r} section"
    lines = text.split(HEADING, 1)[1].splitlines()
    table = []
    for line in lines:
        if line.startswith("|"):
            table.append(line)
        elif table or line.startswith("## "):
            break
    assert len(table) > 2, f"README.md's {HEADING!r} section has no table"
    header = [c.strip() for c in table[0].strip().strip("|").split("|")]
    assert header == COLUMNS, f"component map columns are {header}, expected {COLUMNS}"
    rows = []
    for line in table[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        assert len(cells) == len(COLUMNS), f"component map row has {len(cells)} cells, not {len(COLUMNS)}: {line}"
        rows.append(Row(dict(zip(COLUMNS, cells, strict=True))))
    return rows


@pytest.fixture(scope="module")
def rows() -> list[Row]:
    return component_map(README.read_text(encoding="utf-8"))


def package_parts(package: Path = PACKAGE) -> list[str]:
    """Every subpackage (`name/`, a directory with `__init__.py`) and top-level module (`name.py`)."""
    parts = [f"{p.parent.name}/" for p in sorted(package.glob("*/__init__.py"))]
    parts += [p.name for p in sorted(package.glob("*.py")) if p.name != "__init__.py"]
    return parts


def covered(part: str, named: set[str]) -> bool:
    """A subpackage is covered by a row naming it or any file in it; a module by a row naming it."""
    return part in named or (part.endswith("/") and any(n.startswith(part) for n in named))


def suggested_row(part: str) -> str:
    name = part.rstrip("/").removesuffix(".py")
    candidates = (ROOT / "tests" / "unit" / name, ROOT / "tests" / "integration" / name)
    tests = [f"`{p.relative_to(ROOT)}/`" for p in candidates if p.is_dir()]
    return ROW_TEMPLATE.format(package=f"`{part}`", tests=", ".join(tests) or "<tests/...>")


def test_every_subpackage_and_module_has_a_row(rows: list[Row]) -> None:
    named = {code for row in rows for code in row.parts()}
    missing = [part for part in package_parts() if not covered(part, named)]
    assert not missing, (
        "README.md component map: no row names these parts of src/musechat/. Add a row to the table under "
        f"{HEADING!r} (or name the part in the 'core packages' cell of the deployable that runs it):\n"
        + "\n".join(suggested_row(part) for part in missing))


def test_every_path_a_row_names_exists(rows: list[Row]) -> None:
    stale = []
    for row in rows:
        stale += [f"{row.cells['deployable']}: core packages `{code}`" for code in row.parts()
                  if not (PACKAGE / code).exists()]
        for column in ("service shell", "tests", "doc"):
            for code in row.codes(column):
                if "/" in code and not code.startswith("vllm/") and not (ROOT / code).exists():
                    stale.append(f"{row.cells['deployable']}: {column} `{code}`")
        if row.cells["doc"] != "—":
            stale += [f"{row.cells['deployable']}: doc {doc!r} is not a path" for doc in row.codes("doc")
                      if not (ROOT / doc).is_file()]
    assert not stale, "README.md component map names paths that do not exist (renamed or removed?):\n" + "\n".join(
        stale)


def test_every_service_shell_and_worker_has_a_row(rows: list[Row]) -> None:
    from musechat.cli import build_parser

    shells = {code for row in rows for code in row.codes("service shell")}
    services = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "services").glob("*/service.py"))
    missing = [s for s in services if s not in shells]
    assert not missing, "README.md component map: add a row for each service shell (column 'service shell'): " + \
        ", ".join(missing)
    workers_action = next(a for a in build_parser()._actions if getattr(a, "choices", None) and "worker" in a.choices)
    worker_parser = workers_action.choices["worker"]
    choices = next(a.choices for a in worker_parser._actions if a.dest == "name")
    named_workers = {code.split()[-1] for code in shells if code.startswith("musechat worker ")}
    assert named_workers <= set(choices), f"rows name workers the CLI does not have: {named_workers - set(choices)}"
    missing_workers = sorted(set(choices) - named_workers)
    assert not missing_workers, ("README.md component map: add a row with service shell `musechat worker <name>` "
                                 f"for: {', '.join(missing_workers)}")


def settings_classes(root: Path) -> dict[str, tuple[Path, str | None]]:
    """Every class deriving from BaseSettings under `root`: name -> (file, env_prefix)."""
    found: dict[str, tuple[Path, str | None]] = {}
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            if not any((isinstance(b, ast.Name) and b.id == "BaseSettings")
                       or (isinstance(b, ast.Attribute) and b.attr == "BaseSettings") for b in node.bases):
                continue
            prefix = None
            for call in ast.walk(node):
                if isinstance(call, ast.Call):
                    for kw in call.keywords:
                        if kw.arg == "env_prefix" and isinstance(kw.value, ast.Constant):
                            prefix = str(kw.value.value)
            assert node.name not in found, f"two settings classes named {node.name}: {found[node.name][0]}, {path}"
            found[node.name] = (path, prefix)
    return found


def test_settings_live_in_package_settings_modules() -> None:
    """Settings in `<package>/settings.py` only, never in a service shell or a runtime module."""
    classes = settings_classes(PACKAGE) | settings_classes(ROOT / "services")
    misplaced = [f"{name} in {path.relative_to(ROOT)}" for name, (path, _) in classes.items()
                 if path.name != "settings.py" or path.parent == PACKAGE]
    assert not misplaced, "move these settings classes into <package>/settings.py: " + ", ".join(misplaced)


def test_every_settings_class_has_a_row_with_its_prefix(rows: list[Row]) -> None:
    classes = settings_classes(PACKAGE)
    named: dict[str, str] = {}
    for row in rows:
        for name, prefix in SETTINGS_PAIR.findall(row.cells["settings (env prefix)"]):
            named[name] = prefix
    wrong = [f"`{n}` (`{p}`): the class's env_prefix is {classes[n][1]!r}" for n, p in named.items()
             if n in classes and classes[n][1] != p]
    unknown = [n for n in named if n not in classes]
    missing = [f"`{n}` (`{prefix}`) defined in {path.relative_to(ROOT)}" for n, (path, prefix) in classes.items()
               if n not in named]
    assert not (wrong or unknown or missing), (
        "README.md component map, column 'settings (env prefix)':\n"
        + "".join(f"  wrong prefix: {w}\n" for w in wrong)
        + "".join(f"  no such settings class: {u}\n" for u in unknown)
        + "".join(f"  add to the row of the deployable it configures: {m}\n" for m in missing))


def chart_components(values: dict[str, Any]) -> list[str]:
    """The chart's deployables: service/worker blocks (by `type`), vLLM, and every scheduled job."""
    keys = [k for k, v in values.items() if isinstance(v, dict) and v.get("type") in ("bentoml", "worker")]
    if isinstance(values.get("vllm"), dict):
        keys.append("vllm")
    keys += [f"jobs.{k}" for k, v in (values.get("jobs") or {}).items() if isinstance(v, dict)]
    return keys


def resolve(values: dict[str, Any], dotted: str) -> bool:
    node: Any = values
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return isinstance(node, dict)


def test_every_chart_component_has_a_row(rows: list[Row]) -> None:
    values = yaml.safe_load(VALUES.read_text(encoding="utf-8"))
    components = chart_components(values)
    assert {"gateway", "indexer"} <= set(components)  # the walk found the chart's blocks
    named = {code for row in rows for code in row.codes("chart key")}
    missing = [k for k in components if k not in named]
    unknown = [k for k in named if not resolve(values, k)]
    assert not missing, ("README.md component map: add a row (column 'chart key') for these blocks of "
                         f"charts/musechat/values.yaml: {', '.join(missing)}")
    assert not unknown, f"README.md component map names chart keys values.yaml does not have: {', '.join(unknown)}"


def test_every_deployable_row_has_tests_and_a_doc(rows: list[Row]) -> None:
    bare = [row.cells["deployable"] for row in rows if not row.codes("tests") or not row.codes("doc")]
    assert not bare, f"component map rows without tests or doc: {bare}"


def test_the_checks_catch_a_missing_row(tmp_path: Path) -> None:
    """The walk itself: a new package and a new module with no row are reported, with a row to paste."""
    (tmp_path / "newpkg").mkdir()
    (tmp_path / "newpkg" / "__init__.py").write_text("")
    (tmp_path / "data").mkdir()  # not a package: no __init__.py
    (tmp_path / "tool.py").write_text("")
    parts = package_parts(tmp_path)
    assert parts == ["newpkg/", "tool.py"]
    assert not covered("newpkg/", {"other/"}) and covered("newpkg/", {"newpkg/core.py"})
    assert "| `newpkg/` |" in suggested_row("newpkg/")
    readme = (f"{HEADING}\n\n| " + " | ".join(COLUMNS) + " |\n" + "|---" * len(COLUMNS) + "|\n"
              "| x | — | `newpkg/` | — | — | `tests/` | `README.md` |\n\n## Next\n")
    [row] = component_map(readme)
    assert row.parts() == ["newpkg/"]
