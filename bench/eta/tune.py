"""Try model parameters without editing the model: NAME=VALUE overrides, then checkpoints.

    .venv/bin/python bench/eta/tune.py 20,60,150,300 1 13 TROUBLED_PRIOR=0.3 RUN_EFFECT_SD=0.2
    .venv/bin/python bench/eta/tune.py 20,60 1 4 --stability RUNNING_EVIDENCE=0.5
    .venv/bin/python bench/eta/tune.py 20,60,150,300 1 13 NOISE_SCALE_BOUNDS=0.5,3
    .venv/bin/python bench/eta/tune.py 20,60,150 9 17 PLAYBOOK_SD=0 --worlds=team,team-night

A NAME is a module-level constant of a runbook/forecast/ module; it is set in every module that
holds it (constants are imported by name, so each copy is patched).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checkpoints

from runbook.forecast import _learn, _model, _montecarlo, _reference, _running, _tail

MODULES = (_montecarlo, _learn, _model, _reference, _running, _tail)


def override(name: str, value: float | tuple[float, ...]) -> None:
    hit = [m for m in MODULES if hasattr(m, name)]
    if not hit:
        raise SystemExit(f"no constant {name} in runbook/forecast/")
    for m in hit:
        # an integer constant (a count of iterations) stays an integer
        setattr(m, name, int(value) if isinstance(getattr(m, name), int) else value)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    sizes = [int(x) for x in args[0].split(",")]
    seeds = range(int(args[1]), int(args[2]))
    for kv in args[3:]:
        k, v = kv.split("=")
        # NAME=LO,HI sets a tuple constant (bounds)
        override(k, tuple(float(x) for x in v.split(",")) if "," in v else float(v))
    print(" ".join(args[3:]) or "(defaults)")
    worlds = next(
        (a.split("=")[1].split(",") for a in sys.argv if a.startswith("--worlds=")),
        checkpoints.WORLDS,
    )
    checkpoints.evaluate(sizes, seeds, worlds, stability="--stability" in sys.argv)
