#!/bin/bash
# Entrypoint of shardkeeper/mariadb:local. On the first start (empty /var/lib/mysql) it creates the
# datadir with mariadb-install-db and the accounts below, then it runs mariadbd with the server id and
# report host of this container. Every later start only runs mariadbd.
#
#   MARIADB_SERVER_ID        required; unique in the deployment (1..4294967295)
#   MARIADB_ADMIN_USER       account shardkeeper manages the server with (ALL PRIVILEGES), default shardkeeper
#   MARIADB_ADMIN_PASSWORD   required
#   MARIADB_APP_USER         application account, default app (none if MARIADB_APP_PASSWORD is empty)
#   MARIADB_APP_PASSWORD     its password
#   MARIADB_APP_DATABASE     database the application account may use, default app
#   MARIADB_REPORT_HOST      report_host, default this container's hostname
#
# The setup statements run with sql_log_bin=0: a blank server must have an empty gtid_binlog_state,
# because shardkeeper treats any GTID that a replica has and its master lacks as errant.
#
# Arguments starting with "-" are passed to mariadbd (e.g. --read-only=OFF); any other command
# (bash, mariadb, ...) is run instead of the server.
set -euo pipefail

DATADIR=/var/lib/mysql
IN_PROGRESS=$DATADIR/.shardkeeper-init-in-progress
DONE=$DATADIR/.shardkeeper-initialized

log() { printf '[entrypoint] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
    exec "$@"
fi

: "${MARIADB_SERVER_ID:?set MARIADB_SERVER_ID to a number unique in the deployment}"
case $MARIADB_SERVER_ID in
    '' | *[!0-9]* | 0) die "MARIADB_SERVER_ID must be a positive number, not '$MARIADB_SERVER_ID'" ;;
esac
ADMIN_USER=${MARIADB_ADMIN_USER:-shardkeeper}
APP_USER=${MARIADB_APP_USER:-app}
APP_PASSWORD=${MARIADB_APP_PASSWORD:-}
APP_DATABASE=${MARIADB_APP_DATABASE:-app}
REPORT_HOST=${MARIADB_REPORT_HOST:-$(hostname)}

# A string literal: backslashes and quotes escaped.
sql_string() {
    local s=${1//\\/\\\\}
    printf "'%s'" "${s//\'/\'\'}"
}
# An identifier: backticks doubled.
# shellcheck disable=SC2016 # literal backticks
sql_ident() { printf '`%s`' "${1//\`/\`\`}"; }

initialise() {
    : "${MARIADB_ADMIN_PASSWORD:?set MARIADB_ADMIN_PASSWORD (the password of $ADMIN_USER)}"
    log "first start: initialising $DATADIR (server_id $MARIADB_SERVER_ID)"
    find "$DATADIR" -mindepth 1 -delete
    touch "$IN_PROGRESS"
    chown -R mysql:mysql "$DATADIR"

    local setup
    setup=$(mktemp /tmp/setup.XXXXXX.sql)
    {
        echo "SET sql_log_bin=0;"
        echo "FLUSH PRIVILEGES;"
        echo "CREATE USER $(sql_string "$ADMIN_USER")@'%' IDENTIFIED BY $(sql_string "$MARIADB_ADMIN_PASSWORD");"
        echo "GRANT ALL PRIVILEGES ON *.* TO $(sql_string "$ADMIN_USER")@'%' WITH GRANT OPTION;"
        if [ -n "$APP_PASSWORD" ]; then
            echo "CREATE DATABASE IF NOT EXISTS $(sql_ident "$APP_DATABASE");"
            echo "CREATE USER $(sql_string "$APP_USER")@'%' IDENTIFIED BY $(sql_string "$APP_PASSWORD");"
            echo "GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, INDEX, ALTER ON $(sql_ident "$APP_DATABASE").* TO $(sql_string "$APP_USER")@'%';"
        fi
    } >"$setup"
    if ! mariadb-install-db --user=mysql --datadir="$DATADIR" --skip-test-db --skip-name-resolve \
        --auth-root-authentication-method=socket --extra-file="$setup" >/tmp/install-db.log 2>&1; then
        cat /tmp/install-db.log >&2
        rm -f "$setup"
        die "mariadb-install-db failed"
    fi
    rm -f "$setup"
    rm -f "$IN_PROGRESS"
    touch "$DONE"
    chown mysql:mysql "$DONE"
    log "initialised: accounts $ADMIN_USER${APP_PASSWORD:+, $APP_USER (database $APP_DATABASE)}"
}

mkdir -p /run/mysqld "$DATADIR"
chown mysql:mysql /run/mysqld "$DATADIR"
if [ -e "$DONE" ]; then
    log "datadir already initialised"
elif [ -e "$IN_PROGRESS" ] || [ -z "$(ls -A "$DATADIR")" ]; then
    # Empty, or an initialisation that was interrupted: nothing in it can matter yet.
    initialise
else
    log "$DATADIR holds a datadir this entrypoint did not create; starting it as it is"
fi

log "starting mariadbd: server_id=$MARIADB_SERVER_ID report_host=$REPORT_HOST"
exec mariadbd --user=mysql --server-id="$MARIADB_SERVER_ID" --report-host="$REPORT_HOST" "$@"
