"""Each package's public names are written twice: as `if TYPE_CHECKING:` imports (what mypy
and editors read) and as the `lazy_exports` table (what runs; see runbook/exports.py). The
two agree, and every name they list imports at run time."""

from __future__ import annotations

import ast
import importlib
import sys
import textwrap
from pathlib import Path

import pytest

from runbook.exports import lazy_exports

SOURCE = Path(__file__).resolve().parents[1] / "runbook"


def lazy_packages() -> list[str]:
    found = []
    for init in sorted(SOURCE.rglob("__init__.py")):
        if "lazy_exports(" in init.read_text():
            parts = init.parent.relative_to(SOURCE.parent).parts
            found.append(".".join(parts))
    return found


def init_tree(package: str) -> ast.Module:
    path = SOURCE.parent.joinpath(*package.split("."), "__init__.py")
    return ast.parse(path.read_text(), str(path))


def type_checking_imports(package: str) -> dict[str, list[str]]:
    """{private module: names} from the `if TYPE_CHECKING:` block."""
    found: dict[str, list[str]] = {}
    for node in init_tree(package).body:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for imp in node.body:
                assert isinstance(imp, ast.ImportFrom), ast.unparse(imp)
                module = imp.module or ""
                assert module.startswith(f"{package}._"), f"{module} is not {package}'s own"
                for alias in imp.names:
                    # `X as X` is what tells a type checker the name is re-exported.
                    assert alias.asname == alias.name, f"write `{alias.name} as {alias.name}`"
                key = module.removeprefix(f"{package}.")
                found.setdefault(key, []).extend(a.name for a in imp.names)
    return {m: sorted(names) for m, names in found.items()}


def table(package: str) -> dict[str, list[str]]:
    """{private module: names} from the `lazy_exports(__name__, {...})` call."""
    calls = [
        node
        for node in ast.walk(init_tree(package))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "lazy_exports"
    ]
    assert len(calls) == 1, f"{package}: one lazy_exports table"
    literal = ast.literal_eval(calls[0].args[1])
    return {m: sorted(names) for m, names in literal.items()}


def test_the_packages_are_found() -> None:
    assert {"runbook.engine", "runbook.load.inventory", "runbook.executors.ssh"} <= set(
        lazy_packages()
    )


@pytest.mark.parametrize("package", lazy_packages())
def test_type_checking_imports_and_the_table_agree(package: str) -> None:
    assert type_checking_imports(package) == table(package)


@pytest.mark.parametrize("package", lazy_packages())
def test_every_exported_name_imports(package: str) -> None:
    loaded = importlib.import_module(package)
    names = sorted(n for names in table(package).values() for n in names)
    assert sorted(loaded.__all__) == names
    for module, exported in table(package).items():
        defining = importlib.import_module(f"{package}.{module}")
        for name in exported:
            assert getattr(loaded, name) is getattr(defining, name), f"{package}.{name}"


@pytest.mark.parametrize("package", lazy_packages())
def test_an_unknown_name_is_an_attribute_error(package: str) -> None:
    loaded = importlib.import_module(package)
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        _ = loaded.no_such_name


def test_a_name_is_imported_on_first_use_and_then_found_directly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "lazypkg"
    package.mkdir()
    (package / "__init__.py").write_text(
        textwrap.dedent(
            """
            from runbook.exports import lazy_exports
            __getattr__, __all__ = lazy_exports(__name__, {"_heavy": ("Heavy", "weigh")})
            """
        )
    )
    (package / "_heavy.py").write_text("class Heavy: ...\ndef weigh(): return 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("lazypkg", "lazypkg._heavy"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    loaded = importlib.import_module("lazypkg")
    assert loaded.__all__ == ["Heavy", "weigh"]
    assert "lazypkg._heavy" not in sys.modules  # importing the package loads nothing heavy
    assert loaded.weigh() == 42
    assert "lazypkg._heavy" in sys.modules
    assert "weigh" in vars(loaded)  # cached on the package: __getattr__ is not asked again
    with pytest.raises(AttributeError, match="module 'lazypkg' has no attribute 'light'"):
        _ = loaded.light


def test_the_table_gives_all_sorted() -> None:
    _, names = lazy_exports("anything", {"_b": ("zeta", "alpha"), "_a": ("mid",)})
    assert names == ["alpha", "mid", "zeta"]
