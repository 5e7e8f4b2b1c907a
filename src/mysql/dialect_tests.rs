//! Exact SQL of every flavor, escaping, and the parsing of fixed-shape answers.

use std::time::Duration;

use super::*;
use crate::meta::Secret;

const ALL: [Flavor; 3] = [Flavor::MariaDb, Flavor::MySql80, Flavor::MySql84];

/// A statement generator of this module and its output for each flavor.
type StatementCase = (fn(Flavor) -> &'static str, [&'static str; 3]);

fn per_flavor(f: impl Fn(Flavor) -> String) -> [String; 3] {
    ALL.map(f)
}

#[test]
fn replication_statements() {
    // (generator, [mariadb, mysql-8.0, mysql-8.4])
    let cases: [StatementCase; 5] = [
        (
            replica_status,
            [
                "SHOW SLAVE STATUS",
                "SHOW REPLICA STATUS",
                "SHOW REPLICA STATUS",
            ],
        ),
        (
            stop_replication,
            ["STOP SLAVE", "STOP REPLICA", "STOP REPLICA"],
        ),
        (
            start_replication,
            ["START SLAVE", "START REPLICA", "START REPLICA"],
        ),
        (
            reset_replication,
            ["RESET SLAVE ALL", "RESET REPLICA ALL", "RESET REPLICA ALL"],
        ),
        (
            replica_hosts,
            ["SHOW SLAVE HOSTS", "SHOW REPLICAS", "SHOW REPLICAS"],
        ),
    ];
    for (generate, want) in cases {
        assert_eq!(per_flavor(|f| generate(f).to_string()), want);
    }
}

#[test]
fn read_only_statements() {
    let on = per_flavor(|f| set_read_only(f, true).to_string());
    assert_eq!(
        on,
        [
            "SET GLOBAL read_only = ON",
            "SET GLOBAL super_read_only = ON",
            "SET GLOBAL super_read_only = ON"
        ]
    );
    let off = per_flavor(|f| set_read_only(f, false).to_string());
    assert_eq!(off, ["SET GLOBAL read_only = OFF"; 3].map(String::from));
}

fn source(password: &str) -> ReplicationSource {
    ReplicationSource::new("10.0.0.7", 3307, "repl", Secret::new(password))
}

#[test]
fn change_source_statements() {
    let want = [
        "CHANGE MASTER TO MASTER_HOST='10.0.0.7', MASTER_PORT=3307, MASTER_USER='repl', \
         MASTER_PASSWORD='s3cret', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1, \
         MASTER_HEARTBEAT_PERIOD=0.5",
        "CHANGE REPLICATION SOURCE TO SOURCE_HOST='10.0.0.7', SOURCE_PORT=3307, SOURCE_USER='repl', \
         SOURCE_PASSWORD='s3cret', SOURCE_AUTO_POSITION=1, SOURCE_CONNECT_RETRY=1, \
         SOURCE_HEARTBEAT_PERIOD=0.5, GET_SOURCE_PUBLIC_KEY=1",
        "CHANGE REPLICATION SOURCE TO SOURCE_HOST='10.0.0.7', SOURCE_PORT=3307, SOURCE_USER='repl', \
         SOURCE_PASSWORD='s3cret', SOURCE_AUTO_POSITION=1, SOURCE_CONNECT_RETRY=1, \
         SOURCE_HEARTBEAT_PERIOD=0.5, GET_SOURCE_PUBLIC_KEY=1",
    ];
    for (flavor, want) in ALL.into_iter().zip(want) {
        let sql = change_source(flavor, &source("s3cret"));
        assert_eq!(sql.expose_sql(), want, "{flavor}");
        assert_eq!(
            sql.redacted(),
            want.replace("'s3cret'", "'<redacted>'"),
            "{flavor}"
        );
        assert_eq!(sql.secret().expose(), "s3cret");
    }
}

#[test]
fn change_source_escapes_and_hides_the_password() {
    let password = r"it's a \ secret";
    for flavor in ALL {
        let sql = change_source(flavor, &source(password));
        assert!(
            sql.expose_sql().contains(r"_PASSWORD='it''s a \\ secret',"),
            "{}",
            sql.redacted()
        );
        let debug = format!("{sql:?}");
        assert!(
            !debug.contains("secret'") && !debug.contains("it''s"),
            "{debug}"
        );
        assert!(debug.contains("<redacted>"), "{debug}");
    }
}

#[test]
fn change_source_settings() {
    // (heartbeat, connect retry, expected fragment)
    let cases = [
        (
            Duration::from_millis(500),
            1,
            "CONNECT_RETRY=1, MASTER_HEARTBEAT_PERIOD=0.5",
        ),
        (
            Duration::from_secs(2),
            5,
            "CONNECT_RETRY=5, MASTER_HEARTBEAT_PERIOD=2",
        ),
        (
            Duration::from_millis(1250),
            0,
            "CONNECT_RETRY=1, MASTER_HEARTBEAT_PERIOD=1.25",
        ),
        (
            Duration::from_micros(1500),
            1,
            "MASTER_HEARTBEAT_PERIOD=0.001",
        ),
        (Duration::ZERO, 1, "MASTER_HEARTBEAT_PERIOD=0"),
    ];
    for (heartbeat, retry, want) in cases {
        let mut src = source("x");
        src.heartbeat = heartbeat;
        src.connect_retry_secs = retry;
        let sql = change_source(Flavor::MariaDb, &src);
        assert!(sql.expose_sql().contains(want), "{}", sql.redacted());
    }
    let mut src = source("x");
    src.host = "db'1".into();
    src.user = r"re\pl".into();
    let sql = change_source(Flavor::MySql84, &src);
    assert!(sql
        .expose_sql()
        .contains(r"SOURCE_HOST='db''1', SOURCE_PORT=3307, SOURCE_USER='re\\pl'"));
}

#[test]
fn escaping() {
    let cases = [
        ("", "''"),
        ("plain", "'plain'"),
        ("it's", "'it''s'"),
        (r"back\slash", r"'back\\slash'"),
        (r"\'", r"'\\'''"),
        ("nul\0", r"'nul\0'"),
        ("a\nb\rc", r"'a\nb\rc'"),
        ("z\u{1a}", r"'z\Z'"),
        ("ünï", "'ünï'"),
    ];
    for (text, want) in cases {
        assert_eq!(quote(text), want, "{text:?}");
    }
}

#[test]
fn sql_mode_fix() {
    let cases = [
        ("", None),
        ("STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION", None),
        ("NO_BACKSLASH_ESCAPES", Some("SET SESSION sql_mode = ''")),
        (
            "STRICT_TRANS_TABLES,NO_BACKSLASH_ESCAPES,ANSI_QUOTES",
            Some("SET SESSION sql_mode = 'STRICT_TRANS_TABLES,ANSI_QUOTES'"),
        ),
    ];
    for (mode, want) in cases {
        assert_eq!(fix_sql_mode(mode).as_deref(), want, "{mode:?}");
    }
}

#[test]
fn semi_sync_and_flags() {
    let names = ALL.map(semi_sync_names);
    assert_eq!(names[0].source_enabled, "rpl_semi_sync_master_enabled");
    assert_eq!(names[0].replica_enabled, "rpl_semi_sync_slave_enabled");
    assert_eq!(names[0].source_status, "Rpl_semi_sync_master_status");
    for n in &names[1..] {
        assert_eq!(n.source_enabled, "rpl_semi_sync_source_enabled");
        assert_eq!(n.replica_enabled, "rpl_semi_sync_replica_enabled");
        assert_eq!(n.source_status, "Rpl_semi_sync_source_status");
    }
    assert_eq!(
        set_global_flag("rpl_semi_sync_master_enabled", true),
        "SET GLOBAL rpl_semi_sync_master_enabled = ON"
    );
    assert_eq!(
        set_global_flag("rpl_semi_sync_replica_enabled", false),
        "SET GLOBAL rpl_semi_sync_replica_enabled = OFF"
    );
}

const FILTER: &str = "ID <> CONNECTION_ID() AND USER NOT IN ('system user', 'event_scheduler', \
     'unauthenticated user', 'DELAYED') AND COMMAND NOT IN ('Binlog Dump', 'Binlog Dump GTID', \
     'Daemon', 'Killed', 'Connect', 'Slave_IO', 'Slave_SQL', 'Slave_worker')";

#[test]
fn sessions_and_kill() {
    assert_eq!(
        client_session_ids(None),
        format!("SELECT ID FROM information_schema.PROCESSLIST WHERE {FILTER}")
    );
    let spared = FILTER.replace("CONNECTION_ID()", "CONNECTION_ID() AND ID <> 17");
    assert_eq!(
        client_session_ids(Some(17)),
        format!("SELECT ID FROM information_schema.PROCESSLIST WHERE {spared}")
    );
    assert_eq!(kill(42), "KILL CONNECTION 42");
}

#[test]
fn semi_sync_kill_connection_is_bounded_on_mariadb_only() {
    assert_eq!(
        ALL.map(bound_semi_sync_kill_connection),
        [Some("SET GLOBAL rpl_semi_sync_slave_kill_conn_timeout = 1"), None, None]
    );
}

#[test]
fn probe_statements() {
    let count = format!("(SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE {FILTER})");
    let maria = format!(
        "SELECT @@global.version, @@global.server_id, @@global.read_only, @@global.log_bin, \
         @@global.log_slave_updates, @@global.gtid_binlog_state, @@global.gtid_slave_pos, \
         @@global.rpl_semi_sync_master_enabled, @@global.rpl_semi_sync_slave_enabled, \
         (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = \
         'Rpl_semi_sync_master_status'), {count}, NULL"
    );
    let mysql = format!(
        "SELECT @@global.version, @@global.server_id, @@global.read_only, @@global.log_bin, \
         @@global.log_replica_updates, @@global.gtid_executed, '', \
         (SELECT VARIABLE_VALUE FROM performance_schema.global_variables WHERE VARIABLE_NAME = \
         'rpl_semi_sync_source_enabled'), \
         (SELECT VARIABLE_VALUE FROM performance_schema.global_variables WHERE VARIABLE_NAME = \
         'rpl_semi_sync_replica_enabled'), \
         (SELECT VARIABLE_VALUE FROM performance_schema.global_status WHERE VARIABLE_NAME = \
         'Rpl_semi_sync_source_status'), {count}, @@global.server_uuid"
    );
    assert_eq!(
        per_flavor(|f| probe(f, None)),
        [maria, mysql.clone(), mysql]
    );
    assert!(probe(Flavor::MariaDb, Some(9)).contains("ID <> CONNECTION_ID() AND ID <> 9 AND"));
    assert_eq!(
        per_flavor(|f| probe_with_replica_status(f, Some(9))),
        [
            format!("{}; SHOW SLAVE STATUS", probe(Flavor::MariaDb, Some(9))),
            format!("{}; SHOW REPLICA STATUS", probe(Flavor::MySql80, Some(9))),
            format!("{}; SHOW REPLICA STATUS", probe(Flavor::MySql84, Some(9))),
        ]
    );
}

fn row(values: &[Option<&str>]) -> Vec<Option<String>> {
    values.iter().map(|v| v.map(String::from)).collect()
}

#[test]
fn probe_rows() {
    let maria = row(&[
        Some("10.11.19-MariaDB-0+deb12u1-log"),
        Some("2"),
        Some("1"),
        Some("1"),
        Some("1"),
        Some("0-1-7,0-2-9"),
        Some("0-1-8"),
        Some("0"),
        Some("1"),
        Some("OFF"),
        Some("3"),
        None,
    ]);
    let vars = parse_probe(Flavor::MariaDb, "h:1", &maria).unwrap();
    assert_eq!(vars.version, "10.11.19-MariaDB-0+deb12u1-log");
    assert_eq!(vars.server_id, 2);
    assert_eq!(vars.server_uuid, None);
    assert!(vars.read_only && vars.log_bin && vars.log_replica_updates);
    assert_eq!(vars.gtid_executed.to_string(), "0-1-8,0-2-9");
    assert!(!vars.semi_sync_source_enabled && vars.semi_sync_replica_enabled);
    assert!(!vars.semi_sync_source_active);
    assert_eq!(vars.client_count, 3);

    let uuid = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
    let gtids = format!("{uuid}:1-5,\n8a94f357-aab4-11df-86ab-c80aa9429562:1-3");
    let mysql = row(&[
        Some("8.4.3"),
        Some("101"),
        Some("0"),
        Some("1"),
        Some("1"),
        Some(&gtids),
        Some(""),
        Some("ON"),
        None,
        Some("ON"),
        Some("0"),
        Some("3E11FA47-71CA-11E1-9E33-C80AA9429562"),
    ]);
    let vars = parse_probe(Flavor::MySql84, "h:1", &mysql).unwrap();
    assert_eq!(vars.server_id, 101);
    assert_eq!(
        vars.server_uuid.as_deref(),
        Some("3E11FA47-71CA-11E1-9E33-C80AA9429562")
    );
    assert!(!vars.read_only);
    assert_eq!(vars.gtid_executed.transaction_count(), 8);
    assert!(vars.semi_sync_source_enabled && vars.semi_sync_source_active);
    assert!(
        !vars.semi_sync_replica_enabled,
        "plugin not loaded reads as off"
    );

    let mut short = maria.clone();
    short.pop();
    assert!(matches!(
        parse_probe(Flavor::MariaDb, "h:1", &short),
        Err(DbError::Unexpected { .. })
    ));
    let mut bad = maria.clone();
    bad[1] = Some("x".into());
    assert!(matches!(
        parse_probe(Flavor::MariaDb, "h:1", &bad),
        Err(DbError::Unexpected { .. })
    ));
    let mut bad = maria;
    bad[5] = Some("nonsense".into());
    assert!(matches!(
        parse_probe(Flavor::MariaDb, "h:1", &bad),
        Err(DbError::InvalidGtid { .. })
    ));
}

#[test]
fn flags() {
    for (value, want) in [
        ("1", true),
        ("ON", true),
        ("on", true),
        ("YES", true),
        (" TRUE ", true),
    ] {
        assert_eq!(flag(value), want, "{value}");
    }
    for value in ["0", "OFF", "", "NO", "2"] {
        assert!(!flag(value), "{value}");
    }
}

#[test]
fn executed_gtid_statements() {
    assert_eq!(
        per_flavor(|f| executed_gtids_query(f).to_string()),
        [
            "SELECT @@global.gtid_binlog_state, @@global.gtid_slave_pos",
            "SELECT @@global.gtid_executed, ''",
            "SELECT @@global.gtid_executed, ''"
        ]
    );
    // (binlog state, slave pos, executed)
    let cases = [
        ("", "", ""),
        ("0-1-7", "", "0-1-7"),
        ("", "0-1-7", "0-1-7"),
        ("0-1-7,0-2-3", "0-1-9", "0-1-9,0-2-3"),
    ];
    for (state, pos, want) in cases {
        assert_eq!(
            executed_gtids(Flavor::MariaDb, state, pos)
                .unwrap()
                .to_string(),
            want
        );
    }
    assert_eq!(
        MARIADB_POSITIONS,
        "SELECT @@global.gtid_binlog_pos, @@global.gtid_slave_pos"
    );
    let pos = MariaDbGtids::parse("0-1-9,1-2-3").unwrap();
    assert_eq!(
        set_gtid_slave_pos(&pos),
        "SET GLOBAL gtid_slave_pos = '0-1-9,1-2-3'"
    );
}

#[test]
fn gtid_waits() {
    assert_eq!(
        per_flavor(|f| wait_for_gtids(f).to_string()),
        [
            "SELECT MASTER_GTID_WAIT(?, ?)",
            "SELECT WAIT_FOR_EXECUTED_GTID_SET(?, ?)",
            "SELECT WAIT_FOR_EXECUTED_GTID_SET(?, ?)"
        ]
    );
    // (flavor, timeout, argument)
    let cases = [
        (Flavor::MariaDb, Duration::from_millis(1500), 1.5),
        (Flavor::MariaDb, Duration::ZERO, 0.001),
        (Flavor::MySql80, Duration::from_millis(1500), 2.0),
        (Flavor::MySql84, Duration::from_secs(3), 3.0),
        (Flavor::MySql84, Duration::ZERO, 1.0),
    ];
    for (flavor, timeout, want) in cases {
        assert_eq!(
            wait_timeout_arg(flavor, timeout),
            want,
            "{flavor} {timeout:?}"
        );
    }
    // (flavor, answer, reached)
    let cases = [
        (Flavor::MariaDb, Some(0), Some(true)),
        (Flavor::MariaDb, Some(-1), Some(false)),
        (Flavor::MariaDb, None, None),
        (Flavor::MariaDb, Some(1), None),
        (Flavor::MySql80, Some(0), Some(true)),
        (Flavor::MySql84, Some(1), Some(false)),
        (Flavor::MySql84, Some(-1), None),
        (Flavor::MySql84, Some(2), None),
    ];
    for (flavor, answer, want) in cases {
        assert_eq!(wait_reached(flavor, answer), want, "{flavor} {answer:?}");
    }
}

#[test]
fn replica_net_timeout() {
    // (timeout, [mariadb, mysql-8.0, mysql-8.4])
    let cases = [
        (
            Duration::from_secs(2),
            [
                "SET GLOBAL slave_net_timeout = 2",
                "SET GLOBAL replica_net_timeout = 2",
                "SET GLOBAL replica_net_timeout = 2",
            ],
        ),
        (
            Duration::from_millis(300),
            [
                "SET GLOBAL slave_net_timeout = 1",
                "SET GLOBAL replica_net_timeout = 1",
                "SET GLOBAL replica_net_timeout = 1",
            ],
        ),
    ];
    for (timeout, want) in cases {
        assert_eq!(per_flavor(|f| set_replica_net_timeout(f, timeout)), want);
    }
}
