"""What `join` checks before an engine works on a run started elsewhere: the playbook at
this machine's path has the journaled content (by hash), the journal is PostgreSQL and
the run is not a rehearsal."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from runbook.app._session_prepare import RunRequest
from runbook.errors import InputError
from runbook.events import Event


def playbook_sha256(files: Sequence[str]) -> str:
    """The playbook's content: the file and every include, in load order, as one hash."""
    digest = hashlib.sha256()
    for name in files:
        try:
            data = Path(name).read_bytes()
        except OSError:
            data = b""
        digest.update(hashlib.sha256(data).digest())
    return digest.hexdigest()


def journaled_sha256(events: Sequence[Event]) -> str | None:
    """The playbook hash of the run's latest run_started or run_resumed that has one."""
    for event in reversed(events):
        if event.type in ("run_started", "run_resumed") and event.data.get("playbook_sha256"):
            return str(event.data["playbook_sha256"])
    return None


@dataclass(frozen=True)
class Joined:
    """A joining engine's own paths to the playbook and inventories (None: as journaled)."""

    playbook: Path | None = None
    inventories: tuple[Path, ...] = ()

    def request(self, req: RunRequest) -> RunRequest:
        """The journaled request with this machine's paths."""
        return dataclasses.replace(
            req,
            playbook=self.playbook or req.playbook,
            inventories=self.inventories or req.inventories,
        )

    def check(self, run_id: str, events: Sequence[Event], files: Sequence[str]) -> None:
        """Refuse (exit 2) a playbook whose content differs from the one the run started with."""
        expected = journaled_sha256(events)
        if expected is None:
            return  # a run journaled before the hash existed: its steps are checked anyway
        here = playbook_sha256(files)
        if here != expected:
            raise InputError(
                f"the playbook {files[0] if files else '?'} differs from the one run {run_id} "
                f"runs (sha256 {here[:12]}… here, {expected[:12]}… journaled); join with the "
                f"same playbook and includes (--playbook PATH)"
            )
