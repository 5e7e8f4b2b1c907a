#!/usr/bin/env bash
# The jepsen-style fault suite against the three-node docker-compose deployment (deploy/).
#
#   jepsen-style-tests/run.sh smoke|full [--minutes N] [--no-build] [--debug]
#
#   smoke        every fault once, in a fixed order (about 5 minutes once the images exist)
#   full         every fault once, then random faults (single or several at once) for N minutes
#                (default 30)
#   --no-build   use the images as they are (deploy/build-images.sh otherwise brings them up to date)
#   --debug      put the debug build of shardkeeper in the image and run a debug driver (what
#                scripts/test.sh does: it has just compiled them, so CI skips a release build)
#
# It builds the images when needed (nothing is pulled), brings the deployment up from empty volumes
# with a libfaketime clock file per shardkeeper node, waits for /readyz on every node, runs the
# workloads (compare-and-set registers, a set of namespaces, an application writing rows through
# the master shardkeeper names) while the nemesis injects and heals faults, checks the history,
# then runs the calibration (stale reads with a follower cut off must be flagged), and tears the
# deployment down, also on failure or Ctrl-C. Everything lands in
# jepsen-style-tests/results/<mode>-<UTC time>/: history.jsonl, nemesis.jsonl, report.json,
# summary.txt, final-state.json, the calibration's files and every container's log.
#
# Exit status: 0 only when the run's `anomalies:` line says 0 and the calibration was flagged.
# Needs: a Docker engine that answers, docker-compose (v1) or `docker compose` (v2), the Rust
# toolchain, root (iptables and nsenter in the containers' network namespaces); iptables is
# installed with apt-get when missing.
set -euo pipefail
# The body is one block, read whole before it runs: editing this file during a run cannot change it.
{
SUITE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$SUITE")
DEPLOY=$REPO/deploy

mode=${1:-}
shift || true
minutes=30
build=1
profile=release
while [ $# -gt 0 ]; do
    case $1 in
        --minutes) minutes=${2:?--minutes needs a number}; shift ;;
        --no-build) build=0 ;;
        --debug) profile=debug ;;
        *) echo "run.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
    shift
done
case $mode in
    smoke) budget=900 ;;
    full) budget=$((minutes * 60 + 900)) ;;
    *) echo "usage: jepsen-style-tests/run.sh smoke|full [--minutes N] [--no-build]" >&2; exit 2 ;;
esac

say() { printf '==> [jepsen %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }

command -v docker >/dev/null 2>&1 || die "docker is not installed: the suite needs a Docker engine"
docker info >/dev/null 2>&1 || die "no Docker engine answers (docker info failed): the suite needs one"
[ "$(id -u)" -eq 0 ] || die "the nemesis needs root (nsenter + iptables in the containers' network namespaces)"
command -v nsenter >/dev/null 2>&1 || die "nsenter is missing (Debian: util-linux)"
if ! command -v iptables >/dev/null 2>&1; then
    say "installing iptables with apt-get"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends iptables >/dev/null ||
        die "could not install iptables"
fi

# One run at a time per Docker host: the deployment has fixed names, addresses and ports.
lock=${TMPDIR:-/tmp}/shardkeeper-jepsen.lock
exec 9>"$lock"
if ! flock -n 9; then
    say "another run holds $lock; waiting for it to finish"
    flock 9
fi

results=$SUITE/results/$mode-$(date -u +%Y%m%d-%H%M%S)
clocks=$results/clocks
mkdir -p "$results/logs"
for node in sk1 sk2 sk3; do
    mkdir -p "$clocks/$node"
    echo "+0" >"$clocks/$node/offset"
done
# Each shardkeeper node reads its wall clock through libfaketime, from an offset file the nemesis
# rewrites; the monotonic clock (raft's timers) stays true.
{
    echo 'version: "3.7"'
    echo 'services:'
    for node in sk1 sk2 sk3; do
        cat <<EOF
  $node:
    environment:
      LD_PRELOAD: /usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1
      FAKETIME_TIMESTAMP_FILE: /faketime/offset
      FAKETIME_CACHE_DURATION: "1"
      FAKETIME_DONT_FAKE_MONOTONIC: "1"
    volumes:
      - $clocks/$node:/faketime:ro
EOF
    done
} >"$results/compose.faults.yml"
export SK_COMPOSE_EXTRA=$results/compose.faults.yml
# deploy/up.sh generates the deployment's tokens and its TLS CA and certificates (once, into
# deploy/secrets); the driver sends the admin token and trusts only that CA (the nodes speak https).
export SK_TOKEN_FILE=$DEPLOY/secrets/admin-token
export SK_CA_FILE=$DEPLOY/secrets/tls/ca.pem

start=$SECONDS
# One cargo invocation for shardkeeper and the driver: their dependencies are compiled once, with
# the features both need.
say "building shardkeeper and the suite's driver ($profile)"
cargo_profile=()
[ "$profile" = release ] && cargo_profile=(--release)
(cd "$REPO" && cargo build "${cargo_profile[@]}" --locked -p shardkeeper -p shardkeeper-jepsen)
target=${CARGO_TARGET_DIR:-$REPO/target}
case $target in /*) ;; *) target=$REPO/$target ;; esac
driver=$target/$profile/shardkeeper-jepsen
if [ "$build" -eq 1 ]; then
    say "building the images (deploy/build-images.sh)"
    SHARDKEEPER_BINARY=$target/$profile/shardkeeper "$DEPLOY/build-images.sh"
fi
built=$SECONDS

teardown() {
    local status=$?
    trap - EXIT INT TERM
    say "collecting container logs into $results/logs"
    for container in shardkeeper-sk1 shardkeeper-sk2 shardkeeper-sk3 shardkeeper-db1 shardkeeper-db2 shardkeeper-db3 shardkeeper-register; do
        docker logs "$container" >"$results/logs/$container.log" 2>&1 || true
    done
    say "tearing the deployment down"
    # A paused (SIGSTOPped) container would hold `down` up: continue everything first.
    for container in $(docker ps -q --filter label=com.docker.compose.project=shardkeeper); do
        for pid in $(docker top "$container" -o pid 2>/dev/null | tail -n +2); do kill -CONT "$pid" 2>/dev/null || true; done
    done
    "$DEPLOY/down.sh" --volumes >/dev/null 2>&1 || "$DEPLOY/down.sh" --volumes || true
    exit "$status"
}
trap teardown EXIT
trap 'exit 130' INT TERM

say "starting from empty volumes"
"$DEPLOY/down.sh" --volumes >/dev/null 2>&1 || true
"$DEPLOY/up.sh" --no-build --timeout 240 >"$results/up.log" 2>&1 || { cat "$results/up.log" >&2; die "the deployment did not come up"; }
for port in 9701 9702 9703; do
    deadline=$((SECONDS + 120))
    until curl -fsS -o /dev/null --max-time 2 --cacert "$SK_CA_FILE" "https://127.0.0.1:$port/readyz"; do
        [ "$SECONDS" -lt "$deadline" ] || die "shardkeeper on port $port is not ready after 120s"
        sleep 1
    done
done
say "deployment ready $((SECONDS - built))s after the builds ($((built - start))s)"

status=0
say "running the $mode workloads and nemesis"
timeout --signal=INT "$budget" "$driver" run --mode "$mode" --minutes "$minutes" --results "$results" --clocks "$clocks" || status=$?
say "calibration: stale reads with a follower cut off"
calibration=0
timeout --signal=INT 300 "$driver" calibrate --results "$results" --clocks "$clocks" | tee "$results/calibration.txt" || calibration=$?

echo
cat "$results/summary.txt" 2>/dev/null || echo "no summary: the run did not finish (status $status)"
if [ "$calibration" -ne 0 ]; then
    echo "calibration failed: the checker did not flag the broken mode (status $calibration)"
fi
say "results in $results ($((SECONDS - start))s in all)"
[ "$status" -eq 0 ] && [ "$calibration" -eq 0 ]
exit
}
