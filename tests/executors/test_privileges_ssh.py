"""`become`, `become_password`, `env` and `stdin` over the real sshd fixture.

The fixture's sshd runs commands as an unprivileged test user and the machine has no
sudo, so `become` is tested with a stand-in (tests/data/bin/fake-sudo) given as the
host's `ansible_become_exe`: it takes sudo's options, prints the `-p` prompt on stderr,
reads the password from stdin like `sudo -S`, checks it, then runs the command. What is
tested is ours: the command line we build, the password written only after the prompt
and never in argv, the journal, the exports or the terminal.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import sshd
from engine_helpers import events, of_type, write
from ssh_helpers import base_env, runbook
from test_reliability_injection import payloads

# Addresses 21-23 of the shared server (see tests/conftest.py): nothing here counts
# connections.
A_FIRST = 21
FAKE_SUDO = Path(__file__).resolve().parents[1] / "data" / "bin" / "fake-sudo"
PASSWORD = "S3cret-sudo'pw $(x) é"


def _inventory(tmp_path: Path, server: sshd.Sshd, exe: Path) -> Path:
    path = tmp_path / "hosts.yml"
    path.write_text(server.inventory_of({"db1": server.addresses[A_FIRST]}, ansible_become_exe=exe))
    return path


def _public_sudo() -> Path:
    """The stand-in and its password where the remote test user can read them."""
    folder = sshd.public_tempdir("runbook-sudo-")
    exe = folder / "sudo"
    shutil.copy(FAKE_SUDO, exe)
    exe.chmod(0o755)
    (folder / "password").write_text(PASSWORD + "\n")
    (folder / "password").chmod(0o644)
    return exe


def test_become_password_is_given_on_stdin_and_found_nowhere(
    sshd_server: sshd.Sshd, ssh_env: dict[str, str], tmp_path: Path
) -> None:
    exe = _public_sudo()
    try:
        inv = _inventory(tmp_path, sshd_server, exe)
        marker = f"promote-{time.monotonic_ns()}"
        pb = write(
            tmp_path / "pb.yml",
            f"""
            playbook: become
            vars:
              sudo_password: {{env: RB_SUDO_PASSWORD}}
            steps:
              - id: promote
                hosts: all
                become: true
                become_user: git
                become_password: "{{{{ vars.sudo_password }}}}"
                stdin: "yes\\n"
                run: 'read a; echo "confirmed=$a as=$SUDO_USER_AS"; sleep 2; echo {marker}'
                doc: https://docs.gitlab.com/administration/geo/disaster_recovery/
            """,
        )
        env = base_env(tmp_path, **ssh_env, RB_SUDO_PASSWORD=PASSWORD)
        proc = subprocess.Popen(
            [sys.executable, "-m", "runbook", "-v", "run", str(pb), "-i", str(inv)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        seen_running = False
        needle = PASSWORD.encode()
        while proc.poll() is None:
            for pid in sshd.processes_matching(marker):
                seen_running = True
                for part in ("cmdline", "environ"):
                    try:
                        data = Path(f"/proc/{pid}/{part}").read_bytes()
                    except OSError:
                        continue
                    assert needle not in data, f"the password is in /proc/{pid}/{part}"
            time.sleep(0.05)
        out, err = proc.communicate()
        assert proc.returncode == 0, out[-2000:] + err[-2000:]
        assert seen_running
        assert PASSWORD not in out + err
        assert "confirmed=yes as=git" in out
        state = tmp_path / "state.db"
        for path in state.parent.glob("state.db*"):
            assert needle not in path.read_bytes(), path
        for fmt in ("jsonl", "csv", "md", "html"):
            r = runbook(["export", "latest", "--format", fmt], env, tmp_path)
            assert r.returncode == 0 and PASSWORD not in r.stdout
        evs = events(state)
        (started,) = of_type(evs, "host_started", "promote")
        assert started.data["command"].startswith("sudo -u git: read a;")
        status = runbook(["status", "latest"], env, tmp_path)
        assert PASSWORD not in status.stdout
    finally:
        shutil.rmtree(exe.parent, ignore_errors=True)


def test_a_wrong_become_password_fails_the_host_with_sudos_message(
    sshd_server: sshd.Sshd, ssh_env: dict[str, str], tmp_path: Path
) -> None:
    exe = _public_sudo()
    try:
        inv = _inventory(tmp_path, sshd_server, exe)
        pb = write(
            tmp_path / "pb.yml",
            """
            playbook: become
            vars:
              sudo_password: {env: RB_SUDO_PASSWORD}
            steps:
              - id: reload
                hosts: all
                become: true
                become_password: "{{ vars.sudo_password }}"
                run: "echo never"
                timeout: 30s
            """,
        )
        env = base_env(tmp_path, **ssh_env, RB_SUDO_PASSWORD="wrong")
        r = runbook(["-v", "run", str(pb), "-i", str(inv)], env, tmp_path)
        assert r.returncode == 1, r.stdout[-2000:] + r.stderr[-2000:]
        assert "never" not in r.stdout.replace("echo never", "")
        assert "incorrect password" in r.stdout or "no password" in r.stdout
    finally:
        shutil.rmtree(exe.parent, ignore_errors=True)


def test_env_values_reach_the_remote_command_as_data_under_become_too(
    sshd_server: sshd.Sshd, ssh_env: dict[str, str], tmp_path: Path
) -> None:
    base = sshd.public_tempdir("runbook-env-")
    exe = _public_sudo()
    try:
        out, trap = base / "out", base / "trap"
        for d in (out, trap):
            d.mkdir()
            d.chmod(0o777)
        (trap / "keep").write_text("must survive")
        values = payloads(trap)
        names = sorted(values)
        inv = _inventory(tmp_path, sshd_server, exe)
        var_lines = "".join(f"  {n}: {json.dumps(v)}\n" for n, v in values.items())
        env_lines = "".join(f"      V_{n}: '{{{{ vars.{n} }}}}'\n" for n in names)
        plain = "; ".join(f"printf '%s' \"$V_{n}\" > {out}/{n}" for n in names)
        sudo = "; ".join(f"printf '%s' \"$V_{n}\" > {out}/sudo-{n}" for n in names)
        (tmp_path / "pb.yml").write_text(
            "playbook: env\nvars:\n"
            + var_lines
            + "defaults:\n  env:\n"
            + env_lines.replace("      ", "    ")
            + "steps:\n"
            + f"  - id: plain\n    hosts: all\n    run: {json.dumps(plain)}\n"
            + f"  - id: sudo\n    hosts: all\n    become: true\n    run: {json.dumps(sudo)}\n"
        )
        env = base_env(tmp_path, **ssh_env)
        r = runbook(["-v", "run", str(tmp_path / "pb.yml"), "-i", str(inv)], env, tmp_path)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        for prefix in ("", "sudo-"):
            got = {n: (out / f"{prefix}{n}").read_bytes().decode() for n in names}
            assert got == values
        assert sorted(p.name for p in trap.iterdir()) == ["keep"], "a value ran as shell"
    finally:
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(exe.parent, ignore_errors=True)


def test_stdin_is_answered_without_become(
    sshd_server: sshd.Sshd, ssh_env: dict[str, str], tmp_path: Path
) -> None:
    inv = _inventory(tmp_path, sshd_server, FAKE_SUDO)
    pb = write(
        tmp_path / "pb.yml",
        """
        playbook: geo
        vars: {site: paris}
        steps:
          - id: promote
            hosts: all
            stdin: "yes {{ vars.site }}\\nsecond line\\n"
            run: 'read a; read b; echo "got=$a/$b"; cat'
            verify: "cat"
        """,
    )
    env = base_env(tmp_path, **ssh_env)
    r = runbook(["-v", "run", str(pb), "-i", str(inv)], env, tmp_path, timeout=60)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "got=yes paris/second line" in r.stdout


def test_feed_finds_markers_split_across_reads() -> None:
    from runbook.executors import STARTED, SUDO_PROMPT, Feed, FeedState

    sent: list[bytes] = []
    closed: list[bool] = []
    state = FeedState(Feed("answer\n", "pw"), sent.append, lambda: closed.append(True))
    state.start()
    assert sent == []  # nothing before sudo asks
    text = "warn\n" + SUDO_PROMPT + STARTED + "out\n"
    passed = "".join(state.stderr(text[i : i + 3]) for i in range(0, len(text), 3))
    assert passed == "warn\nout\n"
    assert sent == [b"pw\n", b"answer\n"] and closed == [True]
    refused = FeedState(Feed(None, "bad"), sent.append, lambda: closed.append(True))
    refused.stderr(SUDO_PROMPT + "Sorry, try again.\n" + SUDO_PROMPT)
    assert closed == [True, True]  # a second prompt: stdin closed, sudo gives up
