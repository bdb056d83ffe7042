"""The keys offered to an SSH server, in OpenSSH's order, each file read once, and what could
not be used listed for the error message (never the key)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import paramiko
import pytest

from runbook.executors.ssh._keys import LoginKeys
from runbook.executors.ssh._target import Hop

pytestmark = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen")


def keygen(path: Path) -> Path:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", str(path)],
        check=True,
        capture_output=True,
    )
    return path


def reader(reads: list[str]) -> Callable[[str], paramiko.PKey | str]:
    """Reads a key file with paramiko, as the transport does, recording each read."""

    def read(path: str) -> paramiko.PKey | str:
        reads.append(path)
        try:
            return paramiko.Ed25519Key.from_private_key_file(path)
        except paramiko.SSHException as e:
            return f"unusable: {e}"

    return read


def test_the_hops_keys_then_the_default_ones_each_read_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    home_ssh = tmp_path / "dot-ssh"
    home_ssh.mkdir()
    default = keygen(home_ssh / "id_ed25519")
    own = keygen(tmp_path / "restore_key")
    broken = tmp_path / "broken_key"
    broken.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key\n")
    reads: list[str] = []
    keys = LoginKeys(home_ssh, True, reader(reads), lambda: None)
    hop = Hop("db01", "10.0.0.5", 22, "restore", (str(broken), str(own), str(tmp_path / "gone")))

    tried: list[str] = []
    offered = [label for label, _ in keys.candidates(hop, tried)]
    assert offered == [str(own), str(default)]
    assert tried[0].startswith(f"{broken} (unusable: ")
    assert tried[1] == f"{tmp_path / 'gone'} (no such file)"
    assert "not a key" not in "".join(tried)

    again: list[str] = []
    assert [label for label, _ in keys.candidates(hop, again)] == offered
    assert sorted(reads) == sorted([str(broken), str(own), str(default)])  # cached
    keys.close()


def test_a_default_key_named_by_the_hop_is_offered_once(tmp_path: Path) -> None:
    default = keygen(tmp_path / "id_ed25519")
    keys = LoginKeys(tmp_path, False, reader([]), lambda: None)
    hop = Hop("db01", "10.0.0.5", 22, "restore", (str(default),))
    assert [label for label, _ in keys.candidates(hop, [])] == [str(default)]
