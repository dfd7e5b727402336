#!/usr/bin/env bash
# create {app} {executor} {variant} ADDRESS DOCKER_HOST PORTS [VARIANTS_FILE]: start the group
# (web + db, host networking, two ports of PORTS=FIRST-LAST); last stdout line is ADDRESS:web-port.
source "$(dirname "$0")/common.sh"
export DOCKER_HOST="$5"
variants="${7:-$here/variants.env}"
project="$(project "$1" "$2")"
lock_engine
# A retry, or clean (which passes them on), keeps the ports the executor had.
read -r web_port db_port <<< "${MIMIC_KEEP_PORTS:-$(ports_of "$project" | tr '\n' ' ')}" || true
if [ -z "${web_port:-}" ] || [ -z "${db_port:-}" ]; then
    picked="$(pick_ports "$6")"
    read -r web_port db_port <<< "$picked"
fi
export WEB_PORT="$web_port" DB_PORT="$db_port"
compose "$1" "$2" "$3" "$variants" up -d >&2
flock -u 9
wait_listening "$4" "$WEB_PORT" 30 "$project"
echo "$4:$WEB_PORT"
