#!/usr/bin/env bash
# `make run`: a private Redis, the listener supervising one worker per example app, executors as
# real local processes on two local "hosts" (each with a stand-in agent its probe checks), demo
# traffic acting as the brackets and the WAF, and, a minute in, a crash of host local2 that is
# brought back later. Ctrl-C stops every process this script started.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${MIMIC_BIN_DIR:-$root/.build/debug}"
bin="$(cd "$bin" && pwd)"   # the listener starts workers from the demo directory
var="${MIMIC_DEMO_DIR:-$root/var/demo}"   # emptied at start
redis_port="${MIMIC_DEMO_REDIS_PORT:-6390}"
http_port="${MIMIC_DEMO_HTTP_PORT:-7600}"
tcp_port="${MIMIC_DEMO_TCP_PORT:-7601}"
admin_port="${MIMIC_DEMO_ADMIN_PORT:-7602}"   # the page, status API, worker control, /metrics
agent1_port="${MIMIC_DEMO_AGENT1_PORT:-7611}"   # host local1's agent: its probe target
agent2_port="${MIMIC_DEMO_AGENT2_PORT:-7612}"   # host local2's agent
duration="${MIMIC_DEMO_DURATION:-0}"
down_after="${MIMIC_DEMO_HOST_DOWN_AFTER:-60}"  # seconds until local2 crashes; "off": never
down_for="${MIMIC_DEMO_HOST_DOWN_FOR:-30}"      # seconds local2 stays down
# command: executors are local processes started by the example hooks; docker: containers on a
# real Docker Engine per host (scripts/demo-engines.sh; needs root and docker.io), host network,
# ports from these ranges.
driver="${MIMIC_DEMO_DRIVER:-command}"
ports1="${MIMIC_DEMO_PORTS1:-21000-21099}"
ports2="${MIMIC_DEMO_PORTS2:-21100-21199}"
case "$driver" in
    command | docker) ;;
    *) echo "run: MIMIC_DEMO_DRIVER is command (default) or docker, not $driver" >&2; exit 2 ;;
esac

for port in "$redis_port" "$http_port" "$tcp_port" "$admin_port" "$agent1_port" "$agent2_port"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "run: port $port is in use; set MIMIC_DEMO_REDIS_PORT / MIMIC_DEMO_HTTP_PORT / MIMIC_DEMO_TCP_PORT / MIMIC_DEMO_ADMIN_PORT /" \
            "MIMIC_DEMO_AGENT1_PORT / MIMIC_DEMO_AGENT2_PORT" >&2
        exit 2
    fi
done

rm -rf "$var"
mkdir -p "$var/apps.d" "$var/executors" "$var/hosts"
var="$(cd "$var" && pwd)"
export MIMIC_EXECUTOR_DIR="$var/executors"
export MIMIC_DEMO_VULNERABLE_VARIANT="${MIMIC_DEMO_VULNERABLE_VARIANT:-iis-dotnet}"
# The example hooks refuse to create executors on a host whose agent does not answer.
export MIMIC_HOST_AGENTS="local1=127.0.0.1:$agent1_port local2=127.0.0.1:$agent2_port"
pids=()

# Kills what runs under this demo's directory: host agents and executors carry a path under $var
# on their command line (pid file, port file), so this finds them even when the process that
# started them (a hook, the outage) is gone, touches nothing of another demo or test, and never
# trusts a stale pid file (the crashed host leaves some).
sweep() {
    local file
    for file in /proc/[0-9]*; do
        case "$({ tr '\0' ' ' <"$file/cmdline"; } 2>/dev/null)" in
            *"--pid-file $var/hosts/"* | *"--port-file $var/executors/"*) kill -9 "${file#/proc/}" 2>/dev/null || true ;;
        esac
    done
}

cleanup() {
    trap - EXIT INT TERM
    set +e   # stop everything, whatever fails on the way
    echo "run: stopping"
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ "$driver" = docker ]; then
        for host in local1 local2; do "$root/scripts/demo-engines.sh" stop "$host" "$var"; done
    fi
    # Executors are started by hooks in their own sessions; a hook the workers left running may
    # still start one, hence the second sweep.
    sweep
    sleep 0.5
    sweep
}
trap cleanup EXIT INT TERM

redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$var" --save "" --appendonly yes \
    --daemonize no --logfile "$var/redis.log" &
pids+=($!)
for _ in $(seq 1 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.05; done

start_agent() { # host port; detached from this shell (the outage kills and restarts them), stopped by sweep
    (python3 "$root/examples/hosts/host_agent.py" --host "$1" --port "$2" --pid-file "$var/hosts/$1.pid" \
        >>"$var/hosts/$1.log" 2>&1 &)
}
start_agent local1 "$agent1_port"
start_agent local2 "$agent2_port"
for _ in $(seq 1 100); do [ -f "$var/hosts/local1.pid" ] && [ -f "$var/hosts/local2.pid" ] && break; sleep 0.05; done

engines=""
if [ "$driver" = docker ]; then
    engines=yes
    for host in local1 local2; do
        "$root/scripts/demo-engines.sh" start "$host" "$var"
        "$root/scripts/demo-engines.sh" image "$host" "$var"
    done
fi

# docker mode: each host's command-hook block becomes its engine's socket and port range, and
# every variant runs the stand-in executor image (the variant name reaches it as MIMIC_VARIANT).
to_docker() {
    if [ "$driver" != docker ]; then cat; return; fi
    sed -e 's#image: reg/[a-z]*:[a-z-]* }#image: "mimic-demo/executor:local", command: ["/usr/bin/python3", "/srv/variant_server.py", "--port", "{port}"] }#' \
        | awk -v var="$var" -v p1="$ports1" -v p2="$ports2" -v vulnerable="$MIMIC_DEMO_VULNERABLE_VARIANT" '
            /^  - name: / { host = $3 }
            /^    driver: command$/ {
                print "    driver: docker"
                print "    docker: unix://" var "/docker/" host "/docker.sock"
                print "    docker_network: host"
                print "    ports: " (host == "local1" ? p1 : p2)
                print "    env: { MIMIC_DEMO_VULNERABLE_VARIANT: \"" vulnerable "\" }"
                hooks = 1
                next
            }
            hooks && (/^    command:$/ || /^      /) { next }
            { hooks = 0; print }'
}
for file in "$root"/examples/apps.d/*.yaml; do
    sed -e "s#port: 6390#port: $redis_port#" -e "s#\"\.\./hooks/#\"$root/examples/hooks/#g" \
        -e "s#^run_dir: .*#run_dir: ../run#" \
        -e "s#\"127.0.0.1:7611\"#\"127.0.0.1:$agent1_port\"#" -e "s#\"127.0.0.1:7612\"#\"127.0.0.1:$agent2_port\"#" \
        "$file" | to_docker > "$var/apps.d/$(basename "$file")"
done
token="demo-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
cat > "$var/listener.yaml" <<YAML
http: { host: 127.0.0.1, port: $http_port }
tcp: { host: 127.0.0.1, port: $tcp_port }
admin: { host: 127.0.0.1, port: $admin_port }
apps_dir: ./apps.d
run_dir: ./run
journal_dir: ./journal
fsync: batch
tokens:
  - { name: demo, token: "$token", sources: ["*"], apps: ["*"] }
supervise: { enabled: true, worker: "$bin/mimic-worker" }
YAML
"$bin/mimicctl" check-config "$var"

"$bin/mimic-listener" --config "$var/listener.yaml" 2>>"$var/listener.log" &
pids+=($!)
for _ in $(seq 1 200); do curl -sf "http://127.0.0.1:$http_port/healthz" >/dev/null 2>&1 && break; sleep 0.05; done

cat <<TEXT
run: fleet is up
  situational awareness: http://127.0.0.1:$admin_port/   (admin door; ingress is :$http_port)
  apps:                  curl -s http://127.0.0.1:$admin_port/v1/apps
  audit:                 curl -s http://127.0.0.1:$admin_port/v1/audit
  sockets:               socat - UNIX-CONNECT:$var/run/shop.sock   (then {"op":"status"})
  events:                redis-cli -p $redis_port -n 1 XREVRANGE mimic:shop:events + - COUNT 10
  hosts:                 redis-cli -p $redis_port -n 1 HGETALL mimic:shop:host:local2
  executors:             $bin/mimicctl executors shop --config $var/listener.yaml
  logs:                  $var/listener.log
  token (all sources):   $token
TEXT

if [ "$down_after" != off ]; then
    python3 "$root/examples/demo/host_outage.py" --redis-port "$redis_port" --app shop:1 --app blog:2 \
        --host local2 --after "$down_after" --down-for "$down_for" --executor-dir "$var/executors" \
        --agent-port "$agent2_port" --agent-pid-file "$var/hosts/local2.pid" --agent-log "$var/hosts/local2.log" \
        ${engines:+--crash-cmd "$root/scripts/demo-engines.sh crash local2 $var"} \
        ${engines:+--restart-cmd "$root/scripts/demo-engines.sh start local2 $var"} &
    pids+=($!)
fi

python3 "$root/examples/demo/brackets.py" --listener "http://127.0.0.1:$http_port" --token "$token" \
    --redis-port "$redis_port" --app shop:1 --app blog:2 --duration "$duration" &
brackets=$!
pids+=($brackets)
wait "$brackets"
