"""Which runbook modules some test imports: directly (`from runbook.load._source import …`,
`import runbook.clock`) or through its package (`from runbook.plan import build_plan` counts
as runbook/plan/_build.py, by the package's lazy_exports table). Read from the AST of
tests/; a module a test only reaches through a CLI subprocess does not count.

    .venv/bin/python scripts/module_coverage.py [--missing] [ROOT]
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path


def modules(source: Path) -> dict[str, Path]:
    found = {}
    for path in sorted(source.rglob("*.py")):
        parts = path.relative_to(source.parent).with_suffix("").parts
        if parts[-1] != "__main__":
            found[".".join(p for p in parts if p != "__init__")] = path
    return found


def lazy_table(path: Path, package: str) -> dict[str, str]:
    """{name: defining module} from a package's lazy_exports call."""
    where = {}
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "lazy_exports":
            for module, names in ast.literal_eval(node.args[1]).items():
                where.update({n: f"{package}.{module}" for n in names})
    return where


def imported(tests: Path, known: dict[str, Path]) -> set[str]:
    packages = {m for m, p in known.items() if p.name == "__init__.py"}
    tables = {p: lazy_table(known[p], p) for p in packages}
    found: set[str] = set()
    for path in sorted(tests.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name in known)
            elif isinstance(node, ast.ImportFrom) and node.module in known:
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    if sub in known:
                        found.add(sub)
                    else:
                        found.add(tables.get(node.module, {}).get(alias.name, node.module))
    return found


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    root = Path(args[0] if args else Path(__file__).resolve().parents[1])
    known = modules(root / "runbook")
    counted = sorted(m for m, p in known.items() if p.name != "__init__.py")
    hit = imported(root / "tests", known)
    covered = [m for m in counted if m in hit]
    share = len(covered) / len(counted)
    print(f"{len(covered)} of {len(counted)} modules imported by a test ({share:.0%})")
    if "--missing" in sys.argv:
        for m in counted:
            if m not in hit:
                lines = len(known[m].read_text().splitlines())
                print(f"  {m}  ({known[m].relative_to(root)}, {lines} lines)")


if __name__ == "__main__":
    main()
