#!/usr/bin/env bash
# Measures leader failover: SIGKILL the raft leader of a local 3-process cluster, then time until a
# survivor acknowledges a write (201). Repeats TRIALS times (default 10) and prints every trial and
# the median. Needs curl; builds the release binary first.
set -euo pipefail
cd "$(dirname "$0")/.."
TRIALS=${1:-10}
cargo build --release --bin shardkeeper >/dev/null
BIN=target/release/shardkeeper
WORK=$(mktemp -d)
CLUSTER="1=127.0.0.1:19801,2=127.0.0.1:19802,3=127.0.0.1:19803"
declare -A PIDS
start_node() {
    local id=$1
    RUST_LOG=warn $BIN serve --node-id "$id" --http-addr "127.0.0.1:1970$id" --grpc-addr "127.0.0.1:1980$id" \
        --data-dir "$WORK/node$id" --initial-cluster "$CLUSTER" 2>>"$WORK/node$id.log" &
    PIDS[$id]=$!
}
cleanup() { kill -9 "${PIDS[@]}" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
wait_ready() {
    for _ in $(seq 1 300); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "127.0.0.1:1970$1/readyz")" = 200 ] && return 0
        sleep 0.05
    done
    echo "node $1 never became ready" >&2; exit 1
}
for id in 1 2 3; do start_node "$id"; done
for id in 1 2 3; do wait_ready "$id"; done
RESULTS=()
for trial in $(seq 1 "$TRIALS"); do
    LEADER=$(curl -s 127.0.0.1:19701/api/v1/status | sed -E 's/.*"leader_id":([0-9]+).*/\1/')
    SURVIVOR=$(( LEADER % 3 + 1 ))
    kill -9 "${PIDS[$LEADER]}"; wait "${PIDS[$LEADER]}" 2>/dev/null || true
    START=$(date +%s%N)
    until [ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' -XPOST "127.0.0.1:1970$SURVIVOR/api/v1/namespaces" \
            -d "{\"namespace\":\"failover-$trial\"}")" = 201 ]; do :; done
    END=$(date +%s%N)
    MS=$(( (END - START) / 1000000 ))
    RESULTS+=("$MS")
    echo "trial $trial: killed leader $LEADER, write acknowledged by node $SURVIVOR after ${MS} ms"
    start_node "$LEADER"; wait_ready "$LEADER"
done
SORTED=$(printf '%s\n' "${RESULTS[@]}" | sort -n)
MEDIAN=$(echo "$SORTED" | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')
echo "leader SIGKILL -> first acknowledged write: median ${MEDIAN} ms over $TRIALS trials (min $(echo "$SORTED" | head -1), max $(echo "$SORTED" | tail -1))"
