#!/usr/bin/env bash
# remove {app} {executor} {host}
set -euo pipefail
source "$(dirname "$0")/common.sh"
stop_executor "$1" "$2" "$3"
rm -f "$(state_dir "$1" "$3")/$2.variant"
