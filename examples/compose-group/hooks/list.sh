#!/usr/bin/env bash
# list {app} DOCKER_HOST: one executor id per line, from the labels of the groups' containers.
source "$(dirname "$0")/common.sh"
export DOCKER_HOST="$2"
docker ps -a --filter "label=mimic.app=$1" --format '{{.Label "mimic.executor"}}' | sort -u
