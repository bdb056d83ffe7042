"""`runbook hosts --check`: log in to every selected host over SSH and run `true`."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from runbook.app._limits import open_file_limit
from runbook.connection import connection, runbook_can_reach
from runbook.errors import HostError
from runbook.executors import runs_locally
from runbook.model import Host, Inventory

if TYPE_CHECKING:  # paramiko is heavy: imported only when a check really runs
    from runbook.executors.ssh import SshTransport

CHECK_COMMAND = "true"
CHECK_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class HostCheck:
    """How reaching one host went."""

    name: str
    address: str
    port: int | None
    user: str | None
    via: tuple[str, ...]  # ProxyJump hops, first contacted first
    # "ok", else host_failed's reasons (refused, unreachable, dns, auth, ...), or
    # "unsupported": a connection runbook does not speak (winrm, docker...)
    result: str
    detail: str
    duration_s: float

    @property
    def ok(self) -> bool:
        return self.result == "ok"

    @property
    def endpoint(self) -> str:
        """`user@address:port`, with its jumps, as the table shows it."""
        text = f"{self.user}@{self.address}" if self.user else self.address
        text += f":{self.port}" if self.user and self.port else ""
        return text + (" via " + ",".join(self.via) if self.via else "")

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "address": self.address,
            "port": self.port,
            "user": self.user,
            "via": list(self.via),
            "result": self.result,
            "ok": self.ok,
            "detail": self.detail,
            "time_s": round(self.duration_s, 3),
        }


def check_hosts(
    inventory: Inventory,
    names: Sequence[str],
    *,
    forks: int = 50,
    timeout_s: float = CHECK_TIMEOUT_S,
    accept_new_host_keys: bool = False,
    inventory_sources: Sequence[str | Path] = (),
    transport: SshTransport | None = None,
    on_result: Callable[[HostCheck], None] | None = None,
) -> list[HostCheck]:
    """Every host of `names` checked, at most `forks` at once, in `names` order."""
    open_file_limit()  # one socket per host checked, held until the end
    owned = transport is None
    if transport is None:
        from runbook.executors.ssh import SshTransport

        transport = SshTransport(
            inventory.hosts,
            inventory_sources=inventory_sources,
            accept_new_host_keys=accept_new_host_keys,
        )
    cancel = threading.Event()

    def one(name: str) -> HostCheck:
        assert transport is not None
        result = check_one(transport, inventory.hosts[name], timeout_s, cancel)
        if on_result is not None:
            on_result(result)
        return result

    pool = ThreadPoolExecutor(max_workers=max(1, min(forks, len(names) or 1)))
    try:
        return list(pool.map(one, names))
    except KeyboardInterrupt:
        cancel.set()  # running checks return at their next poll; queued ones never start
        raise
    finally:
        pool.shutdown(wait=not cancel.is_set(), cancel_futures=True)
        if owned:
            transport.close()


def check_one(
    transport: SshTransport, host: Host, timeout_s: float, cancel: threading.Event
) -> HostCheck:
    """Log in to `host` and run `true`."""
    if runs_locally(host):  # `ansible_connection: local`: this machine, no SSH to check
        return HostCheck(host.name, "local", None, None, (), "ok", "local connection", 0.0)
    if not runbook_can_reach(host.vars):  # winrm, docker...: not dialled over SSH to fail
        detail = f"ansible_connection: {connection(host.vars)}; runbook runs commands over SSH"
        return HostCheck(
            host.name, host.address, host.port, host.user, (), "unsupported", detail, 0.0
        )
    try:
        target = transport.target(host)
    except HostError as e:  # a ProxyJump loop: nothing to connect to
        return HostCheck(host.name, host.address, host.port, host.user, (), e.kind, e.detail, 0.0)
    hop, via = target.hop, tuple(j.label for j in target.jumps)

    def done(result: str, detail: str, duration_s: float) -> HostCheck:
        return HostCheck(
            host.name, hop.address, hop.port, hop.user, via, result, detail, duration_s
        )

    r = transport.run(
        host, CHECK_COMMAND, timeout_s=timeout_s, on_output=lambda s, t: None, cancel=cancel
    )
    if r.error is not None:
        return done(r.error.kind, r.error.detail, r.duration_s)
    if r.timed_out:
        return done(
            "timeout", f"no answer to `{CHECK_COMMAND}` within {timeout_s:g}s", r.duration_s
        )
    if r.exit_code is None:
        return done("error", "interrupted", r.duration_s)
    if r.exit_code != 0:
        detail = f"logged in, but `{CHECK_COMMAND}` exited {r.exit_code} (restricted shell?)"
        return done("exit", detail, r.duration_s)
    return done("ok", "", r.duration_s)
