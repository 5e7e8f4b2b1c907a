#!/usr/bin/env bash
# What TLS costs writes (issue 14): two 3-process shardkeeper clusters on loopback, one in plain
# text and one with mutual TLS between the members and https for the clients (certificates made
# here with openssl, the commands of docs/security.md, "TLS"). CLIENTS clients create namespaces
# on each cluster's leader for SECONDS, runs alternating plain, TLS, plain, TLS... RUNS times each;
# prints every run and the medians.
#
#   scripts/tls-bench.sh [CLIENTS] [SECONDS] [RUNS]          (defaults 64 10 3)
#
# Builds the release binary and the write_load example first, so nothing compiles while measuring.
set -euo pipefail
cd "$(dirname "$0")/.."

CLIENTS=${1:-64}
RUN_SECONDS=${2:-10}
RUNS=${3:-3}

nice -n 19 cargo build --release --bin shardkeeper --example write_load
BIN=$PWD/target/release/shardkeeper
LOAD=$PWD/target/release/examples/write_load

DIR=$(mktemp -d -t tls-bench-XXXXXX)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$DIR"
}
trap cleanup EXIT

# The cluster CA and one certificate per node, as docs/security.md makes them.
make_certificates() {
    local dir=$1
    mkdir -p "$dir"
    (
        cd "$dir"
        umask 077
        openssl req -x509 -new -noenc -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -days 3650 \
            -keyout ca.key -out ca.crt -subj "/CN=shardkeeper cluster CA" \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' > node.ext
        for node in 1 2 3; do
            openssl req -new -noenc -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
                -keyout "node$node.key" -out "node$node.csr" -subj "/CN=node$node" 2>/dev/null
            openssl x509 -req -in "node$node.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 \
                -extfile node.ext -out "node$node.crt" 2>/dev/null
        done
        chmod 644 ca.crt node?.crt
    )
}

# A loopback port in 20000-31999 that nobody answers on and that this script has not used.
USED_PORTS=" "
free_port() {
    local port
    while true; do
        port=$((20000 + RANDOM % 12000))
        case "$USED_PORTS" in *" $port "*) continue ;; esac
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            USED_PORTS="$USED_PORTS$port "
            echo "$port"
            return
        fi
    done
}

# start_cluster NAME TLS(0|1): writes the configs, starts 3 nodes; sets HTTP_PORTS.
start_cluster() {
    local name=$1 tls=$2 node
    local dir=$DIR/$name
    mkdir -p "$dir"
    local http=() grpc=()
    for node in 1 2 3; do http+=("$(free_port)"); grpc+=("$(free_port)"); done
    local initial="1=127.0.0.1:${grpc[0]},2=127.0.0.1:${grpc[1]},3=127.0.0.1:${grpc[2]}"
    for node in 1 2 3; do
        {
            echo "node_id = $node"
            echo "http_addr = \"127.0.0.1:${http[$((node - 1))]}\""
            echo "grpc_addr = \"127.0.0.1:${grpc[$((node - 1))]}\""
            echo "data_dir = \"$dir/node$node\""
            echo "initial_cluster = \"$initial\""
            if [ "$tls" = 1 ]; then
                echo "[tls]"
                echo "cert_file = \"$DIR/certs/node$node.crt\""
                echo "key_file = \"$DIR/certs/node$node.key\""
                echo "client_ca_file = \"$DIR/certs/ca.crt\""
            fi
        } > "$dir/node$node.toml"
        RUST_LOG=warn "$BIN" serve --config "$dir/node$node.toml" > "$dir/node$node.log" 2>&1 &
        PIDS+=($!)
    done
    HTTP_PORTS=("${http[@]}")
}

# leader_url SCHEME PORT...: the REST URL of the leader, once one is elected.
leader_url() {
    local scheme=$1; shift
    local curl=(curl -sf --max-time 2)
    [ "$scheme" = https ] && curl+=(--cacert "$DIR/certs/ca.crt")
    local deadline=$((SECONDS + 60)) leader
    while [ $SECONDS -lt $deadline ]; do
        leader=$("${curl[@]}" "$scheme://127.0.0.1:$1/api/v1/status" 2>/dev/null \
            | sed -n 's/.*"leader_id":\([0-9]*\).*/\1/p' || true)
        if [ -n "$leader" ]; then
            local ports=("$@")
            echo "$scheme://127.0.0.1:${ports[$((leader - 1))]}"
            return
        fi
        sleep 0.2
    done
    echo "tls-bench: no leader within 60 s; logs in $DIR" >&2
    exit 1
}

make_certificates "$DIR/certs"
start_cluster plain 0
PLAIN=$(leader_url http "${HTTP_PORTS[@]}")
start_cluster tls 1
TLS=$(leader_url https "${HTTP_PORTS[@]}")
echo "plain leader $PLAIN, TLS leader $TLS; $CLIENTS clients, ${RUN_SECONDS} s runs, load $(cut -d' ' -f1-3 /proc/loadavg)"

# One warm-up run each, unmeasured, then the measured runs alternating.
"$LOAD" "$PLAIN" "$CLIENTS" 2 > /dev/null
SHARDKEEPER_CA=$DIR/certs/ca.crt "$LOAD" "$TLS" "$CLIENTS" 2 > /dev/null
plain_rates=() tls_rates=()
for run in $(seq 1 "$RUNS"); do
    line=$("$LOAD" "$PLAIN" "$CLIENTS" "$RUN_SECONDS")
    echo "plain run $run: $line"
    plain_rates+=("$(sed -n 's/.*writes\/s=\([0-9]*\).*/\1/p' <<<"$line")")
    line=$(SHARDKEEPER_CA=$DIR/certs/ca.crt "$LOAD" "$TLS" "$CLIENTS" "$RUN_SECONDS")
    echo "TLS   run $run: $line"
    tls_rates+=("$(sed -n 's/.*writes\/s=\([0-9]*\).*/\1/p' <<<"$line")")
done
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
plain_median=$(median "${plain_rates[@]}")
tls_median=$(median "${tls_rates[@]}")
echo "median writes/s: plain $plain_median, TLS $tls_median, TLS/plain $(awk "BEGIN {printf \"%.2f\", $tls_median / $plain_median}")"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
