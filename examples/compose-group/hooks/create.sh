#!/usr/bin/env bash
# create {app} {executor} {variant} ADDRESS DOCKER_HOST: start the group; last stdout line is ADDRESS:port.
source "$(dirname "$0")/common.sh"
export DOCKER_HOST="$5"
compose "$1" "$2" "$3" up -d --wait >&2
port="$(compose "$1" "$2" "$3" port web 8080 | tail -n1)"
echo "$4:${port##*:}"
