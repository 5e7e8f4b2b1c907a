#!/usr/bin/env bash
# Makes (once) the Python virtual environment the tests use, target/python-venv, and installs the
# pinned PyPI packages given as arguments into it when they are missing; prints the venv's
# directory. scripts/test.sh exports it to the tests as SHARDKEEPER_PYTHON_VENV.
#
#   scripts/python-venv.sh 'schemathesis==3.39.16' 'grpcio-tools==1.76.0'
set -euo pipefail
cd "$(dirname "$0")/.."

venv=$PWD/target/python-venv
if ! command -v python3 >/dev/null 2>&1; then
    echo "scripts/python-venv.sh: python3 is missing; install Debian's python3 and python3-venv" >&2
    exit 1
fi
if [ ! -x "$venv/bin/python" ]; then
    mkdir -p target
    if ! python3 -m venv "$venv" >&2; then
        echo "scripts/python-venv.sh: python3 -m venv failed; install Debian's python3-venv" >&2
        exit 1
    fi
fi
missing=()
for requirement in "$@"; do
    name=${requirement%%[=<>]*}
    wanted=${requirement#*==}
    installed=$("$venv/bin/python" -m pip show "$name" 2>/dev/null | sed -n 's/^Version: //p')
    [ "$installed" = "$wanted" ] || missing+=("$requirement")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "scripts/python-venv.sh: installing ${missing[*]} into $venv" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${missing[@]}" >&2
fi
echo "$venv"
