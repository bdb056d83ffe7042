"""How validate + plan scale: 1,000 and 10,000-step playbooks against 5,000 hosts.

Generates restore-shaped playbooks (phases in restore order, each step needing one to
three earlier steps, remote/local/manual steps, host patterns with unions, intersections,
exclusions and globs, templated commands) and an Ansible YAML inventory of 5,000 hosts in
a temporary folder, then prints, for each size:

- in a fresh interpreter: wall time of resolve (load + validate) and of build_plan, and
  the peak RSS of that process;
- `runbook plan --format json` as a subprocess: wall time and peak RSS;

and the start-up time of `runbook --help` (median of 10 runs).
Targets: 10,000 steps < 2 s and < 300 MB; `--help` < 0.3 s.

    .venv/bin/python bench/plan_scale.py [--sizes 1000,10000] [--hosts 5000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PHASES = (
    "power",
    "storage",
    "network",
    "directory",
    "virtualization",
    "messaging",
    "telephony",
    "applications",
    "sign-off",
)
ROLES = ("web", "db", "app", "storage")
RACK_SIZE = 100

# Run in a fresh interpreter so that the RSS is this work's alone.
IN_PROCESS = """
import json, resource, sys, time
from pathlib import Path
t0 = time.perf_counter()
from runbook.load._resolve import resolve
from runbook.plan._build import build_plan
t1 = time.perf_counter()
c1 = time.process_time()
resolved = resolve(Path(sys.argv[1]), [Path(sys.argv[2])])
t2 = time.perf_counter()
c2 = time.process_time()
plan = build_plan(resolved)
t3 = time.perf_counter()
c3 = time.process_time()
print(json.dumps({
    "import_s": t1 - t0, "resolve_s": t2 - t1, "plan_s": t3 - t2,
    "resolve_cpu_s": c2 - c1, "plan_cpu_s": c3 - c2,
    "steps": len(plan.steps), "waves": len(plan.waves), "hosts": plan.host_count,
    "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def write_inventory(path: Path, hosts: int) -> int:
    """An Ansible YAML inventory: racks of hosts (half as ranges), role groups, vars."""
    racks = max(1, hosts // RACK_SIZE)
    lines = [
        "all:",
        "  vars:",
        "    ansible_port: 2222",
        "    ntp_server: ntp.example.internal",
        "  children:",
        "    datacenter:",
        "      vars: {site: dc1}",
        "      children:",
    ]
    roles: dict[str, list[str]] = {r: [] for r in ROLES}
    for r in range(1, racks + 1):
        half = RACK_SIZE // 2
        lines += [
            f"        rack_{r:02d}:",
            f"          vars: {{rack: R{r:02d}, pdu: pdu-{r:02d}}}",
            "          hosts:",
            f"            r{r:02d}-node-[001:{half:03d}]:",
        ]
        for n in range(half + 1, RACK_SIZE + 1):
            name = f"r{r:02d}-node-{n:03d}"
            addr = f"127.{r % 250}.{n // 250}.{n % 250 + 1}"
            lines.append(f"            {name}: {{ansible_host: {addr}, slot: {n}}}")
            roles[ROLES[n % len(ROLES)]].append(name)
    lines += ["    roles:", "      children:"]
    for role, names in roles.items():
        lines += [
            f"        role_{role}:",
            f"          vars: {{service: svc-{role}}}",
            "          hosts:",
        ]
        lines += [f"            {n}:" for n in names]
    path.write_text("\n".join(lines) + "\n")
    return racks


def _pattern(rng: random.Random, racks: int) -> str:
    a, b = rng.randrange(1, racks + 1), rng.randrange(1, racks + 1)
    decade = rng.randrange(0, max(1, racks // 10)) or ""
    choices = [
        f"rack_{a:02d}",
        f"rack_{a:02d}:rack_{b:02d}",
        f"role_{rng.choice(ROLES)}:&rack_{a:02d}",
        f"rack_{decade}*:!role_db",
        f"r{a:02d}-node-0{rng.randrange(51, 100)}",
        f"r{a:02d}-node-0[0-4]*",
    ]
    return rng.choice(choices)


def write_playbook(path: Path, steps: int, racks: int, seed: int = 7) -> None:
    """A restore-shaped playbook: phases in order, needs on earlier steps, all three kinds."""
    rng = random.Random(seed)
    per_phase = max(1, steps // len(PHASES))
    lines = [
        f"playbook: scale-{steps}",
        f"title: Scale test, {steps} steps",
        "rto: 1d",
        "vars: {service: restore-agent, probe_url: 'http://localhost:8080/healthz'}",
        "defaults: {timeout: 10m, retries: 1, retry_delay: 20s}",
        "steps:",
    ]
    ids: list[str] = []
    for i in range(steps):
        p = min(i // per_phase, len(PHASES) - 1)
        sid = f"{PHASES[p]}-{i:05d}"
        # Needs come from this phase and the one before it, as in a real restore.
        earlier = ids[max(0, (p - 1) * per_phase) :]
        needs = (
            sorted(set(rng.sample(earlier, min(len(earlier), rng.randint(1, 3))))) if ids else []
        )
        lines += [
            f"  - id: {sid}",
            f"    title: Restore item {i} of the {PHASES[p]} phase",
            f"    phase: {PHASES[p]}",
        ]
        if needs:
            lines.append(f"    needs: [{', '.join(needs)}]")
        kind = rng.random()
        if kind < 0.1:
            lines += ["    manual: |", f"      Confirm item {i} with the on-site team."]
        elif kind < 0.2:
            lines += ["    local: true", '    verify: "curl -fsS {{ vars.probe_url }}"']
        else:
            lines += [
                f'    hosts: "{_pattern(rng, racks)}"',
                '    skip_if: "systemctl is-active --quiet {{ vars.service }}"',
                '    run: "systemctl restart {{ vars.service }} && logger {{ host.name }}"',
                '    verify: "test -e /run/{{ vars.service }}.pid"',
            ]
            if rng.random() < 0.3:
                lines.append(f"    parallel: {rng.randint(1, 20)}")
        if rng.random() < 0.7:
            lo = rng.randint(1, 10)
            lines.append(f"    estimate: {{min: {lo}m, likely: {lo * 2}m, max: {lo * 6}m}}")
        elif rng.random() < 0.5:
            lines.append(f"    estimate: {rng.randint(1, 30)}m")
        ids.append(sid)
    path.write_text("\n".join(lines) + "\n")


def _child_rss(cmd: list[str]) -> tuple[float, float, float, int, bytes]:
    """Wall s, peak RSS MB, CPU s, exit code and stdout of `cmd` (os.wait4: its own usage)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode and err:
        sys.stderr.write(err.decode(errors="replace")[-2000:])
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, proc.returncode, out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--hosts", type=int, default=5000)
    args = parser.parse_args()
    runbook = [sys.executable, "-m", "runbook"]
    # The machine may be shared: CPU time next to wall time tells contention from cost.
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="runbook-bench-") as tmp:
        folder = Path(tmp)
        inventory = folder / "inventory.yml"
        racks = write_inventory(inventory, args.hosts)
        print(f"inventory: {racks * RACK_SIZE} hosts in {racks} racks, 4 role groups")
        for size in (int(s) for s in args.sizes.split(",")):
            pb = folder / f"scale-{size}.yml"
            write_playbook(pb, size, racks)
            wall, rss, _cpu, code, out = _child_rss(
                [sys.executable, "-c", IN_PROCESS, str(pb), str(inventory)]
            )
            if code:
                print(f"{size:>6} steps: in-process resolve+plan FAILED (exit {code})")
                continue
            r = json.loads(out)
            print(
                f"{size:>6} steps: resolve {r['resolve_s']:.2f} s + build_plan "
                f"{r['plan_s']:.2f} s = {r['resolve_s'] + r['plan_s']:.2f} s wall "
                f"(CPU {r['resolve_cpu_s']:.2f} + {r['plan_cpu_s']:.2f} s; "
                f"imports {r['import_s']:.2f} s), peak RSS {rss:.0f} MB; "
                f"{r['waves']} waves, {r['hosts']} hosts"
            )
            wall, rss, cpu, code, out = _child_rss(
                [*runbook, "plan", str(pb), "-i", str(inventory), "--format", "json"]
            )
            status = "ok" if code == 0 else f"FAILED (exit {code})"
            print(
                f"{size:>6} steps: `runbook plan --format json` {wall:.2f} s wall, "
                f"{cpu:.2f} s CPU, "
                f"peak RSS {rss:.0f} MB, {len(out) / 1e6:.1f} MB of JSON, {status}"
            )
    times = []
    for _ in range(10):
        wall, _rss, _cpu, _code, _out = _child_rss([*runbook, "--help"])
        times.append(wall)
    print(
        f"`runbook --help`: median {statistics.median(times):.3f} s "
        f"(min {min(times):.3f}, max {max(times):.3f}) over 10 runs; target < 0.3 s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
