"""A package's public names, each imported on its first use (PEP 562).

Every package's `__init__` names what it offers. Importing all of it there would make
`runbook status` load numpy, networkx, Jinja2 and paramiko to read a journal, and would tie
packages into import cycles; so at run time a name's module is imported when the name is
first asked for. Type checkers read the same names from the `if TYPE_CHECKING:` imports
beside each table (tests/test_exports.py checks that the two agree).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, table: Mapping[str, tuple[str, ...]]
) -> tuple[Callable[[str], Any], list[str]]:
    """(`__getattr__`, `__all__`) for `package`, from {private module: names it offers}."""
    where = {name: module for module, names in table.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        setattr(sys.modules[package], name, value)  # the next lookup finds it directly
        return value

    return __getattr__, sorted(where)
