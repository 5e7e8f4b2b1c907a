//! `DbClient` against real MariaDB 10.11 servers (see `mariadb.rs`): probing, repointing,
//! promoting, fencing, GTID waits and errant-transaction detection, replica discovery, and
//! failing fast on a frozen server. The admin account doubles as the replication account; its
//! password holds a quote, so every CHANGE MASTER also proves the escaping.

use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use shardkeeper::meta::Secret;
use shardkeeper::mysql::{
    DbTls,
    DbClient, DbEndpoint, DbError, DbTimeouts, Flavor, GtidSet, IoThreadState, ReplicationSource,
    ServerState,
};

use crate::harness::eventually;
use crate::mariadb::{start_many, MariaDbServer, ADMIN_PASSWORD, ADMIN_USER};

/// Generous bound for replication and server-side effects to show.
const WITHIN: Duration = Duration::from_secs(30);

fn client(server: &MariaDbServer) -> DbClient {
    client_with(server, DbTimeouts::default())
}

fn client_with(server: &MariaDbServer, timeouts: DbTimeouts) -> DbClient {
    let endpoint = DbEndpoint {
        addr: server.addr(),
        user: ADMIN_USER.to_string(),
        password: Secret::new(ADMIN_PASSWORD),
    };
    DbClient::new(endpoint, timeouts, DbTls::default())
}

fn source_of(server: &MariaDbServer) -> ReplicationSource {
    ReplicationSource::new(
        "127.0.0.1",
        server.port(),
        ADMIN_USER,
        Secret::new(ADMIN_PASSWORD),
    )
}

/// Polls `client` until its probe satisfies `ok`; answers that probe.
async fn probe_until(
    client: &DbClient,
    what: &str,
    ok: impl Fn(&ServerState) -> bool,
) -> ServerState {
    let ok = &ok;
    eventually(what, WITHIN, || async move {
        client.probe().await.ok().filter(|state| ok(state))
    })
    .await
}

/// Polls until `replica` has executed everything `primary` has, and both threads run.
async fn caught_up(primary: &DbClient, replica: &DbClient) -> ServerState {
    let target = primary.gtid_executed().await.expect("primary gtids");
    probe_until(replica, "replica caught up", |state| {
        target.is_subset_of(&state.gtid_executed)
            && state
                .replica
                .as_ref()
                .is_some_and(|r| r.io_state == IoThreadState::Running && r.sql_running)
    })
    .await
}

/// Creates table app.t on the server (as the app account) and inserts `ids`.
async fn app_write(server: &MariaDbServer, ids: &[u32]) {
    let mut app = server.app_conn().await;
    app.query_drop("CREATE TABLE IF NOT EXISTS t (id INT PRIMARY KEY)")
        .await
        .expect("create app.t");
    for id in ids {
        app.query_drop(format!("INSERT INTO t VALUES ({id})"))
            .await
            .expect("app insert");
    }
    app.disconnect().await.expect("disconnect app");
}

/// Number of rows in app.t seen through `client`, if the table exists.
async fn row_count(client: &DbClient) -> Option<u64> {
    let rows = client.query("SELECT COUNT(*) FROM app.t").await.ok()?;
    rows.first()?.first()?.as_ref()?.parse().ok()
}

#[tokio::test]
async fn mysql_client_probes_a_blank_server() {
    // A blank server probes as a writable MariaDB primary with no GTIDs, no replication, binlog
    // and log_slave_updates on, semi-sync off and no clients; an app session then counts as one
    // client while our own session never does.
    let server = MariaDbServer::start(201).await;
    let db = client(&server);
    let state = db.probe().await.expect("probe");
    assert!(state.version.contains("MariaDB"), "{}", state.version);
    assert_eq!(state.flavor, Flavor::MariaDb);
    assert_eq!(state.server_id, 201);
    assert_eq!(state.server_uuid, None);
    assert!(!state.read_only);
    assert!(state.gtid_executed.is_empty(), "{}", state.gtid_executed);
    assert_eq!(state.replica, None);
    assert!(state.log_bin && state.log_replica_updates);
    assert!(
        !state.semi_sync_source_enabled
            && !state.semi_sync_source_active
            && !state.semi_sync_replica_enabled
    );
    assert_eq!(state.client_count, 0);

    let app = server.app_conn().await;
    probe_until(&db, "one client", |s| s.client_count == 1).await;
    app.disconnect().await.expect("disconnect app");
    probe_until(&db, "no client", |s| s.client_count == 0).await;

    let json = serde_json::to_value(&state).expect("serialize");
    assert_eq!(json["flavor"], "mariadb");
    assert_eq!(json["gtid_executed"], "");
}

#[tokio::test]
async fn mysql_client_repoints_replicas_that_then_replicate() {
    // Two blank servers repointed to a third (one with semi-sync) become read-only GTID replicas
    // of it, replicate the app's rows, and stay so when repointed again with the same source.
    let servers = start_many(3, 211).await;
    let (primary, replicas) = (
        client(&servers[0]),
        [client(&servers[1]), client(&servers[2])],
    );
    let source = source_of(&servers[0]);
    replicas[0]
        .repoint(&source, true)
        .await
        .expect("repoint with semi-sync");
    replicas[1].repoint(&source, false).await.expect("repoint");

    app_write(&servers[0], &[1, 2, 3]).await;
    for (replica, semi_sync) in replicas.iter().zip([true, false]) {
        let state = caught_up(&primary, replica).await;
        let status = state.replica.as_ref().expect("replica status");
        assert_eq!(
            (status.source_host.as_str(), status.source_port),
            ("127.0.0.1", servers[0].port())
        );
        assert!(
            status.using_gtid
                && status.last_io_error.is_empty()
                && status.last_sql_error.is_empty()
        );
        assert!(state.read_only);
        assert_eq!(state.semi_sync_replica_enabled, semi_sync);
        assert!(!state.semi_sync_source_enabled);
        assert_eq!(row_count(replica).await, Some(3));
    }

    replicas[1]
        .repoint(&source, false)
        .await
        .expect("repoint again");
    app_write(&servers[0], &[4]).await;
    caught_up(&primary, &replicas[1]).await;
    assert_eq!(row_count(&replicas[1]).await, Some(4));
}

#[tokio::test]
async fn mysql_client_detects_errant_transactions_by_gtid_subset() {
    // A caught-up replica's GTIDs equal its primary's; a write made directly on the replica shows
    // up as an entry for the replica's server id that the primary lacks.
    let servers = start_many(2, 221).await;
    let (primary, replica) = (client(&servers[0]), client(&servers[1]));
    replica
        .repoint(&source_of(&servers[0]), false)
        .await
        .expect("repoint");
    app_write(&servers[0], &[1]).await;
    caught_up(&primary, &replica).await;

    let p = primary.gtid_executed().await.expect("primary gtids");
    let r = replica.gtid_executed().await.expect("replica gtids");
    assert!(r.is_subset_of(&p) && p.is_subset_of(&r), "{r} vs {p}");

    // The admin may write despite read_only; that is the errant transaction.
    replica
        .execute("INSERT INTO app.t VALUES (99)")
        .await
        .expect("errant write");
    let r = replica.gtid_executed().await.expect("replica gtids");
    assert!(!r.is_subset_of(&p), "{r} ⊆ {p}");
    assert!(p.is_subset_of(&r));
    let errant = r.difference(&p).without_origin(221, None);
    let seq = r
        .as_mariadb()
        .and_then(|g| g.get(0, 222))
        .expect("entry of the replica");
    assert_eq!(
        errant,
        GtidSet::parse(Flavor::MariaDb, &format!("0-222-{seq}")).expect("gtid")
    );
}

#[tokio::test]
async fn mysql_client_promotes_a_replica_and_reattaches_the_old_primary() {
    // Promotion stops and forgets replication, turns semi-sync to the source side and makes the
    // server writable; the old primary, repointed to it, resumes after its own transactions.
    let servers = start_many(2, 231).await;
    let (old, new) = (client(&servers[0]), client(&servers[1]));
    new.repoint(&source_of(&servers[0]), true)
        .await
        .expect("repoint");
    app_write(&servers[0], &[1, 2]).await;
    caught_up(&old, &new).await;

    new.promote(true).await.expect("promote");
    let state = new.probe().await.expect("probe");
    assert_eq!(state.replica, None);
    assert!(!state.read_only);
    assert!(state.semi_sync_source_enabled && !state.semi_sync_replica_enabled);
    new.promote(true).await.expect("promote again");

    old.repoint(&source_of(&servers[1]), false)
        .await
        .expect("reattach old primary");
    app_write(&servers[1], &[3]).await;
    let state = caught_up(&new, &old).await;
    assert!(state.read_only);
    assert_eq!(row_count(&old).await, Some(3));
}

#[tokio::test]
async fn mysql_client_promotes_promptly_while_the_source_is_frozen() {
    // A failover promotes a replica whose source went silent: STOP SLAVE then waits for the IO
    // thread's read of the source to time out (slave_net_timeout, 2 s as shardkeeper attaches
    // replicas), which fits the stop's own bound (query timeout + 2 x replica_net_timeout).
    let servers = start_many(2, 311).await;
    let (old, new) = (client(&servers[0]), client(&servers[1]));
    new.repoint(&source_of(&servers[0]), true)
        .await
        .expect("repoint");
    app_write(&servers[0], &[1, 2]).await;
    let state = caught_up(&old, &new).await;
    assert!(state.semi_sync_replica_enabled);

    servers[0].pause();
    let started = Instant::now();
    let promoted = new.promote(true).await;
    let took = started.elapsed();
    servers[0].resume();
    promoted.expect("promotion while the source is frozen");
    println!("promotion with a frozen source took {} ms", took.as_millis());
    let state = new.probe().await.expect("probe");
    assert_eq!(state.replica, None);
    assert!(!state.read_only);
    assert_eq!(row_count(&new).await, Some(2));
    assert_eq!(
        servers[1].query_value("SELECT @@global.rpl_semi_sync_slave_kill_conn_timeout").await.as_deref(),
        Some("1"),
        "stopping replication bounds the semi-sync replica's kill connection to the source"
    );
}

#[tokio::test]
async fn mysql_client_fences_a_primary() {
    // read_only plus killing client sessions stops an application cold: its open session is gone
    // and a new one cannot write; system threads and our own session survive.
    let server = MariaDbServer::start(241).await;
    let db = client(&server);
    app_write(&server, &[1]).await;
    let mut app = server.app_conn().await;
    app.query_drop("INSERT INTO t VALUES (2)")
        .await
        .expect("write before fencing");
    probe_until(&db, "app session counted", |s| s.client_count == 1).await;

    db.set_read_only(true).await.expect("read_only");
    assert_eq!(db.kill_client_sessions().await.expect("kill"), 1);
    assert!(
        app.query_drop("INSERT INTO t VALUES (3)").await.is_err(),
        "killed session still writes"
    );

    let mut fresh = server.app_conn().await;
    match fresh.query_drop("INSERT INTO t VALUES (4)").await {
        Err(mysql_async::Error::Server(error)) => assert_eq!(error.code, 1290, "{error}"),
        other => panic!("write under read_only: {other:?}"),
    }
    assert_eq!(
        db.fence().await.expect("fence"),
        1,
        "fence kills the fresh session"
    );
    let state = probe_until(&db, "no clients", |s| s.client_count == 0).await;
    assert!(state.read_only);
    assert_eq!(row_count(&db).await, Some(2));
}

#[tokio::test]
async fn mysql_client_waits_for_gtids_and_relay_log() {
    // Waits answer true at once for what is there, false after the timeout while the applier is
    // stopped (at once for the relay-log wait), and true once it runs again.
    let servers = start_many(2, 251).await;
    let (primary, replica) = (client(&servers[0]), client(&servers[1]));
    replica
        .repoint(&source_of(&servers[0]), false)
        .await
        .expect("repoint");
    app_write(&servers[0], &[1]).await;
    caught_up(&primary, &replica).await;
    let now = primary.gtid_executed().await.expect("gtids");
    assert!(replica
        .wait_for_gtids(&now, Duration::ZERO)
        .await
        .expect("wait"));
    assert!(primary
        .wait_for_gtids(&now, Duration::ZERO)
        .await
        .expect("own gtids"));
    assert!(replica
        .wait_relay_log_applied(Duration::ZERO)
        .await
        .expect("nothing pending"));

    replica
        .execute("STOP SLAVE SQL_THREAD")
        .await
        .expect("stop applier");
    app_write(&servers[0], &[2]).await;
    let target = primary.gtid_executed().await.expect("gtids");
    let started = Instant::now();
    assert!(!replica
        .wait_for_gtids(&target, Duration::from_millis(300))
        .await
        .expect("wait"));
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(2),
        "{waited:?}"
    );

    probe_until(&replica, "transaction received", |s| {
        s.replica
            .as_ref()
            .is_some_and(|r| target.is_subset_of(&r.received_gtids))
    })
    .await;
    let started = Instant::now();
    assert!(!replica
        .wait_relay_log_applied(Duration::from_secs(5))
        .await
        .expect("applier stopped"));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "gave up at once"
    );

    replica
        .execute("START SLAVE SQL_THREAD")
        .await
        .expect("start applier");
    assert!(replica
        .wait_relay_log_applied(Duration::from_secs(10))
        .await
        .expect("relay log"));
    assert!(replica
        .wait_for_gtids(&target, Duration::from_secs(10))
        .await
        .expect("wait"));
    // MariaDB writes a transaction's GTID to its binlog state just before the engine commit makes
    // the row visible, so the row may show a moment after the wait answers.
    eventually("the replicated row visible", WITHIN, || async {
        (row_count(&replica).await == Some(2)).then_some(())
    })
    .await;
}

#[tokio::test]
async fn mysql_client_fails_fast_on_a_frozen_server() {
    // A SIGSTOPped server makes a probe fail within about the timeout, on the kept session and on
    // a new one alike; once it runs again the client reconnects by itself.
    let server = MariaDbServer::start(261).await;
    let timeouts = DbTimeouts {
        connect: Duration::from_millis(500),
        query: Duration::from_millis(500),
        ..DbTimeouts::default()
    };
    let db = client_with(&server, timeouts);
    db.probe().await.expect("probe while running");

    server.pause();
    for session in ["kept session", "new session"] {
        let started = Instant::now();
        let error = db.probe().await.expect_err("probe of a frozen server");
        let took = started.elapsed();
        assert!(
            matches!(error, DbError::Timeout { .. }),
            "{session}: {error}"
        );
        assert!(error.is_unreachable());
        assert!(took < Duration::from_millis(1500), "{session}: {took:?}");
    }
    server.resume();
    probe_until(&db, "probe after resume", |_| true).await;
}

#[tokio::test]
async fn mysql_client_reconnects_after_a_restart() {
    // A killed server reads as unreachable; after it restarts, the next probe opens a new
    // session without the caller doing anything.
    let server = MariaDbServer::start(271).await;
    let db = client(&server);
    db.probe().await.expect("probe");
    server.kill();
    let error = db.probe().await.expect_err("probe of a dead server");
    assert!(error.is_unreachable(), "{error}");
    server.restart().await;
    let state = db.probe().await.expect("probe after restart");
    assert_eq!(state.server_id, 271);
}

#[tokio::test]
async fn mysql_client_lists_connected_replicas() {
    // A primary lists the replicas streaming from it by their reported host:port, and forgets one
    // that stops replicating.
    let servers = start_many(3, 281).await;
    let primary = &client(&servers[0]);
    assert_eq!(
        primary.replica_addresses().await.expect("no replicas"),
        Vec::<String>::new()
    );
    for server in &servers[1..] {
        client(server)
            .repoint(&source_of(&servers[0]), false)
            .await
            .expect("repoint");
    }
    let mut want = vec![servers[1].addr(), servers[2].addr()];
    want.sort();
    let want = &want;
    eventually("both replicas listed", WITHIN, || async move {
        primary
            .replica_addresses()
            .await
            .ok()
            .filter(|addrs| addrs == want)
    })
    .await;

    client(&servers[2])
        .execute("STOP SLAVE")
        .await
        .expect("stop replication");
    let want = vec![servers[1].addr()];
    let want = &want;
    eventually("one replica listed", WITHIN, || async move {
        primary
            .replica_addresses()
            .await
            .ok()
            .filter(|addrs| addrs == want)
    })
    .await;
}

#[tokio::test]
async fn mysql_client_probes_while_a_wait_holds_the_session() {
    // A long GTID wait does not delay probes of the same server (they get a one-off session),
    // the probe neither counts nor kills the waiting session as a client, and a wait dropped by
    // its caller does not spoil the next call.
    let servers = start_many(2, 291).await;
    let (primary, replica) = (client(&servers[0]), client(&servers[1]));
    replica
        .repoint(&source_of(&servers[0]), false)
        .await
        .expect("repoint");
    app_write(&servers[0], &[1]).await;
    caught_up(&primary, &replica).await;
    replica
        .execute("STOP SLAVE SQL_THREAD")
        .await
        .expect("stop applier");
    app_write(&servers[0], &[2]).await;
    let target = primary.gtid_executed().await.expect("gtids");

    let waiter = tokio::spawn({
        let (replica, target) = (replica.clone(), target.clone());
        async move {
            replica
                .wait_for_gtids(&target, Duration::from_secs(3))
                .await
        }
    });
    let waiting = &servers[1];
    eventually("wait running on the server", WITHIN, || async move {
        let sql = "SELECT COUNT(*) FROM information_schema.PROCESSLIST \
                   WHERE INFO LIKE 'SELECT MASTER_GTID_WAIT%'";
        (waiting.query_value(sql).await.as_deref() == Some("1")).then_some(())
    })
    .await;

    let started = Instant::now();
    let state = probe_until(&replica, "no clients", |s| s.client_count == 0).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(state.replica.is_some_and(|r| !r.sql_running));
    assert_eq!(replica.kill_client_sessions().await.expect("kill"), 0);
    let reached = waiter.await.expect("waiter task").expect("wait not killed");
    assert!(!reached, "the applier is stopped");

    // A call its caller drops midway leaves no half-used session behind.
    let long_wait = replica.wait_for_gtids(&target, Duration::from_secs(5));
    let cut = tokio::time::timeout(Duration::from_millis(300), long_wait).await;
    assert!(cut.is_err(), "the wait was cut short");
    let started = Instant::now();
    replica.probe().await.expect("probe after a dropped call");
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
}
