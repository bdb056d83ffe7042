"""The journal: an append-only, hash-chained event store, the run lock, tamper checks,
and the operator decisions written to it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runbook.exports import lazy_exports

if TYPE_CHECKING:
    from runbook.journal._copy import Copied as Copied, copy_runs as copy_runs
    from runbook.journal._decisions import (
        Answer as Answer,
        Recorded as Recorded,
        claim as claim,
        confirm as confirm,
        expect as expect,
        operator_name as operator_name,
        retry as retry,
        skip as skip,
    )
    from runbook.journal._input_value import value_problem as value_problem
    from runbook.journal._open import (
        hide_password as hide_password,
        is_postgres as is_postgres,
        open_journal as open_journal,
        state_exists as state_exists,
        state_label as state_label,
        state_ref as state_ref,
    )
    from runbook.journal._protocol import (
        EventStore as EventStore,
        RunRecord as RunRecord,
        StateRef as StateRef,
    )
    from runbook.journal._readonly import (
        cannot_write as cannot_write,
        connect_read_only as connect_read_only,
    )
    from runbook.journal._rows import Draft as Draft
    from runbook.journal._store import (
        Journal as Journal,
        RunSummary as RunSummary,
    )
    from runbook.journal._tamper import (
        ChainBreak as ChainBreak,
        find_break as find_break,
    )
else:  # at run time each name is imported on first use: see runbook/exports.py
    __getattr__, __all__ = lazy_exports(
        __name__,
        {
            "_copy": ("Copied", "copy_runs"),
            "_decisions": (
                "Answer",
                "Recorded",
                "claim",
                "confirm",
                "expect",
                "operator_name",
                "retry",
                "skip",
            ),
            "_input_value": ("value_problem",),
            "_open": (
                "hide_password",
                "is_postgres",
                "open_journal",
                "state_exists",
                "state_label",
                "state_ref",
            ),
            "_protocol": ("EventStore", "RunRecord", "StateRef"),
            "_readonly": ("cannot_write", "connect_read_only"),
            "_rows": ("Draft",),
            "_store": ("Journal", "RunSummary"),
            "_tamper": ("ChainBreak", "find_break"),
        },
    )
