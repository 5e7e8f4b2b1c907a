#!/usr/bin/env bash
# Stops and removes the deployment of deploy/docker-compose.yml: its containers and its network.
# With --volumes also the named volumes (the shardkeeper raft logs and the MariaDB datadirs), so
# that the next deploy/up.sh starts from blank servers. The images stay.
#
#   deploy/down.sh [--volumes]
set -euo pipefail
DEPLOY=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=deploy/lib.sh
. "$DEPLOY/lib.sh"

args=(down --remove-orphans)
for arg in "$@"; do
    case $arg in
        -v | --volumes) args+=(--volumes) ;;
        -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) die "unknown argument '$arg' (see --help)" ;;
    esac
done
say "${COMPOSE_CMD[*]} -p $SK_PROJECT ${args[*]}"
compose "${args[@]}"
