#!/usr/bin/env bash
# `make demo`: rehearse the reference datacenter restore (nothing is executed), first as
# fast as the machine allows, then played back ~900x faster than real time so the live
# board can be watched (an ~8 h restore in ~35 s). Its runs go to the repository's
# .runbook/state.db, the journal plain `runbook runs` finds here (and in any subfolder),
# so `runbook status latest` after the demo shows its rehearsal. Runs accumulate: each
# one is history the next `plan` learns from (weighted as a rehearsal).
set -euo pipefail
cd "$(dirname "$0")/.."
RB=.venv/bin/runbook
PLAYBOOK=playbooks/datacenter-restore.yml
INVENTORY=inventory/datacenter.yml

echo "== 1. The plan: waves, critical path, planned P50/P90 against the 8h RTO"
"$RB" plan "$PLAYBOOK" -i "$INVENTORY" | head -40 || true
echo
echo "== 2. A seeded rehearsal at --speed max (same engine and journal as a real run)"
code=0
"$RB" -q rehearse "$PLAYBOOK" -i "$INVENTORY" --speed max --seed 2024 || code=$?
echo "(exit code $code)"
echo
echo "== 3. The same restore played back at --speed 900: watch the live board (~35 s)"
sleep 1
code=0
"$RB" rehearse "$PLAYBOOK" -i "$INVENTORY" --speed 900 --seed 2024 || code=$?
echo "(exit code $code)"
echo
echo "Where to look next (after: . .venv/bin/activate):"
echo "  runbook runs"
echo "  runbook status latest"
echo "  runbook export latest --format html -o report.html"
echo "  runbook verify latest"
echo "  runbook run playbooks/first-restore.yml      # a real, harmless run on this machine"
