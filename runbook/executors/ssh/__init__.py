"""SSH over paramiko (the only importer): targets, known hosts, keys, sockets, one
connection per host, remote commands."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runbook.exports import lazy_exports

if TYPE_CHECKING:
    from runbook.executors.ssh._transport import SshTransport as SshTransport
else:  # at run time each name is imported on first use: see runbook/exports.py
    __getattr__, __all__ = lazy_exports(
        __name__,
        {
            "_transport": ("SshTransport",),
        },
    )
