#!/usr/bin/env bash
# The last step of `make test` (issue 17): fails, listing pid and command line, if any process
# started by this test run is still alive, or if anything is still mounted under one of the run's
# temp directories (issue 19: the real-engine suites' dockerd mounts overlay layers and network
# namespaces there).
#
# A process belongs to the run when its environment carries MIMIC_TEST_RUN=<this run's id> (the
# Makefile exports it; every child inherits it unless it builds its own environment), or when its
# command line or working directory names a path containing the id (the test support puts the id
# into every temp directory's name: mimic-redis-…, mimic-listener-…, mimic-worker-…, …). Other
# engineers' runs on the same machine have other ids, so they are never reported here. A test's
# dockerd, its containerd and their containerd-shims carry the id in their paths; the processes
# inside containers do not, so every descendant of a process of the run belongs to it too.
#
# Usage: check-test-leftovers.sh [--keep]   (run id from MIMIC_TEST_RUN)
#   Leftovers are killed (SIGKILL) after they are listed, so a failed run does not leave load
#   behind; --keep leaves them running for inspection.
set -u
# Once more without the marker in the environment: every process this script forks (command
# substitutions, pipelines) would otherwise carry it too and be found.
if [ -n "${MIMIC_TEST_RUN:-}" ]; then
    exec env -u MIMIC_TEST_RUN CHECK_TEST_RUN_ID="$MIMIC_TEST_RUN" bash "$0" "$@"
fi
run_id="${CHECK_TEST_RUN_ID:-}"
keep=0
[ "${1:-}" = "--keep" ] && keep=1
if [ -z "$run_id" ]; then
    echo "check-test-leftovers: MIMIC_TEST_RUN is not set; nothing identifies the run's processes" >&2
    exit 2
fi

# This script and its ancestors (make, the recipe's shell) may carry the marker themselves.
declare -A ours=()
pid=$$
while [ -n "$pid" ] && [ "$pid" -gt 1 ]; do
    ours[$pid]=1
    read -r stat 2>/dev/null < "/proc/$pid/stat" || break
    rest=${stat##*) }
    read -r _ pid _ <<< "$rest"
done

# Bash builtins only in the scan (a forked helper per process would make it slow).
belongs_to_run() {
    local dir=$1 stat entry args cwd
    read -r stat 2>/dev/null < "$dir/stat" || return 1
    # Zombies are already dead; their parent (or init) reaps them.
    [[ ${stat##*) } == Z* ]] && return 1
    while IFS= read -r -d '' entry; do
        [[ $entry == "MIMIC_TEST_RUN=$run_id" ]] && return 0
    done 2>/dev/null < "$dir/environ"
    mapfile -d '' args 2>/dev/null < "$dir/cmdline"
    [[ "${args[*]}" == *"$run_id"* ]] && return 0
    cwd=$(readlink "$dir/cwd" 2>/dev/null)
    [[ $cwd == *"$run_id"* ]]
}

leftovers() {
    local dir pid stat rest ppid
    declare -A found=() parent=()
    for dir in /proc/[0-9]*; do
        pid=${dir#/proc/}
        [ -n "${ours[$pid]:-}" ] && continue
        read -r stat 2>/dev/null < "$dir/stat" || continue
        rest=${stat##*) }
        [[ $rest == Z* ]] && continue
        read -r _ ppid _ <<< "$rest"
        parent[$pid]=$ppid
        belongs_to_run "$dir" && found[$pid]=1
    done
    # Descendants (a container's processes under a shim of the run), to a fixed point.
    local grew=1
    while [ "$grew" = 1 ]; do
        grew=0
        for pid in "${!parent[@]}"; do
            [ -n "${found[$pid]:-}" ] && continue
            if [ -n "${found[${parent[$pid]}]:-}" ]; then found[$pid]=1; grew=1; fi
        done
    done
    for pid in "${!found[@]}"; do echo "$pid"; done
}

# Mount points (overlay layers, nsfs, dockerd's bind of its data root) under a temp dir of the run.
leftover_mounts() {
    local _id _parent _dev _root point _rest
    while read -r _id _parent _dev _root point _rest; do
        [[ $point == *"$run_id"* ]] && printf '%b\n' "$point"
    done < /proc/self/mountinfo
}

status=0
mounted=$(leftover_mounts)
if [ -n "$mounted" ]; then
    status=1
    echo "check-test-leftovers: mounts of test run $run_id still in place:" >&2
    printf '  %s\n' $mounted >&2
    if [ "$keep" = 0 ]; then
        # Deepest first; lazily, so a busy one is detached now and freed when its users end.
        sort -r <<< "$mounted" | while IFS= read -r point; do umount -l "$point" 2>/dev/null; done
        echo "check-test-leftovers: unmounted them (umount -l)" >&2
    fi
fi

# Children that got SIGTERM as the tests ended may still be on their way out: up to 5 s.
found=""
deadline=$((SECONDS + 5))
while :; do
    found=$(leftovers)
    [ -z "$found" ] && exit $status
    [ "$SECONDS" -ge "$deadline" ] && break
    sleep 0.2
done

echo "check-test-leftovers: processes of test run $run_id still alive:" >&2
for pid in $found; do
    cmd=$(tr '\0' ' ' 2>/dev/null < "/proc/$pid/cmdline")
    blocked=$(awk '/^SigBlk:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
    echo "  pid $pid (SigBlk $blocked, cwd $(readlink "/proc/$pid/cwd" 2>/dev/null)): $cmd" >&2
done
if [ "$keep" = 0 ]; then
    # shellcheck disable=SC2086
    kill -KILL $found 2>/dev/null
    echo "check-test-leftovers: killed them (SIGKILL); run with --keep to leave them for inspection" >&2
fi
exit 1
