"""The structure, enforced: the import contracts of pyproject.toml (import-linter), no import
circle between any two modules of the app, and no import hidden inside a function to dodge
one. See docs/ARCHITECTURE.md for the layers."""

import ast
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]

# Modules that import parts of the app inside functions, and why (none of them to dodge a
# circle: the circle check below sees these imports too).
LAZY_IMPORTS_ALLOWED = {
    # The PDF helper process's forkserver re-imports the server's __main__ (this module):
    # commands import what they need when they run, so the helper starts in under a second.
    "app/cli.py",
    # Imported by the PDF helper process, which must not load the app at module level.
    "app/report/render_pdf.py",
    # WeasyPrint, python-docx and openpyxl take seconds to import: only on first export.
    "app/report/service.py",
}


def test_the_import_contracts_are_kept() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def _cycle(graph: grimp.ImportGraph) -> list[str] | None:
    """One import circle among the app's modules, or None (depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if state.get(imported) == 1:
                return path[path.index(imported) :] + [imported]
            if imported not in state and (found := visit(imported)):
                return found
        path.pop()
        state[module] = 2
        return None

    for module in sorted(graph.modules):
        if module not in state and (found := visit(module)):
            return found
    return None


def test_no_module_of_the_app_is_in_an_import_circle() -> None:
    graph = grimp.build_graph("app", include_external_packages=False)
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_the_circle_check_finds_a_circle() -> None:
    graph = grimp.ImportGraph()
    for name in ("a", "a.b", "a.c", "a.d"):
        graph.add_module(name)
    graph.add_import(importer="a.b", imported="a.c")
    graph.add_import(importer="a.c", imported="a.d")
    assert _cycle(graph) is None
    graph.add_import(importer="a.d", imported="a.b")
    assert _cycle(graph) == ["a.b", "a.c", "a.d", "a.b"]


def _imports_inside_functions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.ImportFrom) and (inner.module or "").startswith("app"):
                found.append(f"{path.relative_to(ROOT)}:{inner.lineno} {inner.module}")
            elif isinstance(inner, ast.Import):
                found += [
                    f"{path.relative_to(ROOT)}:{inner.lineno} {alias.name}"
                    for alias in inner.names
                    if alias.name.startswith("app")
                ]
    return found


def test_no_import_of_the_app_hides_inside_a_function() -> None:
    hidden = [
        line
        for path in sorted((ROOT / "app").rglob("*.py"))
        if str(path.relative_to(ROOT)) not in LAZY_IMPORTS_ALLOWED
        for line in _imports_inside_functions(path)
    ]
    assert hidden == []


def test_mypy_finds_no_type_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "app"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
