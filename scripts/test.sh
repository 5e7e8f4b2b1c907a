#!/usr/bin/env bash
# Runs every test of shardkeeper: unit tests, openraft's storage conformance suite and the
# integration tests (multi-node clusters over loopback, real shardkeeper processes).
# Needs only the Rust toolchain: protoc is vendored, and nothing else has to be installed yet.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
    echo "scripts/test.sh: cargo is missing; install the Rust toolchain (https://rustup.rs)" >&2
    exit 1
fi

cargo build --locked --bins
cargo test --locked --workspace -- --test-threads=4
