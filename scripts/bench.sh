#!/usr/bin/env bash
# Benchmarks shardkeeper against etcd on this machine (issue 5) and measures MariaDB failover.
#
#   scripts/bench.sh [--quick] [--markdown FILE] [--no-db] [--no-wait] [bench options...]
#
# 1. Installs what it measures when missing: Debian's etcd-server (etcd 3.4) and, unless --no-db,
#    mariadb-server (as scripts/test.sh does), with apt-get as root or through sudo.
# 2. Builds the release binary, the bench example and the db_bench benchmark before measuring
#    anything, so that no compilation runs during a measurement.
# 3. Waits (polling, up to BENCH_QUIET_WAIT seconds, default 300) for a quiet machine: 1-minute load
#    average below 1 and no rustc running. It measures anyway after that, and the tables record
#    the load.
# 4. Runs target/release/examples/bench: a 3-process shardkeeper cluster and a 3-member etcd
#    cluster on loopback; writes at 1/16/64/256 clients to the leader and a follower, reads at 64
#    clients, elections while idle and under load, leader SIGKILL -> first acknowledged write.
#    Runs alternate A B A B. --quick: 3 s runs, 3 failover trials (about 3 minutes instead of ~12).
# 5. Runs the MariaDB failover benchmark: `cargo test --release --test db_bench -- failover 10` and
#    `-- switchover 5` (--quick: 3 and 2 trials).
#
# The tables go to stdout and, as markdown, to FILE (default target/bench/results-<UTC time>.md).
# Other options are passed to the bench binary (target/release/examples/bench --help).
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK=0
DB=1
WAIT=1
MARKDOWN=""
BENCH_ARGS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1; BENCH_ARGS+=(--quick) ;;
        --no-db) DB=0 ;;
        --no-wait) WAIT=0 ;;
        --markdown) MARKDOWN=${2:?--markdown needs a file}; shift ;;
        --markdown=*) MARKDOWN=${1#--markdown=} ;;
        *) BENCH_ARGS+=("$1") ;;
    esac
    shift
done
if [ -z "$MARKDOWN" ]; then
    mkdir -p target/bench
    MARKDOWN=target/bench/results-$(date -u +%Y%m%d-%H%M%S).md
fi

if ! command -v cargo >/dev/null 2>&1; then
    echo "scripts/bench.sh: cargo is missing; install the Rust toolchain (https://rustup.rs)" >&2
    exit 1
fi

# Answers success when program $1 is on PATH or in one of Debian's sbin/bin directories.
have_program() {
    command -v "$1" >/dev/null 2>&1 && return 0
    local dir
    for dir in /usr/sbin /usr/bin /usr/local/sbin /usr/local/bin /sbin /bin; do
        [ -x "$dir/$1" ] && return 0
    done
    return 1
}

APT_UPDATED=0
# apt_install WHY PACKAGE...: installs Debian packages as root or through sudo, or explains and fails.
apt_install() {
    local why=$1; shift
    local as_root=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            as_root=(sudo)
        else
            echo "scripts/bench.sh: $why: not root and no sudo; install the Debian packages $*, then run this again" >&2
            exit 1
        fi
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "scripts/bench.sh: $why: apt-get is not available; install $* by hand, then run this again" >&2
        exit 1
    fi
    echo "scripts/bench.sh: $why; installing $* with apt-get" >&2
    if [ "$APT_UPDATED" -eq 0 ]; then
        "${as_root[@]}" apt-get update
        APT_UPDATED=1
    fi
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
}

if ! have_program etcd; then
    apt_install "etcd not found" etcd-server
    have_program etcd || { echo "scripts/bench.sh: etcd still missing after installing etcd-server" >&2; exit 1; }
fi
ETCD=$(command -v etcd || echo /usr/bin/etcd)

if [ "$DB" -eq 1 ]; then
    missing=()
    for program in mariadbd mariadb-install-db; do
        have_program "$program" || missing+=("$program")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        apt_install "${missing[*]} not found" mariadb-server mariadb-client
    fi
fi

# Build everything first, then measure copies of the binaries: other work in this tree may rebuild
# target/release while the benchmark runs, and a member restarted in a failover trial must run the
# same build as the others.
echo "scripts/bench.sh: building (release)" >&2
cargo build --locked --release --bin shardkeeper --example bench
BIN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/shardkeeper-bench-bin.XXXXXX")
trap 'rm -rf "$BIN_DIR"' EXIT
cp target/release/shardkeeper target/release/examples/bench "$BIN_DIR/"
if [ "$DB" -eq 1 ]; then
    # `cargo test --release --test db_bench -- ARGS` is this executable run with ARGS from the
    # package root; running it directly keeps cargo from rebuilding between the two runs.
    BUILD_LOG=$(mktemp)
    cargo test --locked --release --test db_bench --no-run 2>&1 | tee "$BUILD_LOG" >&2
    DB_BENCH=$(sed -n 's/^ *Executable .*(\(.*\))$/\1/p' "$BUILD_LOG" | tail -n 1)
    rm -f "$BUILD_LOG"
    if [ -z "$DB_BENCH" ] || [ ! -x "$DB_BENCH" ]; then
        echo "scripts/bench.sh: cannot find the db_bench executable in cargo's output" >&2
        exit 1
    fi
    cp "$DB_BENCH" "$BIN_DIR/db_bench"
fi

# Polls until the machine is quiet, at most BENCH_QUIET_WAIT seconds.
wait_quiet() {
    local deadline=$(( $(date +%s) + ${BENCH_QUIET_WAIT:-300} )) load
    while :; do
        load=$(cut -d' ' -f1 /proc/loadavg)
        if awk -v l="$load" 'BEGIN { exit !(l < 1.0) }' && ! pgrep -f rustc >/dev/null; then
            echo "scripts/bench.sh: machine quiet (load $load)" >&2
            return 0
        fi
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "scripts/bench.sh: WARNING: machine still busy (load $load$(pgrep -f rustc >/dev/null && echo ', rustc running')); measuring anyway" >&2
            return 0
        fi
        sleep 5
    done
}

if [ "$WAIT" -eq 1 ]; then wait_quiet; fi
{
    echo "## Run of $(date -u '+%Y-%m-%d %H:%M UTC'): scripts/bench.sh $([ "$QUICK" -eq 1 ] && echo --quick)"
    echo
} >>"$MARKDOWN"

STATUS=0
"$BIN_DIR/bench" --shardkeeper-bin "$BIN_DIR/shardkeeper" --etcd-bin "$ETCD" --markdown "$MARKDOWN" "${BENCH_ARGS[@]}" ||
    STATUS=$?

if [ "$DB" -eq 1 ]; then
    if [ "$QUICK" -eq 1 ]; then FAILOVER_TRIALS=3; SWITCHOVER_TRIALS=2; else FAILOVER_TRIALS=10; SWITCHOVER_TRIALS=5; fi
    echo "### MariaDB failover (tests/db_bench)" >>"$MARKDOWN"
    echo >>"$MARKDOWN"
    for run in "failover $FAILOVER_TRIALS" "switchover $SWITCHOVER_TRIALS"; do
        if [ "$WAIT" -eq 1 ]; then wait_quiet; fi
        echo "scripts/bench.sh: cargo test --release --test db_bench -- $run" >&2
        LOG=$(mktemp)
        LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
        # shellcheck disable=SC2086 # $run is two words on purpose
        if "$BIN_DIR/db_bench" $run 2>&1 | tee "$LOG"; then
            OUTCOME=ok
        else
            OUTCOME="failed"
            STATUS=1
        fi
        {
            echo "\`cargo test --release --test db_bench -- $run\` ($OUTCOME, load average before: $LOAD_BEFORE):"
            echo
            echo '```'
            grep -E '(trial [0-9]+:|^failover:|^switchover:)' "$LOG" || tail -n 5 "$LOG"
            echo '```'
            echo
        } >>"$MARKDOWN"
        rm -f "$LOG"
    done
fi

echo "scripts/bench.sh: tables appended to $MARKDOWN" >&2
exit "$STATUS"
