"""ETA benchmark: generate cases, rehearse them, score the forecaster against baselines.

    .venv/bin/python bench/eta/run.py                  # real CLI (runbook rehearse + export)
    .venv/bin/python bench/eta/run.py --backend sim    # in-process stand-in, for tuning
    .venv/bin/python bench/eta/run.py --write          # also write bench/eta/RESULTS.md
    .venv/bin/python bench/eta/run.py --first-seed 7 --seeds 6 --save b.pkl   # seeds 7-12
    .venv/bin/python bench/eta/run.py --load a.pkl b.pkl   # one report over saved runs

Prints the median normalised P50 error per checkpoint for every method, the P90 coverage
per regime, and the stability (total P50 movement / true duration).
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import team
from generate import REGIMES, case as _old_case
from score import FORECASTER, FRACTIONS, Score, score_run

HERE = Path(__file__).parent


def case(n: int, regime: str, seed: int):  # type: ignore[no-untyped-def]
    """generate.py's worlds or team.py's (team-night is in-process only: live waits)."""
    return team.case(n, regime, seed) if regime in team.WORLDS else _old_case(n, regime, seed)


def _run_case(backend: str, n: int, regime: str, seed: int) -> dict[str, Score]:
    c = case(n, regime, seed)
    totals = [_critical(c.playbook, h) for h in c.history]
    if backend == "sim":
        from simrun import rehearse

        events = rehearse(
            c.playbook, c.truth, c.history, waits=getattr(c, "waits", None),
            mode=getattr(c, "mode", "rehearsal"),
        )  # fmt: skip
    else:
        from clirun import rehearse_cli

        events = rehearse_cli(c)
    return score_run(events, totals)


def _critical(book: dict[str, object], dur: dict[str, float]) -> float:
    finish: dict[str, float] = {}
    for s in book["steps"]:  # type: ignore[attr-defined]
        ready = max((finish[x] for x in s.get("needs", [])), default=0.0)
        finish[s["id"]] = ready + dur[s["id"]]
    return max(finish.values())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", choices=("cli", "sim"), default="cli")
    ap.add_argument("--sizes", default="20,60,150,300")
    ap.add_argument("--seeds", type=int, default=4, help="how many seeds per size and regime")
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--save", help="also pickle the scored runs here (to --load them later)")
    ap.add_argument("--load", nargs="+", help="report over runs saved by --save; run nothing")
    ap.add_argument("--big", type=int, default=1000, help="one extra case per regime (0: none)")
    ap.add_argument("--regimes", default=",".join((*REGIMES, "team", "team-cold")))
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    regimes = args.regimes.split(",")
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    plan = [(n, r, s) for n in sizes for r in regimes for s in seeds]
    if args.big:
        plan += [(args.big, r, args.first_seed) for r in regimes]
    results: list[tuple[int, str, dict[str, Score]]] = []
    t0 = time.perf_counter()
    if args.load:
        for path in args.load:
            results += pickle.loads(Path(path).read_bytes())
        plan = []
    for n, regime, seed in plan:
        results.append((n, regime, _run_case(args.backend, n, regime, seed)))
        print(f"  {n:5d} {regime:10s} seed {seed}  {time.perf_counter() - t0:6.0f}s", flush=True)
    if args.save:
        Path(args.save).write_bytes(pickle.dumps(results))
    report = _report(results, args.backend, time.perf_counter() - t0)
    print(report)
    if args.write:
        (HERE / "RESULTS.md").write_text(report)


def _report(results: list[tuple[int, str, dict[str, Score]]], backend: str, secs: float) -> str:
    methods = list(results[0][2])
    lines = [
        f"Runs: {len(results)} ({backend} backend, {secs:.0f} s). Sizes: "
        + ", ".join(str(s) for s in sorted({n for n, _, _ in results})),
        "",
        "Median normalised P50 error |P50 − finish| / true duration, all regimes:",
        "",
        "| method | " + " | ".join(f"{int(f * 100)}%" for f in FRACTIONS) + " | stability |",
        "|---|" + "---|" * (len(FRACTIONS) + 1),
    ]
    for m in methods:
        errs = [statistics.median(r[2][m].error[f] for r in results) for f in FRACTIONS]
        mov = statistics.median(r[2][m].movement for r in results)
        lines.append(f"| {m} | " + " | ".join(f"{e:.3f}" for e in errs) + f" | {mov:.2f} |")
    best = {
        f: min(
            statistics.median(r[2][m].error[f] for r in results) for m in methods if m != FORECASTER
        )
        for f in FRACTIONS
    }
    ours = {f: statistics.median(r[2][FORECASTER].error[f] for r in results) for f in FRACTIONS}
    lines += [
        "",
        "Ratio to the best baseline (target ≤ 0.6 at 25/50/75%): "
        + ", ".join(f"{int(f * 100)}%: {ours[f] / best[f]:.2f}" for f in FRACTIONS),
        "",
        "P90 coverage (share of checkpoints where the true finish ≤ P90; target 0.85–0.95):",
        "",
        "| regime | " + " | ".join(f"{int(f * 100)}%" for f in FRACTIONS) + " | all |",
        "|---|" + "---|" * (len(FRACTIONS) + 1),
    ]
    by_regime: dict[str, list[dict[str, Score]]] = defaultdict(list)
    for _, regime, sc in results:
        by_regime[regime].append(sc)
    for regime, scs in by_regime.items():
        cov = [sum(s[FORECASTER].covered[f] for s in scs) / len(scs) for f in FRACTIONS]
        lines.append(
            f"| {regime} | "
            + " | ".join(f"{c:.2f}" for c in cov)
            + f" | {statistics.mean(cov):.2f} |"
        )
    lines.append("")
    lines.append("Median P50 error per regime (runbook vs best baseline at 50%):")
    lines.append("")
    for regime, scs in by_regime.items():
        o = statistics.median(s[FORECASTER].error[0.5] for s in scs)
        b = min(statistics.median(s[m].error[0.5] for s in scs) for m in methods if m != FORECASTER)
        lines.append(f"- {regime}: {o:.3f} vs {b:.3f}")
    lines += [
        "",
        "Median signed error (P50 − finish) / T at 10% and 25% (target |·| ≤ 0.10); RTO",
        "warning lead (deadline − first `rto_warning`) / T on runs that missed the RTO, median",
        "(target ≥ 0.25; a missed run never warned counts as −∞); warnings on runs that met it:",
        "",
        "| regime | runs | 10% | 25% | missed | lead | warned, met |",
        "|---|---|---|---|---|---|---|",
    ]
    for regime, scs in by_regime.items():
        ours_ = [s[FORECASTER] for s in scs]
        bias = [statistics.median(s.signed[f] for s in ours_) for f in (0.10, 0.25)]
        leads = [s.lead if s.lead is not None else float("-inf") for s in ours_ if s.missed]
        met = [s for s in ours_ if not s.missed]
        lead = f"{statistics.median(leads):.2f}" if leads else "–"
        false = f"{sum(s.lead is not None for s in met)}/{len(met)}"
        lines.append(
            f"| {regime} | {len(scs)} | {bias[0]:+.3f} | {bias[1]:+.3f} | {len(leads)} | {lead} "
            f"| {false} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
