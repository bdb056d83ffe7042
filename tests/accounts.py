"""The unprivileged accounts the real servers of the tests run as (sshd's login user, the
PostgreSQL cluster's owner), created on first use. Several pytest workers (xdist) may ask
at once on a fresh machine: the check and the `useradd` run under one file lock, so the
second worker finds the account instead of failing on "already exists"."""

from __future__ import annotations

import fcntl
import subprocess
from collections.abc import Sequence

LOCK = "/tmp/runbook-tests-accounts.lock"


def ensure(name: str, useradd_options: Sequence[str], after: Sequence[str] = ()) -> str:
    """Create account `name` with `useradd OPTIONS name` when missing, then run `after`
    (a command, `name` appended) once; returns the name."""
    with open(LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if subprocess.run(["id", "-u", name], capture_output=True).returncode != 0:
            subprocess.run(["useradd", *useradd_options, name], check=True, capture_output=True)
            if after:
                subprocess.run([*after, name], check=True, capture_output=True)
    return name
