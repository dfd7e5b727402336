#!/usr/bin/env bash
# inspect {app} {executor} {host} {dir}: keeps what an analyst needs of a dirty stand-in executor in
# the capture directory the worker made for it (issue 19 item 5), before anything cleans it: its
# process as ps sees it, its log and its variant. stdout is kept by the worker as inspect.out.
set -euo pipefail
source "$(dirname "$0")/common.sh"
state="$(state_dir "$1" "$3")"
out="$4"
if [ -f "$state/$2.pid" ]; then
    pid="$(cat "$state/$2.pid")"
    ps -o pid,ppid,user,lstart,args -p "$pid" > "$out/ps.txt" || echo "process $pid is gone" > "$out/ps.txt"
fi
if [ -f "$state/$2.log" ]; then cp "$state/$2.log" "$out/executor.log"; fi
if [ -f "$state/$2.variant" ]; then cp "$state/$2.variant" "$out/variant"; fi
echo "inspected $2 on $3"
