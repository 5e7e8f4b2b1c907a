#!/usr/bin/env bash
# Brings up the three-node deployment of deploy/docker-compose.yml in one command: builds the images
# (deploy/build-images.sh: nothing is pulled; cached parts are skipped), starts the containers, waits
# until shardkeeper reports the demo shard AllHealthy, and prints what to try next.
#
#   deploy/up.sh [--no-build] [--timeout SECONDS]
#
#   --no-build         start with the images as they are (they must exist)
#   --timeout SECONDS  how long to wait for AllHealthy (default 300)
#
# Tear down with deploy/down.sh (add --volumes to start from blank servers next time).
set -euo pipefail
DEPLOY=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=deploy/lib.sh
. "$DEPLOY/lib.sh"

SK_URL=https://127.0.0.1:9701
HEALTH_PATH=/api/v1/namespaces/demo/clusters/shop/health
build=1
timeout=300
while [ $# -gt 0 ]; do
    case $1 in
        --no-build) build=0 ;;
        --timeout) timeout=${2:?--timeout needs a number of seconds}; shift ;;
        -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
    shift
done
command -v curl >/dev/null 2>&1 || die "curl is needed on this machine"

start=$SECONDS
if [ "$build" -eq 1 ]; then
    "$DEPLOY/build-images.sh"
else
    # shellcheck disable=SC2013 # image names have no spaces
    for image in $(sed -n 's/^ *image: *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' "$SK_COMPOSE_FILE" | sort -u); do
        docker image inspect "$image" >/dev/null 2>&1 || die "$image is missing; run without --no-build"
    done
fi
built=$SECONDS

ensure_secrets
ensure_tls
# The key that seals the database passwords in the nodes' raft logs and snapshots (docs/security.md):
# generated once, kept across runs (down.sh leaves it), mounted read-only into every shardkeeper
# container. Volumes written with a key need that key.
key_file=$DEPLOY/secrets.key
if [ ! -s "$key_file" ]; then
    say "generating $key_file (seals database passwords at rest)"
    (umask 077 && printf 'k1 %s\n' "$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')" >"$key_file")
fi
# The nodes read their keys as uid 10001, which must own them, mode 0600, or they refuse to start.
node_keys=("$key_file")
for node in "${SK_NODES[@]}"; do node_keys+=("$SK_TLS/$node/node.key"); done
chmod 600 "${node_keys[@]}"
give_to_containers "${node_keys[@]}"

say "${COMPOSE_CMD[*]} -p $SK_PROJECT up -d"
compose up -d --remove-orphans

# AllHealthy in shard 0's findings. The answer is compact JSON:
# {"data":{"shards":[{"shard":0,"master_id":"...","findings":[{"kind":"AllHealthy",...}]}]}}
shard0_healthy() { tr -d ' \n' <<<"$1" | grep -q '"shard":0,[^]]*"kind":"AllHealthy"'; }
findings() { tr -d '\n' <<<"$1" | grep -o '"kind":"[A-Za-z]*"' | cut -d'"' -f4 | sort | uniq -c | tr -s ' \n' ' '; }

say "waiting up to ${timeout}s for $SK_URL$HEALTH_PATH to show AllHealthy"
deadline=$((SECONDS + timeout))
last=
while true; do
    body=$(curl -s --max-time 3 --cacert "$SK_CA_FILE" -H "$(auth_header)" "$SK_URL$HEALTH_PATH" 2>/dev/null || true)
    if shard0_healthy "$body"; then
        break
    fi
    state=$(docker inspect --format '{{.State.Status}} {{.State.ExitCode}}' shardkeeper-register 2>/dev/null || true)
    if [ "${state%% *}" = exited ] && [ "${state##* }" != 0 ]; then
        docker logs shardkeeper-register >&2 || true
        die "the register service failed (its log above)"
    fi
    case $body in
        *'"findings"'*) now="findings: $(findings "$body")" ;;
        *'"error"'*) now=$(sed -n 's/.*"message":"\(.*\)"}}.*/\1/p' <<<"$body") ;;
        '') now="shardkeeper not answering yet" ;;
        *) now="$body" ;;
    esac
    if [ "$now" != "$last" ]; then
        printf '    %3ds  %s\n' "$((SECONDS - built))" "$now"
        last=$now
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
        compose ps >&2 || true
        die "no AllHealthy within ${timeout}s (last: $now); see '${COMPOSE_CMD[*]} -p $SK_PROJECT logs'"
    fi
    sleep 1
done
healthy_at=$SECONDS

# The containers' own health checks (/readyz, mariadb-admin ping) run every 5 s; wait for them too
# so that the listing below shows every container healthy.
containers=(shardkeeper-sk1 shardkeeper-sk2 shardkeeper-sk3 shardkeeper-db1 shardkeeper-db2 shardkeeper-db3)
while true; do
    unhealthy=()
    for container in "${containers[@]}"; do
        status=$(docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$container" 2>/dev/null || true)
        [ "$status" = healthy ] || unhealthy+=("$container:${status:-missing}")
    done
    [ ${#unhealthy[@]} -eq 0 ] && break
    [ "$SECONDS" -lt "$deadline" ] || die "shardkeeper reports AllHealthy but these containers are not healthy: ${unhealthy[*]}"
    sleep 1
done

say "ready in ${SECONDS}s: images $((built - start))s, then AllHealthy $((healthy_at - built))s after up, every container healthy after $((SECONDS - built))s"
docker ps --filter "label=com.docker.compose.project=$SK_PROJECT" --format '    {{.Names}}\t{{.Status}}\t{{.Ports}}' | sort
cat <<EOF

Try (any node answers any request; 9701, 9702, 9703 are sk1, sk2, sk3, https only, with
certificates of the deployment's CA; every request but /healthz and /readyz needs a token:
deploy/secrets/admin-token, or viewer-token for reads):
  AUTH="Authorization: Bearer \$(cat $SK_SECRETS/admin-token)"
  CA=$SK_CA_FILE
  curl -s --cacert \$CA -H "\$AUTH" https://localhost:9701/api/v1/status                         # raft view: leader, term, members
  curl -s --cacert \$CA -H "\$AUTH" https://localhost:9701/api/v1/namespaces/demo/clusters/shop  # the shard: master and replicas
  curl -s --cacert \$CA -H "\$AUTH" https://localhost:9702$HEALTH_PATH   # findings per shard
  curl -s --cacert \$CA -H "\$AUTH" https://localhost:9703/api/v2/clusters                       # orchestrator's view
  curl -s --cacert \$CA -H "\$AUTH" https://localhost:9701/api/v1/namespaces/demo/clusters/shop/recoveries   # what shardkeeper did
  curl -s --cacert \$CA -H "\$AUTH" -XPOST https://localhost:9701/api/v1/namespaces/demo/clusters/shop/shards/0/failover   # switchover
  docker kill shardkeeper-db1     # kill the master: shardkeeper fails over within seconds
  docker start shardkeeper-db1    # it comes back read-only and is re-attached as a replica
  mariadb -h127.0.0.1 -P3311 -uapp -p${SK_DB_APP_PASSWORD:-demo-app-pass} app   # db1 (3312: db2, 3313: db3)
Tear down: deploy/down.sh (deploy/down.sh --volumes also deletes the data)
EOF
