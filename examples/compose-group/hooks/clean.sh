#!/usr/bin/env bash
# clean {app} {executor} {variant} ADDRESS DOCKER_HOST PORTS [VARIANTS_FILE]: throw the group away
# with its volumes and start it again from the clean images, on the same ports.
source "$(dirname "$0")/common.sh"
export DOCKER_HOST="$5"
project="$(project "$1" "$2")"
keep="$(ports_of "$project" | tr '\n' ' ')"
WEB_PORT=0 DB_PORT=0 compose "$1" "$2" "$3" "${7:-$here/variants.env}" down -v --remove-orphans >&2
MIMIC_KEEP_PORTS="$keep" exec "$(dirname "$0")/create.sh" "$@"
