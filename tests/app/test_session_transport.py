"""Choosing transports for a run: SSH only when needed, loaded lean, its first hosts warmed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from runbook.app._session_prepare import RunRequest, StepShape
from runbook.app._session_transport import warm_first_hosts
from runbook.model import Host


class Recorder:
    """Stands in for SshTransport.warm: which hosts a run connects to before it starts."""

    def __init__(self) -> None:
        self.warmed: list[list[str]] = []

    def warm(self, hosts: list[Host]) -> None:
        self.warmed.append([h.name for h in hosts])


HOSTS = {n: Host(n, "127.0.0.1") for n in ("h1", "h2", "h3", "h4", "h5")}
STEPS = [
    StepShape("power", (), "manual", (), 0),
    StepShape("switches", (), "remote", ("h2", "h1"), 0),
    StepShape("dns", (), "remote", ("h1", "h3"), 0),
    StepShape("mail", ("dns",), "remote", ("h4",), 1),
    StepShape("apps", ("mail",), "remote", ("h5",), 2),
]


def warmed(req: RunRequest, skips: dict[str, str] | None = None) -> list[list[str]]:
    rec = Recorder()
    warm_first_hosts(rec, STEPS, HOSTS, req, skips or {})  # type: ignore[arg-type]
    return rec.warmed


def test_the_first_steps_hosts_are_warmed_in_start_order_within_forks() -> None:
    pb = Path("pb.yml")
    assert warmed(RunRequest(pb)) == [["h1", "h3", "h2"]]  # dns before switches
    assert warmed(RunRequest(pb, forks=2)) == [["h1", "h3"]]
    assert warmed(RunRequest(pb, concurrency=2)) == [["h1", "h3"]]  # power, dns start first
    # --from mail: what mail needs is taken as done, so mail's host is among the first.
    assert warmed(RunRequest(pb, from_step="mail"), {"dns": "from"}) == [["h2", "h1", "h4"]]


def test_nothing_is_warmed_before_a_step_answer_or_a_host_key_to_journal() -> None:
    pb = Path("pb.yml")
    assert warmed(RunRequest(pb, step_gate=True)) == []
    assert warmed(RunRequest(pb, accept_new_host_keys=True)) == []
    warm_first_hosts(None, STEPS, HOSTS, RunRequest(pb), {})  # no remote step: no SSH


def test_ssh_loads_without_invoke_until_a_config_uses_match_exec(tmp_path: Path) -> None:
    config = tmp_path / "ssh_config"
    config.write_text('Host *\n  User bob\nMatch exec "test 1 = 1"\n  Port 2222\n')
    code = f"""
import sys
from pathlib import Path
from runbook.model import Host
from runbook.app._session_prepare import RunRequest, StepShape
from runbook.app._session_transport import ssh_transport
steps = [StepShape("s", (), "remote", ("h",), 0)]
remote = ssh_transport(steps, {{"h": Host("h", "127.0.0.1")}}, RunRequest(Path("pb.yml")))
print("invoke" in sys.modules, "paramiko" in sys.modules)
from runbook.executors.ssh._client import config_lookup
print(dict(config_lookup(Path({str(config)!r}))("db1"))["port"], "invoke" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True", "2222", "True"]
