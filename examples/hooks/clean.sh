#!/usr/bin/env bash
# clean {app} {executor} {variant} {host}: throw the running process away and start a fresh one
# from the same (clean) program, as restoring a container from its image would.
set -euo pipefail
source "$(dirname "$0")/common.sh"
stop_executor "$1" "$2" "$4"
start_executor "$1" "$2" "$3" "$4"
