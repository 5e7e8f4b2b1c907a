//! The SQL shardkeeper sends, per flavor. Pure text generation and the parsing of the few
//! fixed-shape answers that go with it (the probe row, wait results); no I/O.
//!
//! Dialect choices:
//! - MariaDB (10.5+): `SHOW SLAVE STATUS`, `STOP|START SLAVE`, `RESET SLAVE ALL`,
//!   `CHANGE MASTER TO ... MASTER_USE_GTID=slave_pos`, built-in semi-sync
//!   (`rpl_semi_sync_master_enabled` / `rpl_semi_sync_slave_enabled`).
//! - MySQL 8.0 means 8.0.26 or later and speaks exactly the 8.4 dialect: `SHOW REPLICA STATUS`,
//!   `STOP|START REPLICA`, `RESET REPLICA ALL` (8.0.22+), `CHANGE REPLICATION SOURCE TO ...
//!   SOURCE_AUTO_POSITION=1` (8.0.23+), `log_replica_updates` and the semi-sync `source` /
//!   `replica` names (8.0.26+; on 8.0 the `semisync_source` / `semisync_replica` plugins must be
//!   the ones loaded, not the older `semisync_master` / `semisync_slave`).
//! - Fencing on MySQL sets `super_read_only` (which implies `read_only`) so that users with
//!   administrative privileges cannot write either; clearing `read_only` clears both.
//! - String literals are escaped for the default SQL mode (backslash escapes on); the client
//!   removes `NO_BACKSLASH_ESCAPES` from its session when the server has it set.

use std::fmt;
use std::time::Duration;

use crate::meta::Secret;
use crate::mysql::{DbError, Flavor, GtidSet, MariaDbGtids, ReplicationSource};

/// A statement that contains a password. Its `Debug` shows the statement with the password
/// replaced, so logging it by accident leaks nothing; it has no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct SqlWithSecret {
    sql: String,
    redacted: String,
    secret: Secret,
}

impl SqlWithSecret {
    /// The statement to send. Never log it.
    pub fn expose_sql(&self) -> &str {
        &self.sql
    }

    /// The statement with the password literal replaced by `'<redacted>'`.
    pub fn redacted(&self) -> &str {
        &self.redacted
    }

    /// The password it carries, so that error messages can be scrubbed.
    pub fn secret(&self) -> &Secret {
        &self.secret
    }
}

impl fmt::Debug for SqlWithSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SqlWithSecret")
            .field(&self.redacted)
            .finish()
    }
}

/// Escapes text for use between single quotes (quote doubled; backslash, NUL, CR, LF and ^Z
/// backslash-escaped).
pub fn escape_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\u{1a}' => out.push_str("\\Z"),
            c => out.push(c),
        }
    }
    out
}

/// A single-quoted SQL string literal.
pub fn quote(text: &str) -> String {
    format!("'{}'", escape_string(text))
}

/// First statement of every session: the version (flavor detection) and the session SQL mode.
pub const CONNECT_SQL: &str = "SELECT @@version, @@session.sql_mode";

/// When the session SQL mode disables backslash escapes, the statement that re-enables them.
pub fn fix_sql_mode(sql_mode: &str) -> Option<String> {
    let modes: Vec<&str> = sql_mode.split(',').map(str::trim).collect();
    if !modes
        .iter()
        .any(|m| m.eq_ignore_ascii_case("NO_BACKSLASH_ESCAPES"))
    {
        return None;
    }
    let kept: Vec<&str> = modes
        .into_iter()
        .filter(|m| !m.is_empty() && !m.eq_ignore_ascii_case("NO_BACKSLASH_ESCAPES"))
        .collect();
    Some(format!(
        "SET SESSION sql_mode = '{}'",
        escape_string(&kept.join(","))
    ))
}

pub fn replica_status(flavor: Flavor) -> &'static str {
    if flavor.is_mariadb() {
        "SHOW SLAVE STATUS"
    } else {
        "SHOW REPLICA STATUS"
    }
}

pub fn stop_replication(flavor: Flavor) -> &'static str {
    if flavor.is_mariadb() {
        "STOP SLAVE"
    } else {
        "STOP REPLICA"
    }
}

/// MariaDB's semi-sync replica, as its IO thread stops, opens a new connection to the source to
/// kill its dump thread there and waits for it up to `rpl_semi_sync_slave_kill_conn_timeout`
/// (default 5 s): with the source cut off, `STOP SLAVE` then outlasts its own bound. Set before
/// stopping replication; MySQL has no setting for it.
pub fn bound_semi_sync_kill_connection(flavor: Flavor) -> Option<&'static str> {
    flavor.is_mariadb().then_some("SET GLOBAL rpl_semi_sync_slave_kill_conn_timeout = 1")
}

pub fn start_replication(flavor: Flavor) -> &'static str {
    if flavor.is_mariadb() {
        "START SLAVE"
    } else {
        "START REPLICA"
    }
}

/// Forgets the replication source entirely (connection settings and relay logs).
pub fn reset_replication(flavor: Flavor) -> &'static str {
    if flavor.is_mariadb() {
        "RESET SLAVE ALL"
    } else {
        "RESET REPLICA ALL"
    }
}

/// Replicas registered with this server (they need `report_host` to show a usable host).
pub fn replica_hosts(flavor: Flavor) -> &'static str {
    if flavor.is_mariadb() {
        "SHOW SLAVE HOSTS"
    } else {
        "SHOW REPLICAS"
    }
}

/// Points replication at a source with GTID auto-positioning, a short connect retry and a
/// short heartbeat, so the replica notices a dead source within about two seconds.
pub fn change_source(flavor: Flavor, source: &ReplicationSource) -> SqlWithSecret {
    let (verb, p, gtid, extra) = if flavor.is_mariadb() {
        (
            "CHANGE MASTER TO",
            "MASTER",
            "MASTER_USE_GTID=slave_pos",
            "",
        )
    } else {
        (
            "CHANGE REPLICATION SOURCE TO",
            "SOURCE",
            "SOURCE_AUTO_POSITION=1",
            ", GET_SOURCE_PUBLIC_KEY=1",
        )
    };
    let build = |password: &str| {
        format!(
            "{verb} {p}_HOST={host}, {p}_PORT={port}, {p}_USER={user}, {p}_PASSWORD={password}, \
             {gtid}, {p}_CONNECT_RETRY={retry}, {p}_HEARTBEAT_PERIOD={heartbeat}{extra}",
            host = quote(&source.host),
            port = source.port,
            user = quote(&source.user),
            retry = source.connect_retry_secs.max(1),
            heartbeat = seconds(source.heartbeat),
        )
    };
    SqlWithSecret {
        sql: build(&quote(source.password.expose())),
        redacted: build("'<redacted>'"),
        secret: source.password.clone(),
    }
}

/// Seconds with millisecond precision and no trailing zeros: 0.5 s → `0.5`, 2 s → `2`.
fn seconds(d: Duration) -> String {
    let text = format!("{}.{:03}", d.as_secs(), d.subsec_millis());
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Fences or unfences writes. MySQL fences with `super_read_only` (see the module doc).
pub fn set_read_only(flavor: Flavor, read_only: bool) -> &'static str {
    match (flavor.is_mariadb(), read_only) {
        (true, true) => "SET GLOBAL read_only = ON",
        (false, true) => "SET GLOBAL super_read_only = ON",
        (_, false) => "SET GLOBAL read_only = OFF",
    }
}

/// `SET GLOBAL name = ON|OFF` for one of the fixed variable names of this module.
pub fn set_global_flag(name: &str, on: bool) -> String {
    format!("SET GLOBAL {name} = {}", if on { "ON" } else { "OFF" })
}

/// Names of the semi-sync settings and status of a flavor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SemiSyncNames {
    pub source_enabled: &'static str,
    pub replica_enabled: &'static str,
    pub source_status: &'static str,
}

pub fn semi_sync_names(flavor: Flavor) -> SemiSyncNames {
    if flavor.is_mariadb() {
        SemiSyncNames {
            source_enabled: "rpl_semi_sync_master_enabled",
            replica_enabled: "rpl_semi_sync_slave_enabled",
            source_status: "Rpl_semi_sync_master_status",
        }
    } else {
        SemiSyncNames {
            source_enabled: "rpl_semi_sync_source_enabled",
            replica_enabled: "rpl_semi_sync_replica_enabled",
            source_status: "Rpl_semi_sync_source_status",
        }
    }
}

/// Sessions that are clients: not this one (nor `spare`, another session of ours), not system
/// or replication threads.
fn client_sessions_filter(spare: Option<u32>) -> String {
    let spare = spare
        .map(|id| format!(" AND ID <> {id}"))
        .unwrap_or_default();
    format!(
        "ID <> CONNECTION_ID(){spare} \
         AND USER NOT IN ('system user', 'event_scheduler', 'unauthenticated user', 'DELAYED') \
         AND COMMAND NOT IN ('Binlog Dump', 'Binlog Dump GTID', 'Daemon', 'Killed', 'Connect', \
         'Slave_IO', 'Slave_SQL', 'Slave_worker')"
    )
}

/// Ids of the client sessions (see `kill`).
pub fn client_session_ids(spare: Option<u32>) -> String {
    let filter = client_sessions_filter(spare);
    format!("SELECT ID FROM information_schema.PROCESSLIST WHERE {filter}")
}

pub fn kill(session_id: u64) -> String {
    format!("KILL CONNECTION {session_id}")
}

/// The one-row probe: everything but the replica status in one round trip. Columns, in order:
/// version, server_id, read_only, log_bin, log_replica_updates, executed GTIDs (MariaDB: binlog
/// state), MariaDB slave pos (MySQL: empty), semi-sync source enabled, replica enabled, source
/// status, client session count, server uuid (MySQL; NULL on MariaDB).
pub fn probe(flavor: Flavor, spare: Option<u32>) -> String {
    let names = semi_sync_names(flavor);
    let filter = client_sessions_filter(spare);
    let count = format!("(SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE {filter})");
    if flavor.is_mariadb() {
        format!(
            "SELECT @@global.version, @@global.server_id, @@global.read_only, @@global.log_bin, \
             @@global.log_slave_updates, @@global.gtid_binlog_state, @@global.gtid_slave_pos, \
             @@global.{}, @@global.{}, \
             (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = '{}'), \
             {count}, NULL",
            names.source_enabled, names.replica_enabled, names.source_status
        )
    } else {
        format!(
            "SELECT @@global.version, @@global.server_id, @@global.read_only, @@global.log_bin, \
             @@global.log_replica_updates, @@global.gtid_executed, '', \
             (SELECT VARIABLE_VALUE FROM performance_schema.global_variables WHERE VARIABLE_NAME = '{}'), \
             (SELECT VARIABLE_VALUE FROM performance_schema.global_variables WHERE VARIABLE_NAME = '{}'), \
             (SELECT VARIABLE_VALUE FROM performance_schema.global_status WHERE VARIABLE_NAME = '{}'), \
             {count}, @@global.server_uuid",
            names.source_enabled, names.replica_enabled, names.source_status
        )
    }
}

/// What a probe sends: [`probe`] and the replica status as one multi-statement query, so that
/// a probe is one round trip (two result sets: the probe row, then the replica status rows).
pub fn probe_with_replica_status(flavor: Flavor, spare: Option<u32>) -> String {
    format!("{}; {}", probe(flavor, spare), replica_status(flavor))
}

const PROBE_COLUMNS: usize = 12;

/// The probe row, interpreted (everything of `ServerState` but the replica status).
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeVars {
    pub version: String,
    pub server_id: u32,
    pub server_uuid: Option<String>,
    pub read_only: bool,
    pub log_bin: bool,
    pub log_replica_updates: bool,
    pub gtid_executed: GtidSet,
    pub semi_sync_source_enabled: bool,
    pub semi_sync_source_active: bool,
    pub semi_sync_replica_enabled: bool,
    pub client_count: u32,
}

/// Interprets the row of `probe`; `addr` only labels errors.
pub fn parse_probe(
    flavor: Flavor,
    addr: &str,
    row: &[Option<String>],
) -> Result<ProbeVars, DbError> {
    if row.len() != PROBE_COLUMNS {
        let message = format!("{} columns, want {PROBE_COLUMNS}", row.len());
        return Err(DbError::unexpected(addr, "probe", message));
    }
    let text = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
    let number = |i: usize, what: &str| {
        text(i)
            .trim()
            .parse::<u32>()
            .map_err(|_| DbError::unexpected(addr, "probe", format!("bad {what} {:?}", text(i))))
    };
    Ok(ProbeVars {
        version: text(0),
        server_id: number(1, "server_id")?,
        server_uuid: Some(text(11)).filter(|u| !u.trim().is_empty()),
        read_only: flag(&text(2)),
        log_bin: flag(&text(3)),
        log_replica_updates: flag(&text(4)),
        gtid_executed: executed_gtids(flavor, &text(5), &text(6))?,
        semi_sync_source_enabled: flag(&text(7)),
        semi_sync_replica_enabled: flag(&text(8)),
        semi_sync_source_active: flag(&text(9)),
        client_count: number(10, "client count")?,
    })
}

/// A boolean variable or status value: `1`, `ON`, `YES`, `TRUE` (any case) are true.
pub fn flag(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_uppercase().as_str(),
        "1" | "ON" | "YES" | "TRUE"
    )
}

/// The executed GTIDs alone: two columns, interpreted by `executed_gtids`.
pub fn executed_gtids_query(flavor: Flavor) -> &'static str {
    if flavor.is_mariadb() {
        "SELECT @@global.gtid_binlog_state, @@global.gtid_slave_pos"
    } else {
        "SELECT @@global.gtid_executed, ''"
    }
}

/// What a server has executed. MySQL: `gtid_executed`. MariaDB: the binlog state merged with
/// the slave position, so that replicated transactions count even with `log_slave_updates` off
/// or the binlog disabled (where `gtid_binlog_state` is empty and `gtid_current_pos` would be
/// the slave position anyway).
pub fn executed_gtids(flavor: Flavor, first: &str, second: &str) -> Result<GtidSet, DbError> {
    if flavor.is_mariadb() {
        let state = MariaDbGtids::parse(first)?;
        let slave_pos = MariaDbGtids::parse(second)?;
        Ok(GtidSet::MariaDb(state.union(&slave_pos)))
    } else {
        GtidSet::parse(flavor, first)
    }
}

/// MariaDB: the binlog and slave positions, read before repointing.
pub const MARIADB_POSITIONS: &str = "SELECT @@global.gtid_binlog_pos, @@global.gtid_slave_pos";

/// MariaDB: the statement that sets `gtid_slave_pos` (replication must be stopped).
pub fn set_gtid_slave_pos(position: &MariaDbGtids) -> String {
    format!(
        "SET GLOBAL gtid_slave_pos = {}",
        quote(&position.to_string())
    )
}

/// Waits for GTIDs; parameters: the wait position (`GtidSet::wait_position`) and the timeout
/// from `wait_timeout_arg`. Answers one integer, read by `wait_reached`.
pub fn wait_for_gtids(flavor: Flavor) -> &'static str {
    if flavor.is_mariadb() {
        "SELECT MASTER_GTID_WAIT(?, ?)"
    } else {
        "SELECT WAIT_FOR_EXECUTED_GTID_SET(?, ?)"
    }
}

/// The timeout argument in seconds: exact for MariaDB; whole seconds, rounded up, for MySQL,
/// whose function is documented with an integer timeout. Never below one millisecond (zero
/// would mean "no timeout" or "do not wait", depending on the server).
pub fn wait_timeout_arg(flavor: Flavor, timeout: Duration) -> f64 {
    let timeout = timeout.max(Duration::from_millis(1));
    if flavor.is_mariadb() {
        timeout.as_secs_f64()
    } else {
        timeout.as_secs_f64().ceil()
    }
}

/// The wait function's answer: `Some(true)` reached, `Some(false)` timed out, `None` anything
/// else (NULL, killed, an error code).
pub fn wait_reached(flavor: Flavor, answer: Option<i64>) -> Option<bool> {
    match (flavor.is_mariadb(), answer) {
        (_, Some(0)) => Some(true),
        (true, Some(-1)) | (false, Some(1)) => Some(false),
        _ => None,
    }
}

/// How long a replica's I/O thread waits for data (heartbeats included) before it declares its
/// source lost and reconnects: `slave_net_timeout` on MariaDB, `replica_net_timeout` on MySQL
/// 8.0.26+ and 8.4. Whole seconds, at least 1; keep it above the heartbeat period.
pub fn set_replica_net_timeout(flavor: Flavor, timeout: Duration) -> String {
    let name = if flavor.is_mariadb() {
        "slave_net_timeout"
    } else {
        "replica_net_timeout"
    };
    format!("SET GLOBAL {name} = {}", timeout.as_secs().max(1))
}

#[cfg(test)]
#[path = "dialect_tests.rs"]
mod tests;
