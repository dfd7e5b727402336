#!/usr/bin/env bash
# list {app} {host}: one executor id per line, for every executor process alive on the host.
set -euo pipefail
source "$(dirname "$0")/common.sh"
require_host_up "$2"
dir="$(state_dir "$1" "$2")"
[ -d "$dir" ] || exit 0
for pidfile in "$dir"/*.pid; do
    [ -e "$pidfile" ] || continue
    if kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        basename "$pidfile" .pid
    fi
done
