#!/usr/bin/env bash
# `make demo`: rehearse the reference datacenter restore (nothing is executed), first as
# fast as the machine allows, then played back ~900x faster than real time so the live
# board can be watched (an ~8 h restore in ~35 s). Its state stays in .runbook/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
RB=.venv/bin/runbook
PLAYBOOK=playbooks/datacenter-restore.yml
INVENTORY=inventory/datacenter.yml
DEMO=.runbook/demo
STATE="$DEMO/state.db"
mkdir -p "$DEMO"
rm -f "$STATE" "$STATE-wal" "$STATE-shm"

echo "== 1. The plan: waves, critical path, planned P50/P90 against the 8h RTO"
"$RB" --state "$STATE" plan "$PLAYBOOK" -i "$INVENTORY" | head -40 || true
echo
echo "== 2. A seeded rehearsal at --speed max (same engine and journal as a real run)"
code=0
"$RB" --state "$STATE" -q rehearse "$PLAYBOOK" -i "$INVENTORY" --speed max --seed 2024 || code=$?
echo "(exit code $code)"
echo
echo "== 3. The same restore played back at --speed 900: watch the live board (~35 s)"
sleep 1
code=0
"$RB" --state "$STATE" rehearse "$PLAYBOOK" -i "$INVENTORY" --speed 900 --seed 2024 || code=$?
echo "(exit code $code)"
echo
echo "Where to look next:"
echo "  $RB --state $STATE runs"
echo "  $RB --state $STATE status latest"
echo "  $RB --state $STATE export latest --format html -o report.html"
echo "  $RB --state $STATE verify latest"
echo "  $RB run playbooks/first-restore.yml      # a real, harmless run on this machine"
