"""`copy` and `fetch` over SFTP on the real sshd fixture: a round trip with equal sha256,
a copy skipped when nothing changed, a fetch that never overwrites different content,
and a changed host key refused for SFTP as for commands. Memory for a 1 GB file is
measured by bench/transfer.py (speed and memory are benchmarks, not test assertions)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import sshd
from engine_helpers import events, of_type, write
from ssh_helpers import base_env, runbook

# Addresses 21-23 of the shared server (see tests/conftest.py): nothing here counts
# connections.
A_FIRST = 21
SIZE = 12 * 1024 * 1024 + 12345  # several pieces of 256 KiB, and a ragged end


def _inventory(tmp_path: Path, server: sshd.Sshd) -> Path:
    path = tmp_path / "hosts.yml"
    path.write_text(
        server.inventory_of(
            {"etcd1": server.addresses[A_FIRST], "etcd2": server.addresses[A_FIRST + 1]}
        )
    )
    return path


def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def test_copy_and_fetch_round_trip_with_equal_sha256(
    sshd_server: sshd.Sshd, ssh_env: dict[str, str], tmp_path: Path
) -> None:
    remote = sshd.public_tempdir("runbook-files-")
    remote.chmod(0o777)  # the remote test user writes here
    try:
        (tmp_path / "files").mkdir()
        payload = tmp_path / "files" / "snapshot.db"
        payload.write_bytes(os.urandom(SIZE))
        inv = _inventory(tmp_path, sshd_server)
        pb = write(
            tmp_path / "pb.yml",
            f"""
            playbook: files
            vars: {{db_password: {{env: RB_DB_PASSWORD}}}}
            steps:
              - id: push
                hosts: all
                copy:
                  src: files/snapshot.db
                  dest: "{remote}/{{{{ host.name }}}}.db"
                  mode: "0640"
                run: "test -f {remote}/{{{{ host.name }}}}.db"
              - id: config
                hosts: all
                copy:
                  content: "password={{{{ vars.db_password }}}}\\n"
                  dest: "{remote}/{{{{ host.name }}}}.conf"
              - id: save
                needs: [push]
                hosts: all
                fetch: {{src: "{remote}/{{{{ host.name }}}}.db", dest: saved/}}
            """,
        )
        env = base_env(tmp_path, **ssh_env, RB_DB_PASSWORD="pw-Zq81")
        r = runbook(["run", str(pb), "-i", str(inv)], env, tmp_path)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        want = _sha(payload)
        for host in ("etcd1", "etcd2"):
            assert _sha(remote / f"{host}.db") == want
            assert (remote / f"{host}.db").stat().st_mode & 0o777 == 0o640
            fetched = tmp_path / "saved" / host / f"{host}.db"
            assert _sha(fetched) == want
            assert fetched.stat().st_mode & 0o777 == 0o600
            assert (remote / f"{host}.conf").read_text() == "password=pw-Zq81\n"
        evs = events(tmp_path / "state.db")
        pushed = {e.host: e.data["copy"] for e in of_type(evs, "host_succeeded", "push")}
        assert pushed["etcd1"] == {
            "path": f"{remote}/etcd1.db",
            "size": SIZE,
            "mode": "0640",
            "sha256": want,
            "changed": True,
        }
        saved = {e.host: e.data["fetch"] for e in of_type(evs, "host_succeeded", "save")}
        assert saved["etcd2"]["sha256"] == want and saved["etcd2"]["size"] == SIZE
        # the content is never journaled: not the secret, not even the text around it
        exported = runbook(["export", "latest", "--format", "jsonl"], env, tmp_path).stdout
        assert "pw-Zq81" not in exported and "password=" not in exported
        assert b"pw-Zq81" not in (tmp_path / "state.db").read_bytes()

        # again: every copy is skipped and says so; fetch finds the same file
        r = runbook(["run", str(pb), "-i", str(inv)], env, tmp_path)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        assert f"copy {remote}/etcd1.db unchanged" in r.stdout
        evs = events(tmp_path / "state.db")
        copies = [e.data["copy"] for e in of_type(evs, "host_succeeded") if "copy" in e.data]
        assert copies and not any(c["changed"] for c in copies)

        # a saved file with other content is never overwritten
        (tmp_path / "saved" / "etcd1" / "etcd1.db").write_bytes(b"edited by hand")
        r = runbook(["run", str(pb), "-i", str(inv), "--only", "save"], env, tmp_path)
        assert r.returncode == 1
        (failed,) = of_type(events(tmp_path / "state.db"), "host_failed", "save")
        assert failed.host == "etcd1"
        assert "exists with different content; not overwritten" in failed.data["message"]
        assert (tmp_path / "saved" / "etcd1" / "etcd1.db").read_bytes() == b"edited by hand"
    finally:
        shutil.rmtree(remote, ignore_errors=True)


def test_a_changed_host_key_is_refused_for_sftp(
    sshd_server: sshd.Sshd, ssh_env: dict[str, str], tmp_path: Path
) -> None:
    other = sshd.keygen(tmp_path / "other_host_key")
    kh = tmp_path / "changed_known_hosts"
    kh.write_text(sshd_server.known_hosts_lines(other))
    inv = _inventory(tmp_path, sshd_server)
    pb = write(
        tmp_path / "pb.yml",
        """
        playbook: files
        steps:
          - id: save
            hosts: etcd1
            fetch: {src: /etc/hostname, dest: saved/}
        """,
    )
    env = base_env(tmp_path, **{**ssh_env, "RUNBOOK_KNOWN_HOSTS": str(kh)})
    r = runbook(["run", str(pb), "-i", str(inv)], env, tmp_path)
    assert r.returncode == 1, r.stdout[-2000:] + r.stderr[-2000:]
    (failed,) = of_type(events(tmp_path / "state.db"), "host_failed", "save")
    assert failed.data["reason"] == "hostkey" and "CHANGED" in failed.data["message"]
    assert not (tmp_path / "saved" / "etcd1" / "hostname").exists()


def test_rehearsal_and_dry_run_simulate_files(tmp_path: Path) -> None:
    (tmp_path / "hosts.yml").write_text("all:\n  hosts: {a: {}, b: {}}\n")
    pb = write(
        tmp_path / "pb.yml",
        """
        playbook: files
        steps:
          - id: push
            hosts: all
            copy: {content: "x\\n", dest: /nonexistent/x}
          - id: save
            needs: [push]
            hosts: all
            fetch: {src: /etc/hostname, dest: saved/}
        """,
    )
    env = base_env(tmp_path)
    r = runbook(["rehearse", str(pb), "-i", "hosts.yml", "--speed", "max"], env, tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert not (tmp_path / "saved").exists()
    dry = runbook(["run", str(pb), "-i", "hosts.yml", "--dry-run"], env, tmp_path)
    assert dry.returncode == 0, dry.stdout[-2000:] + dry.stderr[-2000:]
    assert "copy: content → /nonexistent/x" in dry.stdout
    assert "fetch: /etc/hostname → saved/a/hostname" in dry.stdout
    json.dumps(dry.stdout)
