"""Open-file limits for runs over many hosts.

Each SSH host holds one socket for the whole run, and each running remote command one pipe
(two descriptors: paramiko's wake-up for the channel, executors/ssh/_remote_command.py).
Linux starts most shells at a soft limit of 1024 with a hard limit far above it: the soft
limit is raised to the hard one, once per process, and a `--forks` that still cannot fit is
refused before anything is journaled rather than failing hosts one by one mid-run.
"""

from __future__ import annotations

import threading

from runbook.errors import InputError, Issue

PER_HOST = 1  # its SSH connection's socket, held for the run
PER_FORK = 2  # the pipe of a running command's channel
RESERVE = 64  # the journal, its WAL, the terminal, imports, local commands' pipes

_lock = threading.Lock()
_soft: int | None = None  # the limit once raised (None: not yet looked at)


def open_file_limit() -> int | None:
    """The soft RLIMIT_NOFILE, raised to the hard limit on first call (None: no such limit
    on this platform)."""
    global _soft
    with _lock:
        if _soft is not None:
            return _soft
        try:
            import resource
        except ImportError:  # not POSIX
            return None
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard == resource.RLIM_INFINITY or hard > soft:
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
                soft = hard
            except (ValueError, OSError):  # e.g. macOS caps it at OPEN_MAX
                pass
        _soft = soft if soft != resource.RLIM_INFINITY else 1 << 30
        return _soft


def descriptors_needed(forks: int, remote_hosts: int) -> int:
    """About how many descriptors a run of `remote_hosts` SSH hosts with `forks` may use."""
    return remote_hosts * PER_HOST + min(forks, max(remote_hosts, 1)) * PER_FORK + RESERVE


def check_forks(forks: int, remote_hosts: int) -> None:
    """Raise the limit, then refuse (InputError, exit 2) a run that cannot fit in it."""
    limit = open_file_limit()
    if limit is None:
        return
    need = descriptors_needed(forks, remote_hosts)
    if need <= limit:
        return
    room = (limit - RESERVE - remote_hosts * PER_HOST) // PER_FORK
    hint = (
        f"use --forks {room} or fewer, or raise the hard limit (ulimit -Hn, systemd LimitNOFILE)"
        if room >= 1
        else "raise the hard limit (ulimit -Hn, systemd LimitNOFILE) or split the inventory "
        "with --limit"
    )
    message = (
        f"--forks {forks} over {remote_hosts} SSH hosts needs about {need} open files, "
        f"and this process may open {limit}"
    )
    raise InputError([Issue(None, message, hint)])
