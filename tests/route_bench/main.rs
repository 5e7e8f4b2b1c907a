//! Measures the MySQL router (issue 13) against direct connections and HAProxy, in one run:
//!
//! - `throughput [seconds] [rounds]`: sysbench oltp_point_select and oltp_read_write at 1, 16 and
//!   64 threads, direct to the primary, through a shardkeeper route and through HAProxy 2.6 in TCP
//!   mode pointed at the same primary; each round runs the three in order and the next in reverse
//!   (A B C, C B A), figures are medians over the rounds.
//! - `failover [trials]`: a client writing through a route; SIGKILL of the primary at a random
//!   moment -> the first write acknowledged through the same route; every acknowledged row is
//!   then checked on the new primary.
//! - `idle [connections]`: resident memory of the node serving a route before and after that many
//!   idle, logged-in client connections are held through it.
//!
//! Three MariaDB servers per shard (the test harness), three real `shardkeeper serve` processes
//! (release build) each serving the routes. A benchmark that prints figures, run by hand or by
//! scripts/route-bench.sh: `cargo test --release --test route_bench -- all`.

#[allow(dead_code)]
#[path = "../it/harness.rs"]
mod harness;
#[allow(dead_code)]
#[path = "../it/mariadb.rs"]
mod mariadb;
mod processes;
mod sysbench;

use std::time::{Duration, Instant};

use futures::StreamExt;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder};
use serde_json::{json, Value};

use harness::{eventually, get_json, post_json};
use mariadb::{start_many, MariaDbServer, ADMIN_PASSWORD, ADMIN_USER, APP_DATABASE, APP_PASSWORD, APP_USER};
use processes::{free_port, rss_kib, BenchRoute, HaProxy, ShardkeeperProcesses};

const WITHIN: Duration = Duration::from_secs(60);
const TABLE_SIZE: u64 = 10_000;
const FAILOVER_TRIALS_MAX: usize = 20;
/// The node whose routes the clients use.
const ROUTING_NODE: usize = 1;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1).filter(|arg| !arg.starts_with("--"));
    let mode = args.next().unwrap_or_else(|| "all".to_string());
    let number = |default: u64, value: Option<String>| value.and_then(|value| value.parse().ok()).unwrap_or(default);
    let first = number(0, args.next());
    let second = number(0, args.next());
    let mut routes = vec![route("bench_rw", "bench/c0/0", 3), route("idle_rw", "bench/idle/0", 3)];
    routes.extend((0..FAILOVER_TRIALS_MAX).map(|trial| route(&format!("failover_{trial}"), &format!("bench/f{trial}/0"), 3)));
    let cluster = ShardkeeperProcesses::start(3, &routes);
    for url in &cluster.urls {
        harness::wait_until_ready(url, "shardkeeper ready", WITHIN).await;
    }
    let base = cluster.urls[0].clone();
    let (status, body) = post_json(&format!("{base}/api/v1/namespaces"), json!({"namespace": "bench"})).await;
    assert_eq!(status, 201, "{body}");
    if mode == "throughput" || mode == "all" {
        let seconds = if first > 0 { first as u32 } else { 10 };
        let rounds = if second > 0 { second as usize } else { 2 };
        throughput(&base, &routes[0], seconds, rounds).await;
    }
    if mode == "failover" || mode == "all" {
        let trials = if first > 0 && mode == "failover" { first as usize } else { 10 };
        failover(&base, &routes[2..], trials.min(FAILOVER_TRIALS_MAX)).await;
    }
    if mode == "idle" || mode == "all" {
        let connections = if first > 0 && mode == "idle" { first as usize } else { 5_000 };
        idle(&base, &routes[1], &cluster, connections).await;
    }
}

fn route(name: &str, shard: &str, nodes: usize) -> BenchRoute {
    BenchRoute {
        name: name.to_string(),
        destination: format!("shard://{shard}?role=PRIMARY"),
        ports: (0..nodes).map(|_| free_port()).collect(),
    }
}

/// Registers three servers as cluster `name` (one shard) and waits until it is healthy.
async fn register(base: &str, name: &str, servers: &[MariaDbServer]) {
    let nodes: Vec<String> = servers.iter().map(MariaDbServer::addr).collect();
    let body = json!({"name": name, "nodes": nodes, "replicas": 3, "user": ADMIN_USER, "password": ADMIN_PASSWORD});
    let (status, reply) = post_json(&format!("{base}/api/v1/namespaces/bench/clusters"), body).await;
    assert_eq!(status, 201, "{reply}");
    let cluster = format!("{base}/api/v1/namespaces/bench/clusters/{name}");
    eventually("a healthy shard", WITHIN, || async {
        let (status, body) = get_json(&format!("{cluster}/health")).await;
        (status == 200 && body["data"]["shards"][0]["findings"][0]["kind"] == "AllHealthy").then_some(())
    })
    .await;
}

async fn master_addr(base: &str, name: &str) -> Option<String> {
    let (status, body) = get_json(&format!("{base}/api/v1/namespaces/bench/clusters/{name}")).await;
    if status != 200 {
        return None;
    }
    let nodes: Vec<Value> = body["data"]["cluster"]["shards"][0]["nodes"].as_array()?.clone();
    nodes.iter().find(|node| node["role"] == "master")?["addr"].as_str().map(str::to_string)
}

fn opts(port: u16, user: &str, password: &str) -> Opts {
    OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(port)
        .user(Some(user))
        .pass(Some(password))
        .db_name(Some(APP_DATABASE))
        .prefer_socket(false)
        .into()
}

/// The server id behind `port`, or None while nothing answers there.
async fn server_id_at(port: u16) -> Option<u32> {
    let attempt = async {
        let mut conn = Conn::new(opts(port, APP_USER, APP_PASSWORD)).await.ok()?;
        let id: Option<u32> = conn.query_first("SELECT @@server_id").await.ok()?;
        let _ = conn.disconnect().await;
        id
    };
    tokio::time::timeout(Duration::from_secs(2), attempt).await.ok().flatten()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    let middle = values.len() / 2;
    if values.len().is_multiple_of(2) {
        (values[middle - 1] + values[middle]) / 2.0
    } else {
        values[middle]
    }
}

async fn throughput(base: &str, bench_route: &BenchRoute, seconds: u32, rounds: usize) {
    let servers = start_many(3, 2000).await;
    register(base, "c0", &servers).await;
    let primary_addr = master_addr(base, "c0").await.expect("a master");
    let primary = servers.iter().find(|server| server.addr() == primary_addr).expect("the master's server");
    let route_port = bench_route.ports[ROUTING_NODE];
    eventually("the route reaches the primary", WITHIN, || async {
        (server_id_at(route_port).await == Some(primary.server_id())).then_some(())
    })
    .await;
    let haproxy_port = free_port();
    let _haproxy = HaProxy::start(haproxy_port, &primary_addr);
    eventually("haproxy reaches the primary", WITHIN, || async {
        (server_id_at(haproxy_port).await == Some(primary.server_id())).then_some(())
    })
    .await;
    sysbench::prepare(primary.port(), ADMIN_USER, ADMIN_PASSWORD, TABLE_SIZE);
    let targets = [("direct", primary.port()), ("route", route_port), ("haproxy", haproxy_port)];
    println!("| test | threads | direct tps | route tps | haproxy tps | route/direct | route/haproxy | p95 ms direct / route / haproxy |");
    println!("|---|---:|---:|---:|---:|---:|---:|---|");
    for test in ["oltp_point_select", "oltp_read_write"] {
        for threads in [1, 16, 64] {
            let mut tps = vec![Vec::new(); 3];
            let mut p95 = vec![Vec::new(); 3];
            for round in 0..rounds {
                let order: Vec<usize> = if round % 2 == 0 { vec![0, 1, 2] } else { vec![2, 1, 0] };
                for index in order {
                    let port = targets[index].1;
                    let figures = tokio::task::spawn_blocking(move || {
                        sysbench::run(test, port, ADMIN_USER, ADMIN_PASSWORD, TABLE_SIZE, threads, seconds)
                    })
                    .await
                    .expect("sysbench run");
                    assert_eq!(figures.errors, 0, "{} had errors", targets[index].0);
                    tps[index].push(figures.transactions_per_second);
                    p95[index].push(figures.p95_ms);
                }
            }
            let tps: Vec<f64> = tps.into_iter().map(median).collect();
            let p95: Vec<f64> = p95.into_iter().map(median).collect();
            println!(
                "| {test} | {threads} | {:.0} | {:.0} | {:.0} | {:.3} | {:.3} | {:.2} / {:.2} / {:.2} |",
                tps[0],
                tps[1],
                tps[2],
                tps[1] / tps[0],
                tps[1] / tps[2],
                p95[0],
                p95[1],
                p95[2]
            );
        }
    }
}

/// One write through `port`; true when acknowledged.
async fn insert_through(port: u16, id: u64) -> bool {
    let attempt = async {
        let mut conn = Conn::new(opts(port, APP_USER, APP_PASSWORD)).await.ok()?;
        conn.query_drop(format!("INSERT INTO bench_rows VALUES ({id})")).await.ok()?;
        let _ = conn.disconnect().await;
        Some(())
    };
    matches!(tokio::time::timeout(Duration::from_secs(2), attempt).await, Ok(Some(())))
}

async fn failover(base: &str, routes: &[BenchRoute], trials: usize) {
    let mut figures = Vec::new();
    for (trial, bench_route) in routes.iter().take(trials).enumerate() {
        let name = format!("f{trial}");
        let servers = start_many(3, 3000 + 10 * trial as u32).await;
        register(base, &name, &servers).await;
        let old = master_addr(base, &name).await.expect("a master");
        let index = servers.iter().position(|server| server.addr() == old).expect("the master's server");
        servers[index].exec("CREATE TABLE app.bench_rows (id BIGINT PRIMARY KEY)").await;
        let port = bench_route.ports[ROUTING_NODE];
        eventually("the route takes writes", WITHIN, || async { insert_through(port, 0).await.then_some(()) }).await;
        let mut acknowledged = vec![0u64];
        for id in 1..20 {
            assert!(insert_through(port, id).await, "write before the kill");
            acknowledged.push(id);
        }
        tokio::time::sleep(Duration::from_millis(rand::random_range(0..1000))).await;
        let killed_at = Instant::now();
        servers[index].kill();
        let mut id = 1_000;
        let elapsed = loop {
            id += 1;
            if insert_through(port, id).await {
                acknowledged.push(id);
                break killed_at.elapsed();
            }
            assert!(killed_at.elapsed() < WITHIN, "no write through the route within {WITHIN:?} of the kill");
        };
        let new = master_addr(base, &name).await.expect("a new master");
        let survivor = servers.iter().find(|server| server.addr() == new).expect("the new master's server");
        let present = survivor.query_strings("SELECT id FROM app.bench_rows").await;
        let present: std::collections::BTreeSet<u64> =
            present.iter().filter_map(|row| row[0].as_deref()?.parse().ok()).collect();
        let lost: Vec<u64> = acknowledged.iter().copied().filter(|id| !present.contains(id)).collect();
        assert!(lost.is_empty(), "acknowledged rows missing on the new primary: {lost:?}");
        println!("trial {trial}: first write through the route {} ms after SIGKILL ({} rows, none lost)", elapsed.as_millis(), acknowledged.len());
        figures.push(elapsed);
    }
    figures.sort();
    let at = |p: f64| figures[((figures.len() as f64 - 1.0) * p).round() as usize].as_millis();
    println!("route failover: {} trials, median {} ms, p95 {} ms, max {} ms", figures.len(), at(0.5), at(0.95), at(1.0));
}

async fn idle(base: &str, bench_route: &BenchRoute, cluster: &ShardkeeperProcesses, connections: usize) {
    let servers = start_many(3, 4000).await;
    register(base, "idle", &servers).await;
    let primary_addr = master_addr(base, "idle").await.expect("a master");
    let port = bench_route.ports[ROUTING_NODE];
    let primary_port: u16 = primary_addr.rsplit_once(':').and_then(|(_, port)| port.parse().ok()).expect("a port");
    let mut admin = Conn::new(opts(primary_port, ADMIN_USER, ADMIN_PASSWORD)).await.expect("admin login");
    admin.query_drop(format!("SET GLOBAL max_connections = {}", connections + 100)).await.expect("raise max_connections");
    eventually("the route reaches the primary", WITHIN, || async { server_id_at(port).await.map(|_| ()) }).await;
    let pid = cluster.pid(ROUTING_NODE);
    let before = rss_kib(pid);
    let started = Instant::now();
    let mut held = Vec::with_capacity(connections);
    let mut pending = futures::stream::FuturesUnordered::new();
    let mut opened = 0;
    while held.len() < connections {
        while opened < connections && pending.len() < 32 {
            opened += 1;
            pending.push(Conn::new(opts(port, APP_USER, APP_PASSWORD)));
        }
        let conn = pending.next().await.expect("a connection attempt").expect("an idle connection through the route");
        held.push(conn);
    }
    let after = rss_kib(pid);
    println!(
        "idle: {connections} connections through the route in {:.1} s; router node RSS {} MiB -> {} MiB (+{:.1} MiB, {:.1} KiB per connection)",
        started.elapsed().as_secs_f64(),
        before / 1024,
        after / 1024,
        (after.saturating_sub(before)) as f64 / 1024.0,
        (after.saturating_sub(before)) as f64 / connections as f64
    );
    drop(held);
}
