//! `ReplicaStatus`: one row of `SHOW SLAVE STATUS` / `SHOW REPLICA STATUS`, interpreted. Accepts
//! the MariaDB and MySQL 8.0 column names (`Master_Host`, `Slave_IO_Running`, ...) and the MySQL
//! 8.0.22+ / 8.4 ones (`Source_Host`, `Replica_IO_Running`, ...), case-insensitively. Pure; the
//! client turns a driver row into a `StatusRow` first.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::mysql::{DbError, Flavor, GtidSet};

/// A status row: column name → value (`None` for SQL NULL).
pub type StatusRow = BTreeMap<String, Option<String>>;

/// State of the replication I/O (receiver) thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IoThreadState {
    /// Connected to the source and receiving (`Yes`).
    Running,
    /// Trying to (re)connect (`Connecting`; MariaDB's `Preparing` counts as connecting).
    Connecting,
    /// Not running (`No`, or anything unknown).
    Stopped,
}

impl IoThreadState {
    pub fn from_column(value: &str) -> IoThreadState {
        match value.trim().to_ascii_lowercase().as_str() {
            "yes" => IoThreadState::Running,
            "connecting" | "preparing" => IoThreadState::Connecting,
            _ => IoThreadState::Stopped,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            IoThreadState::Running => "running",
            IoThreadState::Connecting => "connecting",
            IoThreadState::Stopped => "stopped",
        }
    }
}

/// Where a server replicates from and how that is going.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplicaStatus {
    pub source_host: String,
    pub source_port: u16,
    pub io_state: IoThreadState,
    pub sql_running: bool,
    pub last_io_error: String,
    pub last_sql_error: String,
    /// `None` when the server cannot tell (NULL: a thread is not running or not connected).
    pub seconds_behind_source: Option<u64>,
    /// MariaDB `Using_Gtid` not `No`; MySQL `Auto_Position` = 1.
    pub using_gtid: bool,
    /// What the I/O thread received: MariaDB `Gtid_IO_Pos`, MySQL `Retrieved_Gtid_Set`.
    pub received_gtids: GtidSet,
}

impl ReplicaStatus {
    /// True when the I/O thread is running or trying to connect: the replica still tries to
    /// follow its source.
    pub fn io_running_or_connecting(&self) -> bool {
        self.io_state != IoThreadState::Stopped
    }

    /// `host:port` of the source (IPv6 hosts in brackets).
    pub fn source_addr(&self) -> String {
        join_host_port(&self.source_host, self.source_port)
    }
}

/// `host:port`, bracketing IPv6 literals.
pub fn join_host_port(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Every column `parse_replica_status` and `default_channel` read, in either naming; the client
/// keeps only these of the 50-odd a status row has.
const READ_COLUMNS: [&str; 17] = [
    "Source_Host", "Master_Host", "Source_Port", "Master_Port", "Replica_IO_Running", "Slave_IO_Running",
    "Replica_SQL_Running", "Slave_SQL_Running", "Last_IO_Error", "Last_SQL_Error", "Seconds_Behind_Source",
    "Seconds_Behind_Master", "Using_Gtid", "Gtid_IO_Pos", "Auto_Position", "Retrieved_Gtid_Set", "Channel_Name",
];

/// The column is one the status parsing reads (case-insensitive).
pub fn is_read_column(name: &str) -> bool {
    READ_COLUMNS.iter().any(|column| column.eq_ignore_ascii_case(name))
}

/// Interprets one replica status row of a server of the given flavor. `addr` only labels errors.
pub fn parse_replica_status(
    flavor: Flavor,
    addr: &str,
    row: &StatusRow,
) -> Result<ReplicaStatus, DbError> {
    let lower: BTreeMap<String, Option<&str>> = row
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.as_deref()))
        .collect();
    let bad = |message: String| DbError::unexpected(addr, "replica status", message);
    // The first of the names present; Ok(None) for a NULL value.
    let column = |names: &[&str]| -> Result<Option<&str>, DbError> {
        names
            .iter()
            .find_map(|n| lower.get(&n.to_ascii_lowercase()).copied())
            .ok_or_else(|| bad(format!("no column {}", names.join(" / "))))
    };
    let text = |names: &[&str]| -> Result<String, DbError> {
        Ok(column(names)?.unwrap_or_default().to_string())
    };

    let port_text = text(&["Source_Port", "Master_Port"])?;
    let source_port = match port_text.trim() {
        "" => 0,
        p => p
            .parse::<u16>()
            .map_err(|_| bad(format!("bad port {p:?}")))?,
    };
    let seconds_behind_source = match column(&["Seconds_Behind_Source", "Seconds_Behind_Master"])? {
        None => None,
        Some(s) if s.trim().is_empty() => None,
        Some(s) => Some(
            s.trim()
                .parse::<u64>()
                .map_err(|_| bad(format!("bad lag {s:?}")))?,
        ),
    };
    let (using_gtid, received) = if flavor.is_mariadb() {
        let using = text(&["Using_Gtid"])?;
        let using = !using.trim().is_empty() && !using.trim().eq_ignore_ascii_case("no");
        (using, text(&["Gtid_IO_Pos"])?)
    } else {
        let auto = text(&["Auto_Position"])?;
        (auto.trim() == "1", text(&["Retrieved_Gtid_Set"])?)
    };

    Ok(ReplicaStatus {
        source_host: text(&["Source_Host", "Master_Host"])?,
        source_port,
        io_state: IoThreadState::from_column(&text(&["Replica_IO_Running", "Slave_IO_Running"])?),
        sql_running: text(&["Replica_SQL_Running", "Slave_SQL_Running"])?
            .trim()
            .eq_ignore_ascii_case("yes"),
        last_io_error: text(&["Last_IO_Error"])?,
        last_sql_error: text(&["Last_SQL_Error"])?,
        seconds_behind_source,
        using_gtid,
        received_gtids: GtidSet::parse(flavor, &received)?,
    })
}

/// Picks the default channel's row out of a status answer (MySQL lists one row per channel;
/// the default channel has an empty `Channel_Name`). MariaDB answers for the default connection.
pub fn default_channel(rows: Vec<StatusRow>) -> Option<StatusRow> {
    let is_default = |row: &StatusRow| {
        row.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("Channel_Name"))
            .is_none_or(|(_, v)| v.as_deref().unwrap_or_default().is_empty())
    };
    let mut first = None;
    for row in rows {
        if is_default(&row) {
            return Some(row);
        }
        first.get_or_insert(row);
    }
    first
}

#[cfg(test)]
#[path = "status_tests.rs"]
mod tests;
