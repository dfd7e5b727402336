#!/usr/bin/env bash
# `make run`: a private Redis, the listener supervising one worker per example app, executors as
# real local processes on two local "hosts", and demo traffic acting as the brackets and the WAF.
# Ctrl-C stops every process this script started.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${MIMIC_BIN_DIR:-$root/.build/debug}"
var="$root/var/demo"
redis_port="${MIMIC_DEMO_REDIS_PORT:-6390}"
http_port="${MIMIC_DEMO_HTTP_PORT:-7600}"
tcp_port="${MIMIC_DEMO_TCP_PORT:-7601}"
duration="${MIMIC_DEMO_DURATION:-0}"

for port in "$redis_port" "$http_port" "$tcp_port"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "run: port $port is in use; set MIMIC_DEMO_REDIS_PORT / MIMIC_DEMO_HTTP_PORT / MIMIC_DEMO_TCP_PORT" >&2
        exit 2
    fi
done

rm -rf "$var"
mkdir -p "$var/apps.d" "$var/executors"
export MIMIC_EXECUTOR_DIR="$var/executors"
export MIMIC_DEMO_VULNERABLE_VARIANT="${MIMIC_DEMO_VULNERABLE_VARIANT:-iis-dotnet}"
pids=()

cleanup() {
    trap - EXIT INT TERM
    echo "run: stopping"
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    # Executors are started by hooks in their own sessions; stop them by their pid files.
    find "$var/executors" -name '*.pid' -exec sh -c 'kill "$(cat "$1")" 2>/dev/null' _ {} \; || true
}
trap cleanup EXIT INT TERM

redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$var" --save "" --appendonly yes \
    --daemonize no --logfile "$var/redis.log" &
pids+=($!)
for _ in $(seq 1 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.05; done

for file in "$root"/examples/apps.d/*.yaml; do
    sed -e "s#port: 6390#port: $redis_port#" -e "s#\"\.\./hooks/#\"$root/examples/hooks/#g" \
        -e "s#^run_dir: .*#run_dir: ../run#" "$file" > "$var/apps.d/$(basename "$file")"
done
token="demo-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
cat > "$var/listener.yaml" <<YAML
http: { host: 127.0.0.1, port: $http_port }
tcp: { host: 127.0.0.1, port: $tcp_port }
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
  situational awareness: http://127.0.0.1:$http_port/
  apps:                  curl -s http://127.0.0.1:$http_port/v1/apps
  sockets:               socat - UNIX-CONNECT:$var/run/shop.sock   (then {"op":"status"})
  events:                redis-cli -p $redis_port -n 1 XREVRANGE mimic:shop:events + - COUNT 10
  logs:                  $var/listener.log
  token (all sources):   $token
TEXT

python3 "$root/examples/demo/brackets.py" --listener "http://127.0.0.1:$http_port" --token "$token" \
    --redis-port "$redis_port" --app shop:1 --app blog:2 --duration "$duration" &
pids+=($!)
wait "${pids[-1]}"
