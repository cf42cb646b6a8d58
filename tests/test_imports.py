"""The package's import graph has no cycle (function-level and TYPE_CHECKING imports included),
every module imports on its own in a fresh interpreter, and only the git package names dulwich.

Edges are the modules an ``import`` statement names; the implicit import of a parent package
(``pytest_agentv.store`` when ``pytest_agentv.store.base`` is imported) is not an edge, so a
package's lazy ``open_store``-style import of its own submodule is not counted as a cycle.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "pytest_agentv"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported(name: str, path: Path) -> set[str]:
    """The project modules ``name``'s source imports, anywhere in the file."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names]
            targets = [target if target in MODULES else base for target in targets]
        found.update(target for target in targets if target in MODULES and target != name)
    return found


GRAPH = {name: imported(name, path) for name, path in MODULES.items()}


def find_cycle() -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(GRAPH[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(GRAPH):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_graph_sees_imports_of_every_kind() -> None:
    # a module-level, a function-level and a TYPE_CHECKING import, as the test relies on them
    assert "pytest_agentv.trailers" in GRAPH["pytest_agentv.index"]
    assert "pytest_agentv.store.git" in GRAPH["pytest_agentv.store"]
    assert "pytest_agentv.settings" in GRAPH["pytest_agentv.store.git"]


def test_no_import_cycle() -> None:
    assert find_cycle() is None, " -> ".join(find_cycle() or [])


def test_every_module_imports_alone_in_a_fresh_interpreter() -> None:
    importable = [name for name in MODULES if not name.endswith(".__main__")]  # scripts
    script = (
        "import importlib, sys\n"
        "failed = []\n"
        "for name in sys.argv[1:]:\n"
        "    for loaded in [m for m in sys.modules if m.split('.')[0] == 'pytest_agentv']:\n"
        "        del sys.modules[loaded]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception as exc:\n"
        "        failed.append(f'{name}: {type(exc).__name__}: {exc}')\n"
        "print('\\n'.join(failed))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, *importable], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == ""


def test_only_the_git_package_names_dulwich() -> None:
    naming = sorted(
        name
        for name, path in MODULES.items()
        if "dulwich" in path.read_text(encoding="utf-8")
        and not name.startswith("pytest_agentv.git")
    )
    assert naming == []


def test_no_test_module_imports_another() -> None:
    """Shared test helpers live in helper modules (helpers, runs, cli_support, git_fixtures)."""
    tests = Path(__file__).resolve().parent
    offenders = []
    for path in sorted(tests.glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tests.test_"):
                offenders.append(f"{path.name} imports {node.module}")
    assert offenders == []


def test_the_branch_writer_reaches_git_only_through_its_facade() -> None:
    allowed = {"pytest_agentv.git", "pytest_agentv.git.repository", "pytest_agentv.git.errors"}
    reached = {
        (name, target)
        for name, targets in GRAPH.items()
        if name.startswith("pytest_agentv.branch")
        for target in targets
        if target.startswith("pytest_agentv.git") and target not in allowed
    }
    assert reached == set()
