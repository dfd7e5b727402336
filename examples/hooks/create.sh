#!/usr/bin/env bash
# create {app} {executor} {variant} {host}: start the executor; last stdout line is host:port.
set -euo pipefail
source "$(dirname "$0")/common.sh"
start_executor "$1" "$2" "$3" "$4"
