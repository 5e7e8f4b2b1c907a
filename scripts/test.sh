#!/usr/bin/env bash
# Runs every test of shardkeeper: unit tests, openraft's storage conformance suite and the
# integration tests (multi-node clusters over loopback, real shardkeeper processes, real MariaDB
# servers), every fuzz target for a bounded time (scripts/fuzz.sh), then the jepsen-style suite's smoke run against the docker-compose deployment when a
# Docker engine answers (`jepsen-style-tests/run.sh smoke`; it says so plainly when it skips, and
# SHARDKEEPER_REQUIRE_DOCKER=1, as .ci/run sets, turns the skip into a failure). Needs the Rust toolchain (protoc is vendored); installs MariaDB's server binaries
# (mariadbd, mariadb-install-db) from Debian's packages when they are missing. The tests start
# their own mariadbd processes on loopback ports 10000-19999 with --no-defaults, so a system
# MariaDB service that apt may have started (port 3306) plays no part in them.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
    echo "scripts/test.sh: cargo is missing; install the Rust toolchain (https://rustup.rs)" >&2
    exit 1
fi

# Answers success when program $1 is on PATH or in one of the sbin/bin directories that Debian's
# packages use (a non-root PATH often lacks /usr/sbin, where mariadbd lives).
have_program() {
    command -v "$1" >/dev/null 2>&1 && return 0
    local dir
    for dir in /usr/sbin /usr/bin /usr/local/sbin /usr/local/bin /sbin /bin; do
        [ -x "$dir/$1" ] && return 0
    done
    return 1
}

missing_mariadb() {
    local program missing=()
    for program in mariadbd mariadb-install-db; do
        have_program "$program" || missing+=("$program")
    done
    echo "${missing[*]:-}"
}

missing=$(missing_mariadb)
if [ -n "$missing" ]; then
    echo "scripts/test.sh: $missing not found; installing mariadb-server and mariadb-client with apt-get" >&2
    if [ "$(id -u)" -eq 0 ]; then
        as_root=()
    elif command -v sudo >/dev/null 2>&1; then
        as_root=(sudo)
    else
        echo "scripts/test.sh: cannot install MariaDB ($missing missing): not root and no sudo;" \
            "install the Debian packages mariadb-server and mariadb-client, then run this again" >&2
        exit 1
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "scripts/test.sh: cannot install MariaDB ($missing missing): apt-get is not available;" \
            "install MariaDB 10.11 (mariadbd and mariadb-install-db), then run this again" >&2
        exit 1
    fi
    if ! { "${as_root[@]}" apt-get update &&
        "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y --no-install-recommends mariadb-server mariadb-client; }; then
        echo "scripts/test.sh: apt-get could not install mariadb-server and mariadb-client" \
            "($missing missing); install them by hand, then run this again" >&2
        exit 1
    fi
    missing=$(missing_mariadb)
    if [ -n "$missing" ]; then
        echo "scripts/test.sh: $missing still missing after installing mariadb-server" >&2
        exit 1
    fi
fi

# The whole workspace in one feature set, so that the test build and the jepsen-style suite's
# build below reuse these artifacts.
cargo build --locked --workspace --bins
cargo test --locked --workspace -- --test-threads=4

# Every fuzz target for a bounded time (SHARDKEEPER_FUZZ_SECONDS, default 15 s each), after
# replaying the kept regression inputs (scripts/fuzz.sh, docs/security.md "Fuzzing").
scripts/fuzz.sh

# The jepsen-style suite: real containers, real faults (deploy/, jepsen-style-tests/run.sh).
require_docker=${SHARDKEEPER_REQUIRE_DOCKER:-0}
why_no_jepsen=""
if ! command -v docker >/dev/null 2>&1; then
    why_no_jepsen="docker is not installed"
elif ! docker_error=$(docker info 2>&1 >/dev/null); then
    why_no_jepsen="no Docker engine answers ($(echo "$docker_error" | tail -n 1))"
elif [ "$(id -u)" -ne 0 ]; then
    why_no_jepsen="its nemesis needs root (iptables in the containers' network namespaces)"
fi
if [ -z "$why_no_jepsen" ]; then
    jepsen-style-tests/run.sh smoke --debug
elif [ "$require_docker" = 1 ]; then
    echo "scripts/test.sh: cannot run the jepsen-style smoke suite: $why_no_jepsen" >&2
    exit 1
else
    echo "scripts/test.sh: SKIPPED the jepsen-style smoke suite (jepsen-style-tests/run.sh smoke): $why_no_jepsen" >&2
fi
