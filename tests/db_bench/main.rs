//! Measures MariaDB failover with default settings: for each trial, three fresh MariaDB servers
//! (started by the test harness on loopback) are registered as one shard of a three-node
//! in-process shardkeeper cluster; once the shard is healthy and has taken writes, the primary is
//! SIGKILLed and the time until shardkeeper names a new master that accepts writes is measured.
//! `switchover` mode measures the longest gap between acknowledged writes of a client that writes
//! continuously to the named master while a planned switchover runs.
//!
//! A benchmark, not a test: `cargo test` skips it (`test = false` in Cargo.toml); run it with
//! `cargo test --release --test db_bench -- failover 10` or `... -- switchover 5`.

#[allow(dead_code)]
#[path = "../it/harness.rs"]
mod harness;
#[allow(dead_code)]
#[path = "../it/mariadb.rs"]
mod mariadb;

use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use serde_json::{json, Value};

use harness::{eventually, get_json, post_json, TestCluster};
use mariadb::{start_many, MariaDbServer, ADMIN_PASSWORD, ADMIN_USER};

const WITHIN: Duration = Duration::from_secs(60);

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "failover".to_string());
    let trials: usize = args.next().and_then(|value| value.parse().ok()).unwrap_or(10);
    let shardkeeper = TestCluster::start(3).await;
    let base = shardkeeper.url(0);
    let (status, body) = post_json(&format!("{base}/api/v1/namespaces"), json!({"namespace": "bench"})).await;
    assert_eq!(status, 201, "{body}");
    let mut figures = Vec::new();
    for trial in 0..trials {
        let servers = start_many(3, 1000 + 10 * trial as u32).await;
        let cluster = format!("{base}/api/v1/namespaces/bench/clusters/c{trial}");
        register(&base, trial, &servers).await;
        wait_healthy(&cluster).await;
        let figure = match mode.as_str() {
            "switchover" => switchover_gap(&cluster, &servers).await,
            _ => failover_time(&cluster, servers).await,
        };
        println!("trial {trial}: {} ms", figure.as_millis());
        figures.push(figure);
    }
    figures.sort();
    let percentile = |p: f64| figures[((figures.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "{mode}: {} trials, median {} ms, p95 {} ms, min {} ms, max {} ms",
        figures.len(),
        percentile(0.5).as_millis(),
        percentile(0.95).as_millis(),
        figures[0].as_millis(),
        figures[figures.len() - 1].as_millis()
    );
    shardkeeper.shutdown().await;
}

async fn register(base: &str, trial: usize, servers: &[MariaDbServer]) {
    let nodes: Vec<String> = servers.iter().map(MariaDbServer::addr).collect();
    let body = json!({"name": format!("c{trial}"), "nodes": nodes, "replicas": 3, "user": ADMIN_USER, "password": ADMIN_PASSWORD});
    let (status, reply) = post_json(&format!("{base}/api/v1/namespaces/bench/clusters"), body).await;
    assert_eq!(status, 201, "{reply}");
}

async fn wait_healthy(cluster: &str) {
    eventually("a healthy shard", WITHIN, || async {
        let (status, body) = get_json(&format!("{cluster}/health")).await;
        (status == 200 && body["data"]["shards"][0]["findings"][0]["kind"] == "AllHealthy").then_some(())
    })
    .await;
}

/// The declared master's address.
async fn master_addr(cluster: &str) -> Option<String> {
    let (status, body) = get_json(cluster).await;
    if status != 200 {
        return None;
    }
    let nodes: Vec<Value> = body["data"]["cluster"]["shards"][0]["nodes"].as_array()?.clone();
    nodes.iter().find(|node| node["role"] == "master")?["addr"].as_str().map(str::to_string)
}

async fn insert(server: &MariaDbServer, id: u64) -> bool {
    let attempt = async {
        let mut conn = mysql_async::Conn::new(server.app_opts()).await.ok()?;
        conn.query_drop("CREATE TABLE IF NOT EXISTS bench_rows (id BIGINT PRIMARY KEY)").await.ok()?;
        conn.query_drop(format!("INSERT INTO bench_rows VALUES ({id})")).await.ok()?;
        let _ = conn.disconnect().await;
        Some(())
    };
    matches!(tokio::time::timeout(Duration::from_secs(2), attempt).await, Ok(Some(())))
}

/// SIGKILL of the primary → a new master in metadata that accepts an application write.
async fn failover_time(cluster: &str, servers: Vec<MariaDbServer>) -> Duration {
    let old = master_addr(cluster).await.expect("a master");
    let index = servers.iter().position(|server| server.addr() == old).expect("the master's server");
    for id in 0..20 {
        assert!(insert(&servers[index], id).await, "write before the kill");
    }
    // A real primary dies at any moment of the probe cycle, not just after a probe round.
    tokio::time::sleep(Duration::from_millis(rand::random_range(0..1000))).await;
    let killed_at = Instant::now();
    let killed_at_ms = unix_millis();
    servers[index].kill();
    let servers = &servers;
    eventually("a writable new master", WITHIN, || async {
        let addr = master_addr(cluster).await.filter(|addr| *addr != old)?;
        let server = servers.iter().find(|server| server.addr() == addr)?;
        insert(server, 1_000_000 + killed_at.elapsed().as_micros() as u64).await.then_some(())
    })
    .await;
    let elapsed = killed_at.elapsed();
    let (_, body) = get_json(&format!("{cluster}/recoveries")).await;
    let recovery = &body["data"]["recoveries"][0];
    let started = recovery["started_at_ms"].as_i64().unwrap_or_default();
    let ended = recovery["ended_at_ms"].as_i64().unwrap_or_default();
    print!("  detection {} ms, recovery {} ms; ", started - killed_at_ms, ended - started);
    elapsed
}

fn unix_millis() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_millis() as i64)
}

/// The longest gap between acknowledged writes of a client that always writes to the named
/// master, while a planned switchover runs.
async fn switchover_gap(cluster: &str, servers: &[MariaDbServer]) -> Duration {
    let done = std::sync::atomic::AtomicBool::new(false);
    let writer = async {
        let mut last = Instant::now();
        let mut longest = Duration::ZERO;
        let mut id = 0;
        while !done.load(std::sync::atomic::Ordering::SeqCst) {
            id += 1;
            let Some(addr) = master_addr(cluster).await else { continue };
            let Some(server) = servers.iter().find(|server| server.addr() == addr) else { continue };
            if insert(server, id).await {
                longest = longest.max(last.elapsed());
                last = Instant::now();
            }
        }
        longest
    };
    let switch = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (status, body) = post_json(&format!("{cluster}/shards/0/failover"), json!({})).await;
        assert_eq!(status, 200, "{body}");
        tokio::time::sleep(Duration::from_millis(500)).await;
        done.store(true, std::sync::atomic::Ordering::SeqCst);
    };
    tokio::join!(writer, switch).0
}
