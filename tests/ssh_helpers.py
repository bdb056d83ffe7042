"""A healthy datacenter in shell stubs, and a driver that runs a playbook through the CLI.

The example playbook (playbooks/datacenter-restore.yml) calls systemctl, zpool, virsh,
asterisk... The stubs below answer the way a restored datacenter would, so the example
runs for real over SSH against loopback sshd servers (sshd's `SetEnv PATH=` puts them
first) and every step goes green. The manual steps are answered with `runbook confirm`
from another process, as a second operator terminal would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

STUBS: dict[str, str] = {
    "ip": 'for a; do last="$a"; done; echo "$last UP 00:11:22:33:44:55 <BROADCAST,UP>"',
    "clagctl": "echo 'The peer is alive'; echo 'Our Priority, ID, and Role: 1000 role primary'",
    "systemctl": 'case "$1" in is-system-running) echo running;; esac; exit 0',
    "nft": "echo 'chain forward { type filter hook forward priority 0; policy drop; }'",
    "vtysh": "echo 'Neighbor V AS MsgRcvd MsgSent TblVer InQ OutQ Up/Down State/PfxRcd'\n"
    "echo '10.255.0.2 4 65010 1200 1100 0 0 0 00:05:12 12 10 10'",
    "ping": "echo '3 packets transmitted, 3 received, 0% packet loss'",
    "multipath": 'if [ "$1" = -ll ]; then for i in 1 2 3 4; do '
    'echo "  |- $i:0:0:1 sd$i 8:$i active ready running status=active"; done; fi',
    "zpool": 'case "$1 $3" in "list name") echo tank;; "list health") echo ONLINE;; esac\n'
    '[ "$1" = status ] && echo "pool \'tank\' is healthy"; exit 0',
    "targetcli": "echo 'o- iscsi ... [Targets: 1]'; echo '  o- TPGs ... [TPGs: 1]'",
    "showmount": "echo 'Export list for localhost:'; echo '/export/home *'",
    "exportfs": "exit 0",
    "chronyc": '[ "$1" = tracking ] && echo "Leap status     : Normal"; exit 0',
    "ldapsearch": "echo 'dn: dc=ght,dc=local'; echo 'contextCSN: 20261129120000.000000Z#000#000'",
    "rndc": "echo 'server is up and running'",
    "dig": "echo 10.20.0.10",
    "kea-dhcp4": "exit 0",
    "virsh": 'case "$*" in *pool-info*) echo "State:          running";; '
    "*--inactive*) ;; *--state-running*) echo dpi-app-01-vm;; esac; exit 0",
    "iscsiadm": "exit 0",
    "doveadm": "exit 0",
    "postsuper": "exit 0",
    "postfix": "exit 0",
    "postqueue": "exit 0",
    "nc": "exit 0",
    "curl": 'case "$*" in *backlog*) echo 3;; *alerts*) echo "[]";; esac; exit 0',
    "jq": "echo 0",
    "kamcmd": "echo 'uptime: 120'",
    "asterisk": 'case "$*" in *endpoints*|*contacts*) '
    'i=0; while [ $i -lt 250 ]; do echo "Contact: ext$i Avail"; i=$((i+1)); done;; '
    '*registrations*) echo " trunk-1/sip:provider  Registered";; esac; exit 0',
    "bconsole": "echo 'bareos-dir Version: 22 Daemon started 29-Nov-26 11:40'",
    "pg_isready": "exit 0",
    "pg_ctlcluster": "exit 0",
    "psql": 'case "$*" in *recovery*) echo f;; *wal_receiver*) echo streaming;; esac',
    "findmnt": "exit 0",
    "mount": "exit 0",
    "nginx": "exit 0",
}


def write_stubs(folder: Path) -> Path:
    """The stub commands as executables in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)
    for name, body in STUBS.items():
        path = folder / name
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(0o755)
    return folder


def runbook(
    args: Sequence[str], env: Mapping[str, str], cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """One CLI invocation, as a user would type it."""
    return subprocess.run(
        [sys.executable, "-m", "runbook", *args],
        capture_output=True,
        text=True,
        env=dict(env),
        cwd=cwd,
        timeout=timeout,
    )


def run_answering(
    args: Sequence[str],
    env: Mapping[str, str],
    cwd: Path,
    timeout_s: float = 300,
    answers: Mapping[str, Sequence[Sequence[str]]] | None = None,
    tried: dict[str, list[tuple[int, str]]] | None = None,
    command: str = "run",
) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
    """`runbook run ARGS` (or `command`: resume) with every manual step confirmed from a
    second process, then the run's journal as exported jsonl events.

    `answers`: step → the extra `confirm` arguments to try in turn (default: one plain
    confirm); `tried` gets each step's (exit code, output) per try.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "runbook", command, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(env),
        cwd=cwd,
    )
    deadline = time.monotonic() + timeout_s
    done: dict[str, list[tuple[int, str]]] = {} if tried is None else tried
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
            status = runbook(["status", "latest", "--format", "json"], env, cwd)
            if status.returncode != 0:
                continue
            for step in json.loads(status.stdout).get("steps", []):
                sid = step["id"]
                if step.get("status") != "waiting" or sid in done:
                    continue
                done[sid] = []
                for extra in (answers or {}).get(sid, [[]]):
                    confirm = runbook(["confirm", "latest", sid, *extra], env, cwd)
                    done[sid].append((confirm.returncode, confirm.stdout + confirm.stderr))
                    if confirm.returncode == 0:
                        break
        out, err = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    result = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    exported = runbook(["export", "latest", "--format", "jsonl"], env, cwd)
    events = [json.loads(line) for line in exported.stdout.splitlines() if line.strip()]
    return result, events


def base_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a CLI run that touches nothing outside `tmp_path`."""
    env = dict(os.environ)
    env.update(
        RUNBOOK_STATE=str(tmp_path / "state.db"),
        RUNBOOK_OPERATOR="e2e-test",
        NO_COLOR="1",
        **extra,
    )
    return env
