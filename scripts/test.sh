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

# Installs Debian packages $2... with apt-get unless every program of the space-separated list $1
# is already there; fails saying what is missing when it cannot (not root and no sudo, no apt-get).
# The apt index is refreshed once per run, before the first install.
apt_updated=0
require_debian_programs() {
    local programs=$1 program missing=()
    shift
    for program in $programs; do
        have_program "$program" || missing+=("$program")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "scripts/test.sh: ${missing[*]} not found; installing $* with apt-get" >&2
    local as_root=()
    if [ "$(id -u)" -ne 0 ]; then
        if ! command -v sudo >/dev/null 2>&1; then
            echo "scripts/test.sh: cannot install $* (${missing[*]} missing): not root and no sudo;" \
                "install the Debian packages $*, then run this again" >&2
            exit 1
        fi
        as_root=(sudo)
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "scripts/test.sh: cannot install $* (${missing[*]} missing): apt-get is not available;" \
            "install them by hand, then run this again" >&2
        exit 1
    fi
    if [ "$apt_updated" = 0 ]; then
        "${as_root[@]}" apt-get update || true
        apt_updated=1
    fi
    if ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"; then
        echo "scripts/test.sh: apt-get could not install $* (${missing[*]} missing);" \
            "install them by hand, then run this again" >&2
        exit 1
    fi
    for program in "${missing[@]}"; do
        if ! have_program "$program"; then
            echo "scripts/test.sh: $program still missing after installing $*" >&2
            exit 1
        fi
    done
}

require_debian_programs "mariadbd mariadb-install-db mariadb" mariadb-server mariadb-client

# The PyPI packages the tests drive (pinned), in one venv under target/; the tests find it here.
SHARDKEEPER_PYTHON_VENV=$(scripts/python-venv.sh)
export SHARDKEEPER_PYTHON_VENV

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
