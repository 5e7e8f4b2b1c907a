#!/usr/bin/env bash
# Builds every image deploy/docker-compose.yml names, without pulling anything from a container
# registry: the Debian bookworm bases are made here with mmdebstrap from Debian's package mirrors
# and `docker import`ed, and every Dockerfile starts FROM one of them (built with --pull=false).
#
#   deploy/build-images.sh [--rebuild] [IMAGE...]
#
# IMAGE is any of: base mariadb-base shardkeeper mariadb (default: all four, in that order).
#
#   shardkeeper/base:bookworm          mmdebstrap minbase + ca-certificates, curl, tini, libfaketime
#   shardkeeper/mariadb-base:bookworm  the same + Debian's mariadb-server (MariaDB 10.11)
#   shardkeeper/shardkeeper:local      base + the release binary built here (cargo build --release --locked)
#   shardkeeper/mariadb:local          mariadb-base + deploy/images/mariadb (entrypoint, option file)
#
# The two bases are cached: a base is skipped when an image of that name built from the same
# recipe (packages, mirrors, options; kept in the label org.shardkeeper.recipe) exists.
# --rebuild makes them again. The other two are rebuilt every time; docker's layer cache makes
# that quick when nothing changed.
#
# Environment:
#   DEBIAN_MIRROR            default http://deb.debian.org/debian
#   DEBIAN_SECURITY_MIRROR   default http://deb.debian.org/debian-security
#   SHARDKEEPER_BINARY       use this shardkeeper binary instead of running cargo (it must run on
#                            Debian bookworm's glibc 2.36)
#   CARGO_TARGET_DIR         honoured when looking for the binary cargo built
#
# Needs: docker; for the bases root or sudo (mmdebstrap builds them in root mode; it is installed
# with apt-get when missing); for the shardkeeper image cargo (run as the caller, not as root).
set -euo pipefail

DEPLOY=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$DEPLOY")
SUITE=bookworm
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
DEBIAN_SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
# The legacy builder always resolves FROM against the local image store. BuildKit does too with
# the default "docker" driver, but not with a docker-container builder; set DOCKER_BUILDKIT=1 to
# use it anyway.
export DOCKER_BUILDKIT=${DOCKER_BUILDKIT:-0}

BASE_IMAGE=shardkeeper/base:$SUITE
MARIADB_BASE_IMAGE=shardkeeper/mariadb-base:$SUITE
SHARDKEEPER_IMAGE=shardkeeper/shardkeeper:local
MARIADB_IMAGE=shardkeeper/mariadb:local

BASE_PACKAGES=ca-certificates,curl,tini,libfaketime
MARIADB_BASE_PACKAGES=$BASE_PACKAGES,mariadb-server,mariadb-client

say() { printf '==> %s\n' "$*"; }
die() { printf 'build-images.sh: %s\n' "$*" >&2; exit 1; }

usage() {
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
}

rebuild=0
wanted=()
for arg in "$@"; do
    case $arg in
        --rebuild) rebuild=1 ;;
        -h | --help) usage; exit 0 ;;
        base | mariadb-base | shardkeeper | mariadb) wanted+=("$arg") ;;
        *) die "unknown argument '$arg' (see --help)" ;;
    esac
done
[ ${#wanted[@]} -gt 0 ] || wanted=(base mariadb-base shardkeeper mariadb)

# mmdebstrap (root mode) and apt-get need root; everything else, cargo included, runs as the caller.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    else
        command -v sudo >/dev/null 2>&1 || die "building a base image needs root: run this as root or install sudo"
        sudo "$@"
    fi
}
command -v docker >/dev/null 2>&1 || die "docker is not installed"
docker info >/dev/null 2>&1 || die "the docker engine does not answer (is the daemon running?)"

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }
image_label() { docker image inspect --format "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true; }
elapsed() { echo "$((SECONDS - $1))s"; }

ensure_mmdebstrap() {
    command -v mmdebstrap >/dev/null 2>&1 && return 0
    command -v apt-get >/dev/null 2>&1 || die "mmdebstrap is missing and apt-get is not available to install it"
    say "installing mmdebstrap with apt-get"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
}

# make_base IMAGE PACKAGES [customize-hook...]: mmdebstrap a minimal bookworm with PACKAGES into a
# tarball and import it as IMAGE, unless IMAGE exists with the same recipe.
make_base() {
    local image=$1 packages=$2
    shift 2
    local -a args=(
        --variant=minbase
        --include="$packages"
        --aptopt='Acquire::Languages "none"'
        --aptopt='APT::Install-Recommends "false"'
        --dpkgopt='path-exclude=/usr/share/man/*'
        --dpkgopt='path-exclude=/usr/share/info/*'
        --dpkgopt='path-exclude=/usr/share/locale/*'
        --dpkgopt='path-exclude=/usr/share/doc/*'
        --dpkgopt='path-include=/usr/share/doc/*/copyright'
    )
    local hook
    for hook in "$@"; do args+=(--customize-hook="$hook"); done
    local -a sources=(
        "deb $DEBIAN_MIRROR $SUITE main"
        "deb $DEBIAN_MIRROR $SUITE-updates main"
        "deb $DEBIAN_SECURITY_MIRROR $SUITE-security main"
    )
    local recipe
    recipe=$(printf '%s\n' "$SUITE" "${args[@]}" "${sources[@]}" | sha256sum | cut -c1-16)

    if [ "$rebuild" -eq 0 ] && image_exists "$image"; then
        if [ "$(image_label "$image" org.shardkeeper.recipe)" = "$recipe" ]; then
            say "$image: exists (recipe $recipe), skipped; --rebuild makes it again"
            return 0
        fi
        say "$image: exists but from another recipe; rebuilding"
    fi

    ensure_mmdebstrap
    say "$image: mmdebstrap $SUITE (minbase + $packages) from $DEBIAN_MIRROR"
    local start=$SECONDS work
    work=$(mktemp -d "${TMPDIR:-/tmp}/shardkeeper-base.XXXXXX")
    # shellcheck disable=SC2064
    trap "as_root rm -rf '$work'" EXIT
    if ! as_root mmdebstrap --mode=root --quiet "${args[@]}" "$SUITE" "$work/rootfs.tar" "${sources[@]}" \
        >"$work/mmdebstrap.log" 2>&1; then
        tail -n 40 "$work/mmdebstrap.log" >&2
        die "mmdebstrap failed for $image (log above)"
    fi
    say "$image: docker import ($(du -h "$work/rootfs.tar" | cut -f1) tarball)"
    docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["/bin/bash"]' \
        --change "LABEL org.shardkeeper.recipe=$recipe" \
        --change "LABEL org.shardkeeper.packages=$packages" \
        --message "mmdebstrap --variant=minbase $SUITE + $packages" \
        "$work/rootfs.tar" "$image" >/dev/null
    as_root rm -rf "$work"
    trap - EXIT
    say "$image: built in $(elapsed "$start")"
}

require_image() {
    image_exists "$1" || die "$1 is missing; build it first: $0 $2"
}

build_dockerfile() {
    local image=$1 context=$2
    docker build --pull=false --quiet --tag "$image" "$context" >/dev/null ||
        { docker build --pull=false --tag "$image" "$context" >&2; die "docker build of $image failed"; }
}

shardkeeper_binary() {
    if [ -n "${SHARDKEEPER_BINARY:-}" ]; then
        [ -x "$SHARDKEEPER_BINARY" ] || die "SHARDKEEPER_BINARY=$SHARDKEEPER_BINARY is not an executable"
        echo "$SHARDKEEPER_BINARY"
        return
    fi
    command -v cargo >/dev/null 2>&1 || die "cargo is missing: install the Rust toolchain or set SHARDKEEPER_BINARY"
    say "shardkeeper: cargo build --release --locked (on the host)" >&2
    local start=$SECONDS
    (cd "$REPO" && cargo build --release --locked --bin shardkeeper) >&2
    say "shardkeeper: cargo done in $(elapsed "$start")" >&2
    local target=${CARGO_TARGET_DIR:-$REPO/target}
    case $target in /*) ;; *) target=$REPO/$target ;; esac
    echo "$target/release/shardkeeper"
}

build_shardkeeper() {
    require_image "$BASE_IMAGE" base
    local binary start work
    binary=$(shardkeeper_binary)
    start=$SECONDS
    work=$(mktemp -d "${TMPDIR:-/tmp}/shardkeeper-image.XXXXXX")
    # The build context holds only the Dockerfile and the binary (not the repository's target/).
    cp "$DEPLOY/images/shardkeeper/Dockerfile" "$work/"
    cp "$binary" "$work/shardkeeper"
    say "$SHARDKEEPER_IMAGE: docker build --pull=false FROM $BASE_IMAGE"
    build_dockerfile "$SHARDKEEPER_IMAGE" "$work"
    rm -rf "$work"
    # A binary linked against a newer glibc than bookworm's fails here, not in the deployment.
    local version
    version=$(docker run --rm --entrypoint /usr/local/bin/shardkeeper "$SHARDKEEPER_IMAGE" --version 2>&1) ||
        die "the shardkeeper binary does not run in $BASE_IMAGE (built on a newer glibc than bookworm's?): $version"
    say "$SHARDKEEPER_IMAGE: built in $(elapsed "$start") ($version)"
}

build_mariadb() {
    require_image "$MARIADB_BASE_IMAGE" mariadb-base
    local start=$SECONDS
    say "$MARIADB_IMAGE: docker build --pull=false FROM $MARIADB_BASE_IMAGE"
    build_dockerfile "$MARIADB_IMAGE" "$DEPLOY/images/mariadb"
    say "$MARIADB_IMAGE: built in $(elapsed "$start") ($(docker run --rm --entrypoint mariadbd "$MARIADB_IMAGE" --version 2>&1 | head -n1))"
}

total=$SECONDS
# Debian's postinst initialises /var/lib/mysql; the image keeps it empty so that the entrypoint
# initialises each server's own datadir (and a named volume starts empty). mmdebstrap runs the hook
# with the root directory as "$1".
# shellcheck disable=SC2016
EMPTY_DATADIR_HOOK='rm -rf "$1"/var/lib/mysql && mkdir -p "$1"/var/lib/mysql "$1"/run/mysqld && chroot "$1" chown mysql:mysql /var/lib/mysql /run/mysqld'

for image in "${wanted[@]}"; do
    case $image in
        base) make_base "$BASE_IMAGE" "$BASE_PACKAGES" ;;
        mariadb-base) make_base "$MARIADB_BASE_IMAGE" "$MARIADB_BASE_PACKAGES" "$EMPTY_DATADIR_HOOK" ;;
        shardkeeper) build_shardkeeper ;;
        mariadb) build_mariadb ;;
    esac
done

# Every image the compose file names must now be local: `up` never pulls.
missing=()
# shellcheck disable=SC2013 # image names have no spaces
for image in $(sed -n 's/^ *image: *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' "$DEPLOY/docker-compose.yml" | sort -u); do
    image_exists "$image" || missing+=("$image")
done
if [ ${#missing[@]} -gt 0 ]; then
    say "not built yet (docker-compose.yml needs them): ${missing[*]}"
fi
say "done in $(elapsed "$total")"
docker image ls --filter 'reference=shardkeeper/*' --format '    {{.Repository}}:{{.Tag}}  {{.Size}}  {{.CreatedSince}}'
