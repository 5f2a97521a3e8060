"""The package's shape: roles as sub-packages, no module over 400 lines, no import circles, study/ and
training/ independent, study/ below report/, and the statistics importable without matplotlib."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "sweep"
TOP = {"__init__", "__main__", "cli", "launch", "worker", "progress", "protocol", "errors",
       "stats", "metrics"}  # the statistics and the metrics' vocabulary, below the study and the report alike
ROLES = {"study", "training", "report", "bench"}


def modules() -> dict[str, Path]:
    return {".".join(p.relative_to(ROOT).with_suffix("").parts): p for p in PACKAGE.rglob("*.py")}


def imports(name: str, path: Path) -> set[str]:
    """The sweep modules `name` imports, at its top or inside a function alike."""
    package = name.split(".")[:-1] if not path.name == "__init__.py" else name.split(".")
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = (package[:len(package) - node.level + 1] if node.level else []) + (node.module or "").split(".")
            base = [b for b in base if b]
            for alias in node.names:
                candidate = ".".join(base + [alias.name])
                found.add(candidate if candidate in modules() else ".".join(base))
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m.startswith("sweep") and m != name and m in modules()}


def test_the_top_level_holds_only_the_entry_points_and_the_rest_is_laid_out_by_role():
    top = {p.stem for p in PACKAGE.glob("*.py")}
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert top == TOP and folders == ROLES


def test_no_module_is_over_400_lines():
    long = {name: n for name, path in modules().items() if (n := len(path.read_text().splitlines())) > 400}
    assert not long


def test_there_are_no_import_circles_and_study_and_training_never_import_each_other():
    graph = {name: imports(name, path) for name, path in modules().items()}
    for a in graph:
        for b in graph[a]:
            assert not {a.split(".")[1], b.split(".")[1]} == {"study", "training"}, f"{a} imports {b}"
            assert not (a.startswith("sweep.study") and b.startswith("sweep.report")), f"{a} imports {b}"
    # Every package imports its __init__ on the way to a module: only module-to-module edges count.
    edges = {a: {b for b in bs if not b.endswith("__init__") and not (ROOT / b.replace(".", "/")).is_dir()}
             for a, bs in graph.items()}
    seen, path = set(), []

    def visit(node):
        assert node not in path, " -> ".join(path[path.index(node):] + [node])
        if node in seen:
            return
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            visit(nxt)
        path.pop()
        seen.add(node)

    for node in sorted(edges):
        visit(node)


def test_the_statistics_import_without_matplotlib():
    code = "import sys, sweep.stats, sweep.study.precision; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_study_the_report_and_the_cli_read_one_vocabulary_of_metrics():
    graph = {name: imports(name, path) for name, path in modules().items()}
    for user in ("sweep.study.precision", "sweep.report.tables", "sweep.report.answer", "sweep.cli"):
        assert "sweep.metrics" in graph[user], user
    assert not graph["sweep.metrics"]  # the bottom floor
