"""Transport selection: local commands always, SSH only when a remote step will run.

The one place SSH is chosen, so that a playbook of local and manual steps runs on a
machine without paramiko, and a rehearsal never opens a connection.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from runbook.clock import Clock
from runbook.errors import InputError, Issue
from runbook.executors.base import Transport
from runbook.executors.local import LocalTransport
from runbook.journal import Journal
from runbook.orphans import marked_environ
from runbook.plan import Plan
from runbook.session_prepare import RunRequest


def select_transports(
    plan: Plan,
    hosts: Mapping[str, Any],
    req: RunRequest,
    on_host_key: Callable[..., None],
    run_id: str | None = None,
) -> tuple[Transport, Transport | None]:
    """The local transport, and SSH when a remote step will run.

    Local commands carry the run id in their environment, so that a resume after a
    crashed engine can find the ones still running (runbook/orphans.py).
    """
    local = LocalTransport(env=marked_environ(run_id) if run_id else None)
    remote_steps = [s.id for s in plan.steps if s.kind == "remote" and s.hosts]
    if not remote_steps:
        return local, None
    try:
        from runbook.executors.ssh import SshTransport
    except ImportError:
        shown = ", ".join(remote_steps[:10]) + (" ..." if len(remote_steps) > 10 else "")
        raise InputError(
            [
                Issue(
                    None,
                    f"steps {shown} run over SSH, which this installation cannot do",
                    "rehearse the playbook instead, or install runbook with paramiko",
                )
            ]
        ) from None
    remote = SshTransport(
        hosts,
        inventory_sources=req.inventories or (Path("inventory"),),  # known_hosts beside it
        accept_new_host_keys=req.accept_new_host_keys,
        on_host_key_accepted=on_host_key,
    )
    return local, remote


def host_key_hook(journal: Journal, run_id: str, clock: Clock) -> Callable[[str, str, str], None]:
    """Journal a host key accepted by `--accept-new-host-keys` (from an SSH worker thread)."""

    def record(host: str, key_type: str, fingerprint: str) -> None:
        journal.append(
            run_id,
            "host_key_accepted",
            ts=clock.now(),
            host=host,
            data={"key_type": key_type, "fingerprint": fingerprint},
        )

    return record
