//! Tests of the MariaDB harness itself: blank servers, accounts, GTID replication, SIGKILL and
//! SIGSTOP behave as the scenarios built on it assume.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use crate::harness::eventually;
use crate::mariadb::{start_many, MariaDbServer, ADMIN_USER};

/// The server error code of `outcome`, if it failed with one.
fn server_error_code<T>(outcome: Result<T, mysql_async::Error>) -> Option<u16> {
    match outcome {
        Err(mysql_async::Error::Server(error)) => Some(error.code),
        _ => None,
    }
}

#[tokio::test]
async fn mariadb_harness_starts_blank_writable_servers() {
    // Three servers start concurrently with distinct server_ids and report ports, writable, with an
    // empty gtid_binlog_state (the account setup wrote no GTID) and semi-sync left off.
    let servers = start_many(3, 101).await;
    let mut ids = Vec::new();
    for server in &servers {
        let row = server
            .query_strings(
                "SELECT @@server_id, @@gtid_binlog_state, @@read_only, @@report_port, \
                 @@rpl_semi_sync_master_enabled, @@log_bin, @@gtid_strict_mode",
            )
            .await
            .remove(0);
        let expected = [server.server_id().to_string(), String::new(), "0".into(), server.port().to_string()];
        assert_eq!(row[..4], expected.map(Some), "server {}", server.server_id());
        assert_eq!(row[4..], ["0", "1", "1"].map(|value| Some(value.to_string())));
        assert_eq!(server.addr(), format!("127.0.0.1:{}", server.port()));
        ids.push(server.server_id());
    }
    assert_eq!(ids, [101, 102, 103]);
    let grants = servers[0].query_strings("SHOW GRANTS FOR 'app'@'%'").await;
    assert!(grants.iter().flatten().flatten().all(|grant| !grant.contains("SUPER")), "{grants:?}");
}

#[tokio::test]
async fn mariadb_harness_read_only_blocks_the_app_account() {
    // The app account writes while read_only=OFF, gets error 1290 (read-only) while it is ON, and
    // writes again once it is OFF; the admin account logs in with its quoted password.
    let server = MariaDbServer::start(111).await;
    let mut app = server.app_conn().await;
    app.query_drop("CREATE TABLE t (id INT PRIMARY KEY)").await.expect("app creates a table");
    app.query_drop("INSERT INTO t VALUES (1)").await.expect("app writes while writable");

    server.exec("SET GLOBAL read_only = ON").await;
    let blocked = app.query_drop("INSERT INTO t VALUES (2)").await;
    assert_eq!(server_error_code(blocked), Some(1290), "app write under read_only");

    server.exec("SET GLOBAL read_only = OFF").await;
    app.query_drop("INSERT INTO t VALUES (3)").await.expect("app writes once writable again");
    app.disconnect().await.expect("disconnect");
    assert_eq!(server.query_value("SELECT GROUP_CONCAT(id ORDER BY id) FROM app.t").await.as_deref(), Some("1,3"));
    assert_eq!(
        server.query_value("SELECT CURRENT_USER()").await.as_deref(),
        Some(format!("{ADMIN_USER}@127.0.0.1").as_str())
    );
}

#[tokio::test]
async fn mariadb_harness_gtid_replication_between_two_servers() {
    // A replica pointed at a primary with MASTER_USE_GTID=slave_pos and the admin account receives a
    // row inserted on the primary, and ends at the primary's GTID position.
    let servers = start_many(2, 121).await;
    let (primary, replica) = (&servers[0], &servers[1]);
    replica
        .exec(&format!(
            "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={}, MASTER_USER='{}', \
             MASTER_PASSWORD='{}', MASTER_USE_GTID=slave_pos; START SLAVE",
            primary.port(),
            primary.admin_user(),
            primary.admin_password().replace('\'', "''")
        ))
        .await;
    primary.exec("CREATE TABLE app.t (id INT PRIMARY KEY, note VARCHAR(20))").await;
    primary.exec("INSERT INTO app.t VALUES (1, 'replicated')").await;

    eventually("the row on the replica", Duration::from_secs(30), || async {
        let note = replica.try_query_value("SELECT note FROM app.t WHERE id = 1").await.ok()??;
        (note == "replicated").then_some(())
    })
    .await;
    let primary_pos = primary.query_value("SELECT @@gtid_binlog_pos").await;
    assert_eq!(primary_pos.as_deref(), Some("0-121-2"));
    assert_eq!(replica.query_value("SELECT @@gtid_slave_pos").await, primary_pos);
    assert_eq!(replica.query_value("SELECT @@gtid_binlog_state").await, primary_pos, "log_slave_updates");
}

#[tokio::test]
async fn mariadb_harness_sigkill_and_restart_keep_a_committed_row() {
    // A row acknowledged by autocommit survives SIGKILL (sync_binlog=1, flush at commit); the server
    // comes back on the same port with the same server_id and binlog state.
    let server = MariaDbServer::start(131).await;
    let (port, first_pid) = (server.port(), server.pid());
    let mut app = server.app_conn().await;
    app.query_drop("CREATE TABLE t (id INT PRIMARY KEY)").await.expect("create");
    app.query_drop("INSERT INTO t VALUES (42)").await.expect("insert");
    drop(app);
    let state = server.query_value("SELECT @@gtid_binlog_state").await;

    server.kill();
    assert!(!server.is_running());
    assert_eq!(server.pid(), None);
    assert!(Conn::new(server.admin_opts()).await.is_err(), "a killed server refuses logins");

    server.restart().await;
    assert!(server.is_running());
    assert!(server.log_tail().contains("ready for connections"), "{}", server.log_tail());
    assert_ne!(server.pid(), first_pid);
    assert_eq!(server.port(), port);
    assert_eq!(server.query_value("SELECT id FROM app.t").await.as_deref(), Some("42"));
    assert_eq!(server.query_value("SELECT @@server_id").await, Some("131".to_string()));
    assert_eq!(server.query_value("SELECT @@gtid_binlog_state").await, state);
}

#[tokio::test]
async fn mariadb_harness_pause_and_resume() {
    // While SIGSTOPped the server is alive but a login times out; after SIGCONT it succeeds.
    let server = MariaDbServer::start(141).await;
    server.pause();
    assert!(server.is_running(), "a paused server is still alive");
    let attempt = tokio::time::timeout(Duration::from_millis(1500), Conn::new(server.admin_opts())).await;
    assert!(attempt.is_err(), "login to a paused server should time out");

    server.resume();
    let mut conn = tokio::time::timeout(Duration::from_secs(10), Conn::new(server.admin_opts()))
        .await
        .expect("login after resume in time")
        .expect("login after resume");
    let one: Option<u8> = conn.query_first("SELECT 1").await.expect("query after resume");
    assert_eq!(one, Some(1));
    conn.disconnect().await.expect("disconnect");
}
