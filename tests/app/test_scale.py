"""Runs over many descriptors and one broken host: what used to end the whole run.

Each test runs the real CLI in a child process (its own open-file limit, its own faults)
against the shared sshd fixture. The child is `python -c PRELUDE + main()`, so a test can
open descriptors or break one host's channel before the run starts, as a long-lived
control process or a bug in a library would.
"""

from __future__ import annotations

import json
import re
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sshd

STEPS = 2
HOSTS = 8  # the descriptors are filled up front: a few hosts cross 1,024 as well as 300
MAIN = "\nfrom runbook.cli import main\nsys.exit(main(sys.argv[1:]))\n"


def write_run(tmp_path: Path, server: sshd.Sshd) -> list[str]:
    """A chain of STEPS steps on every fixture address; the `run` arguments for it."""
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(server.inventory_yaml([f"h{i + 1:02d}" for i in range(HOSTS)]))
    lines = ["playbook: scale", "title: Scale", "steps:"]
    for n in range(1, STEPS + 1):
        lines += [f"  - id: s{n}", f"    title: Step {n}", "    hosts: all", "    run: echo ok"]
        lines += [f"    needs: [s{n - 1}]"] if n > 1 else []
    playbook = tmp_path / "scale.yml"
    playbook.write_text("\n".join(lines) + "\n")
    return ["run", str(playbook), "-i", str(inventory), "--forks", str(HOSTS)]


def run_cli(
    tmp_path: Path,
    env: dict[str, str],
    args: list[str],
    prelude: str = "",
    limits: Callable[[], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    full_env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "TMPDIR": str(tmp_path),  # the crash log goes here
        "NO_COLOR": "1",
        "RUNBOOK_STATE": str(tmp_path / "state.db"),
        "RUNBOOK_OPERATOR": "tester",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", "import sys\n" + prelude + MAIN, *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=tmp_path,
        timeout=120,
        preexec_fn=limits,
    )


def exported(tmp_path: Path, env: dict[str, str]) -> list[dict[str, Any]]:
    out = run_cli(tmp_path, env, ["export", "latest", "--format", "jsonl"]).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


# Past 1,024 descriptors before the run starts, and within a soft limit of 1,024: the run
# needs the limit raised (else EMFILE) and poll() instead of select() (else "filedescriptor
# out of range in select()", which ended the whole run with an internal error).
FILL_DESCRIPTORS = """
import os
fill = [os.open("/dev/null", os.O_RDONLY) for _ in range(1010)]
"""


def test_a_run_past_1024_descriptors_succeeds_on_every_host(
    sshd_server: sshd.Sshd, ssh_env: dict[str, str], tmp_path: Path
) -> None:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard < 2048:
        pytest.skip(f"the hard open-file limit ({hard}) leaves no room above 1,024")

    def soft_1024() -> None:  # a login shell's usual soft limit
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))

    args = write_run(tmp_path, sshd_server)
    result = run_cli(tmp_path, ssh_env, args, FILL_DESCRIPTORS, soft_1024)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    events = exported(tmp_path, ssh_env)
    ok = [e for e in events if e["type"] == "host_succeeded"]
    assert len(ok) == STEPS * HOSTS
    assert not [e for e in events if e["type"] == "host_failed"]


# A fault no transport code expects: paramiko raising something that is not a connection
# error, on one host only (its address), from the real channel the command runs on.
POISON = """
import paramiko
_exec = paramiko.Channel.exec_command
def exec_command(self, command):
    if self.get_transport().getpeername()[0] == {address!r}:
        raise ValueError("poisoned channel")
    return _exec(self, command)
paramiko.Channel.exec_command = exec_command
"""


def test_one_host_whose_transport_raises_fails_alone(
    sshd_server: sshd.Sshd, ssh_env: dict[str, str], tmp_path: Path
) -> None:
    poisoned = sshd_server.addresses[3]  # h04
    args = write_run(tmp_path, sshd_server)
    result = run_cli(tmp_path, ssh_env, args, POISON.format(address=poisoned))
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    events = exported(tmp_path, ssh_env)
    failed = [e for e in events if e["type"] == "host_failed"]
    assert [(e["step"], e["host"], e["data"]["reason"]) for e in failed] == [("s1", "h04", "error")]
    message = failed[0]["data"]["message"]
    assert "ValueError: poisoned channel" in message, message
    # Every other host ran the first step; the second never started (s1 failed).
    ok = {e["host"] for e in events if e["type"] == "host_succeeded" and e["step"] == "s1"}
    assert ok == {f"h{i + 1:02d}" for i in range(HOSTS)} - {"h04"}
    assert [e for e in events if e["type"] == "run_finished"][-1]["data"]["result"] == "failed"
    # The traceback is in the crash log the message names.
    log = Path(re.search(r"traceback is in (\S+?)\)", message).group(1))  # type: ignore[union-attr]
    assert log.parent == tmp_path
    text = log.read_text()
    assert "step s1, host h04, run" in text and "ValueError: poisoned channel" in text
    assert "Traceback (most recent call last)" in text


def test_forks_past_the_open_file_limit_is_refused_before_the_run(
    sshd_server: sshd.Sshd, ssh_env: dict[str, str], tmp_path: Path
) -> None:
    def hard_80() -> None:  # 8 hosts + 8 forks x 2 + a reserve of 64 = 88 do not fit
        resource.setrlimit(resource.RLIMIT_NOFILE, (80, 80))

    args = write_run(tmp_path, sshd_server)
    result = run_cli(tmp_path, ssh_env, args, limits=hard_80)
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    assert f"--forks {HOSTS} over {HOSTS} SSH hosts needs about" in result.stderr
    assert "and this process may open 80 (use --forks 4 or fewer" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "state.db").exists() or not exported(tmp_path, ssh_env)
