#!/usr/bin/env bash
# remove {app} {executor} DOCKER_HOST
source "$(dirname "$0")/common.sh"
export DOCKER_HOST="$3"
docker compose -p "$(project "$1" "$2")" down -v --remove-orphans >&2
