"""Transport selection: local commands always, SSH only when a remote step will run.

The one place SSH is chosen, so that a playbook of local and manual steps runs on a
machine without paramiko, and a rehearsal never opens a connection.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runbook.app._limits import check_forks
from runbook.app._session_prepare import RunRequest, StepLike
from runbook.clock import Clock
from runbook.errors import HostError, InputError, Issue
from runbook.events import Event
from runbook.executors import LocalTransport, Transport, marked_environ, runs_locally
from runbook.model import Host

if TYPE_CHECKING:
    from runbook.executors.ssh import SshTransport
    from runbook.journal import EventStore


def select_transports(
    steps: Sequence[StepLike],
    hosts: Mapping[str, Any],
    req: RunRequest,
    on_host_key: Callable[[str, str, str], None],
    run_id: str | None = None,
    remote: SshTransport | None = None,
    engine: str | None = None,
) -> tuple[Transport, Transport | None]:
    """The local transport, and SSH when a remote step will run (`remote`, if made already).

    Local and remote commands carry the run id in their environment, so that a resume
    after a crashed engine can find the ones still running (runbook/executors/_orphans.py,
    `end_remote_orphans`); local ones the engine's id too (team mode: `engine`).
    """
    local = LocalTransport(env=marked_environ(run_id, engine=engine) if run_id else None)
    if remote is None:
        remote = ssh_transport(steps, hosts, req)
    if remote is not None:
        remote.on_host_key_accepted = on_host_key
        remote.run_id = run_id  # remote commands carry the run's mark too
        remote.engine = engine
    return local, remote


def ssh_transport(
    steps: Sequence[StepLike], hosts: Mapping[str, Any], req: RunRequest
) -> SshTransport | None:
    """SSH for the remote steps that will run (None: there are none), without a host-key
    hook yet: `select_transports` gives it the journal's once the run exists."""
    remote_steps = [s.id for s in steps if s.kind == "remote" and s.hosts]
    if not remote_steps:
        return None
    names = {h for s in steps if s.kind == "remote" for h in s.hosts}
    over_ssh = [n for n in names if n not in hosts or not runs_locally(hosts[n])]
    check_forks(req.forks, len(over_ssh))  # raises the open-file limit first
    try:
        with _invoke_hidden():
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
    return SshTransport(
        hosts,
        inventory_sources=req.inventories or (Path("inventory"),),  # known_hosts beside it
        accept_new_host_keys=req.accept_new_host_keys,
    )


@contextmanager
def _invoke_hidden() -> Iterator[None]:
    """Import paramiko without invoke, its dependency for `Match exec` in ssh configs only.

    invoke brings asyncio, unittest.mock and a vendored YAML parser: 40-100 ms of the start
    of every SSH run, for a feature few configs use. `executors/ssh.py` loads it when the
    config in use has a `Match exec`.
    """
    if "paramiko" in sys.modules or "invoke" in sys.modules:
        yield
        return
    sys.modules["invoke"] = None  # type: ignore[assignment]  # `import invoke` → ImportError
    try:
        yield
    finally:
        del sys.modules["invoke"]


def warm_first_hosts(
    remote: SshTransport | None,
    steps: Sequence[StepLike],
    hosts: Mapping[str, Host],
    req: RunRequest,
    skips: Mapping[str, str],
) -> None:
    """Connect now to the hosts the run's first commands go to (SSH set-up is most of a
    first step's time: it overlaps the journal's and the forecaster's set-up instead).

    Only once every check has passed, and not when the first step waits for a `--step`
    answer, nor when a new host key must be journaled (which needs `run_started` first).
    """
    if remote is None or req.step_gate or req.accept_new_host_keys:
        return
    done = set(skips)
    ready = [
        s
        for s in sorted(steps, key=lambda s: (s.wave, s.id))  # the engine's start order
        if s.id not in done and all(n in done for n in s.needs)
    ]
    if req.concurrency is not None:
        ready = ready[: req.concurrency]
    names = list(dict.fromkeys(h for s in ready if s.kind == "remote" for h in s.hosts))
    firsts = [hosts[n] for n in names[: req.forks] if n in hosts]
    remote.warm([h for h in firsts if not runs_locally(h)])


def host_key_hook(
    journal: EventStore, run_id: str, clock: Clock
) -> Callable[[str, str, str], None]:
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


ORPHAN_LOOK_S = 20.0  # per host: connecting, looking through /proc, the TERM grace
ORPHAN_LOOKS_AT_ONCE = 16


def end_remote_orphans(
    remote: Transport | None,
    events: Sequence[Event],
    hosts: Mapping[str, Host],
    redact: Callable[[str], str],
    engine: str | None = None,
    step: str | None = None,
) -> list[dict[str, Any]]:
    """End what a dead engine left running on the hosts whose commands were in flight
    (a `host_started` with no outcome): closing its SSH connections killed nothing there.
    One entry per group ended, or per host that could not be reached to look. Team mode:
    only `engine`'s commands, on the hosts of its `step` (the one taken over)."""
    if remote is None or not events:
        return []
    from runbook.executors.ssh import SshTransport  # paramiko: loaded already

    if not isinstance(remote, SshTransport):
        return []
    open_hosts: dict[str, int] = {}
    for e in events:
        if e.host is None or e.host not in hosts or (step is not None and e.step != step):
            continue
        if e.type == "host_started":
            open_hosts[e.host] = open_hosts.get(e.host, 0) + 1
        elif e.type in ("host_succeeded", "host_failed"):
            open_hosts[e.host] = open_hosts.get(e.host, 0) - 1
    # `ansible_connection: local` hosts ran here: runbook/executors/_orphans.py ended theirs.
    in_flight = sorted(h for h, n in open_hosts.items() if n > 0 and not runs_locally(hosts[h]))
    if not in_flight:
        return []
    run_id = events[0].run_id

    def look(name: str) -> list[dict[str, Any]]:
        try:
            groups = remote.end_orphans(hosts[name], run_id, ORPHAN_LOOK_S, engine)
        except HostError as e:
            return [{"host": name, "error": redact(f"{e.kind}: {e.detail}")}]
        return [{"host": name, "pgid": g, "command": redact(c)} for g, c in groups]

    # At once: a host that is down costs its connect timeout, not the others' wait too.
    return _at_once(look, in_flight, ORPHAN_LOOKS_AT_ONCE)


def _at_once(
    look: Callable[[str], list[dict[str, Any]]], names: Sequence[str], limit: int
) -> list[dict[str, Any]]:
    """`look(name)` for each of `names`, `limit` at a time: their entries in that order.

    On daemon threads, not a ThreadPoolExecutor: Ctrl-C or TERM while a host is being
    dialled must end the command at once (exit 130, the run still resumable), but leaving
    an executor, and then the interpreter's exit, each join its workers, which waited out
    the connect timeout (10 s). A look cut short by the exit is simply not journaled: the
    next resume looks again.
    """
    results: list[list[dict[str, Any]]] = [[] for _ in names]
    raised: list[BaseException] = []
    todo = iter(range(len(names)))
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                i = next(todo, None)
            if i is None:
                return
            try:
                results[i] = look(names[i])
            except BaseException as e:  # a bug: raised again on the caller's thread
                raised.append(e)
                return

    threads = [
        threading.Thread(target=work, name="orphan-look", daemon=True)
        for _ in range(min(limit, len(names)))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()  # a signal's KeyboardInterrupt ends this wait at once
    if raised:
        raise raised[0]
    return [entry for entries in results for entry in entries]
