#!/usr/bin/env bash
# Benchmarks the MySQL router (issue 13): sysbench direct vs route vs HAProxy 2.6, failover through
# a route, memory of idle routed connections (tests/route_bench/main.rs says what each measures).
#
#   scripts/route-bench.sh [--quick] [MODE ARGS...]     MODE: all (default), throughput, failover, idle
#
# Installs what it measures when missing (Debian's sysbench, haproxy, mariadb-server) with apt-get
# as root or through sudo, builds the release benchmark before measuring anything, then runs it.
# --quick: 3 s sysbench runs, 1 round, 3 failover trials, 1,000 idle connections.
# The output goes to stdout and to target/bench/route-<UTC time>.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK=0
ARGS=()
for arg in "$@"; do
    case "$arg" in
        --quick) QUICK=1 ;;
        *) ARGS+=("$arg") ;;
    esac
done

missing=()
command -v sysbench >/dev/null 2>&1 || missing+=(sysbench)
[ -x /usr/sbin/haproxy ] || command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
[ -x /usr/sbin/mariadbd ] || command -v mariadbd >/dev/null 2>&1 || missing+=(mariadb-server mariadb-client)
if [ ${#missing[@]} -gt 0 ]; then
    as_root=()
    [ "$(id -u)" -eq 0 ] || as_root=(sudo)
    echo "scripts/route-bench.sh: installing ${missing[*]} with apt-get" >&2
    "${as_root[@]}" apt-get update
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

cargo build --release --locked --bin shardkeeper
cargo test --release --locked --test route_bench --no-run

mkdir -p target/bench
out=target/bench/route-$(date -u +%Y%m%d-%H%M%S).txt
if [ ${#ARGS[@]} -eq 0 ] && [ "$QUICK" = 1 ]; then
    run() { cargo test --release --locked --test route_bench -- "$@"; }
    { run throughput 3 1; run failover 3; run idle 1000; } 2>&1 | tee "$out"
else
    [ ${#ARGS[@]} -gt 0 ] || ARGS=(all)
    cargo test --release --locked --test route_bench -- "${ARGS[@]}" 2>&1 | tee "$out"
fi
echo "scripts/route-bench.sh: results in $out"
