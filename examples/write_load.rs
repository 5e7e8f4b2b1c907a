//! A small load generator for experiments against a cluster you started yourself: N concurrent
//! clients create namespaces (one raft write each) against one REST address for a while, then the
//! throughput and latency percentiles are printed (docs/benchmarks.md, "elections under load",
//! used it against three nodes with their logs at info level). The benchmark proper, with etcd
//! beside it, is `examples/bench.rs`.
//!
//! `cargo run --release --example write_load -- http://127.0.0.1:9701 64 10`; against nodes with
//! tokens (docs/security.md) set `SHARDKEEPER_TOKEN` to an admin token; against an https address
//! set `SHARDKEEPER_CA` to the CA file its certificate chains to (`scripts/tls-bench.sh`).

use std::time::{Duration, Instant};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let base = args.next().unwrap_or_else(|| "http://127.0.0.1:9700".to_string());
    let clients: usize = args.next().and_then(|value| value.parse().ok()).unwrap_or(64);
    let seconds: u64 = args.next().and_then(|value| value.parse().ok()).unwrap_or(10);
    let mut headers = reqwest::header::HeaderMap::new();
    if let Ok(token) = std::env::var("SHARDKEEPER_TOKEN") {
        let value = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}")).expect("a printable token");
        headers.insert(reqwest::header::AUTHORIZATION, value);
    }
    let mut http = reqwest::Client::builder().pool_max_idle_per_host(clients).default_headers(headers);
    if let Ok(ca_file) = std::env::var("SHARDKEEPER_CA") {
        let ca = std::fs::read(&ca_file).unwrap_or_else(|error| panic!("cannot read SHARDKEEPER_CA {ca_file}: {error}"));
        let ca = reqwest::Certificate::from_pem(&ca).expect("a PEM CA certificate");
        http = http.tls_built_in_root_certs(false).add_root_certificate(ca);
    }
    let http = http.build().expect("http client");
    let run_id: u32 = rand::random();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let workers = (0..clients).map(|client| {
        let http = http.clone();
        let url = format!("{base}/api/v1/namespaces");
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = 0u64;
            let mut sequence = 0u64;
            while Instant::now() < deadline {
                sequence += 1;
                let body = serde_json::json!({ "namespace": format!("load-{run_id}-{client}-{sequence}") });
                let started = Instant::now();
                match http.post(&url).json(&body).send().await {
                    Ok(response) if response.status().as_u16() == 201 => latencies.push(started.elapsed()),
                    _ => failures += 1,
                }
            }
            (latencies, failures)
        })
    });
    let mut latencies = Vec::new();
    let mut failures = 0;
    for worker in futures::future::join_all(workers).await {
        let (worker_latencies, worker_failures) = worker.expect("worker");
        latencies.extend(worker_latencies);
        failures += worker_failures;
    }
    latencies.sort();
    let percentile = |p: f64| latencies.get(((latencies.len() as f64 - 1.0) * p) as usize).copied().unwrap_or_default();
    println!(
        "clients={clients} seconds={seconds} ok={} failed={failures} writes/s={:.0} p50={:?} p99={:?}",
        latencies.len(),
        latencies.len() as f64 / seconds as f64,
        percentile(0.50),
        percentile(0.99)
    );
}
