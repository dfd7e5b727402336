#!/usr/bin/env bash
# remove {app} {executor} DOCKER_HOST: the group's containers, volumes and networks; none is fine.
source "$(dirname "$0")/common.sh"
export DOCKER_HOST="$3"
project="$(project "$1" "$2")"
# By the project's label, not through the compose file: the variant is not an argument here, and
# a group must go even if the file changed since it was made.
containers="$(docker ps -aq --filter "label=com.docker.compose.project=$project")"
[ -z "$containers" ] || docker rm -f -v $containers >&2
volumes="$(docker volume ls -q --filter "label=com.docker.compose.project=$project")"
[ -z "$volumes" ] || docker volume rm $volumes >&2
networks="$(docker network ls -q --filter "label=com.docker.compose.project=$project")"
[ -z "$networks" ] || docker network rm $networks >&2
