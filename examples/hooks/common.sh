# Shared by the example hooks: where the stand-in executors keep their pid and port files.
# MIMIC_EXECUTOR_DIR is set by whoever starts the worker (make run, the tests).
state_dir() { # app host
    echo "${MIMIC_EXECUTOR_DIR:-/tmp/mimic-executors}/$1/$2"
}
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# A host is down when its agent (examples/hosts/host_agent.py, the stand-in for the host's node
# service) does not accept a connection. MIMIC_HOST_AGENTS lists the agents as
# "local1=127.0.0.1:7611 local2=127.0.0.1:7612" (set by make run); a host not listed there has no
# agent and counts as up, as a host without a probe does for the worker.
require_host_up() { # host
    local entry address
    for entry in ${MIMIC_HOST_AGENTS:-}; do
        [ "${entry%%=*}" = "$1" ] || continue
        address="${entry#*=}"
        if ! timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "${address%:*}" "${address##*:}" 2>/dev/null; then
            echo "host $1 is down: its agent at $address does not answer" >&2
            return 1
        fi
    done
    return 0
}

start_executor() { # app executor variant host
    require_host_up "$4"
    local dir; dir="$(state_dir "$1" "$4")"
    mkdir -p "$dir"
    rm -f "$dir/$2.port"
    echo "$3" > "$dir/$2.variant"
    # setsid: the executor outlives the hook and its process group (killed on hook timeout).
    setsid python3 "$here/../executor/variant_server.py" --app "$1" --executor "$2" --variant "$3" \
        --host "$4" --port-file "$dir/$2.port" </dev/null >>"$dir/$2.log" 2>&1 &
    echo $! > "$dir/$2.pid"
    for _ in $(seq 1 100); do
        if [ -s "$dir/$2.port" ]; then
            echo "127.0.0.1:$(cat "$dir/$2.port")"
            return 0
        fi
        sleep 0.05
    done
    echo "executor $2 did not start within 5 s (see $dir/$2.log)" >&2
    return 1
}

# Succeeds when the process is already gone (its host crashed, or an earlier attempt stopped it).
stop_executor() { # app executor host
    local dir; dir="$(state_dir "$1" "$3")"
    if [ -f "$dir/$2.pid" ]; then
        kill "$(cat "$dir/$2.pid")" 2>/dev/null || true
    fi
    rm -f "$dir/$2.pid" "$dir/$2.port"
}
