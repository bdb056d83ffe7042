"""What `join` checks before an engine works on a run started elsewhere: the playbook at
this machine's path has the journaled content (by hash), the journal is PostgreSQL and
the run is not a rehearsal."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from runbook.app._session_prepare import RunRequest
from runbook.errors import InputError
from runbook.events import Event
from runbook.model import Inventory, Step


def playbook_sha256(files: Sequence[str], sources: Sequence[str] = ()) -> str:
    """The playbook's content as one hash: the file and every include, in load order, then
    each `copy.src` file (by content and by its path from the playbook's folder, so that
    the same checkout in another folder, on another machine, has the same hash)."""
    digest = hashlib.sha256()
    for name in files:
        digest.update(hashlib.sha256(_read(name)).digest())
    root = Path(files[0]).resolve().parent if files else Path.cwd()
    for name in sources:
        label = os.path.relpath(name, root).encode()
        digest.update(hashlib.sha256(label + b"\0" + _read(name)).digest())
    return digest.hexdigest()


def _read(name: str) -> bytes:
    try:
        return Path(name).read_bytes()
    except OSError:
        return b""


def copy_sources(steps: Mapping[str, Step]) -> list[str]:
    """The `copy.src` files of the steps, sorted; a templated `src` names its file only
    at run time, per host: its template is in the playbook's own hash already."""
    found = set()
    for step in steps.values():
        c = step.copy
        if c is not None and c.src is not None and "{" not in c.src:
            found.add(os.path.abspath(Path(c.base) / c.src))
    return sorted(found)


def rehearsal_of(events: Sequence[Event]) -> bool:
    """Whether the run is a rehearsal (it touches no file: no hash to keep)."""
    return bool(events) and events[0].data.get("mode") == "rehearsal"


def journaled_sha256(events: Sequence[Event]) -> str | None:
    """The playbook hash of the run's latest run_started or run_resumed that has one."""
    for event in reversed(events):
        if event.type in ("run_started", "run_resumed") and event.data.get("playbook_sha256"):
            return str(event.data["playbook_sha256"])
    return None


@dataclass(frozen=True)
class Joined:
    """A joining engine's own paths to the playbook and inventories (None: as journaled),
    and its own share of the work: `limit` (the hosts it reaches: it runs only those; a
    step's other hosts go to engines that reach them), `concurrency`, `forks`,
    `no_local` (no local steps here), and `accept_new_host_keys`: this machine's own
    word, never inherited from the run (the engine that started it accepted keys into
    its own known_hosts, not this one's)."""

    playbook: Path | None = None
    inventories: tuple[Path, ...] = ()
    limit: str | None = None
    concurrency: int | None = None
    forks: int | None = None
    no_local: bool = False
    accept_new_host_keys: bool = False

    def request(self, req: RunRequest) -> RunRequest:
        """The journaled request with this machine's paths and per-engine options."""
        return dataclasses.replace(
            req,
            playbook=self.playbook or req.playbook,
            inventories=self.inventories or req.inventories,
            concurrency=self.concurrency if self.concurrency is not None else req.concurrency,
            forks=self.forks if self.forks is not None else req.forks,
            accept_new_host_keys=self.accept_new_host_keys,
        )

    def reach(self, inventory: Inventory) -> frozenset[str] | None:
        """The hosts this engine claims work on (None: every host of the run)."""
        if self.limit is None:
            return None
        from runbook.load import select_hosts

        return frozenset(select_hosts(inventory, self.limit))

    def check(self, run_id: str, events: Sequence[Event], here: str | None) -> None:
        """Refuse (exit 2) a playbook whose content (includes and copy.src files too)
        differs from the one the run last started or resumed with."""
        expected = journaled_sha256(events)
        if expected is None or here is None:
            return  # a run journaled before the hash existed: its steps are checked anyway
        if here != expected:
            name = self.playbook or (events[0].data.get("playbook_path") if events else "?")
            raise InputError(
                f"the playbook {name} differs from the one run {run_id} runs (sha256 "
                f"{here[:12]}… here, {expected[:12]}… journaled: the playbook, its includes "
                f"and its copy.src files); join with the same ones (--playbook PATH)"
            )
