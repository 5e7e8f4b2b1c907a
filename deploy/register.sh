#!/bin/bash
# The compose file's one-shot `register` service (run in the shardkeeper image, which has curl):
# waits until a shardkeeper node is ready and every database server accepts connections, then
# creates the namespace and the cluster (one shard of all SK_DB_NODES, the first one its master).
# Idempotent: "already exists" (409) counts as done, so every `up` may run it again.
#
#   SK_URLS               shardkeeper REST addresses to try, in order ("https://sk1:9700 ...")
#   SK_CA_FILE            the CA the nodes' certificates chain to, for https (deploy/secrets/tls/ca.pem,
#                         mounted); unset: curl's default roots
#   SK_NAMESPACE          default demo
#   SK_CLUSTER            default shop
#   SK_DB_NODES           host:port of each server ("db1:3306 db2:3306 db3:3306")
#   SK_DB_ADMIN_USER      the account shardkeeper manages the servers with
#   SK_DB_ADMIN_PASSWORD  its password
#   SK_WAIT_SECONDS       give up after this long (default 180)
#   SK_TOKEN_FILE         a file holding an admin token (deploy/secrets/admin-token, mounted)
set -euo pipefail

URLS=${SK_URLS:-https://sk1:9700}
TLS=()
[ -n "${SK_CA_FILE:-}" ] && TLS=(--cacert "$SK_CA_FILE")
NAMESPACE=${SK_NAMESPACE:-demo}
CLUSTER=${SK_CLUSTER:-shop}
read -r -a NODES <<<"${SK_DB_NODES:?set SK_DB_NODES}"
ADMIN_USER=${SK_DB_ADMIN_USER:-shardkeeper}
ADMIN_PASSWORD=${SK_DB_ADMIN_PASSWORD:?set SK_DB_ADMIN_PASSWORD}
DEADLINE=$((SECONDS + ${SK_WAIT_SECONDS:-180}))
TOKEN=$(cat "${SK_TOKEN_FILE:?set SK_TOKEN_FILE}")

log() { printf '[register] %s\n' "$*" >&2; }
give_up() { log "error: $*"; exit 1; }
time_left() { [ "$SECONDS" -lt "$DEADLINE" ]; }

json_string() {
    local s=${1//\\/\\\\}
    s=${s//\"/\\\"}
    printf '"%s"' "$s"
}

# A ready shardkeeper node (it knows a raft leader and has applied its log).
sk=
while [ -z "$sk" ]; do
    for url in $URLS; do
        if curl -fsS -o /dev/null --max-time 2 "${TLS[@]}" "$url/readyz" 2>/dev/null; then
            sk=$url
            break
        fi
    done
    [ -n "$sk" ] && break
    time_left || give_up "no shardkeeper node became ready (tried $URLS)"
    sleep 1
done
log "shardkeeper ready at $sk"

# Every server listening (the image's entrypoint only starts listening once its datadir and
# accounts exist). shardkeeper would wait for late servers by itself; this keeps the first
# health report free of NotProbedYet.
for node in "${NODES[@]}"; do
    host=${node%:*} port=${node##*:}
    until (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; do
        time_left || give_up "$node does not accept connections"
        sleep 1
    done
    log "$node accepts connections"
done

# POST with retries while no leader is known (503) or the outcome is unknown (504); 201 and 409
# are success, anything else is an error.
post() {
    local path=$1 body=$2 what=$3 status
    while true; do
        status=$(curl -sS -o /tmp/response -w '%{http_code}' --max-time 15 "${TLS[@]}" -X POST \
            -H 'content-type: application/json' -H "Authorization: Bearer $TOKEN" \
            -d "$body" "$sk$path" 2>/tmp/curl-error) || status=000
        case $status in
            201) log "$what: created"; created=1; return 0 ;;
            409) log "$what: already exists"; return 0 ;;
            000 | 502 | 503 | 504) ;;
            *) give_up "$what: HTTP $status: $(cat /tmp/response)" ;;
        esac
        time_left || give_up "$what: still HTTP $status: $(cat /tmp/response /tmp/curl-error 2>/dev/null)"
        sleep 1
    done
}

created=0
nodes_json=
for node in "${NODES[@]}"; do nodes_json+=${nodes_json:+,}$(json_string "$node"); done

post /api/v1/namespaces "{\"namespace\":$(json_string "$NAMESPACE")}" "namespace $NAMESPACE"
post "/api/v1/namespaces/$NAMESPACE/clusters" \
    "{\"name\":$(json_string "$CLUSTER"),\"nodes\":[$nodes_json],\"replicas\":${#NODES[@]},\"user\":$(json_string "$ADMIN_USER"),\"password\":$(json_string "$ADMIN_PASSWORD")}" \
    "cluster $NAMESPACE/$CLUSTER (${NODES[*]})"
if [ "$created" -eq 1 ]; then
    log "done: shardkeeper now sets up replication from ${NODES[0]}, the shard's first master"
else
    log "done: already registered; GET $sk/api/v1/namespaces/$NAMESPACE/clusters/$CLUSTER shows the current master"
fi
