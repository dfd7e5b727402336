#!/usr/bin/env bash
# The long cluster fault battery (issue 14 item 5): `scripts/faults-cluster.sh [--seed N] [--seconds N]`,
# default 600 s and a random seed (printed, so the schedule can be replayed with --seed). Runs the
# same test as the short version in `make test` (Tests/ListenerTests/Cluster/ClusterFaultBatteryTests):
# three instances and Redis in network namespaces of their own, faults on instances, workers,
# Redis and the network. Needs root (ip netns).
set -euo pipefail
cd "$(dirname "$0")/.."
seed="$(( (RANDOM << 15) | RANDOM ))"
seconds=600
while [ $# -gt 0 ]; do
    case "$1" in
        --seed) seed="$2"; shift 2 ;;
        --seconds) seconds="$2"; shift 2 ;;
        -h|--help) echo "usage: scripts/faults-cluster.sh [--seed N] [--seconds N]"; exit 0 ;;
        *) echo "faults-cluster.sh: unknown argument $1 (usage: --seed N --seconds N)" >&2; exit 2 ;;
    esac
done
echo "cluster fault battery: seed=$seed seconds=$seconds"
swift build -c release
swift build --build-tests
MIMIC_BIN_DIR="$(swift build -c release --show-bin-path)" MIMIC_CLUSTER_FAULT_SEED="$seed" \
    MIMIC_CLUSTER_FAULT_SECONDS="$seconds" \
    swift test --skip-build --filter ClusterFaultBatteryTests 2>&1 | tee .build/cluster-fault-battery.log \
    | grep -E "cluster-fault-battery|cluster fault schedule|✘|passed|failed"
grep -q "^cluster-fault-battery .* lost=0 duplicated=0" .build/cluster-fault-battery.log \
    && ! grep -q "✘" .build/cluster-fault-battery.log
