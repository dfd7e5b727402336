#!/usr/bin/env bash
# The long fault batteries: `scripts/faults.sh [--cluster] [--seed N] [--seconds N]`, default 600 s
# and a random seed (printed, so the schedule can be replayed with --seed). Runs the same test as
# the short version in `make test`, with these settings: the one-machine battery (issue 8,
# Tests/ListenerTests/FaultBattery), or with --cluster the cluster battery (issue 14,
# Tests/ListenerTests/Cluster/ClusterFaultBatteryTests: instances and Redis in network namespaces
# of their own, so it needs root for `ip netns`).
set -euo pipefail
cd "$(dirname "$0")/.."
seed="$(( (RANDOM << 15) | RANDOM ))"
seconds=600
cluster=0
while [ $# -gt 0 ]; do
    case "$1" in
        --cluster) cluster=1; shift ;;
        --seed) seed="$2"; shift 2 ;;
        --seconds) seconds="$2"; shift 2 ;;
        -h|--help) echo "usage: scripts/faults.sh [--cluster] [--seed N] [--seconds N]"; exit 0 ;;
        *) echo "faults.sh: unknown argument $1 (usage: --cluster --seed N --seconds N)" >&2; exit 2 ;;
    esac
done
if [ "$cluster" = 1 ]; then
    name=cluster-fault-battery; filter=ClusterFaultBatteryTests; variables=(MIMIC_CLUSTER_FAULT_SEED MIMIC_CLUSTER_FAULT_SECONDS)
else
    name=fault-battery; filter=ListenerTests.FaultBatteryTests; variables=(MIMIC_FAULT_SEED MIMIC_FAULT_SECONDS)
fi
echo "$name: seed=$seed seconds=$seconds"
swift build -c release
swift build --build-tests
env MIMIC_BIN_DIR="$(swift build -c release --show-bin-path)" "${variables[0]}=$seed" "${variables[1]}=$seconds" \
    swift test --skip-build --filter "$filter" 2>&1 | tee ".build/$name.log" \
    | grep -E "^$name|fault schedule|✘|passed|failed"
grep -q "^$name .* lost=0 duplicated=0" ".build/$name.log" && ! grep -q "✘" ".build/$name.log"
