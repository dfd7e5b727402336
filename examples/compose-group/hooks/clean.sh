#!/usr/bin/env bash
# clean {app} {executor} {variant} ADDRESS DOCKER_HOST: throw the group away with its volumes, start it again.
source "$(dirname "$0")/common.sh"
export DOCKER_HOST="$5"
compose "$1" "$2" "$3" down -v --remove-orphans >&2
exec "$(dirname "$0")/create.sh" "$@"
