#!/usr/bin/env bash
# The long fault battery (issue 8): `scripts/faults.sh [--seed N] [--seconds N]`, default 600 s and
# a random seed (printed, so the schedule can be replayed with --seed). Runs the same test as the
# short version in `make test` (Tests/ListenerTests/FaultBattery), with these settings.
set -euo pipefail
cd "$(dirname "$0")/.."
seed="$(( (RANDOM << 15) | RANDOM ))"
seconds=600
while [ $# -gt 0 ]; do
    case "$1" in
        --seed) seed="$2"; shift 2 ;;
        --seconds) seconds="$2"; shift 2 ;;
        -h|--help) echo "usage: scripts/faults.sh [--seed N] [--seconds N]"; exit 0 ;;
        *) echo "faults.sh: unknown argument $1 (usage: --seed N --seconds N)" >&2; exit 2 ;;
    esac
done
echo "fault battery: seed=$seed seconds=$seconds"
swift build -c release
swift build --build-tests
MIMIC_BIN_DIR="$(swift build -c release --show-bin-path)" MIMIC_FAULT_SEED="$seed" MIMIC_FAULT_SECONDS="$seconds" \
    swift test --skip-build --filter ListenerTests.FaultBatteryTests 2>&1 | tee .build/fault-battery.log | grep -E "fault-battery|fault schedule|✘|passed|failed"
grep -q "^fault-battery .* lost=0 duplicated=0" .build/fault-battery.log && ! grep -q "✘" .build/fault-battery.log
