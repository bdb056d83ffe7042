"""Prove that the CLI's output bytes did not change: capture them, then compare two captures.

    python bench/same_bytes.py --runbook .venv/bin/runbook --out /tmp/bytes-after [--repo .]
    python bench/same_bytes.py --compare /tmp/bytes-before /tmp/bytes-after

A capture writes one file per item into OUT (which must be empty or absent):

- `help/`: `runbook --help`, `runbook` (no arguments), `--version`, and `runbook COMMAND
  --help` for every command listed under "Commands:" of the top-level help, recursively for
  any group that lists sub-commands;
- `plan/`: `runbook plan PLAYBOOK [-i INV] --format table|json|dot|mermaid` per example
  playbook;
- `rehearse/`: a seeded `runbook rehearse PLAYBOOK [-i INV] --speed max --seed 7` per example
  playbook, then `runbook export latest --format jsonl|csv|md` of that run (normalised, below);
- `validate/`: `runbook validate` of the example playbooks and of every file in
  tests/data/bad/ (inventory files with tests/data/good/minimal.yml and `-i FILE`, as
  tests/cli/test_validate.py does);
- `other/`: `runbook schema` and `runbook hosts -i INV [--format json]` (cheap, deterministic).

Every invocation runs in a fresh temporary folder holding a copy of just the inputs it
needs (at the same relative paths as in the repository, so messages name
`playbooks/...`, `tests/data/bad/...`), with `--state state/state.db`, a fresh empty path,
and a fixed environment: COLUMNS=100, NO_COLOR=1, TERM=dumb, TZ=UTC, LC_ALL=C.UTF-8,
RUNBOOK_OPERATOR=bench (so the journal does not name whoever runs the capture), no other
RUNBOOK_* variable, stdin from /dev/null. Each file records the command (as `runbook ...`,
never the executable's path), the exit code, and stdout and stderr with their byte counts.

Normalisation. Help, plan, validate and the other items are saved byte for byte, except that
the temporary folder's path, should it appear, is written `<TMP>`. A rehearsal is not
reproducible byte for byte between two invocations, for two reasons (checked on the
baseline: two rehearsals of the same playbook with the same seed):

- its run id is `YYYYMMDD-HHMM-` + 4 random hex digits (journal_runs.new_run_id);
- its virtual clock starts at the wall clock's whole second, `VirtualClock(int(time()))`
  (session.py), so every timestamp of the run (event `ts`, ETA `p50`/`p90`, the clock times
  of the live output and of the md/csv exports) is wall-clock time plus a seeded,
  reproducible offset. Two rehearsals with the same seed journal the same events at the
  same offsets from their start, but not the same timestamps: normalising the run id alone
  is not enough.

So the rehearsal and its exports are rewritten, and only in these ways: the run id becomes
`RUN`; the temporary folder becomes `<TMP>` (the journal holds the resolved playbook and
inventory paths); every timestamp is moved by one whole number of seconds so that the run
starts at 2000-01-01T00:00:00Z (ISO `...T...Z`, `YYYY-MM-DD HH:MM:SS UTC`, and the bare
`HH:MM:SS` at the start of a live-output line, after `P50`/`P90`, and in the md timeline's
Time column), so what stays is each event's offset from the start, to the millisecond; a
second md timeline day heading that only the wall-clock start put there (the run crossed a
UTC midnight) is merged back into the table above it, as a run started at midnight shows it
(valid while a rehearsal lasts under 24 h of virtual time); and the hash chain is
recomputed over the rewritten events with the docs/journal.md rule (sha256(prev_hash +
canonical_json)), after checking that the export's own hashes verify with that rule (a
failure is written into the file, so it cannot pass unnoticed), and each original hash is
replaced by its recomputed one wherever it appears (the export's stderr, the md
"Integrity" section).
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

SEED = 7
PLAN_FORMATS = ("table", "json", "dot", "mermaid")
EXPORT_FORMATS = ("jsonl", "csv", "md")
STATE = "state/state.db"
CANON = datetime(2000, 1, 1, tzinfo=UTC)  # where every normalised rehearsal starts
TIMEOUT_S = 600.0
DIFF_LINES = 40
ZERO_HASH = "0" * 64

# Which inventory goes with which example playbook (README tour, the playbooks' headers):
# first-restore needs none ("It needs no inventory and no SSH"), so it runs in a folder
# without inventory/ (runbook would otherwise pick up ./inventory by default).
EXAMPLES: dict[str, str | None] = {
    "playbooks/datacenter-restore.yml": "inventory/datacenter.yml",
    "playbooks/first-restore.yml": None,
}


@dataclass(frozen=True)
class Item:
    """One invocation (or a rehearsal group of several) and where its capture goes."""

    name: str  # path of the capture file under OUT, without suffix
    args: tuple[str, ...]  # runbook's arguments, --state excluded
    trees: tuple[str, ...]  # repository folders copied into the fresh temporary folder
    exports: tuple[str, ...] = ()  # for a rehearsal: export formats of its run
    state: bool = True


@dataclass
class Result:
    args: tuple[str, ...]
    code: int
    stdout: bytes
    stderr: bytes


@dataclass
class Capture:
    files: dict[str, bytes] = field(default_factory=dict)


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNBOOK_")}
    for k in ("LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "COLORTERM", "FORCE_COLOR"):
        env.pop(k, None)
    env.update(
        COLUMNS="100",
        LINES="50",
        NO_COLOR="1",
        TERM="dumb",
        TZ="UTC",
        LC_ALL="C.UTF-8",
        RUNBOOK_OPERATOR="bench",
    )
    return env


def invoke(exe: str, args: Sequence[str], cwd: Path, state: bool) -> Result:
    full = (["--state", STATE] if state else []) + list(args)
    proc = subprocess.run(
        [exe, *full],
        cwd=cwd,
        env=base_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    return Result(tuple(full), proc.returncode, proc.stdout, proc.stderr)


def render(result: Result, note: str = "") -> bytes:
    head = f"$ runbook {' '.join(result.args)}\n"
    if note:
        head += "".join(f"# {line}\n" for line in note.splitlines())
    head += f"exit: {result.code}\n"
    out = head.encode()
    out += f"--- stdout ({len(result.stdout)} bytes)\n".encode() + result.stdout
    out += f"\n--- stderr ({len(result.stderr)} bytes)\n".encode() + result.stderr
    return out


def fresh_dir(repo: Path, trees: Sequence[str]) -> Path:
    tmp = Path(tempfile.mkdtemp(prefix="same-bytes-")).resolve()
    for tree in trees:
        src = repo / tree
        dst = tmp / tree
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst)
        else:
            shutil.copy2(src, dst)
    return tmp


def replace_tmp(data: bytes, tmp: Path) -> bytes:
    return data.replace(str(tmp).encode(), b"<TMP>")


# --- the items -------------------------------------------------------------------------


COMMANDS_HEADER = re.compile(r"^Commands:\s*$")
COMMAND_LINE = re.compile(r"^  ([a-z][a-z0-9_-]*)(?:\s|$)")


def list_commands(help_text: str) -> list[str]:
    """The names under the "Commands:" heading of a click/typer help page."""
    names: list[str] = []
    inside = False
    for line in help_text.splitlines():
        if COMMANDS_HEADER.match(line):
            inside = True
            continue
        if inside:
            if line and not line.startswith(" "):
                break  # next section
            found = COMMAND_LINE.match(line)
            if found:
                names.append(found.group(1))
    return names


def help_captures(exe: str, repo: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    queue: list[tuple[str, ...]] = [()]
    while queue:
        path = queue.pop(0)
        tmp = fresh_dir(repo, ())
        try:
            result = invoke(exe, [*path, "--help"], tmp, state=False)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        name = "help/" + ("runbook" if not path else "-".join(path)) + ".txt"
        files[name] = render(result)
        if result.code != 0:
            continue
        for sub in list_commands(result.stdout.decode("utf-8", "replace")):
            queue.append((*path, sub))
    for name, args in (("help/no-arguments.txt", ()), ("help/version.txt", ("--version",))):
        tmp = fresh_dir(repo, ())
        try:
            files[name] = render(invoke(exe, args, tmp, state=False))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return files


def stem(playbook: str) -> str:
    return Path(playbook).stem


def example_trees(inventory: str | None) -> tuple[str, ...]:
    return ("playbooks", "inventory") if inventory else ("playbooks",)


def inv_args(inventory: str | None) -> tuple[str, ...]:
    return ("-i", inventory) if inventory else ()


def items(repo: Path) -> list[Item]:
    out: list[Item] = []
    for book, inv in EXAMPLES.items():
        trees = example_trees(inv)
        for fmt in PLAN_FORMATS:
            args = ("plan", book, *inv_args(inv), "--format", fmt)
            out.append(Item(f"plan/{stem(book)}.{fmt}", args, trees))
        rehearse = ("rehearse", book, *inv_args(inv), "--speed", "max", "--seed", str(SEED))
        out.append(Item(f"rehearse/{stem(book)}", rehearse, trees, exports=EXPORT_FORMATS))
        out.append(Item(f"validate/{stem(book)}", ("validate", book, *inv_args(inv)), trees))
        if inv:
            out.append(Item(f"other/hosts-{stem(inv)}", ("hosts", *inv_args(inv)), trees))
            args = ("hosts", *inv_args(inv), "--format", "json")
            out.append(Item(f"other/hosts-{stem(inv)}.json", args, trees))
    # The README's tour validates first-restore from the repository root, where runbook picks
    # up ./inventory by default.
    args = ("validate", "playbooks/first-restore.yml")
    out.append(Item("validate/first-restore.default-inventory", args, ("playbooks", "inventory")))
    out.append(Item("other/schema", ("schema",), ()))
    bad = repo / "tests" / "data" / "bad"
    if not bad.is_dir():
        raise SystemExit(f"no {bad}: this script expects the malformed corpus there")
    trees = ("tests/data/bad", "tests/data/good")
    for path in sorted(p for p in bad.iterdir() if p.is_file()):
        rel = f"tests/data/bad/{path.name}"
        if path.name.startswith("inventory-"):
            args = ("validate", "tests/data/good/minimal.yml", "-i", rel)
        else:
            args = ("validate", rel)
        out.append(Item(f"validate/bad/{path.name}", args, trees))
    return out


# --- normalisation of a rehearsal --------------------------------------------------------


ISO = re.compile(r"\b(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?Z")
UTC_TEXT = re.compile(r"\b(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) UTC\b")
LINE_TIME = re.compile(r"^(\d{2}:\d{2}:\d{2})(?= )", re.MULTILINE)
ETA_TIME = re.compile(r"\b(P50|P90) (\d{2}:\d{2}:\d{2})\b")
MD_TIME = re.compile(r"^\| (\d{2}:\d{2}:\d{2}) \|", re.MULTILINE)
MD_DAY = re.compile(r"^### (\d{4}-\d{2}-\d{2}) \(UTC\)$", re.MULTILINE)
MD_SPLIT = re.compile(
    r"\n\n### (?P<day>\d{4}-\d{2}-\d{2}) \(UTC\)\n\n\| Time \|[^\n]*\n\|[-|]*\|\n"
)


@dataclass(frozen=True)
class Rebase:
    """Rewrites one rehearsal's wall-clock dependent text; see the module docstring."""

    run_id: str
    start: datetime  # the run's first timestamp (the virtual clock's start)
    tmp: Path
    hashes: dict[str, str]  # original hash -> hash recomputed over the rewritten events

    @property
    def delta(self) -> timedelta:
        return CANON - self.start

    def _iso(self, m: re.Match[str]) -> str:
        frac = m.group(2) or ""
        when = datetime.fromisoformat(m.group(1) + frac + "+00:00") + self.delta
        text = when.strftime("%Y-%m-%dT%H:%M:%S")
        if frac:
            text += f".{when.microsecond:06d}"[: len(frac)]
        return text + "Z"

    def _utc(self, m: re.Match[str]) -> str:
        when = datetime.fromisoformat(m.group(1) + "+00:00") + self.delta
        return when.strftime("%Y-%m-%d %H:%M:%S") + " UTC"

    def _clock(self, hms: str) -> str:
        h, mi, s = (int(x) for x in hms.split(":"))
        secs = (h * 3600 + mi * 60 + s + int(self.delta.total_seconds())) % 86400
        return f"{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"

    def _day(self, m: re.Match[str]) -> str:
        midnight = datetime.fromisoformat(m.group(1) + "T00:00:00+00:00")
        when = max(midnight, self.start) + self.delta
        return f"### {when:%Y-%m-%d} (UTC)"

    def text(self, data: str, md: bool = False) -> str:
        data = data.replace(str(self.tmp), "<TMP>").replace(self.run_id, "RUN")
        data = ISO.sub(self._iso, data)
        data = UTC_TEXT.sub(self._utc, data)
        data = LINE_TIME.sub(lambda m: self._clock(m.group(1)), data)
        data = ETA_TIME.sub(lambda m: f"{m.group(1)} {self._clock(m.group(2))}", data)
        if md:
            data = MD_TIME.sub(lambda m: f"| {self._clock(m.group(1))} |", data)
            data = MD_DAY.sub(self._day, data)
            data = merge_days(data)
        for old, new in self.hashes.items():
            data = data.replace(old, new)
        return data


def merge_days(md: str) -> str:
    """Drop a timeline day heading (and the table head after it) that repeats the last one."""
    last = ""
    out: list[str] = []
    pos = 0
    for m in MD_SPLIT.finditer(md):
        heading_day = m.group("day")
        prev = MD_DAY.findall(md, 0, m.start() + 2)
        last = prev[-1] if prev else ""
        if heading_day == last:
            out.append(md[pos : m.start()] + "\n")
            pos = m.end()
    out.append(md[pos:])
    return "".join(out)


def canonical(event: dict[str, object]) -> str:
    body = {k: event[k] for k in ("run_id", "seq", "ts", "type", "step", "host", "data")}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_problem(events: Sequence[dict[str, object]]) -> str:
    """Empty if the export's hashes verify with sha256(prev_hash + canonical_json)."""
    prev = ZERO_HASH
    for e in events:
        want = hashlib.sha256((prev + canonical(e)).encode()).hexdigest()
        if e.get("prev_hash") != prev or e.get("hash") != want:
            return f"HASH CHAIN OF THE RAW EXPORT DOES NOT VERIFY at seq {e.get('seq')}"
        prev = want
    return ""


def rebase_for(jsonl: str, tmp: Path) -> tuple[Rebase, str]:
    """The Rebase of one run, from its raw jsonl export, and a chain problem if any."""
    events = [json.loads(line) for line in jsonl.splitlines() if line.strip()]
    if not events:
        raise ValueError("empty jsonl export")
    first = events[0]
    start = datetime.fromisoformat(str(first["ts"]).replace("Z", "+00:00"))
    problem = chain_problem(events)
    partial = Rebase(str(first["run_id"]), start, tmp, {})
    hashes: dict[str, str] = {}
    prev = ZERO_HASH
    for line in jsonl.splitlines():
        if not line.strip():
            continue
        raw = json.loads(line)
        rewritten = json.loads(partial.text(line))
        new = hashlib.sha256((prev + canonical(rewritten)).encode()).hexdigest()
        hashes[str(raw["hash"])] = new
        prev = new
    return Rebase(partial.run_id, start, tmp, hashes), problem


def run_rehearsal(exe: str, repo: Path, item: Item) -> dict[str, bytes]:
    tmp = fresh_dir(repo, item.trees)
    try:
        rehearse = invoke(exe, item.args, tmp, state=True)
        exports = {
            fmt: invoke(exe, ["export", "latest", "--format", fmt], tmp, state=True)
            for fmt in item.exports
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    files: dict[str, bytes] = {}
    jsonl = exports.get("jsonl")
    if jsonl is None or jsonl.code != 0:
        # Nothing to normalise against: keep the raw bytes, the diff will show the failure.
        files[f"{item.name}.rehearse.txt"] = render(rehearse, "NOT NORMALISED: no jsonl")
        for fmt, res in exports.items():
            files[f"{item.name}.export-{fmt}.txt"] = render(res, "NOT NORMALISED: no jsonl")
        return files
    rebase, problem = rebase_for(jsonl.stdout.decode("utf-8"), tmp)
    note = "normalised: run id -> RUN, temp folder -> <TMP>, times shifted to start at "
    note += f"{CANON:%Y-%m-%dT%H:%M:%SZ}, hashes recomputed (see bench/same_bytes.py)"
    if problem:
        note += "\n" + problem

    def fix(res: Result, md: bool = False) -> Result:
        return Result(
            res.args,
            res.code,
            rebase.text(res.stdout.decode("utf-8"), md=md).encode("utf-8"),
            rebase.text(res.stderr.decode("utf-8")).encode("utf-8"),
        )

    files[f"{item.name}.rehearse.txt"] = render(fix(rehearse), note)
    for fmt, res in exports.items():
        files[f"{item.name}.export-{fmt}.txt"] = render(fix(res, md=fmt == "md"), note)
    return files


def run_item(exe: str, repo: Path, item: Item) -> dict[str, bytes]:
    if item.exports:
        return run_rehearsal(exe, repo, item)
    tmp = fresh_dir(repo, item.trees)
    try:
        res = invoke(exe, item.args, tmp, state=item.state)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    res = Result(res.args, res.code, replace_tmp(res.stdout, tmp), replace_tmp(res.stderr, tmp))
    return {f"{item.name}.txt": render(res)}


def capture(exe: str, repo: Path, out: Path, jobs: int) -> int:
    if out.exists() and any(out.iterdir()):
        print(f"error: {out} is not empty; give a new folder", file=sys.stderr)
        return 2
    exe = str(Path(exe).absolute())
    files = help_captures(exe, repo)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for produced in pool.map(lambda it: run_item(exe, repo, it), items(repo)):
            files.update(produced)
    for name, data in sorted(files.items()):
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    print(f"{len(files)} files captured in {out}")
    return 0


# --- comparison ---------------------------------------------------------------------------


def listing(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def compare(a: Path, b: Path) -> int:
    for d in (a, b):
        if not d.is_dir():
            print(f"error: {d} is not a folder", file=sys.stderr)
            return 2
    names_a, names_b = listing(a), listing(b)
    differing = 0
    for name in sorted(names_a ^ names_b):
        where = a if name in names_a else b
        print(f"only in {where}: {name}")
        differing += 1
    same = 0
    for name in sorted(names_a & names_b):
        da, db = (a / name).read_bytes(), (b / name).read_bytes()
        if da == db:
            same += 1
            continue
        differing += 1
        print(f"differs: {name}")
        diff = difflib.unified_diff(
            da.decode("utf-8", "replace").splitlines(keepends=True),
            db.decode("utf-8", "replace").splitlines(keepends=True),
            fromfile=str(a / name),
            tofile=str(b / name),
        )
        lines = list(diff)
        for line in lines[:DIFF_LINES]:
            sys.stdout.write(line if line.endswith("\n") else line + "\n\\ no newline\n")
        if len(lines) > DIFF_LINES:
            print(f"... ({len(lines) - DIFF_LINES} more diff lines)")
        if not lines:  # same text after decoding: the bytes differ in invalid UTF-8
            print("(the files differ only in bytes that are not valid UTF-8)")
    print(f"{differing} files differ" if differing else "no difference")
    print(f"{same} files identical")
    return 1 if differing else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Capture the runbook CLI's output bytes, or compare two captures."
    )
    parser.add_argument("--runbook", help="the runbook executable to capture")
    parser.add_argument("--out", type=Path, help="capture folder to create (empty or absent)")
    parser.add_argument(
        "--repo",
        type=Path,
        default=Path.cwd(),
        help="where playbooks/, inventory/ and tests/data/ are read (default: here)",
    )
    parser.add_argument("--jobs", type=int, default=4, help="invocations at once (default 4)")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("DIR_A", "DIR_B"))
    args = parser.parse_args(argv)
    if args.compare:
        return compare(*args.compare)
    if not args.runbook or not args.out:
        parser.error("give --runbook and --out to capture, or --compare DIR_A DIR_B")
    repo = args.repo.resolve()
    if not (repo / "playbooks").is_dir():
        parser.error(f"{repo} has no playbooks/: run from the repository or give --repo")
    return capture(args.runbook, repo, args.out, args.jobs)


if __name__ == "__main__":
    sys.exit(main())
