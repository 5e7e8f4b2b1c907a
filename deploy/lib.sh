# shellcheck shell=bash
# Sourced by deploy/up.sh and deploy/down.sh: which compose tool to run, and the project's names.
# SK_COMPOSE overrides the choice (e.g. SK_COMPOSE=docker-compose). SK_COMPOSE_EXTRA names more
# compose files (space separated, absolute paths) merged over docker-compose.yml, as the
# jepsen-style suite does to give the nodes a libfaketime clock.

SK_PROJECT=shardkeeper
SK_COMPOSE_FILE="$DEPLOY/docker-compose.yml"

say() { printf '==> %s\n' "$*"; }
die() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }

# `docker compose` (v2) when the plugin is there, else `docker-compose` (v1, Debian's 1.29).
if [ -n "${SK_COMPOSE:-}" ]; then
    read -r -a COMPOSE_CMD <<<"$SK_COMPOSE"
elif docker compose version >/dev/null 2>&1; then
    COMPOSE_CMD=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
    COMPOSE_CMD=(docker-compose)
else
    die "neither 'docker compose' (v2) nor 'docker-compose' (v1) is installed (Debian: apt-get install docker-compose)"
fi

SK_COMPOSE_FILES=(-f "$SK_COMPOSE_FILE")
for extra in ${SK_COMPOSE_EXTRA:-}; do
    SK_COMPOSE_FILES+=(-f "$extra")
done
compose() { "${COMPOSE_CMD[@]}" -p "$SK_PROJECT" "${SK_COMPOSE_FILES[@]}" "$@"; }
