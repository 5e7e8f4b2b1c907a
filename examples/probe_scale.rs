//! Probe scale: how many database endpoints one shardkeeper leader health-checks at the default
//! 1 s probe interval, with its CPU and memory. For each scale (1,000, 5,000, 10,000 endpoints by
//! default) it starts fake MariaDB endpoints (`examples/fake_mysql.rs`, several processes when
//! one would exceed the descriptor limit), starts a fresh one-node shardkeeper (its own leader),
//! registers the endpoints as clusters of 100 shards × 3 nodes through the native API, waits
//! until every node was probed (reporting the shards' findings: `AllHealthy` expected), lets it
//! settle, then measures over a window (30 s): CPU of the shardkeeper process (utime + stime from
//! /proc, in cores, with a per-thread-name breakdown), VmRSS and VmHWM, the fake fleet's CPU and
//! memory, the CPU of the rest of the machine, the probe rate the fakes served, and at the end of
//! the window the age of every node's `probed_at_ms` (p50 / p99 / max): every endpoint probed
//! every second means ages below about 1 s. The shardkeeper binary runs from a private copy in
//! the work directory, so a rebuild in the shared tree cannot change it mid-run.
//!
//! Run it through `scripts/probe-scale.sh` (release build, raised `ulimit -n`), or by hand:
//!
//! ```text
//! cargo build --release --bin shardkeeper --example fake_mysql --example probe_scale
//! ulimit -n "$(ulimit -Hn)"
//! target/release/examples/probe_scale --scales 1000,5000,10000 --window 30
//! ```
//!
//! Flags: `--scales N,N,..` `--window SECS` `--settle SECS` `--host 127.0.0.77` (every listener
//! of this run binds this loopback address) `--base-port 20000` `--per-process 5000` (endpoints per
//! fake process) `--shards-per-cluster 100` `--shardkeeper PATH` `--fake PATH` `--work DIR` (logs
//! and data; default a temporary directory, removed at the end unless `--keep`) `--perf SECS`
//! (after each window: time the supervisor loop with uprobes on `supervise_once` for SECS, then
//! `perf record -e cpu-clock --call-graph dwarf` the shardkeeper process for SECS and print the top
//! of `perf report`; needs `perf`, root and tracefs for the uprobes) `--ready-timeout SECS` (90: how long to wait for every
//! node to be reachable before measuring anyway) `--require-healthy` (fail unless every shard is
//! `AllHealthy` before the window) `--repair-interval 5s` (the node's `[fleet] repair_interval`,
//! through a config file: a long one leaves almost only the probes to measure).

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

struct Args {
    scales: Vec<u32>,
    window: Duration,
    settle: Duration,
    host: String,
    base_port: u16,
    per_process: u32,
    shards_per_cluster: u32,
    shardkeeper: PathBuf,
    fake: PathBuf,
    work: Option<PathBuf>,
    keep: bool,
    perf: Option<u64>,
    require_healthy: bool,
    ready_timeout: Duration,
    http_port: u16,
    grpc_port: u16,
    /// `[fleet] repair_interval` of the shardkeeper node (its default, 100ms, when `None`).
    repair_interval: Option<String>,
}

fn parse_args() -> Args {
    let exe_dir = std::env::current_exe().ok().and_then(|exe| exe.parent().map(Path::to_path_buf));
    let sibling = |relative: &str| exe_dir.clone().map(|dir| dir.join(relative)).unwrap_or_else(|| PathBuf::from(relative));
    let mut args = Args {
        scales: vec![1_000, 5_000, 10_000],
        window: Duration::from_secs(30),
        settle: Duration::from_secs(5),
        host: "127.0.0.77".to_string(),
        base_port: 20_000,
        per_process: 5_000,
        shards_per_cluster: 100,
        shardkeeper: sibling("../shardkeeper"),
        fake: sibling("fake_mysql"),
        work: None,
        keep: false,
        perf: None,
        require_healthy: false,
        ready_timeout: Duration::from_secs(90),
        http_port: 9_700,
        grpc_port: 9_800,
        repair_interval: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        match flag.as_str() {
            "--scales" => args.scales = value().split(',').map(|n| number(&flag, n.trim())).collect(),
            "--window" => args.window = Duration::from_secs_f64(number(&flag, &value())),
            "--settle" => args.settle = Duration::from_secs_f64(number(&flag, &value())),
            "--host" => args.host = value(),
            "--base-port" => args.base_port = number(&flag, &value()),
            "--per-process" => args.per_process = number::<u32>(&flag, &value()).max(1),
            "--shards-per-cluster" => args.shards_per_cluster = number::<u32>(&flag, &value()).max(1),
            "--shardkeeper" => args.shardkeeper = PathBuf::from(value()),
            "--fake" => args.fake = PathBuf::from(value()),
            "--work" => args.work = Some(PathBuf::from(value())),
            "--keep" => args.keep = true,
            "--perf" => args.perf = Some(number(&flag, &value())),
            "--require-healthy" => args.require_healthy = true,
            "--ready-timeout" => args.ready_timeout = Duration::from_secs_f64(number(&flag, &value())),
            "--repair-interval" => args.repair_interval = Some(value()),
            "--http-port" => args.http_port = number(&flag, &value()),
            "--grpc-port" => args.grpc_port = number(&flag, &value()),
            "-h" | "--help" => usage(""),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    args
}

fn number<T: std::str::FromStr>(flag: &str, text: &str) -> T {
    text.parse().unwrap_or_else(|_| usage(&format!("{flag}: not a number: {text}")))
}

fn usage(problem: &str) -> ! {
    if !problem.is_empty() {
        eprintln!("probe_scale: {problem}");
    }
    eprintln!("usage: probe_scale [--scales 1000,5000,10000] [--window 30] [--settle 5] [--perf SECS] (see the file's doc)");
    std::process::exit(2);
}

fn unix_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or_default()
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8_lossy(&out.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// utime + stime of a process or thread, in clock ticks (fields 14 and 15 of /proc/.../stat).
fn cpu_ticks(stat_path: &Path) -> Option<(String, u64)> {
    let stat = std::fs::read_to_string(stat_path).ok()?;
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat[open + 1..close].to_string();
    let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((name, utime + stime))
}

fn process_ticks(pid: u32) -> u64 {
    cpu_ticks(Path::new(&format!("/proc/{pid}/stat"))).map_or(0, |(_, ticks)| ticks)
}

/// CPU ticks per thread name (tokio-runtime-w, sled threads, ...), summed over the threads.
fn thread_ticks(pid: u32) -> HashMap<u32, (String, u64)> {
    let mut out = HashMap::new();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            let Some(tid) = task.file_name().to_str().and_then(|name| name.parse::<u32>().ok()) else { continue };
            if let Some(entry) = cpu_ticks(&task.path().join("stat")) {
                out.insert(tid, entry);
            }
        }
    }
    out
}

/// VmRSS and VmHWM in KiB.
fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|value| value.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Busy and total jiffies of the whole machine (first line of /proc/stat).
fn machine_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let values: Vec<u64> = stat.lines().next().unwrap_or("").split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
    let total: u64 = values.iter().take(8).sum();
    let idle = values.get(3).copied().unwrap_or(0) + values.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg").map(|text| text.split_whitespace().take(3).collect::<Vec<_>>().join(" ")).unwrap_or_default()
}

/// Processes named rustc or cc1 (someone is compiling on this machine).
fn compilers_running() -> usize {
    let Ok(entries) = std::fs::read_dir("/proc") else { return 0 };
    entries
        .flatten()
        .filter(|entry| entry.file_name().to_str().is_some_and(|name| name.bytes().all(|b| b.is_ascii_digit())))
        .filter(|entry| {
            std::fs::read_to_string(entry.path().join("comm"))
                .map(|comm| matches!(comm.trim(), "rustc" | "cc1" | "cc1plus" | "ld"))
                .unwrap_or(false)
        })
        .count()
}

fn nofile_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|line| line.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// The latest `stats` line of one fake process.
#[derive(Clone, Debug, Default)]
struct FakeStats {
    t_ms: u64,
    counters: BTreeMap<String, u64>,
}

struct Fake {
    child: Child,
    stats: Arc<Mutex<FakeStats>>,
}

impl Fake {
    fn start(args: &Args, first: u32, count: u32, log: &Path) -> Fake {
        let stderr = std::fs::File::create(log).expect("fake log file");
        let mut child = Command::new(&args.fake)
            .args(["--host", &args.host, "--base-port", &args.base_port.to_string()])
            .args(["--first", &first.to_string(), "--count", &count.to_string()])
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", args.fake.display()));
        let stdout = child.stdout.take().expect("fake stdout");
        let stats = Arc::new(Mutex::new(FakeStats::default()));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let shared = stats.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("ready") {
                    let _ = ready_tx.send(());
                } else if let Some(rest) = line.strip_prefix("stats ") {
                    let mut parsed = FakeStats::default();
                    for pair in rest.split_whitespace() {
                        if let Some((key, value)) = pair.split_once('=') {
                            let value = value.parse().unwrap_or(0);
                            if key == "t_ms" {
                                parsed.t_ms = value;
                            } else {
                                parsed.counters.insert(key.to_string(), value);
                            }
                        }
                    }
                    *shared.lock().unwrap() = parsed;
                }
            }
        });
        if ready_rx.recv_timeout(Duration::from_secs(60)).is_err() {
            let _ = child.kill();
            panic!("fake_mysql (first={first} count={count}) did not become ready; see {}", log.display());
        }
        Fake { child, stats }
    }

    fn stats(&self) -> FakeStats {
        self.stats.lock().unwrap().clone()
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Shardkeeper {
    child: Child,
}

impl Drop for Shardkeeper {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One cluster to register: its name, node addresses and nodes per shard.
struct ClusterPlan {
    name: String,
    nodes: Vec<String>,
    replicas: u32,
}

/// Shards of three consecutive endpoints (the fake's layout), `shards_per_cluster` shards per
/// cluster; a last partial shard (1 or 2 endpoints) goes into a cluster of its own.
fn plan_clusters(args: &Args, endpoints: u32) -> Vec<ClusterPlan> {
    let addr = |index: u32| format!("{}:{}", args.host, u32::from(args.base_port) + index);
    let full_shards = endpoints / 3;
    let mut plans = Vec::new();
    let mut shard = 0;
    while shard < full_shards {
        let take = args.shards_per_cluster.min(full_shards - shard);
        let nodes = (shard * 3..(shard + take) * 3).map(addr).collect();
        plans.push(ClusterPlan { name: format!("c{:03}", plans.len()), nodes, replicas: 3 });
        shard += take;
    }
    let rest = endpoints % 3;
    if rest > 0 {
        let nodes = (full_shards * 3..endpoints).map(addr).collect();
        plans.push(ClusterPlan { name: format!("c{:03}", plans.len()), nodes, replicas: rest });
    }
    plans
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    async fn get(&self, path: &str) -> Result<Value, String> {
        let response = self.http.get(format!("{}{path}", self.base)).send().await.map_err(|e| e.to_string())?;
        let status = response.status();
        let body: Value = response.json().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!("GET {path}: {status} {body}"));
        }
        Ok(body["data"].clone())
    }

    async fn post(&self, path: &str, body: Value) -> Result<(), String> {
        let response = self.http.post(format!("{}{path}", self.base)).json(&body).send().await.map_err(|e| e.to_string())?;
        let status = response.status();
        if !status.is_success() {
            let text = response.text().await.unwrap_or_default();
            return Err(format!("POST {path}: {status} {text}"));
        }
        Ok(())
    }
}

/// Every node's observation: (reachable, probed_at_ms, consecutive_failures), plus the time the
/// answer arrived (ages are measured against it).
async fn observations(api: &Api, clusters: &[ClusterPlan]) -> Result<Vec<(bool, i64, i64)>, String> {
    let mut out = Vec::new();
    for cluster in clusters {
        let data = api.get(&format!("/api/v1/namespaces/bench/clusters/{}/observations", cluster.name)).await?;
        let received = unix_ms();
        if let Some(nodes) = data["nodes"].as_object() {
            for observation in nodes.values() {
                let reachable = observation["reachable"].as_bool().unwrap_or(false);
                let probed = observation["probed_at_ms"].as_i64().unwrap_or(0);
                out.push((reachable, probed, received - probed));
            }
        }
    }
    Ok(out)
}

/// Shards per finding kind across every cluster ("AllHealthy" when nothing is wrong).
async fn health(api: &Api, clusters: &[ClusterPlan]) -> Result<BTreeMap<String, u64>, String> {
    let mut kinds = BTreeMap::new();
    for cluster in clusters {
        let data = api.get(&format!("/api/v1/namespaces/bench/clusters/{}/health", cluster.name)).await?;
        for shard in data["shards"].as_array().cloned().unwrap_or_default() {
            for finding in shard["findings"].as_array().cloned().unwrap_or_default() {
                let kind = finding["kind"].as_str().unwrap_or("?").to_string();
                *kinds.entry(kind).or_insert(0) += 1;
            }
        }
    }
    Ok(kinds)
}

#[derive(Default)]
struct Row {
    endpoints: u32,
    clusters: usize,
    fake_processes: usize,
    register_s: f64,
    all_probed_s: Option<f64>,
    healthy: String,
    probes_per_s: f64,
    connects: u64,
    other_statements: u64,
    sk_cores: f64,
    sk_rss_mib: f64,
    sk_hwm_mib: f64,
    threads: Vec<(String, f64)>,
    fake_cores: f64,
    fake_rss_mib: f64,
    /// CPU of everything else on the machine during the window (the driver, other users).
    other_cores: f64,
    age_p50: i64,
    age_p99: i64,
    age_max: i64,
    unreachable: usize,
    never_probed: usize,
    stale: usize,
    recoveries: usize,
    load_before: String,
    load_after: String,
    compilers: usize,
}

async fn run_scale(args: &Args, work: &Path, endpoints: u32) -> Result<Row, String> {
    let mut row = Row { endpoints, ..Row::default() };
    let dir = work.join(format!("n{endpoints}"));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    eprintln!("== {endpoints} endpoints ==");

    // The fake fleet.
    let mut fakes = Vec::new();
    let mut first = 0;
    while first < endpoints {
        let count = args.per_process.min(endpoints - first);
        fakes.push(Fake::start(args, first, count, &dir.join(format!("fake-{first}.log"))));
        first += count;
    }
    row.fake_processes = fakes.len();
    eprintln!("   {} fake process(es) listening on {}:{}..{}", fakes.len(), args.host, args.base_port, u32::from(args.base_port) + endpoints - 1);

    // One shardkeeper node: a one-node cluster, its own leader.
    let log = std::fs::File::create(dir.join("shardkeeper.log")).map_err(|e| e.to_string())?;
    let http_addr = format!("{}:{}", args.host, args.http_port);
    let mut command = Command::new(&args.shardkeeper);
    if let Some(interval) = &args.repair_interval {
        let config = dir.join("shardkeeper.toml");
        std::fs::write(&config, format!("[fleet]\nrepair_interval = {interval:?}\n")).map_err(|e| e.to_string())?;
        command.arg("serve").arg("--config").arg(&config);
    } else {
        command.arg("serve");
    }
    let child = command
        .args(["--node-id", "1", "--http-addr", &http_addr])
        .args(["--grpc-addr", &format!("{}:{}", args.host, args.grpc_port)])
        .arg("--data-dir")
        .arg(dir.join("data"))
        .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "info".to_string()))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", args.shardkeeper.display()))?;
    let pid = child.id();
    let shardkeeper = Shardkeeper { child };
    let api = Api {
        http: reqwest::Client::builder().timeout(Duration::from_secs(60)).build().map_err(|e| e.to_string())?,
        base: format!("http://{http_addr}"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(response) = api.http.get(format!("{}/readyz", api.base)).send().await {
            if response.status().is_success() {
                break;
            }
        }
        if Instant::now() > deadline {
            return Err(format!("shardkeeper never became ready; see {}", dir.join("shardkeeper.log").display()));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Registration.
    let clusters = plan_clusters(args, endpoints);
    row.clusters = clusters.len();
    let started = Instant::now();
    api.post("/api/v1/namespaces", json!({"namespace": "bench"})).await?;
    for cluster in &clusters {
        let body = json!({
            "name": cluster.name,
            "nodes": cluster.nodes,
            "replicas": cluster.replicas,
            "user": "shardkeeper",
            "password": "bench-password",
        });
        api.post("/api/v1/namespaces/bench/clusters", body).await?;
    }
    row.register_s = started.elapsed().as_secs_f64();
    eprintln!("   registered {} clusters in {:.1} s", clusters.len(), row.register_s);

    // Every node probed successfully (or, past `--ready-timeout`, as many as will be).
    let deadline = Instant::now() + args.ready_timeout;
    loop {
        let seen = observations(&api, &clusters).await?;
        let reachable = seen.iter().filter(|(reachable, _, _)| *reachable).count();
        if reachable == endpoints as usize {
            row.all_probed_s = Some(started.elapsed().as_secs_f64());
            break;
        }
        if Instant::now() > deadline {
            eprintln!(
                "   after {:.0} s only {reachable} of {endpoints} nodes reachable ({} never probed); measuring anyway",
                started.elapsed().as_secs_f64(),
                endpoints as usize - seen.len()
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let kinds = health(&api, &clusters).await?;
    row.healthy = kinds.iter().map(|(kind, count)| format!("{kind}={count}")).collect::<Vec<_>>().join(" ");
    eprintln!("   findings: {}", row.healthy);
    let shards = u64::from(endpoints.div_ceil(3));
    if args.require_healthy && (kinds.len() != 1 || kinds.get("AllHealthy") != Some(&shards)) {
        return Err(format!("not every shard is AllHealthy: {}", row.healthy));
    }

    tokio::time::sleep(args.settle).await;

    // The measurement window: nothing but the probes and the supervisor runs in shardkeeper.
    let ticks_per_s = clock_ticks();
    row.load_before = loadavg();
    let compilers_before = compilers_running();
    let fake_pids: Vec<u32> = fakes.iter().map(|fake| fake.child.id()).collect();
    let fake_stats_before: Vec<FakeStats> = fakes.iter().map(Fake::stats).collect();
    let threads_before = thread_ticks(pid);
    let sk_before = process_ticks(pid);
    let fake_before: u64 = fake_pids.iter().map(|pid| process_ticks(*pid)).sum();
    let machine_before = machine_ticks();
    let window_start = Instant::now();
    tokio::time::sleep(args.window).await;
    let sk_after = process_ticks(pid);
    let fake_after: u64 = fake_pids.iter().map(|pid| process_ticks(*pid)).sum();
    let threads_after = thread_ticks(pid);
    let machine_after = machine_ticks();
    let elapsed = window_start.elapsed().as_secs_f64();
    // Freshness at the end of the window.
    let seen = observations(&api, &clusters).await?;
    row.load_after = loadavg();
    row.compilers = compilers_before.max(compilers_running());
    let fake_stats_after: Vec<FakeStats> = fakes.iter().map(Fake::stats).collect();

    row.sk_cores = (sk_after - sk_before) as f64 / ticks_per_s / elapsed;
    row.fake_cores = (fake_after - fake_before) as f64 / ticks_per_s / elapsed;
    let machine_cores = (machine_after.0 - machine_before.0) as f64 / ticks_per_s / elapsed;
    row.other_cores = (machine_cores - row.sk_cores - row.fake_cores).max(0.0);
    let (rss, hwm) = memory_kib(pid);
    row.sk_rss_mib = rss as f64 / 1024.0;
    row.sk_hwm_mib = hwm as f64 / 1024.0;
    row.fake_rss_mib = fake_pids.iter().map(|pid| memory_kib(*pid).0).sum::<u64>() as f64 / 1024.0;
    let mut by_name: BTreeMap<String, u64> = BTreeMap::new();
    for (tid, (name, after)) in &threads_after {
        let before = threads_before.get(tid).map_or(0, |(_, ticks)| *ticks);
        *by_name.entry(name.clone()).or_insert(0) += after.saturating_sub(before);
    }
    let mut threads: Vec<(String, f64)> =
        by_name.into_iter().map(|(name, ticks)| (name, ticks as f64 / ticks_per_s / elapsed)).filter(|(_, c)| *c >= 0.005).collect();
    threads.sort_by(|a, b| b.1.total_cmp(&a.1));
    row.threads = threads;
    let mut probes = 0.0;
    for (before, after) in fake_stats_before.iter().zip(&fake_stats_after) {
        let counter = |stats: &FakeStats, key: &str| stats.counters.get(key).copied().unwrap_or(0);
        let dt = after.t_ms.saturating_sub(before.t_ms) as f64 / 1000.0;
        if dt > 0.0 {
            probes += (counter(after, "probe") - counter(before, "probe")) as f64 / dt;
        }
        row.connects += counter(after, "connect");
        row.other_statements += counter(after, "other");
    }
    row.probes_per_s = probes;
    let mut ages: Vec<i64> = seen.iter().map(|(_, _, age)| *age).collect();
    ages.sort_unstable();
    row.age_p50 = percentile(&ages, 0.50);
    row.age_p99 = percentile(&ages, 0.99);
    row.age_max = ages.last().copied().unwrap_or(0);
    row.unreachable = seen.iter().filter(|(reachable, _, _)| !reachable).count();
    row.never_probed = (endpoints as usize).saturating_sub(seen.len());
    row.stale = ages.iter().filter(|age| **age > 2_000).count();
    for cluster in &clusters {
        let data = api.get(&format!("/api/v1/namespaces/bench/clusters/{}/recoveries", cluster.name)).await?;
        row.recoveries += data["recoveries"].as_array().map_or(0, Vec::len);
    }
    eprintln!(
        "   window {:.1} s: shardkeeper {:.3} cores, RSS {:.0} MiB (HWM {:.0}); {:.0} probes/s served; age p50 {} ms p99 {} ms max {} ms",
        elapsed, row.sk_cores, row.sk_rss_mib, row.sk_hwm_mib, row.probes_per_s, row.age_p50, row.age_p99, row.age_max
    );

    if let Some(seconds) = args.perf {
        println!("\n== {endpoints} endpoints: profile ==");
        time_supervisor(&args.shardkeeper, pid, seconds, &dir);
        profile(pid, seconds, &dir);
    }
    drop(shardkeeper);
    drop(fakes);
    Ok(row)
}

/// Functions of the supervisor loop timed with uprobes: (label, part of the mangled name).
const TIMED_FUNCTIONS: &[(&str, &str)] = &[
    ("supervise_once", "10supervisor14supervise_once17h"),
    ("Prober::sync", "6Prober4sync17h"),
    ("MetaReader::snapshot", "10MetaReader8snapshot17h"),
    ("Observations::snapshot", "12Observations8snapshot17h"),
];

/// File offsets of `TIMED_FUNCTIONS` in `binary` (from `nm` and the `.text` section header).
fn function_offsets(binary: &Path) -> Vec<(&'static str, u64)> {
    let run = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .arg(binary)
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
            .unwrap_or_default()
    };
    let sections = run("readelf", &["-SW"]);
    let text = sections.lines().find(|line| line.contains(" .text ")).and_then(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let at = fields.iter().position(|field| *field == ".text")?;
        let addr = u64::from_str_radix(fields.get(at + 2)?, 16).ok()?;
        let offset = u64::from_str_radix(fields.get(at + 3)?, 16).ok()?;
        Some((addr, offset))
    });
    let Some((text_addr, text_offset)) = text else { return Vec::new() };
    let symbols = run("nm", &[]);
    TIMED_FUNCTIONS
        .iter()
        .filter_map(|(label, pattern)| {
            let line = symbols.lines().find(|line| line.contains(pattern) && line.contains(" T "))?;
            let addr = u64::from_str_radix(line.split_whitespace().next()?, 16).ok()?;
            Some((*label, addr - text_addr + text_offset))
        })
        .collect()
}

/// Times the supervisor's loop for `seconds` with uprobes on entry and return of
/// `TIMED_FUNCTIONS`: calls per second and duration of each (needs perf and tracefs).
fn time_supervisor(binary: &Path, pid: u32, seconds: u64, dir: &Path) {
    let offsets = function_offsets(binary);
    if offsets.is_empty() {
        eprintln!("   uprobes: symbols not found in {}", binary.display());
        return;
    }
    let delete_stale = || {
        let _ = Command::new("perf").args(["probe", "-q", "-d", "probe_shardkeeper:skt*"]).stderr(Stdio::null()).status();
    };
    delete_stale();
    let mut events = Vec::new();
    for (index, (_, offset)) in offsets.iter().enumerate() {
        // A return probe's event is named `<name>__return`.
        for (name, spec, event) in [
            (format!("skt{index}in"), format!("0x{offset:x}"), format!("skt{index}in")),
            (format!("skt{index}out"), format!("0x{offset:x}%return"), format!("skt{index}out__return")),
        ] {
            let added = Command::new("perf")
                .args(["probe", "-q", "-x"])
                .arg(binary)
                .args(["-a", &format!("{name}={spec}")])
                .stderr(Stdio::null())
                .status();
            if added.is_ok_and(|status| status.success()) {
                events.push(format!("probe_shardkeeper:{event}"));
            }
        }
    }
    let data = dir.join("uprobes.data");
    let mut record = Command::new("perf");
    record.args(["record", "-q", "-p", &pid.to_string(), "-o"]).arg(&data);
    for event in &events {
        record.args(["-e", event]);
    }
    record.args(["--", "sleep", &seconds.to_string()]).stdout(Stdio::null()).stderr(Stdio::null());
    let recorded = record.status().is_ok_and(|status| status.success());
    let script = Command::new("perf").args(["script", "-F", "tid,time,event", "-i"]).arg(&data).output();
    delete_stale();
    let Some(script) = script.ok().filter(|_| recorded) else {
        eprintln!("   uprobes: perf record failed (perf probe needs root and tracefs)");
        return;
    };
    // tid, time (s), event name
    let mut open: HashMap<(u32, usize), f64> = HashMap::new();
    let mut durations: Vec<Vec<f64>> = vec![Vec::new(); offsets.len()];
    let mut starts: Vec<f64> = Vec::new();
    for line in String::from_utf8_lossy(&script.stdout).lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(tid), Some(time), Some(event)) = (fields.first(), fields.get(1), fields.get(2)) else { continue };
        let (Ok(tid), Ok(time)) = (tid.parse::<u32>(), time.trim_end_matches(':').parse::<f64>()) else { continue };
        let Some(name) = event.trim_end_matches(':').trim_end_matches("__return").strip_prefix("probe_shardkeeper:skt") else {
            continue;
        };
        let index: usize = name.trim_end_matches(|c: char| c.is_ascii_alphabetic()).parse().unwrap_or(usize::MAX);
        if index >= offsets.len() {
            continue;
        }
        if name.ends_with("in") {
            if index == 0 {
                starts.push(time);
            }
            open.insert((tid, index), time);
        } else if let Some(start) = open.remove(&(tid, index)) {
            durations[index].push((time - start) * 1_000.0);
        }
    }
    println!("\nsupervisor loop, timed with uprobes over {seconds} s (pid {pid}; functions the compiler inlined show no calls):");
    if starts.len() > 1 {
        let gaps: Vec<f64> = starts.windows(2).map(|pair| (pair[1] - pair[0]) * 1_000.0).collect();
        let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
        let max = gaps.iter().copied().fold(0.0, f64::max);
        println!("  supervisor tick period: mean {mean:.1} ms, max {max:.1} ms (a tick longer than repair_interval is overdue)");
    }
    for ((label, _), mut list) in offsets.iter().zip(durations) {
        if list.is_empty() {
            continue;
        }
        list.sort_by(f64::total_cmp);
        let mean = list.iter().sum::<f64>() / list.len().max(1) as f64;
        let at = |p: f64| list.get(((list.len() as f64 * p).ceil() as usize).clamp(1, list.len().max(1)) - 1).copied().unwrap_or(0.0);
        println!(
            "  {label:<22} {:>6.1} calls/s  mean {mean:>7.1} ms  p50 {:>7.1} ms  max {:>7.1} ms  busy {:.2} cores",
            list.len() as f64 / seconds as f64,
            at(0.5),
            list.last().copied().unwrap_or(0.0),
            list.iter().sum::<f64>() / 1_000.0 / seconds as f64,
        );
    }
}

/// Samples the process with perf (software cpu-clock event: no hardware counters needed) and
/// prints the hottest symbols, self and with children.
fn profile(pid: u32, seconds: u64, dir: &Path) {
    let data = dir.join("perf.data");
    eprintln!("   perf record -p {pid} for {seconds} s -> {}", data.display());
    let recorded = Command::new("perf")
        .args(["record", "-e", "cpu-clock", "-F", "199", "--call-graph", "dwarf,16384", "-p", &pid.to_string(), "-o"])
        .arg(&data)
        .args(["--", "sleep", &seconds.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !recorded.is_ok_and(|status| status.success()) {
        eprintln!("   perf record failed (is perf installed and allowed here?)");
        return;
    }
    for (label, extra) in [("self", "--no-children"), ("inclusive", "--children")] {
        let report = Command::new("perf")
            .args(["report", "--stdio", "--no-inline", "-i"])
            .arg(&data)
            .args([extra, "-g", "none", "--percent-limit", "1", "--sort", "symbol"])
            .stderr(Stdio::null())
            .output();
        if let Ok(report) = report {
            let text = String::from_utf8_lossy(&report.stdout);
            let path = dir.join(format!("perf-{label}.txt"));
            let _ = std::fs::write(&path, text.as_bytes());
            // Inclusive: only the frames of shardkeeper and its MySQL driver say where time goes.
            let wanted = |line: &str| label == "self" || line.contains("shardkeeper::") || line.contains("mysql_async::");
            println!("\nperf, {label} CPU by symbol (top; all in {}):", path.display());
            for line in text.lines().filter(|line| !line.starts_with('#') && !line.trim().is_empty() && wanted(line)).take(30) {
                println!("  {}", line.trim_end().trim_end_matches('-').trim_end());
            }
        }
    }
}

fn print_table(rows: &[Row], window: Duration, repair_interval: Option<&str>) {
    println!(
        "\nprobe scale: one shardkeeper leader, default probe_interval 1s, repair_interval {}; window {} s",
        repair_interval.unwrap_or("100ms (default)"),
        window.as_secs()
    );
    println!(
        "| endpoints | probes/s served (per endpoint) | shardkeeper CPU (cores) | VmRSS MiB | VmHWM MiB | probe age p50 / p99 / max (ms) | age > 2 s | never probed | unreachable | fake CPU (cores) | fake RSS MiB | rest of machine (cores) |"
    );
    println!("|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|");
    for row in rows {
        println!(
            "| {} | {:.0} ({:.2}) | {:.2} | {:.0} | {:.0} | {} / {} / {} | {} | {} | {} | {:.2} | {:.0} | {:.2} |",
            row.endpoints,
            row.probes_per_s,
            row.probes_per_s / f64::from(row.endpoints.max(1)),
            row.sk_cores,
            row.sk_rss_mib,
            row.sk_hwm_mib,
            row.age_p50,
            row.age_p99,
            row.age_max,
            row.stale,
            row.never_probed,
            row.unreachable,
            row.fake_cores,
            row.fake_rss_mib,
            row.other_cores,
        );
    }
    println!();
    for row in rows {
        let threads: Vec<String> = row.threads.iter().take(6).map(|(name, cores)| format!("{name} {cores:.2}")).collect();
        let probed = row.all_probed_s.map_or("never all".to_string(), |s| format!("{s:.1} s"));
        println!(
            "{} endpoints: {} clusters, {} fake process(es); registered in {:.1} s; every node reachable: {probed}; \
             findings: {}; sessions opened {}; unexpected statements {}; recoveries {}; load average {} → {}; \
             compiler processes seen {}; shardkeeper CPU by thread name: {}",
            row.endpoints,
            row.clusters,
            row.fake_processes,
            row.register_s,
            row.healthy,
            row.connects,
            row.other_statements,
            row.recoveries,
            row.load_before,
            row.load_after,
            row.compilers,
            threads.join(", ")
        );
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = parse_args();
    for path in [&args.shardkeeper, &args.fake] {
        if !path.exists() {
            usage(&format!("{} not found (cargo build --release --bin shardkeeper --example fake_mysql)", path.display()));
        }
    }
    let largest = args.scales.iter().copied().max().unwrap_or(0);
    if u32::from(args.base_port) + largest > 65_535 {
        usage("base port + endpoints exceeds 65535");
    }
    if let Some(limit) = nofile_limit() {
        let needed = u64::from(largest.min(args.per_process)) * 2 + 100;
        if limit < needed || limit < u64::from(largest) + 200 {
            eprintln!("probe_scale: warning: RLIMIT_NOFILE is {limit}; a fake process needs {needed}, shardkeeper {} (ulimit -n)", largest + 200);
        }
    }
    let temp = tempfile::Builder::new().prefix("probe-scale-").tempdir().expect("temporary directory");
    let work = args.work.clone().unwrap_or_else(|| temp.path().to_path_buf());
    // Run a private copy: a rebuild of target/release/shardkeeper during the run (other people
    // build in the same tree) would otherwise break symbol resolution and the uprobes.
    std::fs::create_dir_all(&work).expect("work directory");
    let copy = work.join("shardkeeper");
    std::fs::copy(&args.shardkeeper, &copy).unwrap_or_else(|error| panic!("cannot copy {}: {error}", args.shardkeeper.display()));
    let mut args = args;
    args.shardkeeper = copy;
    let mut rows = Vec::new();
    for &endpoints in &args.scales {
        match run_scale(&args, &work, endpoints).await {
            Ok(row) => rows.push(row),
            Err(error) => {
                eprintln!("probe_scale: {endpoints} endpoints failed: {error}");
                eprintln!("   logs: {}", work.join(format!("n{endpoints}")).display());
                if args.work.is_none() {
                    let _ = temp.keep();
                }
                print_table(&rows, args.window, args.repair_interval.as_deref());
                std::process::exit(1);
            }
        }
        // Let the previous run's sockets leave TIME_WAIT-free ports and the CPU calm down.
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    print_table(&rows, args.window, args.repair_interval.as_deref());
    if args.keep && args.work.is_none() {
        let kept = temp.keep();
        eprintln!("logs kept in {}", kept.display());
    }
}
