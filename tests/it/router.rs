//! The MySQL connection router against real MariaDB servers and real clients (mysql_async and the
//! `mariadb` command-line client), on in-process shardkeeper nodes: routes reach the right
//! servers, follow a failover and a switchover, and refuse with proper MySQL errors.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder};
use serde_json::json;
use shardkeeper::router::{RouteConfig, RouteStatus};
use tokio::io::AsyncReadExt;

use crate::failover::{row_ids, Fleet};
use crate::harness::{eventually, post_json, TestCluster};
use crate::mariadb::{MariaDbServer, ADMIN_PASSWORD, ADMIN_USER, APP_DATABASE, APP_PASSWORD, APP_USER};

/// How long shardkeeper may take to set up replication or finish a failover here.
const REPAIR_WITHIN: Duration = Duration::from_secs(30);

fn route(name: &str, destinations: &str, extra: &str) -> RouteConfig {
    toml::from_str(&format!("name = \"{name}\"\nbind_port = 0\ndestinations = \"{destinations}\"\n{extra}"))
        .expect("a route config")
}

fn status(cluster: &TestCluster, node: usize, name: &str) -> RouteStatus {
    cluster.running(node).router.route(name).expect("the route exists")
}

fn route_addr(cluster: &TestCluster, node: usize, name: &str) -> SocketAddr {
    status(cluster, node, name).local_addr.expect("the route is bound")
}

/// Waits until route `name` of node `node` has `count` destinations: the leader's observations
/// (copied to followers every second) see the replicas attached only a little after they are.
async fn wait_destinations(cluster: &TestCluster, node: usize, name: &str, count: usize) {
    eventually(&format!("{count} destinations on route {name} of node {}", node + 1), REPAIR_WITHIN, || async {
        (status(cluster, node, name).destinations.len() == count).then_some(())
    })
    .await;
}

fn app_opts_via(addr: SocketAddr) -> Opts {
    OptsBuilder::default()
        .ip_or_hostname(addr.ip().to_string())
        .tcp_port(addr.port())
        .user(Some(APP_USER))
        .pass(Some(APP_PASSWORD))
        .db_name(Some(APP_DATABASE))
        .prefer_socket(false)
        .into()
}

async fn connect_via(addr: SocketAddr) -> Result<Conn, mysql_async::Error> {
    tokio::time::timeout(Duration::from_secs(5), Conn::new(app_opts_via(addr)))
        .await
        .unwrap_or_else(|_| panic!("connecting through {addr} took over 5 s"))
}

async fn server_id_via(addr: SocketAddr) -> u32 {
    let mut conn = connect_via(addr).await.expect("connects through the route");
    let id: Option<u32> = conn.query_first("SELECT @@server_id").await.expect("query through the route");
    let _ = conn.disconnect().await;
    id.expect("a server id")
}

/// The (code, message) of the MySQL error a connection attempt through `addr` gets.
async fn refusal(addr: SocketAddr) -> (u16, String) {
    match connect_via(addr).await {
        Ok(_) => panic!("the connection through {addr} was accepted"),
        Err(mysql_async::Error::Server(error)) => (error.code, error.message),
        Err(other) => panic!("expected a MySQL error packet, got {other:?}"),
    }
}

/// Inserts row `id` through the route; Ok only when the commit was acknowledged.
async fn insert_via(addr: SocketAddr, id: u64) -> Result<(), String> {
    let attempt = async {
        let mut conn = Conn::new(app_opts_via(addr)).await.map_err(|error| error.to_string())?;
        conn.query_drop("CREATE TABLE IF NOT EXISTS rows_t (id BIGINT PRIMARY KEY)").await.map_err(|error| error.to_string())?;
        conn.query_drop(format!("INSERT INTO rows_t (id) VALUES ({id})")).await.map_err(|error| error.to_string())?;
        let _ = conn.disconnect().await;
        Ok(())
    };
    tokio::time::timeout(Duration::from_secs(3), attempt).await.unwrap_or_else(|_| Err("timed out".to_string()))
}

fn primary_and_replica_routes(config: &mut shardkeeper::config::Config) {
    config.routes = vec![
        route("rw", "shard://ns/c/0?role=PRIMARY", ""),
        route("ro", "shard://ns/c/0?role=SECONDARY", ""),
    ];
}

// On every shardkeeper node, the PRIMARY route reaches the primary and the SECONDARY route
// (round-robin, the default) alternates between the two replicas; the `mariadb` command-line
// client works through a route; the route's figures count what the clients did.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn routes_reach_the_primary_and_spread_over_the_replicas() {
    let fleet = Fleet::start_with(301, json!({}), primary_and_replica_routes).await;
    fleet.wait_all_healthy().await;
    let (_, master_addr) = fleet.master().await;
    let master_id = fleet.server(&master_addr).server_id();
    let replica_ids: BTreeSet<u32> =
        fleet.servers.iter().filter(|server| server.addr() != master_addr).map(MariaDbServer::server_id).collect();
    let cluster = &fleet.shardkeeper;
    for node in 0..3 {
        assert_eq!(server_id_via(route_addr(cluster, node, "rw")).await, master_id, "node {} rw", node + 1);
    }
    let ro = route_addr(cluster, 1, "ro");
    wait_destinations(cluster, 1, "ro", 2).await;
    let mut per_server: BTreeMap<u32, usize> = BTreeMap::new();
    for _ in 0..6 {
        *per_server.entry(server_id_via(ro).await).or_default() += 1;
    }
    assert_eq!(per_server, replica_ids.iter().map(|id| (*id, 3)).collect(), "round-robin over the replicas");

    let mut held = connect_via(ro).await.expect("a held connection");
    let _: Option<u32> = held.query_first("SELECT @@server_id").await.unwrap();
    let figures = status(cluster, 1, "ro");
    assert_eq!((figures.active_connections, figures.total_connections), (1, 7), "{figures:?}");
    let connection = &figures.connections[0];
    assert!(connection.bytes_to_server > 0 && connection.bytes_from_server > connection.bytes_to_server, "{connection:?}");
    assert!(connection.last_sent_to_server.is_some() && connection.last_received_from_server.is_some());
    let totals: u64 = figures.destinations.iter().map(|destination| destination.total_connections).sum();
    assert_eq!(totals, 7, "{:?}", figures.destinations);
    assert_eq!(figures.destinations.len(), 2, "both replicas are destinations");
    assert!(figures.destinations.iter().all(|destination| destination.addr != master_addr));
    held.disconnect().await.unwrap();
    eventually("the held connection gone from the figures", REPAIR_WITHIN, || async {
        (status(cluster, 1, "ro").active_connections == 0).then_some(())
    })
    .await;
    assert!(status(cluster, 1, "rw").topology_refreshes > 0);

    let output = mariadb_cli(route_addr(cluster, 2, "rw"), "SELECT @@server_id").await;
    assert_eq!(output.trim(), master_id.to_string(), "the mariadb client through the route");
    fleet.shardkeeper.shutdown().await;
}

/// Runs `sql` with the `mariadb` command-line client through `addr`; answers its output.
async fn mariadb_cli(addr: SocketAddr, sql: &str) -> String {
    let output = run_mariadb_cli(addr, sql).await;
    assert!(output.status.success(), "mariadb failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("utf-8 output")
}

/// Runs `sql` with the `mariadb` command-line client through `addr`.
async fn run_mariadb_cli(addr: SocketAddr, sql: &str) -> std::process::Output {
    let args = vec![
        "--no-defaults".to_string(),
        "--protocol=TCP".to_string(),
        format!("--host={}", addr.ip()),
        format!("--port={}", addr.port()),
        format!("--user={APP_USER}"),
        format!("--password={APP_PASSWORD}"),
        "--batch".to_string(),
        "--skip-column-names".to_string(),
        format!("--execute={sql}"),
        APP_DATABASE.to_string(),
    ];
    tokio::task::spawn_blocking(move || std::process::Command::new("mariadb").args(&args).output())
        .await
        .expect("the mariadb client task")
        .unwrap_or_else(|error| panic!("the mariadb command-line client must be installed (apt-get install mariadb-client): {error}"))
}

// SIGKILL of the primary while a client writes through the PRIMARY route of a follower node
// (metadata, its quarantine and the leader's observations copied every second), reconnecting:
// it writes again once the failover commits, and every acknowledged row is on the new primary.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_client_writing_through_the_route_follows_a_sigkill_failover() {
    let fleet = Fleet::start_with(311, json!({}), primary_and_replica_routes).await;
    fleet.wait_all_healthy().await;
    let (old_master_id, old_master_addr) = fleet.master().await;
    let follower = fleet.shardkeeper.follower_index().await;
    let rw = route_addr(&fleet.shardkeeper, follower, "rw");
    let mut acknowledged = BTreeSet::new();
    let mut id = 0;
    while acknowledged.len() < 20 {
        id += 1;
        insert_via(rw, id).await.expect("writes through the route before the kill");
        acknowledged.insert(id);
    }
    let killed_at = Instant::now();
    fleet.servers[fleet.index_of(&old_master_addr)].kill();
    let mut first_write_after_kill = None;
    let mut errors_seen = BTreeSet::new();
    let mut after_kill = 0;
    while after_kill < 20 {
        assert!(killed_at.elapsed() < REPAIR_WITHIN, "no write through the route after the kill; errors: {errors_seen:?}");
        id += 1;
        match insert_via(rw, id).await {
            Ok(()) => {
                acknowledged.insert(id);
                after_kill += 1;
                first_write_after_kill.get_or_insert(killed_at.elapsed());
            }
            Err(error) => {
                errors_seen.insert(error.chars().filter(|c| !c.is_ascii_digit()).take(200).collect::<String>());
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    let first = first_write_after_kill.expect("a write after the kill");
    // Without trying it again: quarantined after its refusal, or seen down by the leader.
    let skipped = |error: &String| error.contains("no PRIMARY available") && (error.contains("quarantined") || error.contains("down: "));
    assert!(errors_seen.iter().any(skipped), "the dead primary skipped: {errors_seen:?}");
    println!("primary SIGKILL -> first acknowledged write through the route: {} ms", first.as_millis());
    println!("errors the client saw meanwhile: {errors_seen:?}");
    let (new_master_id, new_master_addr) = fleet.master().await;
    assert_ne!(new_master_id, old_master_id);
    let rows = row_ids(fleet.server(&new_master_addr)).await;
    let lost: Vec<&u64> = acknowledged.difference(&rows).collect();
    assert!(lost.is_empty(), "acknowledged rows missing on the new primary: {lost:?}");
    let figures = status(&fleet.shardkeeper, follower, "rw");
    assert_eq!(figures.destinations.iter().map(|d| d.addr.as_str()).collect::<Vec<_>>(), [new_master_addr.as_str()]);
    fleet.shardkeeper.shutdown().await;
}

// A planned switchover while a client writes through the PRIMARY route: no acknowledged write is
// lost. A connection held through the SECONDARY route to the replica that gets promoted is closed
// by the router (disconnect_on_promoted_to_primary); the one to the other replica stays open.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_switchover_through_the_route_loses_nothing() {
    let fleet = Fleet::start_with(321, json!({}), primary_and_replica_routes).await;
    fleet.wait_all_healthy().await;
    let (old_master_id, _) = fleet.master().await;
    let cluster = &fleet.shardkeeper;
    let (rw, ro) = (route_addr(cluster, 0, "rw"), route_addr(cluster, 0, "ro"));
    wait_destinations(cluster, 0, "ro", 2).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut conn = connect_via(ro).await.expect("a connection to a replica");
        let server_id: Option<u32> = conn.query_first("SELECT @@server_id").await.unwrap();
        held.push((server_id.unwrap(), conn));
    }
    let promoted = fleet.servers.iter().find(|server| server.server_id() == held[0].0).unwrap();
    let promoted_id = node_id_of(&fleet, &promoted.addr()).await;

    let stop = std::sync::atomic::AtomicBool::new(false);
    let writer = async {
        let (mut acknowledged, mut id) = (BTreeSet::new(), 0);
        while !stop.load(std::sync::atomic::Ordering::SeqCst) {
            id += 1;
            if insert_via(rw, id).await.is_ok() {
                acknowledged.insert(id);
            }
        }
        acknowledged
    };
    let switchover = async {
        eventually("some writes before the switchover", REPAIR_WITHIN, || async {
            (row_ids(fleet.server(&fleet.master().await.1)).await.len() > 20).then_some(())
        })
        .await;
        let url = format!("{}/shards/0/failover", fleet.cluster_url());
        let (code, body) = post_json(&url, json!({"preferred_node_id": promoted_id})).await;
        assert_eq!(code, 200, "{body}");
        let before = row_ids(fleet.server(&promoted.addr())).await.len();
        eventually("writes through the route after the switchover", REPAIR_WITHIN, || async {
            (row_ids(fleet.server(&promoted.addr())).await.len() > before + 20).then_some(())
        })
        .await;
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
    };
    let (acknowledged, ()) = tokio::join!(writer, switchover);
    let (master_id, master_addr) = fleet.master().await;
    assert_ne!(master_id, old_master_id);
    assert_eq!(master_addr, promoted.addr());
    let rows = row_ids(promoted).await;
    let lost: Vec<&u64> = acknowledged.difference(&rows).collect();
    assert!(lost.is_empty(), "acknowledged rows missing on the new primary: {lost:?}");
    println!("switchover through the route: {} acknowledged writes, none lost", acknowledged.len());

    eventually("the router closed the connection to the promoted replica", REPAIR_WITHIN, || async {
        let connections = status(cluster, 0, "ro").connections;
        (connections.len() == 1 && connections[0].destination != promoted.addr()).then_some(())
    })
    .await;
    let (_, mut to_promoted) = held.remove(0);
    assert!(to_promoted.query_drop("SELECT 1").await.is_err(), "the connection to the promoted replica is closed");
    let (_, mut to_other) = held.remove(0);
    to_other.query_drop("SELECT 1").await.expect("the connection to the other replica stays open");
    assert_eq!(server_id_via(rw).await, promoted.server_id(), "new rw connections reach the new primary");
    fleet.shardkeeper.shutdown().await;
}

async fn node_id_of(fleet: &Fleet, addr: &str) -> String {
    let (code, body) = crate::harness::get_json(&fleet.cluster_url()).await;
    assert_eq!(code, 200, "{body}");
    let nodes = body["data"]["cluster"]["shards"][0]["nodes"].as_array().cloned().unwrap_or_default();
    let node = nodes.iter().find(|node| node["addr"] == addr).expect("the node in the cluster");
    node["id"].as_str().expect("an id").to_string()
}

/// One MariaDB server as the one-node shard 0 of cluster `ns/c` on a one-node shardkeeper with
/// `routes`; the cluster is created only when `create` is called, so routes to it can be tried first.
struct OneServer {
    shardkeeper: TestCluster,
    server: MariaDbServer,
}

impl OneServer {
    async fn start(server_id: u32, routes: Vec<RouteConfig>) -> OneServer {
        let tune = move |config: &mut shardkeeper::config::Config| config.routes = routes.clone();
        let (shardkeeper, server) = tokio::join!(TestCluster::start_with(1, tune), MariaDbServer::start(server_id));
        let (code, body) = post_json(&format!("{}/api/v1/namespaces", shardkeeper.url(0)), json!({"namespace": "ns"})).await;
        assert_eq!(code, 201, "{body}");
        OneServer { shardkeeper, server }
    }

    async fn create(&self, name: &str, addrs: Vec<String>) {
        let create = json!({"name": name, "nodes": addrs, "replicas": 1, "user": ADMIN_USER, "password": ADMIN_PASSWORD});
        let (code, body) = post_json(&format!("{}/api/v1/namespaces/ns/clusters", self.shardkeeper.url(0)), create).await;
        assert_eq!(code, 201, "{body}");
    }

    fn addr(&self, name: &str) -> SocketAddr {
        route_addr(&self.shardkeeper, 0, name)
    }
}

// A route whose cluster does not exist yet answers with a MySQL error saying so, then routes
// once the cluster is created; a SECONDARY route of a shard without replicas, and a destination
// that refuses, give errors that say why (the refusing one is then quarantined).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn routes_without_a_destination_answer_mysql_errors_that_say_why() {
    let routes = vec![
        route("rw", "shard://ns/c/0?role=PRIMARY", ""),
        route("ro", "shard://ns/c/0?role=SECONDARY", ""),
        route("third", "shard://ns/c/2?role=PRIMARY", ""),
        route("dead", "shard://ns/dead/0?role=PRIMARY", "connect_timeout = \"1s\""),
    ];
    let one = OneServer::start(331, routes).await;
    let (code, message) = refusal(one.addr("rw")).await;
    assert_eq!(code, 1105);
    assert_eq!(message, "no PRIMARY available for shard ns/c/0: cluster ns/c does not exist");
    let cli = run_mariadb_cli(one.addr("rw"), "SELECT 1").await;
    let stderr = String::from_utf8_lossy(&cli.stderr);
    assert!(!cli.status.success(), "the mariadb client was refused");
    assert!(stderr.contains("1105 - no PRIMARY available for shard ns/c/0: cluster ns/c does not exist"), "{stderr}");
    one.create("c", vec![one.server.addr()]).await;
    eventually("the route serves once the cluster exists", REPAIR_WITHIN, || async {
        connect_via(one.addr("rw")).await.ok()
    })
    .await;
    assert_eq!(server_id_via(one.addr("rw")).await, 331);
    let (code, message) = refusal(one.addr("ro")).await;
    assert_eq!((code, message.as_str()), (1105, "no SECONDARY available for shard ns/c/0: the shard has no replica"));
    let (code, message) = refusal(one.addr("third")).await;
    assert_eq!((code, message.as_str()), (1105, "no PRIMARY available for shard ns/c/2: cluster ns/c has no shard 2 (it has 1)"));

    let closed_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    one.create("dead", vec![closed_port.to_string()]).await;
    // Before the leader's first probe of it the route tries the server (refused, then quarantined);
    // once the probe saw it down, the route says so without trying.
    let refused = format!("cannot connect to any PRIMARY of shard ns/dead/0: {closed_port}: ");
    let quarantined = format!("no PRIMARY available for shard ns/dead/0: {closed_port} quarantined");
    let down = format!("no PRIMARY available for shard ns/dead/0: {closed_port} down: ");
    eventually("the leader's observation honoured", REPAIR_WITHIN, || async {
        let (code, message) = refusal(one.addr("dead")).await;
        assert_eq!(code, 1105, "{message}");
        let known = [&refused, &quarantined, &down, &"no PRIMARY available for shard ns/dead/0: cluster ns/dead does not exist".to_string()];
        assert!(known.iter().any(|start| message.starts_with(start.as_str())), "{message}");
        message.starts_with(&down).then_some(())
    })
    .await;
    one.shardkeeper.shutdown().await;
}

// A route full at max_connections refuses the next client with error 1040; a client host whose
// handshakes fail max_connect_errors times in a row is blocked with 1129, and a successful
// handshake resets its count. The byte figures of a connection are exactly what went through.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn full_routes_and_failing_hosts_are_refused() {
    let routes = vec![
        route("small", "shard://ns/c/0?role=PRIMARY", "max_connections = 2"),
        route("strict", "shard://ns/c/0?role=PRIMARY", "max_connect_errors = 3\nclient_connect_timeout = \"1s\""),
    ];
    let one = OneServer::start(341, routes).await;
    one.create("c", vec![one.server.addr()]).await;
    let small = one.addr("small");
    let first = eventually("the route serves", REPAIR_WITHIN, || async { connect_via(small).await.ok() }).await;
    let second = connect_via(small).await.expect("a second connection");
    let (code, message) = refusal(small).await;
    assert_eq!((code, message.as_str()), (1040, "too many connections to route small (max_connections = 2)"));
    drop((first, second));
    eventually("a place free again", REPAIR_WITHIN, || async { connect_via(small).await.ok() }).await;

    let strict = one.addr("strict");
    let greeting = one.abandoned_handshake("strict").await;
    connect_via(strict).await.expect("a successful handshake").disconnect().await.unwrap();
    for _ in 0..2 {
        one.abandoned_handshake("strict").await;
    }
    connect_via(strict).await.expect("two failures after a success do not block").disconnect().await.unwrap();
    let mut held = tokio::net::TcpStream::connect(strict).await.unwrap();
    let mut greeting_again = vec![0u8; greeting];
    held.read_exact(&mut greeting_again).await.unwrap();
    let connection = eventually("the raw connection's greeting in the figures", REPAIR_WITHIN, || async {
        let connections = status(&one.shardkeeper, 0, "strict").connections;
        connections.into_iter().find(|connection| connection.bytes_from_server == greeting as u64)
    })
    .await;
    assert_eq!(connection.bytes_to_server, 0, "{connection:?}");
    drop(held);
    for _ in 0..2 {
        one.abandoned_handshake("strict").await;
    }
    eventually("the host blocked after three failed handshakes", REPAIR_WITHIN, || async {
        (status(&one.shardkeeper, 0, "strict").blocked_hosts == ["127.0.0.1".parse::<std::net::IpAddr>().unwrap()]).then_some(())
    })
    .await;
    let (code, message) = refusal(strict).await;
    assert_eq!(code, 1129);
    assert_eq!(message, "host 127.0.0.1 is blocked on route strict after 3 failed handshakes (max_connect_errors)");
    assert_eq!(server_id_via(small).await, 341, "the block is per route");
    one.shardkeeper.shutdown().await;
}

impl OneServer {
    /// Connects, reads the server's greeting and hangs up without answering: a failed handshake.
    /// Answers the greeting's length in bytes; returns once the route has counted the failure.
    async fn abandoned_handshake(&self, name: &str) -> usize {
        let length = abandon_handshake(self.addr(name)).await;
        eventually("the abandoned connection counted and gone", REPAIR_WITHIN, || async {
            (status(&self.shardkeeper, 0, name).active_connections == 0).then_some(())
        })
        .await;
        length
    }
}

async fn abandon_handshake(addr: SocketAddr) -> usize {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("tcp connect through the route");
    let mut header = [0u8; 4];
    stream.read_exact(&mut header).await.expect("a greeting header");
    let length = u32::from_le_bytes([header[0], header[1], header[2], 0]) as usize;
    let mut payload = vec![0u8; length];
    stream.read_exact(&mut payload).await.expect("the greeting");
    assert_ne!(payload[0], 0xFF, "the route refused: {}", String::from_utf8_lossy(&payload));
    drop(stream);
    4 + length
}

// A node whose config declares a bad route refuses to start, naming the route and the problem,
// before it touches its data directory; so does one whose route cannot bind its port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_with_a_bad_route_refuses_to_start() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port to take");
    let taken_port = taken.local_addr().unwrap().port();
    let cases: Vec<(Vec<RouteConfig>, String)> = vec![
        (
            vec![route("rw", "shard://ns/c?role=PRIMARY", "")],
            "invalid [[routes]]: route \"rw\": destinations \"shard://ns/c?role=PRIMARY\" is invalid".to_string(),
        ),
        (
            vec![route("rw", "shard://ns/c/0?role=PRIMARY", ""), route("rw", "shard://ns/c/0?role=SECONDARY", "")],
            "invalid [[routes]]: two routes are named \"rw\"".to_string(),
        ),
        (
            vec![RouteConfig { bind_port: taken_port, ..route("rw", "shard://ns/c/0?role=PRIMARY", "") }],
            format!("route \"rw\" cannot bind 127.0.0.1:{taken_port}"),
        ),
    ];
    for (routes, expected) in cases {
        let data = tempfile::tempdir().expect("a data directory");
        let config = shardkeeper::config::Config {
            http_addr: "127.0.0.1:0".into(),
            grpc_addr: "127.0.0.1:0".into(),
            data_dir: data.path().join("node"),
            routes,
            ..shardkeeper::config::Config::default()
        };
        let listeners = shardkeeper::server::Listeners::bind(&config).await.expect("listeners");
        let error = match shardkeeper::server::start(config, listeners).await {
            Ok(running) => {
                running.shutdown().await;
                panic!("the node started with bad routes ({expected})");
            }
            Err(error) => error.to_string(),
        };
        assert!(error.starts_with(&expected), "{error} should start with {expected}");
    }
    drop(taken);
}
