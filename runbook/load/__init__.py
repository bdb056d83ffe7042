"""Reading input: YAML with locations, playbooks, variables, durations files, and their
checks, every problem located."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runbook.exports import lazy_exports

if TYPE_CHECKING:
    from runbook.load._durations_file import load_durations as load_durations
    from runbook.load._patterns import (
        name_clashes as name_clashes,
        select_hosts as select_hosts,
    )
    from runbook.load._resolve import resolve as resolve
    from runbook.load._schema import playbook_schema as playbook_schema
    from runbook.load._source import (
        Document as Document,
        PathKey as PathKey,
        marks_in as marks_in,
        parse_yaml as parse_yaml,
        read_text as read_text,
    )
    from runbook.load._template_check import check_templates as check_templates
    from runbook.load._variables import (
        inventory_secrets as inventory_secrets,
        resolve_vars as resolve_vars,
    )
else:  # at run time each name is imported on first use: see runbook/exports.py
    __getattr__, __all__ = lazy_exports(
        __name__,
        {
            "_durations_file": ("load_durations",),
            "_patterns": ("name_clashes", "select_hosts"),
            "_resolve": ("resolve",),
            "_schema": ("playbook_schema",),
            "_source": ("Document", "PathKey", "marks_in", "parse_yaml", "read_text"),
            "_template_check": ("check_templates",),
            "_variables": ("inventory_secrets", "resolve_vars"),
        },
    )
