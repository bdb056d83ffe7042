"""Where an inventory host really is for SSH: address, port, user, keys and ProxyJump chain.

No paramiko here: `~/.ssh/config` is read as text (with its `Include`s inlined) and parsed
by paramiko's `SSHConfig` in `ssh.py`, which hands this module a plain lookup function.
Precedence follows Ansible driving OpenSSH: inventory variables (`ansible_port`,
`ansible_user`, `ansible_ssh_private_key_file`, ProxyJump in `ansible_ssh_common_args`)
win over `~/.ssh/config`, which wins over the defaults (port 22, the local user).
"""

from __future__ import annotations

import getpass
import glob
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runbook.errors import HostError
from runbook.model import Host

# paramiko.SSHConfig.lookup: lower-cased keywords; `identityfile` is a list; values are str.
ConfigLookup = Callable[[str], Mapping[str, Any]]

MAX_JUMPS = 8  # a longer chain is almost certainly a loop through ~/.ssh/config
_INCLUDE = re.compile(r"^\s*include\s*=?\s*(.+?)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Hop:
    """One SSH server to authenticate to: a target or a jump host."""

    label: str  # inventory name or the ProxyJump spec, for messages and the journal
    address: str
    port: int
    user: str
    key_files: tuple[str, ...] = ()
    # ansible_ssh_timeout / ansible_timeout, else ConnectTimeout; None: the transport's
    connect_timeout_s: float | None = None

    @property
    def endpoint(self) -> str:
        return f"{self.user}@{self.address}:{self.port}"


@dataclass(frozen=True)
class Target:
    """A host to run commands on, and the jumps (first contacted first) that lead to it."""

    hop: Hop
    jumps: tuple[Hop, ...] = ()

    @property
    def chain(self) -> tuple[Hop, ...]:
        return (*self.jumps, self.hop)

    @property
    def key(self) -> tuple[tuple[str, str, int, tuple[str, ...]], ...]:
        """The pool key: the same server, user and keys reached the same way share one
        connection (the 38 site routers behind one address share it; other keys do not)."""
        return tuple((h.user, h.address, h.port, h.key_files) for h in self.chain)


def no_config(name: str) -> Mapping[str, Any]:
    """The lookup used when there is no ~/.ssh/config."""
    return {"hostname": name}


class TargetResolver:
    """Turns inventory hosts and ProxyJump names into `Target`s."""

    def __init__(
        self,
        hosts: Mapping[str, Host],
        config: ConfigLookup = no_config,
        local_user: str | None = None,
    ) -> None:
        self.hosts = hosts
        self.config = config
        self.local_user = local_user or _local_user()

    def resolve(self, host: Host) -> Target:
        """The target for `host`; HostError (kind "error") for a ProxyJump loop."""
        hop, jump_spec = self._host_hop(host, None, None)
        return Target(hop, self._chain(host.name, jump_spec, (host.name,)))

    def _host_hop(self, host: Host, user: str | None, port: int | None) -> tuple[Hop, str | None]:
        _check_usable(host)
        cfg = self.config(host.address)
        timeout = host.vars.get("ansible_ssh_timeout") or host.vars.get("ansible_timeout")
        hop = Hop(
            label=host.name,
            address=str(cfg.get("hostname") or host.address),
            port=port or host.port or _int(cfg.get("port")) or 22,
            user=user or host.user or str(cfg.get("user") or "") or self.local_user,
            key_files=_keys(host.key_file, cfg),
            connect_timeout_s=_seconds(timeout) or _seconds(cfg.get("connecttimeout")),
        )
        spec = host.proxy_jump if host.proxy_jump is not None else cfg.get("proxyjump")
        return hop, spec

    def _jump_hop(self, item: str) -> tuple[Hop, str | None]:
        user, name, port = parse_jump(item)
        if name in self.hosts:  # SPEC: an inventory host of that name supplies the jump
            hop, spec = self._host_hop(self.hosts[name], user, port)
            return Hop(
                item, hop.address, hop.port, hop.user, hop.key_files, hop.connect_timeout_s
            ), spec
        cfg = self.config(name)  # else ~/.ssh/config, else NAME as a host name
        hop = Hop(
            label=item,
            address=str(cfg.get("hostname") or name),
            port=port or _int(cfg.get("port")) or 22,
            user=user or str(cfg.get("user") or "") or self.local_user,
            key_files=_keys(None, cfg),
            connect_timeout_s=_seconds(cfg.get("connecttimeout")),
        )
        return hop, cfg.get("proxyjump")

    def _chain(self, owner: str, spec: str | None, seen: tuple[str, ...]) -> tuple[Hop, ...]:
        items = split_jumps(spec)
        if not items:
            return ()
        hops: list[Hop] = []
        first_spec: str | None = None
        for i, item in enumerate(items):
            name = parse_jump(item)[1]
            if name in seen:
                loop = " → ".join((*seen, name))
                raise HostError(owner, "error", f"ProxyJump loop: {loop}")
            hop, own_spec = self._jump_hop(item)
            if i == 0:
                first_spec = own_spec  # as in OpenSSH, only the first jump's own ProxyJump counts
            hops.append(hop)
        first = parse_jump(items[0])[1]
        before = self._chain(owner, first_spec, (*seen, *(parse_jump(i)[1] for i in items)))
        if len(before) + len(hops) > MAX_JUMPS:
            raise HostError(owner, "error", f"ProxyJump chain longer than {MAX_JUMPS} via {first}")
        return (*before, *hops)


_VAULT = "$ANSIBLE_VAULT;"
_TEMPLATE = re.compile(r"{{|{%")


def _check_usable(host: Host) -> None:
    """HostError when a connection value is an inventory value runbook cannot use: an
    ansible-vault ciphertext (no vault password on a restore night) or a template that
    could not be rendered (a lookup, an undefined variable). Dialling its text would fail
    later with a misleading reason (`dns` for an address `{{ mgmt_ip }}`)."""
    fields = (
        ("address", "ansible_host", host.address),
        ("user", "ansible_user", host.user),
        ("key file", "ansible_ssh_private_key_file", host.key_file),
        ("ProxyJump", "ansible_ssh_common_args", host.proxy_jump),
    )
    if not host.address.strip():  # `ansible_host: "{{ lookup('env', 'UNSET') }}"`
        raise HostError(host.name, "error", "its address (ansible_host) is empty")
    for what, var, value in fields:
        if not value:
            continue
        if value.lstrip().startswith(_VAULT):
            raise HostError(
                host.name,
                "error",
                f"its {what} ({var}) is encrypted with ansible-vault, which runbook cannot"
                " decrypt: write it in clear text in the inventory",
            )
        if _TEMPLATE.search(value):
            raise HostError(
                host.name,
                "error",
                f"its {what} ({var}) {value!r} is a template runbook cannot render (a lookup,"
                " or an undefined variable?): write the value itself in the inventory",
            )


def split_jumps(spec: str | None) -> list[str]:
    """The comma-separated jumps of a ProxyJump value; `none` means no jump."""
    if spec is None:
        return []
    items = [s.strip() for s in str(spec).split(",") if s.strip()]
    return [] if [i.lower() for i in items] == ["none"] else items


def parse_jump(item: str) -> tuple[str | None, str, int | None]:
    """`[user@]host[:port]` or `ssh://[user@]host[:port]` → (user, host, port)."""
    text = item[6:] if item.startswith("ssh://") else item
    user: str | None = None
    if "@" in text:
        user, text = text.rsplit("@", 1)
    port: int | None = None
    if text.startswith("["):  # [v6-address]:port
        host, _, rest = text[1:].partition("]")
        if rest.startswith(":") and rest[1:].isdigit():
            port = int(rest[1:])
        return user or None, host, port
    if text.count(":") == 1:
        host, _, p = text.partition(":")
        if p.isdigit():
            return user or None, host, int(p)
    return user or None, text, port


def read_ssh_config(path: Path, _depth: int = 0) -> str:
    """The text of an ssh_config with its `Include` lines inlined (paramiko ignores them)."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    out: list[str] = []
    for line in lines:
        m = _INCLUDE.match(line)
        if not m or _depth >= 16:
            out.append(line)
            continue
        for pattern in m.group(1).split():
            pattern = os.path.expanduser(pattern)
            if not os.path.isabs(pattern):  # relative to ~/.ssh, as ssh_config(5) says
                pattern = str(path.parent / pattern)
            for found in sorted(glob.glob(pattern)):
                out.append(read_ssh_config(Path(found), _depth + 1))
    return "\n".join(out) + "\n"


def default_ssh_config() -> Path | None:
    """$RUNBOOK_SSH_CONFIG (empty: none), else ~/.ssh/config."""
    env = os.environ.get("RUNBOOK_SSH_CONFIG")
    if env is not None:
        return Path(env) if env.strip() else None
    return Path("~/.ssh/config").expanduser()


def default_known_hosts(inventory_sources: Sequence[str] = ()) -> list[Path]:
    """The operator's known_hosts ($RUNBOOK_KNOWN_HOSTS, os.pathsep-separated, else
    ~/.ssh/known_hosts and known_hosts2), then a `known_hosts` file beside each inventory.
    The first path is where --accept-new-host-keys records keys."""
    env = os.environ.get("RUNBOOK_KNOWN_HOSTS")
    if env:
        paths = [Path(p).expanduser() for p in env.split(os.pathsep) if p]
    else:
        ssh_dir = Path("~/.ssh").expanduser()
        paths = [ssh_dir / "known_hosts", ssh_dir / "known_hosts2"]
    for source in inventory_sources:
        src = Path(source)
        beside = (src if src.is_dir() else src.parent) / "known_hosts"
        if beside.is_file() and beside not in paths:
            paths.append(beside)
    return paths


def _keys(inventory_key: str | None, cfg: Mapping[str, Any]) -> tuple[str, ...]:
    keys = [os.path.expanduser(inventory_key)] if inventory_key else []
    for k in cfg.get("identityfile") or ():
        path = os.path.expanduser(str(k))
        if path not in keys:
            keys.append(path)
    return tuple(keys)


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _seconds(value: Any) -> float | None:
    try:
        seconds = float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
    return seconds if seconds and seconds > 0 else None


def _local_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers): ssh would fail the same way
        return "root" if os.getuid() == 0 else str(os.getuid())
