"""known_hosts as OpenSSH reads it: [host]:port, hashes, wildcards, negation, @revoked."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest
import sshd

from runbook.errors import HostError
from runbook.executors.ssh._known_hosts import KnownHosts, fingerprint

BLOB_A = b"\x00\x00\x00\x0bssh-ed25519" + b"A" * 36
BLOB_B = b"\x00\x00\x00\x0bssh-ed25519" + b"B" * 36


def line(name: str, blob: bytes, marker: str = "") -> str:
    return f"{marker}{name} ssh-ed25519 {base64.b64encode(blob).decode()}\n"


def known(tmp_path: Path, text: str) -> KnownHosts:
    path = tmp_path / "known_hosts"
    path.write_text(text)
    return KnownHosts([path])


def test_port_22_plain_name_other_ports_bracketed(tmp_path: Path) -> None:
    kh = known(tmp_path, line("10.0.0.1", BLOB_A) + line("[10.0.0.1]:2222", BLOB_B))
    assert kh.check("10.0.0.1", 22, BLOB_A).verdict == "ok"
    assert kh.check("10.0.0.1", 2222, BLOB_B).verdict == "ok"
    assert kh.check("10.0.0.1", 2222, BLOB_A).verdict == "changed"
    assert kh.check("10.0.0.1", 2200, BLOB_A).verdict == "unknown"


def test_wildcards_lists_and_negation(tmp_path: Path) -> None:
    kh = known(tmp_path, line("web*.example,!web9.example,db?.example", BLOB_A))
    assert kh.check("web1.example", 22, BLOB_A).verdict == "ok"
    assert kh.check("db1.example", 22, BLOB_A).verdict == "ok"
    assert kh.check("web9.example", 22, BLOB_A).verdict == "unknown"
    assert kh.check("db10.example", 22, BLOB_A).verdict == "unknown"


def test_hashed_entries_written_by_ssh_keygen(tmp_path: Path) -> None:
    if sshd.unavailable() and not Path("/usr/bin/ssh-keygen").exists():
        pytest.skip("needs ssh-keygen")
    path = tmp_path / "known_hosts"
    path.write_text(line("[127.0.0.9]:2222", BLOB_A) + line("server.example", BLOB_B))
    subprocess.run(["ssh-keygen", "-H", "-f", str(path)], check=True, capture_output=True)
    assert "127.0.0.9" not in path.read_text()
    kh = KnownHosts([path])
    assert kh.check("127.0.0.9", 2222, BLOB_A).verdict == "ok"
    assert kh.check("SERVER.example", 22, BLOB_B).verdict == "ok"
    assert kh.check("127.0.0.9", 22, BLOB_A).verdict == "unknown"


def test_revoked_key_is_refused_even_if_also_listed(tmp_path: Path) -> None:
    kh = known(tmp_path, line("h", BLOB_A) + line("*", BLOB_A, "@revoked "))
    assert kh.check("h", 22, BLOB_A).verdict == "revoked"


def test_comments_garbage_and_missing_files_are_ignored(tmp_path: Path) -> None:
    text = "# comment\n\nnot a valid line\nh ssh-ed25519 !!notbase64!!\n" + line("h", BLOB_A)
    kh = KnownHosts([tmp_path / "missing", tmp_path / "kh"])
    assert kh.check("h", 22, BLOB_A).verdict == "unknown"
    assert known(tmp_path, text).check("h", 22, BLOB_A).verdict == "ok"


def test_verify_messages_name_host_and_fingerprint(tmp_path: Path) -> None:
    kh = known(tmp_path, line("[10.0.0.1]:2222", BLOB_A))
    with pytest.raises(HostError) as changed:
        kh.verify("db1", "10.0.0.1", 2222, "ssh-ed25519", BLOB_B, accept_new=True)
    assert changed.value.kind == "hostkey"
    assert "CHANGED" in changed.value.detail
    assert "[10.0.0.1]:2222" in changed.value.detail
    assert fingerprint(BLOB_B) in changed.value.detail
    assert fingerprint(BLOB_A) in changed.value.detail
    with pytest.raises(HostError) as unknown:
        kh.verify("db2", "10.0.0.2", 22, "ssh-ed25519", BLOB_B, accept_new=False)
    assert "unknown host key for 10.0.0.2" in unknown.value.detail
    assert "--accept-new-host-keys" in unknown.value.detail


def test_accepting_a_new_key_records_it_for_the_next_run(tmp_path: Path) -> None:
    path = tmp_path / "dir" / "known_hosts"
    kh = KnownHosts([path])
    assert kh.verify("db2", "10.0.0.2", 2222, "ssh-ed25519", BLOB_B, accept_new=True)
    assert path.stat().st_mode & 0o777 == 0o600
    again = KnownHosts([path])
    assert not again.verify("db2", "10.0.0.2", 2222, "ssh-ed25519", BLOB_B, accept_new=False)


def test_fingerprint_matches_ssh_keygen(tmp_path: Path) -> None:
    public = sshd.keygen(tmp_path / "k")
    blob = base64.b64decode(public.split()[1])
    out = subprocess.run(
        ["ssh-keygen", "-l", "-f", str(tmp_path / "k.pub")], capture_output=True, text=True
    ).stdout
    assert fingerprint(blob) == out.split()[1]


def test_key_types_prefer_what_is_known(tmp_path: Path) -> None:
    rsa = line("h", BLOB_A).replace("ssh-ed25519", "ssh-rsa", 1)
    kh = known(tmp_path, rsa)
    assert kh.key_types("h", 22)[:2] == ["rsa-sha2-512", "rsa-sha2-256"]
