# Shared by the compose-group hooks. Arguments arrive as argv (no shell between the worker and
# here); they are validated again before they reach docker.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

project() { # app executor
    [[ "$1" =~ ^[a-z0-9-]{1,32}$ && "$2" =~ ^[a-z0-9-]{1,48}$ ]] || { echo "invalid app or executor id" >&2; exit 2; }
    echo "mimic-$1-$2"
}

# Debian's docker-compose (1.29) where it is installed, else the compose plugin of docker.
compose_cli() {
    if command -v docker-compose >/dev/null; then docker-compose "$@"; else docker compose "$@"; fi
}

# compose APP EXECUTOR VARIANT VARIANTS_FILE -- compose args... (WEB_PORT and DB_PORT exported)
compose() {
    local app="$1" executor="$2" variant="$3" variants="$4"; shift 4
    local images
    images="$(grep -E "^${variant}=" "$variants" | cut -d= -f2- || true)"
    read -r web db <<< "$images" || true
    [ -n "${web:-}" ] && [ -n "${db:-}" ] || {
        echo "variant $variant has no 'WEB_IMAGE DB_IMAGE' line in $variants; add '$variant=web-image db-image'" >&2
        exit 2
    }
    MIMIC_APP="$app" MIMIC_EXECUTOR="$executor" VARIANT="$variant" WEB_IMAGE="$web" DB_IMAGE="$db" \
        compose_cli -p "$(project "$app" "$executor")" -f "$here/executor.compose.yml" "$@"
}

# The ports an executor's containers hold (label mimic.port), lowest first.
ports_of() { # project
    docker ps -a --filter "label=com.docker.compose.project=$1" --format '{{.Label "mimic.port"}}' | sort -n
}

# Picks two free ports (web, db) of RANGE (FIRST-LAST) that no container on the engine is
# labelled with; the caller holds the host's lock.
pick_ports() { # range
    local first="${1%-*}" last="${1#*-}" used port
    [[ "$first" =~ ^[0-9]+$ && "$last" =~ ^[0-9]+$ ]] || { echo "ports must be FIRST-LAST, got $1" >&2; exit 2; }
    used=" $(docker ps -a --filter label=mimic.port --format '{{.Label "mimic.port"}}' | tr '\n' ' ') "
    for ((port = first; port + 1 <= last; port += 2)); do
        if [[ "$used" != *" $port "* && "$used" != *" $((port + 1)) "* ]]; then
            echo "$port $((port + 1))"
            return
        fi
    done
    echo "no two free ports left in $1 on $DOCKER_HOST; widen the range in the hooks' arguments" >&2
    exit 1
}

# One lock per engine: two hooks creating at once must not pick the same ports.
lock_engine() {
    local key
    key="$(printf %s "$DOCKER_HOST" | md5sum | cut -c1-16)"
    exec 9> "${TMPDIR:-/tmp}/mimic-compose-$key.lock"
    flock 9
}

# Waits until ADDRESS:PORT accepts a connection (compose 1.29 has no `up --wait`); fails at once
# when the project's web container stops running (it crashed, or someone removed it).
wait_listening() { # address port seconds project
    local deadline=$((SECONDS + $3))
    until (exec 3<> "/dev/tcp/$1/$2") 2>/dev/null; do
        [ "$SECONDS" -lt "$deadline" ] || { echo "nothing listens on $1:$2 after $3 s" >&2; exit 1; }
        if [ -z "$(docker ps -q --filter "label=com.docker.compose.project=$4" \
            --filter label=com.docker.compose.service=web --filter status=running)" ]; then
            echo "the web container of $4 is not running; see docker logs ${4}_web_1" >&2
            exit 1
        fi
        sleep 0.2
    done
}
