"""copy and fetch of a big file over SFTP: the runbook process's peak memory (RSS) and the
throughput, for a file of SIZE (default 1 GiB) pushed to a host and fetched back.

Target: the peak RSS stays under 200 MB whatever the file's size (files are streamed in
256 KiB pieces, hashed on the way). Prints the numbers; asserts nothing.

Needs root and openssh-server (a private sshd on 127.0.0.230, as the tests start them).
    .venv/bin/python bench/transfer.py [--mib 1024]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import sshd  # noqa: E402

ADDRESS = "127.0.0.230"


def write_file(path: Path, mib: int) -> str:
    """MIB mebibytes of incompressible bytes; their sha256."""
    block = os.urandom(1 << 20)
    h = hashlib.sha256()
    with path.open("wb") as f:
        for i in range(mib):
            piece = block[i % 997 :] + block[: i % 997]  # no two MiB alike
            f.write(piece)
            h.update(piece)
    return h.hexdigest()


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024, help="file size in MiB")
    parser.add_argument("--only", choices=["push", "save"], help="copy (push) or fetch only")
    args = parser.parse_args()
    reason = sshd.unavailable()
    if reason:
        sys.exit(f"cannot start sshd: {reason}")
    work = sshd.public_tempdir("runbook-bench-transfer-")
    remote = work / "remote"
    remote.mkdir()
    remote.chmod(0o777)
    try:
        source = work / "big.bin"
        want = write_file(source, args.mib)
        with sshd.running([ADDRESS]) as server:
            (work / "hosts.yml").write_text(server.inventory_yaml(["big"]))
            (work / "known_hosts").write_text(server.known_hosts_lines())
            (work / "pb.yml").write_text(
                "playbook: transfer\nsteps:\n"
                "  - id: push\n    hosts: all\n"
                f"    copy: {{src: big.bin, dest: {remote}/big.bin}}\n"
                "    timeout: 1h\n"
                "  - id: save\n    needs: [push]\n    hosts: all\n"
                f"    fetch: {{src: {remote}/big.bin, dest: {work}/saved}}\n"
                "    timeout: 1h\n"
            )
            env = dict(
                os.environ,
                RUNBOOK_STATE=str(work / "state.db"),
                RUNBOOK_SSH_CONFIG="",
                RUNBOOK_KNOWN_HOSTS=str(work / "known_hosts"),
                NO_COLOR="1",
            )
            start = time.monotonic()
            proc = subprocess.Popen(
                [sys.executable, "-m", "runbook", "run", "pb.yml", "-i", "hosts.yml"]
                + (["--only", args.only] if args.only == "push" else []),
                cwd=work,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.monotonic() - start
        ok = os.waitstatus_to_exitcode(status) == 0
        pushed = sha256(remote / "big.bin") == want
        saved = work / "saved" / "big" / "big.bin"
        fetched = saved.exists() and sha256(saved) == want
        mb = args.mib * 1.048576
        print(f"file            {args.mib} MiB ({mb:.0f} MB)")
        what = f"{args.only} only" if args.only else "copy + fetch"
        print(f"run             {'succeeded' if ok else 'FAILED'} in {wall:.1f} s ({what})")
        print(f"throughput      {(1 if args.only else 2) * mb / wall:.0f} MB/s")
        print(f"sha256 equal    pushed {pushed}, fetched {fetched}")
        print(f"peak RSS        {usage.ru_maxrss / 1024:.0f} MB (target: under 200 MB)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
