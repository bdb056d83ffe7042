"""How a run ends and how it is found again, as a user sees it: real `runbook` processes.

Every run, resume and rehearsal ends with its summary (the last lines of a piped run);
a second terminal in a subfolder finds the same journal; `logs` reads what steps printed;
`retry --resume` is one command.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from engine_helpers import write

FAILING = """
playbook: ending
title: A run that fails
rto: 1h
steps:
  - id: prepare
    local: true
    run: echo preparing
    estimate: 1s
  - id: break
    needs: [prepare]
    local: true
    run: "test -f FIXED || { echo about to fail; echo the disk is full >&2; exit 3; }"
    estimate: 1s
  - id: after
    needs: [break]
    local: true
    run: echo after
    estimate: 1s
  - id: side
    local: true
    run: echo side
    estimate: 1s
"""

SLOW = """
playbook: slow
rto: 1h
steps:
  - id: wait
    local: true
    run: "echo started; sleep 60"
    estimate: 1m
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RUNBOOK_STATE", "NO_COLOR")}
    env.update({"NO_COLOR": "1", "RUNBOOK_OPERATOR": "tester"})
    return env


def runbook(cwd: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """`runbook ARGS` in `cwd`, no --state: the state file is found as a user's would be."""
    return subprocess.run(
        [sys.executable, "-m", "runbook", *map(str, args)],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=cwd,
        timeout=120,
    )


def _failing(tmp_path: Path) -> tuple[Path, Path]:
    project = tmp_path / "project"
    project.mkdir()
    fixed = tmp_path / "fixed"
    return write(project / "pb.yml", FAILING.replace("FIXED", str(fixed))), fixed


def test_a_failing_piped_run_ends_with_the_summary(tmp_path: Path) -> None:
    pb, _ = _failing(tmp_path)
    r = runbook(pb.parent, "run", pb)
    assert r.returncode == 1, r.stderr
    lines = r.stdout.splitlines()
    run_id = lines[0].split()[1]
    assert lines[1] == f"state {pb.parent / '.runbook' / 'state.db'}"  # the header names it
    head, rto, *rest = lines[-9:]
    assert re.fullmatch(rf"== run {run_id} failed in \d+s: 2 succeeded, 1 failed, 1 blocked", head)
    assert re.fullmatch(
        r"   RTO 1h00m: not met yet \((1h00m|59m\d\ds) left before the deadline\)", rto
    )
    assert rest == [
        "   failed: break: run exited 3; holds up 1 step(s)",
        "     this machine: run exited 3",
        "       | about to fail",
        "       | the disk is full",
        f"   next: runbook retry {run_id} break --resume",
        f"     or: runbook skip {run_id} break --note TEXT",
        f"     or: runbook logs {run_id} break",
    ]
    # Every line says what happened in a word, and the error text is there without -v.
    assert any(re.search(r"step_succeeded   prepare succeeded in \d+s$", ln) for ln in lines)
    assert any("host_failed      break failed (exit): run exited 3" in line for line in lines)
    assert not any("$ " in line or "host_started" in line for line in lines)
    verbose = runbook(pb.parent, "-v", "run", pb)
    assert any("host_started     break run: test -f" in ln for ln in verbose.stdout.splitlines())
    # status agrees: never "met" for a run that failed
    status = runbook(pb.parent, "status", run_id)
    assert "RTO 1h00m → " in status.stdout and " not met yet" in status.stdout
    assert "      this machine: run exited 3\n" in status.stdout


def test_a_run_whose_pipe_closes_goes_on_to_its_end(tmp_path: Path) -> None:
    """`runbook run PB | head -1`, or a `tee` gone with its terminal: what is still written
    vanishes; the run goes on to its end, journaled, with its own exit code. A pipe closed
    before the run id was written failed the command (exit 1, nothing said) and left an
    empty run that never ran."""
    pb, _ = _failing(tmp_path)
    read, closed = os.pipe()
    os.close(read)  # nobody reads: the very first line fails (EPIPE)
    try:
        r = subprocess.run(
            [sys.executable, "-m", "runbook", "run", str(pb)],
            stdout=closed,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
            cwd=pb.parent,
            timeout=120,
        )
    finally:
        os.close(closed)
    assert (r.returncode, r.stderr) == (1, "")  # the run's code: it failed
    script = (
        f"{sys.executable} -m runbook run {pb} | head -1; echo run=${{PIPESTATUS[0]}}; "
        f"{sys.executable} -m runbook logs latest | head -1; echo logs=${{PIPESTATUS[0]}}"
    )
    both = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=_env(), cwd=pb.parent
    )
    assert both.stdout.splitlines()[1::2] == ["run=1", "logs=0"], both.stdout + both.stderr
    assert both.stderr == ""
    runs = runbook(pb.parent, "runs").stdout.splitlines()[1:]
    assert len(runs) == 2 and all(" failed " in line and " 2/4" in line for line in runs), runs


def test_retry_says_no_engine_holds_the_run_and_resume_does_it_in_one_command(
    tmp_path: Path,
) -> None:
    pb, fixed = _failing(tmp_path)
    run_id = runbook(pb.parent, "run", pb).stdout.split()[1]
    told = runbook(pb.parent, "retry", run_id, "break")
    assert told.returncode == 0, told.stderr
    assert f"no engine holds run {run_id}: recorded; continue with: runbook resume" in told.stdout
    assert f"(in one command: runbook retry {run_id} break --resume)" in told.stdout
    fixed.touch()
    done = runbook(pb.parent, "retry", run_id, "break", "--resume")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[0] == (
        f"step break will be retried already; resuming run {run_id} now"
    )
    last = done.stdout.splitlines()[-3:]
    assert last[0].startswith(f"== run {run_id} succeeded in ")
    assert last[0].endswith(": 4 succeeded")
    assert last[1].startswith("   RTO 1h00m: met with ")
    assert last[2] == f"   next: runbook export {run_id} --format html -o {run_id}.html"


def test_the_state_file_is_found_from_a_subfolder_and_named_when_missing(tmp_path: Path) -> None:
    pb, _ = _failing(tmp_path)
    run_id = runbook(pb.parent, "run", pb).stdout.split()[1]
    deeper = pb.parent / "notes" / "tonight"
    deeper.mkdir(parents=True)
    runs = runbook(deeper, "runs")
    assert runs.returncode == 0 and run_id in runs.stdout
    logs = runbook(deeper, "logs", "latest", "break")
    assert logs.returncode == 0, logs.stderr
    assert not (deeper / ".runbook").exists()  # found above, not created here

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    missing = runbook(elsewhere, "status")
    assert missing.returncode == 2
    folders = ", ".join(str(p) for p in (elsewhere, *elsewhere.parents))
    assert f"no journal: looked for .runbook/state.db in {folders};" in missing.stderr
    assert "--state PATH or RUNBOOK_STATE=PATH" in missing.stderr
    assert "Traceback" not in missing.stderr
    # A new run in a folder without one creates it there.
    here = runbook(elsewhere, "rehearse", pb)
    assert here.returncode == 0 and (elsewhere / ".runbook" / "state.db").is_file()


def test_logs_shows_what_a_step_printed_by_host_and_follows(tmp_path: Path) -> None:
    pb, _ = _failing(tmp_path)
    run_id = runbook(pb.parent, "run", pb).stdout.split()[1]
    out = runbook(pb.parent, "logs", run_id, "break").stdout.splitlines()
    assert [line[9:] for line in out] == [
        f"break $ test -f {tmp_path / 'fixed'} || {{ echo about to fail; echo the disk is full "
        ">&2; exit 3; }  (run)",
        "break | about to fail",
        "break | the disk is full",
        "break failed (exit): run exited 3",
    ]
    every = runbook(pb.parent, "logs", run_id).stdout
    assert "prepare | preparing" in every and "side | side" in every
    assert runbook(pb.parent, "logs", run_id, "break", "--follow").stdout.splitlines() == out
    typo = runbook(pb.parent, "logs", run_id, "brake")
    assert typo.returncode == 2 and "did you mean 'break'?" in typo.stderr
    nohost = runbook(pb.parent, "logs", run_id, "break", "--host", "db-01")
    assert nohost.returncode == 2
    assert "no host 'db-01' in break (it ran on this machine: leave out --host)" in nohost.stderr


def test_ctrl_c_ends_with_the_resume_command(tmp_path: Path) -> None:
    pb = write(tmp_path / "slow.yml", SLOW)
    proc = subprocess.Popen(
        [sys.executable, "-m", "runbook", "run", str(pb)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        cwd=tmp_path,
    )
    assert proc.stdout is not None
    seen = ""
    deadline = time.monotonic() + 30
    while "host_started" not in seen and "step_started" not in seen:
        assert time.monotonic() < deadline, seen
        seen += proc.stdout.readline()
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=30)
    assert proc.returncode == 130
    run_id = seen.split()[1]
    tail = rest.splitlines()
    assert tail[-3].startswith(f"== run {run_id} interrupted in ")
    assert tail[-3].endswith(": 1 running")
    assert tail[-1] == f"   next: runbook resume {run_id}"


def _complete(cwd: Path, words: str) -> list[str]:
    """What bash completion offers for the last word of `words` (typer's protocol)."""
    env = {
        **_env(),
        "_RUNBOOK_COMPLETE": "complete_bash",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split(" ")) - 1),
    }
    done = subprocess.run(
        [sys.executable, "-m", "runbook"], capture_output=True, text=True, env=env, cwd=cwd
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_shell_completion_is_installable_and_completes_runs_and_steps(tmp_path: Path) -> None:
    shown = runbook(tmp_path, "--help").stdout
    assert "--install-completion" in shown and "--show-completion" in shown
    assert _complete(tmp_path, "runbook re") == ["rehearse", "resume", "retry"]
    assert _complete(tmp_path, "runbook retry ") == ["latest"]  # no journal: nothing more
    pb, _ = _failing(tmp_path)
    run_id = runbook(pb.parent, "run", pb).stdout.split()[1]
    assert _complete(pb.parent, "runbook retry ") == ["latest", run_id]
    assert _complete(pb.parent, f"runbook retry {run_id[:9]}") == [run_id]
    assert _complete(pb.parent, "runbook logs latest ") == ["prepare", "break", "after", "side"]
    assert _complete(pb.parent, "runbook confirm latest b") == ["break"]


def test_a_remote_failure_names_its_host_in_the_summary_and_logs(
    sshd_server: Any, ssh_env: dict[str, str], tmp_path: Path
) -> None:
    inv = tmp_path / "hosts.yml"
    addresses = sshd_server.addresses
    inv.write_text(sshd_server.inventory_of({"db-01": addresses[20], "db-02": addresses[21]}))
    pb = write(
        tmp_path / "pb.yml",
        """
        playbook: remote-ending
        steps:
          - id: replicas
            hosts: all
            run: >-
              echo checking {{ host.name }};
              test {{ host.name }} != db-02 || { echo replica lag 40s >&2; exit 4; }
        """,
    )
    env = {**_env(), **ssh_env}
    r = subprocess.run(
        [sys.executable, "-m", "runbook", "run", str(pb), "-i", str(inv)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert r.returncode == 1, r.stdout + r.stderr
    run_id = r.stdout.split()[1]
    head, *rest = r.stdout.splitlines()[-9:]
    assert re.fullmatch(rf"== run {run_id} failed in \d+s: 1 failed", head), head
    assert rest == [
        "   no RTO set",
        "   failed: replicas: 1 of 2 hosts failed: db-02: run exited 4",
        "     db-02: run exited 4",
        "       | checking db-02",
        "       | replica lag 40s",
        f"   next: runbook retry {run_id} replicas --resume",
        f"     or: runbook skip {run_id} replicas --note TEXT",
        f"     or: runbook logs {run_id} replicas",
    ]
    logs = runbook(tmp_path, "logs", run_id, "replicas", "--host", "db-01").stdout.splitlines()
    assert [line[9:] for line in logs][1:2] == ["replicas@db-01 | checking db-01"]
    assert re.fullmatch(r".{9}replicas@db-01 succeeded in \d+s", logs[2]) and len(logs) == 3
