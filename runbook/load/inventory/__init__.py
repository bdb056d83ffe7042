"""Ansible inventories (YAML, INI, ansible-inventory JSON): host ranges, variables with
Ansible's precedence, connection settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runbook.exports import lazy_exports

if TYPE_CHECKING:
    from runbook.load.inventory._beside import PendingInventory as PendingInventory
    from runbook.load.inventory._load import (
        find_inventory as find_inventory,
        load_inventory as load_inventory,
    )
else:  # at run time each name is imported on first use: see runbook/exports.py
    __getattr__, __all__ = lazy_exports(
        __name__,
        {
            "_beside": ("PendingInventory",),
            "_load": ("find_inventory", "load_inventory"),
        },
    )
