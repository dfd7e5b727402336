# Shared by the compose-group hooks. Arguments arrive as argv (no shell between the worker and
# here); they are validated again before they reach docker.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

project() { # app executor
    [[ "$1" =~ ^[a-z0-9-]{1,32}$ && "$2" =~ ^[a-z0-9-]{1,48}$ ]] || { echo "invalid app or executor id" >&2; exit 2; }
    echo "mimic-$1-$2"
}

compose() { # app executor variant -- compose args...
    local app="$1" executor="$2" variant="$3"; shift 3
    local db; db="$(grep -E "^${variant}=" "$here/variants.env" | cut -d= -f2-)"
    [ -n "$db" ] || { echo "variant $variant has no database image in variants.env" >&2; exit 2; }
    MIMIC_APP="$app" MIMIC_EXECUTOR="$executor" VARIANT="$variant" DB_IMAGE="$db" \
        docker compose -p "$(project "$app" "$executor")" -f "$here/executor.compose.yml" "$@"
}
