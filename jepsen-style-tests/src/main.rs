//! The suite's driver, run by jepsen-style-tests/run.sh against a deployment that is already up:
//! `run` records a history under faults and checks it, `calibrate` records a history in a
//! deliberately broken mode and requires the checker to flag it, `check` re-checks a recorded
//! history.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use tokio::sync::watch;

use shardkeeper_jepsen::api::ApiClient;
use shardkeeper_jepsen::checker::{failover::check_failover, register::check_registers, set::check_set};
use shardkeeper_jepsen::deployment::{ClockFiles, DATABASE_SERVERS, SHARDKEEPER_NODES};
use shardkeeper_jepsen::history::{read_history, Recorder};
use shardkeeper_jepsen::nemesis::{self, Fault, Nemesis, Target};
use shardkeeper_jepsen::report::{self, RunReport};
use shardkeeper_jepsen::workload::register::Registers;
use shardkeeper_jepsen::workload::failover::{FinalState, WritePath};
use shardkeeper_jepsen::workload::{self, Client, ReadConsistency};

/// Explored states the register checker may spend per key before answering "unknown".
const CHECKER_BUDGET: usize = 5_000_000;
const REGISTERS: Registers = Registers { prefix: "reg", count: 3 };
const CALIBRATION_REGISTERS: Registers = Registers { prefix: "stale", count: 1 };

#[derive(Parser)]
#[command(about = "jepsen-style fault tests against shardkeeper's docker-compose deployment")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
enum Mode {
    Smoke,
    Full,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the workloads under the nemesis, then checks the history.
    Run {
        #[arg(long, value_enum)]
        mode: Mode,
        /// Where the history, the nemesis log and the reports go.
        #[arg(long)]
        results: PathBuf,
        /// The directory holding each node's libfaketime offset file (<dir>/skN/offset).
        #[arg(long)]
        clocks: PathBuf,
        /// How long full mode injects faults.
        #[arg(long, default_value = "30")]
        minutes: u64,
    },
    /// Records register operations with stale reads while a follower is cut off, and exits 0 only
    /// when the checker flags the history.
    Calibrate {
        #[arg(long)]
        results: PathBuf,
        #[arg(long)]
        clocks: PathBuf,
    },
    /// Checks a recorded history (and final-state.json beside it, when present) again.
    Check {
        #[arg(long)]
        history: PathBuf,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let anomalies = match cli.command {
        Command::Run { mode, results, clocks, minutes } => run(mode, &results, clocks, minutes).await?,
        Command::Calibrate { results, clocks } => return calibrate(&results, clocks).await,
        Command::Check { history } => check(&history)?,
    };
    std::process::exit(if anomalies == 0 { 0 } else { 1 });
}

fn node_urls() -> Vec<String> {
    SHARDKEEPER_NODES.iter().map(|host| host.url()).collect()
}

struct Session {
    client: Client,
    stop: watch::Sender<bool>,
    writer: tokio::task::JoinHandle<anyhow::Result<()>>,
    started: Instant,
}

/// The workloads' and the nemesis' client: 3 s per request, the deployment's token (SK_TOKEN_FILE)
/// and CA (SK_CA_FILE).
fn api_client() -> anyhow::Result<ApiClient> {
    Ok(ApiClient::new(Duration::from_secs(3), ApiClient::token_from_env()?.as_deref(), ApiClient::ca_from_env()?))
}

async fn open_session(history: &Path) -> anyhow::Result<Session> {
    let started = Instant::now();
    let (recorder, writer) = Recorder::create(history, started).await?;
    let (stop, stopped) = watch::channel(false);
    let client = Client::new(recorder, api_client()?, stopped);
    Ok(Session { client, stop, writer, started })
}

/// Stops the clients and waits for them: a final read must not race their last writes.
async fn stop_clients(session: &Session, clients: Vec<tokio::task::JoinHandle<()>>) -> anyhow::Result<()> {
    let _ = session.stop.send(true);
    for client in clients {
        if tokio::time::timeout(Duration::from_secs(15), client).await.is_err() {
            anyhow::bail!("a client did not stop within 15s");
        }
    }
    Ok(())
}

/// Flushes the history once nothing records into it any more.
async fn close_history(session: Session) -> anyhow::Result<()> {
    drop(session.client);
    session.writer.await?
}

async fn run(mode: Mode, results: &Path, clocks: PathBuf, minutes: u64) -> anyhow::Result<usize> {
    let history_path = results.join("history.jsonl");
    let session = open_session(&history_path).await?;
    let nodes = node_urls();
    println!("setting up the registers, the set and the failover table");
    workload::register::set_up(&session.client, &REGISTERS).await?;
    workload::failover::set_up(&session.client, &nodes).await?;

    let mut clients = Vec::new();
    for _ in 0..5 {
        let task = workload::register::run_client(session.client.clone(), REGISTERS, ReadConsistency::Linearizable, nodes.clone());
        clients.push(tokio::spawn(task));
    }
    for _ in 0..2 {
        clients.push(tokio::spawn(workload::set::run_client(session.client.clone(), nodes.clone())));
        for path in [WritePath::Route, WritePath::Direct] {
            clients.push(tokio::spawn(workload::failover::run_writer(session.client.clone(), nodes.clone(), path)));
        }
    }
    clients.push(tokio::spawn(workload::failover::run_sampler(session.client.clone(), nodes.clone())));

    let api = api_client()?;
    let mut nemesis = Nemesis::new(api, ClockFiles { directory: clocks }, session.started, &results.join("nemesis.jsonl"))?;
    let quiet = Duration::from_secs(5);
    tokio::time::sleep(quiet).await;
    match mode {
        Mode::Smoke => {
            for fault in nemesis::smoke_schedule() {
                nemesis.run_fault(&fault, Duration::from_secs(8)).await;
                tokio::time::sleep(Duration::from_secs(4)).await;
            }
        }
        Mode::Full => {
            let until = Instant::now() + Duration::from_secs(minutes * 60);
            // Every fault once first, so a full run covers as much as a smoke run.
            let mut schedule = nemesis::smoke_schedule().into_iter();
            while Instant::now() < until {
                let fault = schedule.next().unwrap_or_else(nemesis::random_fault);
                let hold = Duration::from_millis(rand::random_range(3_000..20_000));
                nemesis.run_fault(&fault, hold).await;
                tokio::time::sleep(Duration::from_millis(rand::random_range(2_000..10_000))).await;
            }
        }
    }
    nemesis.heal_everything().await;
    println!("faults healed; the clients go on for 15 s");
    tokio::time::sleep(Duration::from_secs(15)).await;
    let end_of_faults = session.client.recorder.now_ns();
    stop_clients(&session, clients).await?;

    let set_read = workload::set::final_read(&session.client, &nodes, Duration::from_secs(60)).await;
    let final_state = workload::failover::final_state(&session.client, &nodes, Duration::from_secs(60)).await;
    let duration = session.started.elapsed();
    close_history(session).await?;
    set_read.context("final read of the set")?;
    let (final_state, failover_error) = match final_state {
        Ok(state) => {
            std::fs::write(results.join("final-state.json"), serde_json::to_vec_pretty(&state)?)?;
            (Some(state), None)
        }
        Err(error) => (None, Some(error.to_string())),
    };

    let events = read_history(&history_path)?;
    let report = RunReport {
        mode: format!("{mode:?}").to_lowercase(),
        duration_s: duration.as_secs_f64(),
        operations: report::operation_counts(&events),
        longest_write_gap_ms: report::longest_write_gaps(&events, quiet.as_nanos() as u64, end_of_faults),
        faults: nemesis.injected.clone(),
        nemesis_errors: nemesis.errors.clone(),
        register: check_registers(&events, 0, CHECKER_BUDGET),
        register_torn_reads: report::torn_register_reads(&events),
        set: check_set(&events),
        failover: final_state.as_ref().map(|state| check_failover(&events, state, DATABASE_SERVERS.len())),
        failover_error,
    };
    finish(results, &report)
}

fn finish(results: &Path, report: &RunReport) -> anyhow::Result<usize> {
    std::fs::write(results.join("report.json"), serde_json::to_vec_pretty(report)?)?;
    let summary = report.summary();
    std::fs::write(results.join("summary.txt"), &summary)?;
    print!("{summary}");
    Ok(report.anomalies())
}

/// Stale local reads while one follower is cut off from the others: the reads it serves lag
/// behind acknowledged cas operations, which a correct checker must call not linearizable.
async fn calibrate(results: &Path, clocks: PathBuf) -> anyhow::Result<()> {
    let history_path = results.join("calibration-history.jsonl");
    let session = open_session(&history_path).await?;
    let nodes = node_urls();
    workload::register::set_up(&session.client, &CALIBRATION_REGISTERS).await?;
    let api = api_client()?;
    let mut nemesis = Nemesis::new(api, ClockFiles { directory: clocks }, session.started, &results.join("calibration-nemesis.jsonl"))?;
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let client = workload::register::run_client(session.client.clone(), CALIBRATION_REGISTERS, ReadConsistency::Stale, nodes.clone());
            tokio::spawn(client)
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;
    nemesis.run_fault(&Fault::IsolateNode(Target::Follower), Duration::from_secs(15)).await;
    nemesis.heal_everything().await;
    stop_clients(&session, clients).await?;
    close_history(session).await?;
    let events = read_history(&history_path)?;
    let report = check_registers(&events, 0, CHECKER_BUDGET);
    std::fs::write(results.join("calibration-report.json"), serde_json::to_vec_pretty(&report)?)?;
    let flagged = report.anomalies();
    println!("calibration: {} operations recorded with stale reads and a follower cut off; checker flagged {flagged} register(s) as not linearizable",
        report::operation_counts(&events).values().map(|c| c.ok + c.fail + c.info).sum::<usize>());
    println!("{}", serde_json::to_string_pretty(&report.keys)?);
    anyhow::ensure!(flagged > 0, "calibration failed: the checker did not flag a history recorded with stale reads");
    Ok(())
}

fn check(history: &Path) -> anyhow::Result<usize> {
    let events = read_history(history)?;
    let final_state_path = history.with_file_name("final-state.json");
    let final_state: Option<FinalState> = std::fs::read(&final_state_path).ok().map(|bytes| serde_json::from_slice(&bytes)).transpose()?;
    let register = check_registers(&events, 0, CHECKER_BUDGET);
    let set = check_set(&events);
    let failover = final_state.as_ref().map(|state| check_failover(&events, state, DATABASE_SERVERS.len()));
    let anomalies = register.anomalies() + set.anomalies() + failover.as_ref().map_or(0, |report| report.anomalies());
    println!("{}", serde_json::to_string_pretty(&serde_json::json!({"register": register, "set": set, "failover": failover}))?);
    println!("anomalies: {anomalies}");
    Ok(anomalies)
}
