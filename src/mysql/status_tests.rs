//! Replica status rows recorded from real servers (`\G` output in `testdata/`): MariaDB 10.11
//! running, connecting after its primary died, stopped, SQL thread failed; MySQL 8.0 with the old
//! column names (connecting), MySQL 8.0 and 8.4 with the new ones (running with lag, SQL error,
//! I/O error after purged binlogs).

use super::*;

/// Parses `SHOW ... STATUS\G` output: `Name: value` lines, `NULL` as SQL NULL, lines that do
/// not start a column continuing the previous value (MySQL prints GTID sets over several lines).
fn recorded(text: &str) -> StatusRow {
    let mut row = StatusRow::new();
    let mut last: Option<String> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        let column = trimmed.split_once(':').filter(|(name, _)| {
            name.starts_with(|c: char| c.is_ascii_alphabetic())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
        match (column, &last) {
            (Some((name, value)), _) => {
                let value = value.strip_prefix(' ').unwrap_or(value);
                let value = (value != "NULL").then(|| value.to_string());
                row.insert(name.to_string(), value);
                last = Some(name.to_string());
            }
            (_, Some(name)) => {
                if let Some(Some(v)) = row.get_mut(name) {
                    v.push('\n');
                    v.push_str(trimmed);
                }
            }
            _ => {}
        }
    }
    row
}

fn parse(flavor: Flavor, file: &str) -> ReplicaStatus {
    parse_replica_status(flavor, "db:3306", &recorded(file)).unwrap()
}

const U1: &str = "3e11fa47-71ca-11e1-9e33-c80aa9429562";

#[test]
fn mariadb_10_11() {
    // (recording, io state, sql running, lag, io error contains, sql error contains)
    let cases = [
        (
            include_str!("testdata/mariadb-10.11-running.txt"),
            IoThreadState::Running,
            true,
            Some(0),
            "",
            "",
        ),
        (
            include_str!("testdata/mariadb-10.11-connecting.txt"),
            IoThreadState::Connecting,
            true,
            None,
            "Connection refused",
            "",
        ),
        (
            include_str!("testdata/mariadb-10.11-stopped.txt"),
            IoThreadState::Stopped,
            false,
            None,
            "",
            "",
        ),
        (
            include_str!("testdata/mariadb-10.11-sql-error.txt"),
            IoThreadState::Running,
            false,
            None,
            "",
            "Operation CREATE USER failed for 'admin'@'%'",
        ),
    ];
    for (text, io, sql, lag, io_err, sql_err) in cases {
        let st = parse(Flavor::MariaDb, text);
        assert_eq!(st.source_host, "127.0.0.1");
        assert_eq!(st.source_port, 34301);
        assert_eq!(st.source_addr(), "127.0.0.1:34301");
        assert_eq!(st.io_state, io);
        assert_eq!(st.sql_running, sql);
        assert_eq!(st.seconds_behind_source, lag);
        assert!(st.last_io_error.contains(io_err), "{}", st.last_io_error);
        assert_eq!(st.last_io_error.is_empty(), io_err.is_empty());
        assert!(st.last_sql_error.contains(sql_err), "{}", st.last_sql_error);
        assert_eq!(st.last_sql_error.is_empty(), sql_err.is_empty());
        assert!(st.using_gtid);
        assert_eq!(
            st.received_gtids,
            GtidSet::parse(Flavor::MariaDb, "0-1-7").unwrap()
        );
        assert_eq!(st.io_running_or_connecting(), io != IoThreadState::Stopped);
    }
}

#[test]
fn mysql_80_and_84() {
    // (flavor, recording, host, port, io state, sql running, lag, io errno text, sql error text,
    //  received)
    let cases = [
        (
            Flavor::MySql80,
            include_str!("testdata/mysql-8.0-slave-status-connecting.txt"),
            "10.0.0.5",
            3306,
            IoThreadState::Connecting,
            true,
            None,
            "Can't connect to MySQL server",
            "",
            format!("{U1}:1-57"),
        ),
        (
            Flavor::MySql80,
            include_str!("testdata/mysql-8.0-replica-status-running.txt"),
            "db1.internal",
            3306,
            IoThreadState::Running,
            true,
            Some(12),
            "",
            "",
            format!("{U1}:1-1042"),
        ),
        (
            Flavor::MySql84,
            include_str!("testdata/mysql-8.4-replica-status-sql-error.txt"),
            "10.0.0.5",
            3306,
            IoThreadState::Running,
            false,
            None,
            "",
            "Worker 1 failed executing transaction",
            format!("{U1}:1-58"),
        ),
        (
            Flavor::MySql84,
            include_str!("testdata/mysql-8.4-replica-status-io-error.txt"),
            "10.0.0.9",
            3307,
            IoThreadState::Stopped,
            true,
            None,
            "source purged required binary logs",
            "",
            String::new(),
        ),
    ];
    for (flavor, text, host, port, io, sql, lag, io_err, sql_err, received) in cases {
        let st = parse(flavor, text);
        assert_eq!((st.source_host.as_str(), st.source_port), (host, port));
        assert_eq!(st.io_state, io, "{host}");
        assert_eq!(st.sql_running, sql, "{host}");
        assert_eq!(st.seconds_behind_source, lag, "{host}");
        assert!(st.last_io_error.contains(io_err), "{}", st.last_io_error);
        assert_eq!(st.last_io_error.is_empty(), io_err.is_empty());
        assert!(st.last_sql_error.contains(sql_err), "{}", st.last_sql_error);
        assert_eq!(st.last_sql_error.is_empty(), sql_err.is_empty());
        assert!(st.using_gtid);
        assert_eq!(
            st.received_gtids,
            GtidSet::parse(flavor, &received).unwrap(),
            "{host}"
        );
    }
}

#[test]
fn recorded_parser_joins_continuation_lines() {
    let row = recorded(include_str!(
        "testdata/mysql-8.4-replica-status-sql-error.txt"
    ));
    let executed = row["Executed_Gtid_Set"].clone().unwrap();
    assert_eq!(
        executed,
        format!("{U1}:1-57,\n8a94f357-aab4-11df-86ab-c80aa9429562:1-3")
    );
    assert_eq!(row["SQL_Remaining_Delay"], None);
    assert_eq!(row["Channel_Name"], Some(String::new()));
    assert_eq!(
        GtidSet::parse(Flavor::MySql84, &executed)
            .unwrap()
            .transaction_count(),
        60
    );
}

#[test]
fn column_names_are_case_insensitive_and_required() {
    let mut row = recorded(include_str!("testdata/mariadb-10.11-running.txt"));
    let host = row.remove("Master_Host").unwrap();
    row.insert("MASTER_HOST".into(), host);
    assert_eq!(
        parse_replica_status(Flavor::MariaDb, "db", &row)
            .unwrap()
            .source_host,
        "127.0.0.1"
    );

    for missing in [
        "MASTER_HOST",
        "Slave_IO_Running",
        "Gtid_IO_Pos",
        "Using_Gtid",
        "Last_SQL_Error",
    ] {
        let mut row = row.clone();
        row.remove(missing);
        let err = parse_replica_status(Flavor::MariaDb, "db", &row).unwrap_err();
        assert!(
            matches!(err, DbError::Unexpected { .. }),
            "{missing}: {err}"
        );
    }
    // A MariaDB row read as MySQL lacks Auto_Position.
    assert!(parse_replica_status(Flavor::MySql84, "db", &row).is_err());
}

#[test]
fn bad_values() {
    let base = recorded(include_str!(
        "testdata/mysql-8.0-replica-status-running.txt"
    ));
    // (column, value, parses)
    let cases = [
        ("Source_Port", Some("x"), false),
        ("Source_Port", Some("70000"), false),
        ("Source_Port", Some(""), true),
        ("Seconds_Behind_Source", Some("-1"), false),
        ("Seconds_Behind_Source", Some(""), true),
        ("Retrieved_Gtid_Set", Some("garbage"), false),
        ("Auto_Position", Some("0"), true),
        ("Replica_IO_Running", None, true),
    ];
    for (column, value, ok) in cases {
        let mut row = base.clone();
        row.insert(column.into(), value.map(String::from));
        let result = parse_replica_status(Flavor::MySql80, "db", &row);
        assert_eq!(result.is_ok(), ok, "{column}={value:?}: {result:?}");
    }
}

#[test]
fn io_states() {
    let cases = [
        ("Yes", IoThreadState::Running),
        ("yes", IoThreadState::Running),
        ("Connecting", IoThreadState::Connecting),
        ("Preparing", IoThreadState::Connecting),
        ("No", IoThreadState::Stopped),
        ("", IoThreadState::Stopped),
    ];
    for (value, want) in cases {
        assert_eq!(IoThreadState::from_column(value), want, "{value}");
    }
    assert_eq!(
        serde_json::to_string(&IoThreadState::Connecting).unwrap(),
        "\"connecting\""
    );
}

#[test]
fn channels() {
    let row = |channel: Option<&str>, host: &str| {
        let mut r = StatusRow::new();
        r.insert("Source_Host".into(), Some(host.into()));
        if let Some(c) = channel {
            r.insert("Channel_Name".into(), Some(c.into()));
        }
        r
    };
    // (rows, chosen host)
    let cases = [
        (vec![], None),
        (vec![row(None, "a")], Some("a")),
        (vec![row(Some("x"), "a"), row(Some(""), "b")], Some("b")),
        (vec![row(Some("x"), "a"), row(Some("y"), "b")], Some("a")),
    ];
    for (rows, want) in cases {
        let got = default_channel(rows).and_then(|r| r["Source_Host"].clone());
        assert_eq!(got.as_deref(), want);
    }
}

#[test]
fn host_port() {
    assert_eq!(join_host_port("db1", 3306), "db1:3306");
    assert_eq!(join_host_port("::1", 3306), "[::1]:3306");
    assert_eq!(join_host_port("[::1]", 3306), "[::1]:3306");
}

/// Keeping only the columns the parsing reads changes nothing.
#[test]
fn read_columns_are_enough() {
    let cases = [
        (Flavor::MariaDb, include_str!("testdata/mariadb-10.11-running.txt")),
        (Flavor::MariaDb, include_str!("testdata/mariadb-10.11-sql-error.txt")),
        (Flavor::MySql80, include_str!("testdata/mysql-8.0-slave-status-connecting.txt")),
        (Flavor::MySql84, include_str!("testdata/mysql-8.4-replica-status-io-error.txt")),
    ];
    for (flavor, text) in cases {
        let full = recorded(text);
        let kept: StatusRow = full.clone().into_iter().filter(|(name, _)| is_read_column(name)).collect();
        assert!(kept.len() < full.len());
        assert_eq!(parse_replica_status(flavor, "db:3306", &kept).unwrap(), parse_replica_status(flavor, "db:3306", &full).unwrap());
    }
}
