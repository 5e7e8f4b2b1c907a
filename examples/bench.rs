//! shardkeeper vs etcd on the same machine (issue 5): starts a 3-process shardkeeper cluster and a
//! 3-member etcd cluster on loopback, drives both with the same client code, and prints tables:
//!
//! - writes/s and latency p50/p99 with 1, 16, 64 and 256 concurrent clients, to the leader and to
//!   a follower (shardkeeper `POST /api/v1/namespaces`, etcd `POST /v3/kv/put`);
//! - linearizable and stale (etcd: serializable) reads/s at 64 clients;
//! - elections on an idle cluster, and during the load runs;
//! - leader SIGKILL → first write acknowledged through a survivor, over N trials.
//!
//! Every figure is measured A B A B (shardkeeper, etcd, shardkeeper, etcd) with the same duration,
//! and the report gives both, the ratio pair by pair and the medians. A benchmark: it prints
//! figures and asserts none.
//!
//! `scripts/bench.sh` builds and runs it (and the MariaDB failover benchmark); by hand:
//! `cargo build --release --bin shardkeeper --example bench && target/release/examples/bench [--quick]
//! [--markdown FILE]`. `--help` lists every option.

#[path = "bench/cluster.rs"]
mod cluster;
#[path = "bench/load.rs"]
mod load;
#[path = "bench/table.rs"]
mod table;

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;

use cluster::{free_ports, process_cpu_seconds, Cluster, Kind, Op, Target};
use table::Table;

#[derive(Parser, Debug)]
#[command(about = "shardkeeper vs etcd: writes, reads, elections and leader failover on loopback")]
struct Args {
    /// Short run: 3 s per measured run, 3 failover trials, 10 s idle window.
    #[arg(long)]
    quick: bool,
    /// Seconds of each measured load run (default 10; 3 with --quick).
    #[arg(long)]
    duration: Option<f64>,
    /// Seconds of unmeasured load before each measured run (default 1; 0.5 with --quick).
    #[arg(long)]
    warmup: Option<f64>,
    /// A B pairs per load figure.
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// Concurrent clients of the write runs.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64,256")]
    clients: Vec<usize>,
    /// Members the write runs go to: the leader, a follower (which forwards), or both.
    #[arg(long, value_delimiter = ',', default_value = "leader,follower")]
    roles: Vec<String>,
    /// Concurrent clients of the read runs.
    #[arg(long, default_value_t = 64)]
    read_clients: usize,
    /// Leader SIGKILL trials per system (default 10; 3 with --quick).
    #[arg(long)]
    trials: Option<usize>,
    /// Seconds of the idle window in which elections are counted (default 30; 10 with --quick).
    #[arg(long)]
    idle_seconds: Option<f64>,
    /// Sections to run.
    #[arg(long, value_delimiter = ',', default_value = "writes,reads,idle,failover")]
    only: Vec<String>,
    #[arg(long, default_value = "target/release/shardkeeper")]
    shardkeeper_bin: PathBuf,
    #[arg(long, default_value = "etcd")]
    etcd_bin: PathBuf,
    /// Also append the tables as markdown to this file.
    #[arg(long)]
    markdown: Option<PathBuf>,
}

impl Args {
    fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.duration.unwrap_or(if self.quick { 3.0 } else { 10.0 }))
    }
    fn warmup(&self) -> Duration {
        Duration::from_secs_f64(self.warmup.unwrap_or(if self.quick { 0.5 } else { 1.0 }))
    }
    fn trials(&self) -> usize {
        self.trials.unwrap_or(if self.quick { 3 } else { 10 })
    }
    fn idle(&self) -> Duration {
        Duration::from_secs_f64(self.idle_seconds.unwrap_or(if self.quick { 10.0 } else { 30.0 }))
    }
    fn runs(&self, section: &str) -> bool {
        self.only.iter().any(|s| s == section)
    }
}

const STABLE_WITHIN: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Leader,
    Follower,
}

/// One measured load run of one system.
struct Sample {
    rate: f64,
    p50: f64,
    p99: f64,
    errors: u64,
    first_error: Option<String>,
    /// Average cores used by the three server processes, and by this client process.
    server_cpu: f64,
    client_cpu: f64,
    elections: u64,
    /// Records written to this system before the run (warm-ups and failed writes included).
    records_before: u64,
}

/// One load figure: its A B pairs.
struct Figure {
    label: String,
    pairs: Vec<(Sample, Sample)>,
}

struct Trial {
    millis: f64,
    attempts: u32,
    elections: u64,
    rejoin_millis: f64,
}

struct Idle {
    seconds: f64,
    elections: u64,
    leader_changes: u64,
}

#[derive(Default)]
struct Report {
    header: Vec<String>,
    writes: Vec<Figure>,
    reads: Vec<Figure>,
    idle: Option<(Idle, Idle)>,
    failover: Vec<(Trial, Trial)>,
    load_elections: [u64; 2],
    /// Measured runs (load runs and failover trials), and those that started while rustc ran.
    measured_runs: usize,
    disturbed_runs: usize,
    /// Writes sent to each system so far.
    records: [u64; 2],
    load_runs: usize,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let mut report = Report::default();
    let outcome = run(&args, &mut report).await;
    report.header.push(format!(
        "load average at end: {}; measured runs that started while rustc was running: {} of {}",
        load_average(),
        report.disturbed_runs,
        report.measured_runs
    ));
    let tables = report.tables(&args);
    let mut text = String::new();
    for line in &report.header {
        text.push_str(&format!("{line}\n"));
    }
    text.push('\n');
    for table in &tables {
        text.push_str(&table.text());
        text.push('\n');
    }
    if let Err(e) = &outcome {
        text.push_str(&format!("INCOMPLETE RUN: {e:#}\n"));
    }
    println!("{text}");
    if let Some(path) = &args.markdown {
        let mut md = String::from("### shardkeeper vs etcd\n\n");
        for line in &report.header {
            md.push_str(&format!("- {line}\n"));
        }
        md.push('\n');
        for table in &tables {
            md.push_str(&table.markdown());
        }
        if let Err(e) = &outcome {
            md.push_str(&format!("**Incomplete run**: {e:#}\n\n"));
        }
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        file.write_all(md.as_bytes())?;
        eprintln!("bench: markdown appended to {}", path.display());
    }
    outcome
}

async fn run(args: &Args, report: &mut Report) -> Result<()> {
    if !args.shardkeeper_bin.exists() {
        bail!("{} is missing: cargo build --release --bin shardkeeper", args.shardkeeper_bin.display());
    }
    report.header = header(args);
    for line in &report.header {
        eprintln!("bench: {line}");
    }
    let dir = tempfile::Builder::new().prefix("shardkeeper-bench-").tempdir()?;
    let ports = free_ports(12)?;
    let mut sk = Cluster::start_shardkeeper(&args.shardkeeper_bin, &dir.path().join("shardkeeper"), &ports[..6])?;
    let mut etcd = Cluster::start_etcd(&args.etcd_bin, &dir.path().join("etcd"), &ports[6..])?;
    let started = Instant::now();
    let sk_leader = sk.wait_stable(STABLE_WITHIN).await?;
    let etcd_leader = etcd.wait_stable(STABLE_WITHIN).await?;
    eprintln!(
        "bench: both clusters ready after {:.1} s (shardkeeper leader {}, etcd leader {}); data under {}",
        started.elapsed().as_secs_f64(),
        sk.url(sk_leader),
        etcd.url(etcd_leader),
        dir.path().display()
    );
    sk.seed_read_record(sk_leader).await?;
    etcd.seed_read_record(etcd_leader).await?;

    if args.runs("writes") {
        for role in [Role::Leader, Role::Follower] {
            let name = if role == Role::Leader { "leader" } else { "follower" };
            if !args.roles.iter().any(|r| r == name) {
                continue;
            }
            for &clients in &args.clients {
                let label = format!("{} {clients}", if role == Role::Leader { "leader" } else { "follower" });
                let pairs = pairs(args, report, &mut sk, &mut etcd, Op::Write, role, clients, &label).await?;
                report.writes.push(Figure { label, pairs });
            }
        }
    }
    if args.runs("reads") {
        for (label, op) in [("linearizable", Op::LinearizableRead), ("stale / serializable", Op::StaleRead)] {
            let label = format!("{label} {}", args.read_clients);
            let pairs = pairs(args, report, &mut sk, &mut etcd, op, Role::Leader, args.read_clients, &label).await?;
            report.reads.push(Figure { label, pairs });
        }
    }
    if args.runs("idle") {
        eprintln!("bench: idle window of {:.0} s on both clusters", args.idle().as_secs_f64());
        let (a, b) = tokio::join!(idle(&mut sk, args.idle()), idle(&mut etcd, args.idle()));
        report.idle = Some((a?, b?));
    }
    if args.runs("failover") {
        for trial in 0..args.trials() {
            report.check_quiet();
            let a = failover_trial(&mut sk).await?;
            report.check_quiet();
            let b = failover_trial(&mut etcd).await?;
            eprintln!("bench: failover trial {}: shardkeeper {:.0} ms, etcd {:.0} ms", trial + 1, a.millis, b.millis);
            report.failover.push((a, b));
        }
    }
    Ok(())
}

/// `args.rounds` A B pairs of one load figure.
#[allow(clippy::too_many_arguments)]
async fn pairs(
    args: &Args,
    report: &mut Report,
    sk: &mut Cluster,
    etcd: &mut Cluster,
    op: Op,
    role: Role,
    clients: usize,
    label: &str,
) -> Result<Vec<(Sample, Sample)>> {
    let mut pairs = Vec::new();
    for round in 0..args.rounds {
        report.check_quiet();
        let a = measure(sk, op, role, clients, args, &mut report.records[0]).await?;
        report.check_quiet();
        let b = measure(etcd, op, role, clients, args, &mut report.records[1]).await?;
        eprintln!(
            "bench: {label:<24} round {}: shardkeeper {:>8.0}/s p99 {:>7.1} ms | etcd {:>8.0}/s p99 {:>7.1} ms | ratio {:.2}{}",
            round + 1,
            a.rate,
            a.p99,
            b.rate,
            b.p99,
            a.rate / b.rate,
            if a.elections + b.elections > 0 {
                format!(" | elections {}/{}", a.elections, b.elections)
            } else {
                String::new()
            }
        );
        report.load_elections[0] += a.elections;
        report.load_elections[1] += b.elections;
        report.load_runs += 1;
        pairs.push((a, b));
    }
    Ok(pairs)
}

/// One measured load run against the leader or a follower of `cluster`.
async fn measure(
    cluster: &mut Cluster,
    op: Op,
    role: Role,
    clients: usize,
    args: &Args,
    records: &mut u64,
) -> Result<Sample> {
    let leader = cluster.wait_stable(STABLE_WITHIN).await?;
    let member = match role {
        Role::Leader => leader,
        Role::Follower => (leader + 1) % cluster.len(),
    };
    let target = Target::new(cluster.kind, op, cluster.url(member));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .pool_max_idle_per_host(clients)
        .tcp_nodelay(true)
        .build()?;
    let term_before = cluster.max_term().await;
    let cpu_before = (cluster.cpu_seconds(), self_cpu());
    let started = Instant::now();
    let result = load::run(&http, &target, clients, args.warmup(), args.duration()).await;
    let wall = started.elapsed().as_secs_f64();
    let server_cpu = (cluster.cpu_seconds() - cpu_before.0) / wall;
    let client_cpu = (self_cpu() - cpu_before.1) / wall;
    let term_after = cluster.max_term().await;
    let records_before = *records;
    if op == Op::Write {
        *records += result.sent;
    }
    Ok(Sample {
        records_before,
        rate: result.per_second(),
        p50: result.percentile_ms(0.50),
        p99: result.percentile_ms(0.99),
        errors: result.errors,
        first_error: result.first_error,
        server_cpu,
        client_cpu,
        elections: term_after.saturating_sub(term_before),
    })
}

fn self_cpu() -> f64 {
    process_cpu_seconds("/proc/self/stat").unwrap_or(0.0)
}

/// Watches an unloaded cluster for `window`, polling every member's status every 500 ms.
async fn idle(cluster: &mut Cluster, window: Duration) -> Result<Idle> {
    let leader = cluster.wait_stable(STABLE_WITHIN).await?;
    let term_before = cluster.max_term().await;
    let started = Instant::now();
    let mut leader_id = cluster.id(leader);
    let mut leader_changes = 0;
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    while started.elapsed() < window {
        tick.tick().await;
        for i in 0..cluster.len() {
            if let Ok(status) = cluster.status(i).await {
                if let Some(seen) = status.leader {
                    if Some(&seen) != leader_id.as_ref() {
                        leader_changes += 1;
                        leader_id = Some(seen);
                    }
                }
            }
        }
    }
    let term_after = cluster.max_term().await;
    Ok(Idle {
        seconds: started.elapsed().as_secs_f64(),
        elections: term_after.saturating_sub(term_before),
        leader_changes,
    })
}

/// SIGKILL the leader, time the first write acknowledged by a survivor (attempts every 10 ms),
/// then restart the killed member and wait until all three are ready under one leader.
async fn failover_trial(cluster: &mut Cluster) -> Result<Trial> {
    let leader = cluster.wait_stable(STABLE_WITHIN).await?;
    let survivor = (leader + 1) % cluster.len();
    let term_before = cluster.max_term().await;
    let http = reqwest::Client::builder().tcp_nodelay(true).build()?;
    // Open the connection to the survivor before the kill, as a client already using it would.
    let _ = http.get(format!("{}/healthz", cluster.url(survivor))).send().await;
    let target = Target::new(cluster.kind, Op::Write, cluster.url(survivor));
    let killed_at = Instant::now();
    cluster.kill(leader)?;
    let (elapsed, attempts) =
        load::first_acknowledged_write(&http, &target, killed_at, Duration::from_secs(10), Duration::from_secs(60))
            .await
            .with_context(|| format!("{} failover\n{}", cluster.kind.name(), cluster.log_tails()))?;
    cluster.spawn(leader)?;
    let restarted = Instant::now();
    cluster.wait_stable(Duration::from_secs(120)).await?;
    let rejoin_millis = restarted.elapsed().as_secs_f64() * 1000.0;
    let term_after = cluster.max_term().await;
    Ok(Trial {
        millis: elapsed.as_secs_f64() * 1000.0,
        attempts,
        elections: term_after.saturating_sub(term_before),
        rejoin_millis,
    })
}

/// Run settings, versions and machine state, printed above the tables.
fn header(args: &Args) -> Vec<String> {
    let command = |program: &str, argv: &[&str]| -> String {
        Command::new(program)
            .args(argv)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).lines().next().unwrap_or("").trim().to_string())
            .unwrap_or_else(|| "unknown".to_string())
    };
    let dirty = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .map(|o| !o.stdout.is_empty())
        .unwrap_or(false);
    let compiling = compiling();
    vec![
        format!("date: {}", command("date", &["-u", "+%Y-%m-%d %H:%M:%S UTC"])),
        format!(
            "shardkeeper: git {}{}; {}",
            command("git", &["rev-parse", "--short", "HEAD"]),
            if dirty { " (work tree has uncommitted changes)" } else { "" },
            args.shardkeeper_bin.display()
        ),
        format!("etcd: {}", command(&args.etcd_bin.display().to_string(), &["--version"])),
        format!("rustc: {}", command("rustc", &["-V"])),
        format!(
            "load average at start: {}{}",
            load_average(),
            if compiling { " — WARNING: rustc is running, figures are disturbed" } else { "" }
        ),
        format!(
            "settings: {:.1} s measured + {:.1} s warm-up per run, {} A/B rounds, write clients {:?}, read clients {}, {} failover trials, idle window {:.0} s",
            args.duration().as_secs_f64(),
            args.warmup().as_secs_f64(),
            args.rounds,
            args.clients,
            args.read_clients,
            args.trials(),
            args.idle().as_secs_f64()
        ),
    ]
}

/// A compiler is running on the machine (other work sharing the 2 cores).
fn compiling() -> bool {
    Command::new("pgrep").args(["-f", "rustc"]).output().map(|o| !o.stdout.is_empty()).unwrap_or(false)
}

fn load_average() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

fn median(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.into_iter().filter(|v| v.is_finite()).collect();
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Nearest-rank percentile.
fn percentile(values: &[f64], p: f64) -> f64 {
    let mut values = values.to_vec();
    values.sort_by(|a, b| a.total_cmp(b));
    if values.is_empty() {
        return f64::NAN;
    }
    let rank = ((values.len() as f64 * p).ceil() as usize).clamp(1, values.len());
    values[rank - 1]
}

fn ms(value: f64) -> String {
    if value < 10.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.1}")
    }
}

impl Report {
    /// Counts a measured run about to start, and whether a compiler is running now.
    fn check_quiet(&mut self) {
        self.measured_runs += 1;
        if compiling() {
            self.disturbed_runs += 1;
            eprintln!("bench: WARNING: rustc is running; this run is disturbed");
        }
    }

    fn tables(&self, args: &Args) -> Vec<Table> {
        let mut tables = Vec::new();
        if !self.writes.is_empty() {
            tables.push(load_table(
                "Writes: shardkeeper POST /api/v1/namespaces vs etcd POST /v3/kv/put (3 members, loopback)",
                "target clients",
                &self.writes,
            ));
        }
        if !self.reads.is_empty() {
            tables.push(load_table(
                "Reads from the leader: shardkeeper GET /api/v1/namespaces/{ns}[?consistency=stale] vs etcd POST /v3/kv/range [serializable]",
                "reads clients",
                &self.reads,
            ));
        }
        if self.idle.is_some() || self.load_runs > 0 {
            let mut table = Table::new(
                "Elections (raft term increases)",
                &[
                    "system",
                    "idle window s",
                    "elections while idle",
                    "leader changes while idle",
                    "elections during load runs",
                ],
            );
            for (i, kind) in [Kind::Shardkeeper, Kind::Etcd].into_iter().enumerate() {
                let idle = self.idle.as_ref().map(|(a, b)| if i == 0 { a } else { b });
                table.row(vec![
                    kind.name().to_string(),
                    idle.map(|s| format!("{:.0}", s.seconds)).unwrap_or_else(|| "-".into()),
                    idle.map(|s| s.elections.to_string()).unwrap_or_else(|| "-".into()),
                    idle.map(|s| s.leader_changes.to_string()).unwrap_or_else(|| "-".into()),
                    format!("{} over {} runs", self.load_elections[i], self.load_runs),
                ]);
            }
            table.note("Every member's status is polled every 500 ms while idle; a term increase is an election (etcd 3.4 runs without pre-vote by default).");
            tables.push(table);
        }
        if !self.failover.is_empty() {
            let mut table = Table::new(
                format!(
                    "Leader SIGKILL -> first write acknowledged through a survivor ({} trials each, alternating)",
                    self.failover.len()
                ),
                &[
                    "system",
                    "median ms",
                    "p95 ms",
                    "min ms",
                    "max ms",
                    "attempts (median)",
                    "elections per trial (median)",
                    "restart -> stable (median ms)",
                ],
            );
            for (i, kind) in [Kind::Shardkeeper, Kind::Etcd].into_iter().enumerate() {
                let trials: Vec<&Trial> = self.failover.iter().map(|(a, b)| if i == 0 { a } else { b }).collect();
                let millis: Vec<f64> = trials.iter().map(|t| t.millis).collect();
                table.row(vec![
                    kind.name().to_string(),
                    format!("{:.0}", median(millis.iter().copied())),
                    format!("{:.0}", percentile(&millis, 0.95)),
                    format!("{:.0}", percentile(&millis, 0.0)),
                    format!("{:.0}", percentile(&millis, 1.0)),
                    format!("{:.0}", median(trials.iter().map(|t| t.attempts as f64))),
                    format!("{:.0}", median(trials.iter().map(|t| t.elections as f64))),
                    format!("{:.0}", median(trials.iter().map(|t| t.rejoin_millis))),
                ]);
            }
            let ratios: Vec<f64> = self.failover.iter().map(|(a, b)| a.millis / b.millis).collect();
            let list = |i: usize| {
                self.failover
                    .iter()
                    .map(|(a, b)| format!("{:.0}", if i == 0 { a.millis } else { b.millis }))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            table.note(format!("shardkeeper trials (ms): {}", list(0)));
            table.note(format!("etcd trials (ms): {}", list(1)));
            table.note(format!(
                "ratio shardkeeper/etcd pair by pair: {}; median {:.2} (lower is better for shardkeeper)",
                ratios.iter().map(|r| format!("{r:.2}")).collect::<Vec<_>>().join(", "),
                median(ratios.iter().copied())
            ));
            table.note("Clock starts just before SIGKILL; a write (unique name/key) is started towards the next member every 10 ms without waiting for the earlier ones (each times out after 10 s) until one is acknowledged; attempts = writes started until then. The killed member is restarted on its data directory and the next trial waits until all three are ready under one leader.");
            tables.push(table);
        }
        if let Some(targets) = self.targets(args) {
            tables.push(targets);
        }
        tables
    }

    /// Issue 5's targets that this run measures, met or not.
    fn targets(&self, args: &Args) -> Option<Table> {
        let mut table = Table::new("Issue 5 targets (ratios from this run)", &["target", "measured", "met"]);
        let yes = |ok: bool| if ok { "yes" } else { "no" }.to_string();
        let leader64 = self.writes.iter().find(|f| f.label == "leader 64");
        if let Some(figure) = leader64 {
            let ratio = median(figure.pairs.iter().map(|(a, b)| a.rate / b.rate));
            table.row(vec![
                "writes/s at 64 clients >= etcd's (goal 1.5x)".into(),
                format!("median ratio {ratio:.2}"),
                format!("{}{}", yes(ratio >= 1.0), if ratio >= 1.5 { ", goal met" } else { "" }),
            ]);
            let p99 = median(figure.pairs.iter().map(|(a, b)| a.p99 / b.p99));
            table.row(vec![
                "p99 latency at 64 clients <= etcd's".into(),
                format!("median p99 ratio {p99:.2}"),
                yes(p99 <= 1.0),
            ]);
        }
        let reads = self.reads.iter().find(|f| f.label == format!("linearizable {}", args.read_clients));
        if let Some(figure) = reads {
            let ratio = median(figure.pairs.iter().map(|(a, b)| a.rate / b.rate));
            table.row(vec![
                "linearizable reads/s >= etcd's".into(),
                format!("median ratio {ratio:.2}"),
                yes(ratio >= 1.0),
            ]);
        }
        if !self.failover.is_empty() {
            let sk = median(self.failover.iter().map(|(a, _)| a.millis));
            let etcd = median(self.failover.iter().map(|(_, b)| b.millis));
            table.row(vec![
                "leader failover to first write <= 1 s median".into(),
                format!("{sk:.0} ms (etcd {etcd:.0} ms)"),
                yes(sk <= 1000.0),
            ]);
        }
        if self.idle.is_some() || self.load_runs > 0 {
            let idle = self.idle.as_ref().map(|(a, _)| a.elections);
            let loaded = self.load_elections[0];
            table.row(vec![
                "no spurious elections, idle or loaded".into(),
                format!(
                    "{} while idle, {loaded} during {} load runs",
                    idle.map(|e| e.to_string()).unwrap_or_else(|| "not measured".into()),
                    self.load_runs
                ),
                yes(idle.unwrap_or(0) == 0 && loaded == 0),
            ]);
        }
        (!table.rows.is_empty()).then_some(table)
    }
}

/// One row per A B pair plus a median row per figure.
fn load_table(title: &str, first: &str, figures: &[Figure]) -> Table {
    let mut table = Table::new(
        title,
        &[
            first,
            "run",
            "shardkeeper /s",
            "etcd /s",
            "ratio",
            "sk p50 ms",
            "etcd p50 ms",
            "sk p99 ms",
            "etcd p99 ms",
            "p99 ratio",
            "errors sk/etcd",
            "elections sk/etcd",
            "server CPU sk/etcd",
            "client CPU sk/etcd",
            "records before sk/etcd",
        ],
    );
    let mut error_notes = Vec::new();
    for figure in figures {
        for (round, (a, b)) in figure.pairs.iter().enumerate() {
            table.row(vec![
                if round == 0 { figure.label.clone() } else { String::new() },
                format!("{}", round + 1),
                format!("{:.0}", a.rate),
                format!("{:.0}", b.rate),
                format!("{:.2}", a.rate / b.rate),
                ms(a.p50),
                ms(b.p50),
                ms(a.p99),
                ms(b.p99),
                format!("{:.2}", a.p99 / b.p99),
                format!("{}/{}", a.errors, b.errors),
                format!("{}/{}", a.elections, b.elections),
                format!("{:.2}/{:.2}", a.server_cpu, b.server_cpu),
                format!("{:.2}/{:.2}", a.client_cpu, b.client_cpu),
                format!("{}k/{}k", a.records_before / 1000, b.records_before / 1000),
            ]);
            for (kind, sample) in [(Kind::Shardkeeper, a), (Kind::Etcd, b)] {
                if let Some(e) = &sample.first_error {
                    error_notes.push(format!(
                        "{} {} run {}: {} errors, first: {e}",
                        figure.label,
                        kind.name(),
                        round + 1,
                        sample.errors
                    ));
                }
            }
        }
        let pairs = &figure.pairs;
        let m = |f: &dyn Fn(&(Sample, Sample)) -> f64| median(pairs.iter().map(f));
        table.row(vec![
            String::new(),
            "median".into(),
            format!("{:.0}", m(&|(a, _)| a.rate)),
            format!("{:.0}", m(&|(_, b)| b.rate)),
            format!("{:.2}", m(&|(a, b)| a.rate / b.rate)),
            ms(m(&|(a, _)| a.p50)),
            ms(m(&|(_, b)| b.p50)),
            ms(m(&|(a, _)| a.p99)),
            ms(m(&|(_, b)| b.p99)),
            format!("{:.2}", m(&|(a, b)| a.p99 / b.p99)),
            String::new(),
            String::new(),
            format!("{:.2}/{:.2}", m(&|(a, _)| a.server_cpu), m(&|(_, b)| b.server_cpu)),
            format!("{:.2}/{:.2}", m(&|(a, _)| a.client_cpu), m(&|(_, b)| b.client_cpu)),
            String::new(),
        ]);
    }
    table.note("ratio = shardkeeper / etcd, pair by pair (A then B, same duration); the median row gives the median of each column, ratios included. Throughput: higher is better for shardkeeper; p99 ratio: lower is better.");
    table.note("server CPU: average cores used by the three server processes during the run (warm-up included); client CPU: this benchmark process. The machine has 2 cores for all of it. records before: writes this benchmark had sent to the system before the run (each one a namespace / key that the system keeps).");
    for note in error_notes {
        table.note(note);
    }
    table
}
