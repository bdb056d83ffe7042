"""Choosing transports for a run: SSH only when needed, loaded lean, its first hosts warmed;
the look for a dead engine's remote commands, which an interrupt ends at once."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sshd
from engine_helpers import cli, events, of_type, spawn, step_status, wait_for, write

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


A_LOOK = 32  # the shared server's address for the interrupted look (tests/conftest.py)
STEADY = """
playbook: steady
title: One step, safe to run again
steps:
  - {id: sync, title: Sync, hosts: db01, idempotent: true, run: "echo synced"}
"""


def _connecting(address: str, port: int) -> bool:
    """Whether some process here waits for a TCP handshake with address:port (SYN_SENT):
    with the address blackholed, a connect stays there until its timeout."""
    want = "".join(f"{int(b):02X}" for b in reversed(address.split("."))) + f":{port:04X}"
    lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return any(f.split()[2] == want and f.split()[3] == "02" for f in lines)


@pytest.mark.skipif(sshd.Blackhole.unavailable() is not None, reason="needs nftables as root")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["term", "int"])
def test_an_interrupt_during_the_look_for_orphans_ends_resume_at_once(
    sshd_server: sshd.Sshd, ssh_env: dict[str, str], tmp_path: Path, sig: signal.Signals
) -> None:
    """An engine killed while its host was unreachable: `resume` first looks on that host
    for what it left running, which waits for the connect timeout (10 s). Ctrl-C or TERM
    meanwhile ends it at once, saying how to continue, and the run goes on later."""
    address, port = sshd_server.addresses[A_LOOK], sshd_server.port
    inv = tmp_path / "hosts.yml"
    inv.write_text(sshd_server.inventory_of({"db01": address}))
    pb = write(tmp_path / "pb.yml", STEADY)
    state = tmp_path / "state.db"
    with sshd.Blackhole(address, port):
        engine = spawn(state, "run", str(pb), "-i", str(inv), extra_env=ssh_env)
        try:
            wait_for(state, lambda evs: bool(of_type(evs, "host_started")))
        finally:
            engine.kill()  # SIGKILL while it connects: `db01` stays in flight
            engine.communicate(timeout=30)
        resume = spawn(state, "resume", "latest", extra_env=ssh_env)
        try:
            deadline = time.monotonic() + 30
            while not _connecting(address, port):
                assert resume.poll() is None, resume.communicate()
                assert time.monotonic() < deadline, "resume never looked on db01"
                time.sleep(0.05)
            asked = time.monotonic()
            resume.send_signal(sig)
            out, err = resume.communicate(timeout=30)
            took = time.monotonic() - asked
        finally:
            if resume.poll() is None:
                resume.kill()
    assert resume.returncode == 130, (resume.returncode, out, err)
    assert took < 3, f"resume took {took:.1f}s to end after the signal"
    run_id = events(state)[0].run_id
    assert f"run {run_id} interrupted before it went on; continue with: runbook resume" in err
    assert "Traceback" not in out + err
    assert not of_type(events(state), "run_resumed")  # nothing journaled by the cut-short look
    r = cli(state, "resume", run_id, extra_env=ssh_env)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert step_status(events(state))["sync"] == "succeeded"
