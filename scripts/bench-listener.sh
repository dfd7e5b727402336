#!/usr/bin/env bash
# Quick local throughput run of mimic-listener (the full benchmark is its own issue):
#   scripts/bench-listener.sh [messages=200000] [connections=4] [bin_dir=.build/release] [fsync=batch]
# Starts a private redis-server, the listener (supervising one mimic-worker for app "bench"), sends
# the messages pipelined over TCP with socat, and prints accepted msgs/s (answered ok = journaled)
# and applied msgs/s (mimic:bench:applied reached N).
set -euo pipefail
N=${1:-200000}; C=${2:-4}; BIN=$(cd "${3:-.build/release}" && pwd); FSYNC=${4:-batch}
DIR=$(mktemp -d /tmp/mimic-bench.XXXXXX)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
RP=$(free_port); HP=$(free_port); TP=$(free_port); AP=$(free_port)
SENDERS=()
cleanup() { for p in "${SENDERS[@]}"; do kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null || true; done
  [ -n "${LPID:-}" ] && { kill "$LPID" 2>/dev/null || true; }; [ -f "$DIR/listener.log" ] && [ -n "${KEEPLOG:-}" ] && cat "$DIR/listener.log"; wait "$LPID" 2>/dev/null || true; redis-cli -p "$RP" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$DIR"; }
trap cleanup EXIT
redis-server --port "$RP" --save "" --daemonize yes --logfile "$DIR/redis.log" --dir "$DIR" >/dev/null
mkdir -p "$DIR/apps.d" "$DIR/hooks"
printf '#!/bin/sh\necho "127.0.0.1:$(( 20000 + $$ %% 20000 ))"\n' > "$DIR/hooks/create.sh"
printf '#!/bin/sh\nexit 0\n' > "$DIR/hooks/ok.sh"
chmod +x "$DIR/hooks/"*.sh
cat > "$DIR/apps.d/bench.yaml" <<YAML
app: bench
redis: { host: 127.0.0.1, port: $RP, db: 1 }
replicas: { online: 1, standby: 1, min_online: 1, retain_dirty: 0 }
variants: [ { name: v1, traits: { os: debian } }, { name: v2, traits: { os: centos } } ]
hosts:
  - name: local1
    address: 127.0.0.1
    driver: command
    command: { timeout: 5s, create: ["$DIR/hooks/create.sh"], clean: ["$DIR/hooks/ok.sh"], remove: ["$DIR/hooks/ok.sh"], list: ["$DIR/hooks/ok.sh"] }
scheduling: { seed: 1, rotate_every: 0 }
reconcile_every: 0
YAML
cat > "$DIR/listener.yaml" <<YAML
http: { host: 127.0.0.1, port: $HP }
tcp: { host: 127.0.0.1, port: $TP }
admin: { host: 127.0.0.1, port: $AP }
apps_dir: ./apps.d
run_dir: ./run
journal_dir: ./journal
fsync: $FSYNC
tokens: [ { name: bench, token: "bench-token-0123456789", sources: ["*"], apps: ["*"] } ]
supervise: { enabled: true, worker: "$BIN/mimic-worker" }
YAML
"$BIN/mimic-listener" --config "$DIR/listener.yaml" --log-level warning 2>"$DIR/listener.log" &
LPID=$!
ready=""
for _ in $(seq 1 300); do
  if curl -sf "http://127.0.0.1:$AP/v1/apps/bench" | grep -q '"connected":true'; then ready=1; break; fi; sleep 0.1
done
[ -n "$ready" ] || { echo "listener not ready:"; cat "$DIR/listener.log"; exit 1; }
PER=$((N / C))
for c in $(seq 1 "$C"); do
  python3 - "$c" "$PER" > "$DIR/in.$c" <<'PY'
import sys
c, n = sys.argv[1], int(sys.argv[2])
out = ['{"auth":"bench-token-0123456789"}']
for i in range(n):
    out.append('{"id":"b%s-%d","app":"bench","source":"left_bracket","type":"health","body":{"executor":"ghost","status":"up","latency_ms":3}}' % (c, i))
sys.stdout.write("\n".join(out) + "\n")
PY
done
now() { date +%s.%N; }
if [ -n "${PERF:-}" ]; then perf record -g -p "$LPID" -o "$PERF" -- sleep 4 >/dev/null 2>&1 & fi
START=$(now)
for c in $(seq 1 "$C"); do
  ( (cat "$DIR/in.$c"; sleep 600) | socat -b 262144 - "TCP:127.0.0.1:$TP" > "$DIR/out.$c" ) &
  SENDERS+=($!)
done
while true; do
  total=0; for c in $(seq 1 "$C"); do total=$((total + $(wc -l < "$DIR/out.$c"))); done
  [ "$total" -ge $((PER * C)) ] && break; sleep 0.02
done
ACCEPTED=$(now)
oks=$(cat "$DIR"/out.* | grep -c '"ok"' || true)
while [ "$(redis-cli -p "$RP" -n 1 hget mimic:bench:applied seq)" != "$((PER * C))" ]; do sleep 0.02; done
APPLIED=$(now)
python3 -c "
n=$((PER * C)); s=$START; a=$ACCEPTED; p=$APPLIED
print(f'{n} messages, $C TCP connections, fsync $FSYNC: {$oks} ok; accepted {n/(a-s):,.0f} msgs/s ({a-s:.2f} s); applied by the worker {n/(p-s):,.0f} msgs/s ({p-s:.2f} s)')"
