"""Use cases behind the commands: run, resume, rehearse, dry-run, hosts --check, verify,
status, history."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runbook.exports import lazy_exports

if TYPE_CHECKING:
    from runbook.app._dryrun import dry_run_lines as dry_run_lines
    from runbook.app._history import history_at as history_at
    from runbook.app._hostcheck import check_hosts as check_hosts
    from runbook.app._join import join as join
    from runbook.app._join_check import Joined as Joined
    from runbook.app._session import (
        RunRequest as RunRequest,
        Ui as Ui,
        prepare as prepare,
    )
    from runbook.app._session_resume import resume as resume
    from runbook.app._status_doc import status_document as status_document
    from runbook.app._verify import (
        read_run as read_run,
        verify_export as verify_export,
        verify_run as verify_run,
    )
else:  # at run time each name is imported on first use: see runbook/exports.py
    __getattr__, __all__ = lazy_exports(
        __name__,
        {
            "_dryrun": ("dry_run_lines",),
            "_history": ("history_at",),
            "_hostcheck": ("check_hosts",),
            "_join": ("join",),
            "_join_check": ("Joined",),
            "_session": ("RunRequest", "Ui", "prepare"),
            "_session_resume": ("resume",),
            "_status_doc": ("status_document",),
            "_verify": ("read_run", "verify_export", "verify_run"),
        },
    )
