"""The shape STYLE.md asks for, read from the source: packages import only the packages
below them, no import cycle, shallow class trees, small modules, a short foundation; the
core never imports typer or rich, and only executors/ssh imports paramiko."""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import pytest

SOURCE = Path(__file__).resolve().parents[1] / "runbook"
# Top to bottom: a package may import itself and the packages below it; the foundation
# (the modules directly in runbook/) imports only the foundation.
LAYERS = (
    "cli",
    "present",
    "app",
    "report",
    "engine",
    "plan",
    "forecast",
    "journal",
    "load",
    "templates",
    "executors",
    "events",
)
FOUNDATION = "foundation"
UI_PACKAGES = ("cli", "present")
MAX_LINES = 400
MAX_FOUNDATION_MODULES = 12
MAX_CLASS_DEPTH = 2


@dataclass(frozen=True)
class Module:
    name: str  # runbook.plan._build
    path: Path
    tree: ast.Module

    @property
    def is_package(self) -> bool:
        return self.path.name == "__init__.py"

    @property
    def layer(self) -> str:
        return layer_of(self.name)


def layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else FOUNDATION


def rank(layer: str) -> int:
    return LAYERS.index(layer) if layer in LAYERS else len(LAYERS)


@functools.cache
def modules() -> dict[str, Module]:
    found = {}
    for path in sorted(SOURCE.rglob("*.py")):
        parts = path.relative_to(SOURCE.parent).with_suffix("").parts
        if parts[-1] == "__main__":
            continue
        name = ".".join(p for p in parts if p != "__init__")
        found[name] = Module(name, path, ast.parse(path.read_text(), str(path)))
    return found


@functools.cache
def lazy_table(package: str) -> dict[str, str]:
    """{public name: the module defining it} from a package's `lazy_exports` table."""
    module = modules().get(package)
    if module is None or not module.is_package:
        return {}
    where = {}
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "lazy_exports":
            table = ast.literal_eval(node.args[1])
            where.update({n: f"{package}.{m.lstrip('.')}" for m, ns in table.items() for n in ns})
    return where


def is_type_checking(node: ast.stmt) -> bool:
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def import_time_nodes(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements run when the module is imported: not function bodies, not the
    `if TYPE_CHECKING:` branch (its `else:` runs)."""
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if is_type_checking(node):
            assert isinstance(node, ast.If)
            yield from import_time_nodes(node.orelse)
            continue
        yield node
        for field in ("body", "orelse", "finalbody", "handlers"):
            children = getattr(node, field, None)
            if isinstance(children, list):
                yield from import_time_nodes([c for c in children if isinstance(c, ast.AST)])


def imported(module: Module, node: ast.AST) -> list[str]:
    """The runbook modules one import statement loads (a name a package exports lazily
    counts as the module that defines it)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == "runbook"]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:
        package = module.name if module.is_package else module.name.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{base}".rstrip(".")
    if base.split(".")[0] != "runbook":
        return []
    targets = []
    for alias in node.names:
        sub = f"{base}.{alias.name}"
        targets.append(sub if sub in modules() else lazy_table(base).get(alias.name, base))
    return targets


def all_imports(module: Module) -> Iterator[tuple[int, str]]:
    """(line, module) for every runbook import, in functions and TYPE_CHECKING blocks too."""
    for node in ast.walk(module.tree):
        for target in imported(module, node):
            yield getattr(node, "lineno", 0), target


def packages() -> list[str]:
    return [*LAYERS, FOUNDATION]


# --- the direction -------------------------------------------------------------------


@pytest.mark.parametrize("layer", packages())
def test_a_package_imports_only_the_packages_below_it(layer: str) -> None:
    wrong = []
    for module in modules().values():
        if module.layer != layer:
            continue
        for line, target in all_imports(module):
            other = layer_of(target)
            if other != layer and rank(other) <= rank(layer):
                where = module.path.relative_to(SOURCE.parent)
                wrong.append(f"{where}:{line}: {layer} imports {target} ({other} is above it)")
    assert not wrong, "\n".join(wrong)


def test_the_direction_check_reads_every_kind_of_import() -> None:
    tree = ast.parse(
        "from __future__ import annotations\n"
        "from typing import TYPE_CHECKING\n"
        "import runbook.journal\n"
        "from runbook.plan import Plan, _graph\n"
        "from . import _verify\n"
        "if TYPE_CHECKING:\n"
        "    from runbook.report import parse_event\n"
        "def late():\n"
        "    from ..cli import app\n"
    )
    module = Module("runbook.app._probe", SOURCE / "app" / "_probe.py", tree)
    assert sorted(t for _, t in all_imports(module)) == [
        "runbook.app._verify",
        "runbook.cli",
        "runbook.journal",
        "runbook.plan._build",
        "runbook.plan._graph",
        "runbook.report._jsonl",
    ]
    at_import = [t for n in import_time_nodes(tree.body) for t in imported(module, n)]
    assert sorted(at_import) == [
        "runbook.app._verify",
        "runbook.journal",
        "runbook.plan._build",
        "runbook.plan._graph",
    ]


# --- import cycles -------------------------------------------------------------------


def import_graph() -> nx.DiGraph:
    graph = nx.DiGraph()
    for module in modules().values():
        graph.add_node(module.name)
        for node in import_time_nodes(module.tree.body):
            for target in imported(module, node):
                # Importing a.b.c runs a/__init__ and a/b/__init__ first.
                parts = target.split(".")
                for n in range(2, len(parts) + 1):
                    ancestor = ".".join(parts[:n])
                    if ancestor != module.name and ancestor in modules():
                        graph.add_edge(module.name, ancestor)
    return graph


def test_no_import_cycle_at_import_time() -> None:
    graph = import_graph()
    cycles = []
    for component in nx.strongly_connected_components(graph):
        if len(component) > 1:
            cycle = nx.find_cycle(graph.subgraph(component))
            cycles.append(" → ".join([a for a, _ in cycle] + [cycle[0][0]]))
    assert not cycles, "\n".join(sorted(cycles))


# --- class trees ---------------------------------------------------------------------


def project_depth(cls: type) -> int:
    """1 for a class with no runbook base, 2 for one deriving from such a class…"""
    bases = [b for b in cls.__bases__ if b.__module__.split(".")[0] == "runbook"]
    return 1 + max((project_depth(b) for b in bases), default=0)


@pytest.mark.parametrize("layer", packages())
def test_class_trees_are_at_most_two_deep(layer: str) -> None:
    deep = []
    for module in modules().values():
        if module.layer != layer:
            continue
        loaded = importlib.import_module(module.name)
        for name, cls in vars(loaded).items():
            if not inspect.isclass(cls) or cls.__module__ != module.name:
                continue
            if issubclass(cls, BaseException):  # error hierarchies are meant to be trees
                continue
            if project_depth(cls) > MAX_CLASS_DEPTH:
                chain = " → ".join(
                    c.__name__ for c in cls.__mro__ if c.__module__.split(".")[0] == "runbook"
                )
                deep.append(f"{module.name}.{name}: {chain}")
    assert not deep, "\n".join(deep)


# --- sizes ---------------------------------------------------------------------------


@pytest.mark.parametrize("layer", packages())
def test_no_module_over_400_lines(layer: str) -> None:
    long = [
        f"{m.path.relative_to(SOURCE.parent)}: {n} lines"
        for m in modules().values()
        if m.layer == layer and (n := len(m.path.read_text().splitlines())) > MAX_LINES
    ]
    assert not long, "\n".join(long)


def test_the_foundation_stays_short() -> None:
    direct = sorted(
        p.name for p in SOURCE.glob("*.py") if p.name not in ("__init__.py", "__main__.py")
    )
    assert len(direct) <= MAX_FOUNDATION_MODULES, direct


def test_every_layer_is_a_package() -> None:
    assert sorted(p for p in LAYERS if (SOURCE / p / "__init__.py").exists()) == sorted(LAYERS)
    assert sorted(p.name for p in SOURCE.iterdir() if (p / "__init__.py").exists()) == sorted(
        LAYERS
    ), "a new package needs its place in LAYERS"


# --- third-party boundaries ----------------------------------------------------------


def core_modules() -> list[str]:
    return [name for name in modules() if layer_of(name) not in UI_PACKAGES]


@pytest.mark.parametrize("module", core_modules())
def test_core_module_imports_no_ui(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        "bad = [m for m in ('typer', 'rich', 'click', 'textual') if m in sys.modules]\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"{module} pulls in {out.stdout.strip()}"


def test_only_the_ssh_executor_imports_paramiko() -> None:
    importers = set()
    for module in modules().values():
        for node in ast.walk(module.tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(n.split(".")[0] == "paramiko" for n in names):
                importers.add(module.name)
    assert importers <= {m for m in modules() if m.startswith("runbook.executors.ssh.")}
