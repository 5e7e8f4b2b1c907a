#!/usr/bin/env bash
# Probe scale: one shardkeeper leader health-checking 1,000, 5,000 and 10,000 fake MariaDB
# endpoints at the default 1 s probe interval; prints its CPU (cores), memory (VmRSS, VmHWM) and
# the age of every node's last probe at the end of a 30 s window. See examples/probe_scale.rs and
# docs/probe-scale-results.md.
#
#   scripts/probe-scale.sh                                  # 1000,5000,10000, 30 s windows
#   scripts/probe-scale.sh --scales 10000 --perf 10         # plus uprobe timing of the supervisor and a perf profile
#
# Every argument goes to examples/probe_scale.rs. Listeners bind 127.0.0.77 (ports 20000 + i, REST
# 9700, gRPC 9800), apart from the 127.0.0.1 ports the test suites use. Take measurements on a quiet
# machine: the run prints the load average and how many compiler processes it saw.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --bin shardkeeper --example fake_mysql --example probe_scale

# One descriptor per endpoint in shardkeeper, two (listener + connection) in a fake process.
# Raise the soft limit as far as the hard limit allows (65536 wanted; some containers cap it).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
echo "RLIMIT_NOFILE: $(ulimit -n); load: $(cut -d' ' -f1-3 /proc/loadavg); commit: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' (dirty tree)')" >&2

exec target/release/examples/probe_scale \
    --shardkeeper target/release/shardkeeper \
    --fake target/release/examples/fake_mysql \
    "$@"
