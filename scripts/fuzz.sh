#!/usr/bin/env bash
# Runs every fuzz target of fuzz/ (cargo-fuzz, libFuzzer; docs/security.md, "Fuzzing") for a
# bounded time, after replaying the kept regression inputs (fuzz/regressions/TARGET/*), and fails
# naming the target and the crashing input when any of them crashes.
#
#   scripts/fuzz.sh [TARGET...]       every target (or the ones named), SHARDKEEPER_FUZZ_SECONDS each
#   SHARDKEEPER_FUZZ_SECONDS=600 scripts/fuzz.sh config_toml      a longer local run
#
# Installs cargo-fuzz (pinned) into target/tools when it is missing, so that a warm run skips it.
# Uses the nightly toolchain when rustup has one, else the default toolchain with RUSTC_BOOTSTRAP=1
# (cargo-fuzz needs nightly flags). Builds without a sanitizer (`-s none`): every target is safe
# Rust, and a panic, an overflow or a failed assertion is the crash looked for. The corpus grows in
# fuzz/corpus/TARGET (not in git), starting from the seeds in fuzz/seeds/TARGET.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${SHARDKEEPER_FUZZ_SECONDS:-15}
mkdir -p target
cargo_fuzz_version=0.13.2
tools=$PWD/target/tools

if ! command -v cargo >/dev/null 2>&1; then
    echo "scripts/fuzz.sh: cargo is missing; install the Rust toolchain (https://rustup.rs)" >&2
    exit 1
fi

if ! "$tools/bin/cargo-fuzz" --version 2>/dev/null | grep -qx "cargo-fuzz $cargo_fuzz_version"; then
    echo "scripts/fuzz.sh: installing cargo-fuzz $cargo_fuzz_version into $tools" >&2
    cargo install cargo-fuzz --locked --version "=$cargo_fuzz_version" --root "$tools"
fi
export PATH="$tools/bin:$PATH"

fuzz=(cargo fuzz)
if command -v rustup >/dev/null 2>&1 && rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    fuzz=(cargo +nightly fuzz)
    toolchain="nightly"
else
    export RUSTC_BOOTSTRAP=1
    toolchain="$(rustc --version) with RUSTC_BOOTSTRAP=1"
fi

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <("${fuzz[@]}" list)
fi
echo "scripts/fuzz.sh: ${#targets[@]} targets, ${seconds}s each, $toolchain" >&2

# One build of every target; the runs below start its binaries directly.
"${fuzz[@]}" build -s none
binaries=fuzz/target/$(rustc -vV | sed -n 's/^host: //p')/release

failed=()
for target in "${targets[@]}"; do
    regressions=(fuzz/regressions/"$target"/*)
    if [ -e "${regressions[0]}" ]; then
        for input in "${regressions[@]}"; do
            if ! "$binaries/$target" "$input" >"target/fuzz-$target.log" 2>&1; then
                tail -n 30 "target/fuzz-$target.log" >&2
                echo "scripts/fuzz.sh: $target crashes again on its regression input $input" >&2
                failed+=("$target ($input)")
            fi
        done
    fi
    corpus=(fuzz/corpus/"$target")
    mkdir -p "${corpus[0]}"
    [ -d "fuzz/seeds/$target" ] && corpus+=("fuzz/seeds/$target")
    mkdir -p "fuzz/artifacts/$target"
    before=$(date +%s)
    if "$binaries/$target" -artifact_prefix="fuzz/artifacts/$target/" -max_total_time="$seconds" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 "${corpus[@]}" >"target/fuzz-$target.log" 2>&1; then
        runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "target/fuzz-$target.log" | grep -o '[0-9]*$' | tail -n 1)
        echo "scripts/fuzz.sh: $target: no crash in $(($(date +%s) - before))s ($runs runs)" >&2
    else
        tail -n 40 "target/fuzz-$target.log" >&2
        input=$(grep -o 'Test unit written to .*' "target/fuzz-$target.log" | sed 's/Test unit written to //' | tail -n 1)
        echo "scripts/fuzz.sh: $target CRASHED on input ${input:-(see target/fuzz-$target.log)};" \
            "fix it and keep the input as fuzz/regressions/$target/NAME" >&2
        failed+=("$target (${input:-see target/fuzz-$target.log})")
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "scripts/fuzz.sh: FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "scripts/fuzz.sh: ${#targets[@]} fuzz targets ran ${seconds}s each with no crash" >&2
