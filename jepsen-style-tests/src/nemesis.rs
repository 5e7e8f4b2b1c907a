//! The nemesis: which faults exist, how each is injected and healed from the host, and the
//! schedules of the two modes (smoke: every fault once, in a fixed order; full: random faults
//! until the time is up). Every fault is healed before the next one starts and everything is
//! healed again at the end. Faults on the database shard wait for a healthy shard first, acting as
//! the operator would between incidents: acknowledging finished recoveries (so the next failover
//! is not blocked) and re-seeding a server shardkeeper marked diverged.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use rand::seq::IndexedRandom;
use rand::Rng;
use serde_json::{json, Value};

use crate::api::{ApiClient, Outcome};
use crate::deployment::{self, ClockFiles, Host, DATABASE_SERVERS, DEMO_CLUSTER, DEMO_NAMESPACE, SHARDKEEPER_NODES};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Leader,
    Follower,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// SIGKILL of a shardkeeper node, `docker start` at heal.
    KillNode(Target),
    /// SIGSTOP of every process of a shardkeeper node, SIGCONT at heal.
    PauseNode(Target),
    /// A shardkeeper node cut off from the other two (clients still reach it).
    IsolateNode(Target),
    /// A and C cut apart, B sees both.
    Bridge,
    /// One node receives nothing from another, which still receives from it.
    OneWayLoss,
    /// One node's wall clock jumps by minutes (libfaketime).
    ClockSkew,
    /// SIGKILL of the MariaDB master, `docker start` at heal.
    KillPrimary,
    /// SIGSTOP of the MariaDB master, SIGCONT at heal.
    PausePrimary,
    /// The MariaDB master cut off from everything, clients included.
    IsolatePrimary,
    /// Several faults at once.
    Several(Vec<Fault>),
}

impl Fault {
    pub fn name(&self) -> String {
        match self {
            Fault::KillNode(target) => format!("kill-{}", target_name(*target)),
            Fault::PauseNode(target) => format!("pause-{}", target_name(*target)),
            Fault::IsolateNode(target) => format!("isolate-{}", target_name(*target)),
            Fault::Bridge => "bridge".into(),
            Fault::OneWayLoss => "one-way-loss".into(),
            Fault::ClockSkew => "clock-skew".into(),
            Fault::KillPrimary => "kill-db-primary".into(),
            Fault::PausePrimary => "pause-db-primary".into(),
            Fault::IsolatePrimary => "isolate-db-primary".into(),
            Fault::Several(faults) => faults.iter().map(Fault::name).collect::<Vec<_>>().join("+"),
        }
    }

    fn touches_database(&self) -> bool {
        match self {
            Fault::KillPrimary | Fault::PausePrimary | Fault::IsolatePrimary => true,
            Fault::Several(faults) => faults.iter().any(Fault::touches_database),
            _ => false,
        }
    }
}

fn target_name(target: Target) -> &'static str {
    match target {
        Target::Leader => "leader",
        Target::Follower => "follower",
    }
}

/// Every single fault, each of them at least once in smoke mode, followed by two combinations.
pub fn smoke_schedule() -> Vec<Fault> {
    vec![
        Fault::KillNode(Target::Follower),
        Fault::KillNode(Target::Leader),
        Fault::PauseNode(Target::Follower),
        Fault::IsolateNode(Target::Leader),
        Fault::KillPrimary,
        Fault::IsolateNode(Target::Follower),
        Fault::Bridge,
        Fault::PausePrimary,
        Fault::OneWayLoss,
        Fault::ClockSkew,
        Fault::PauseNode(Target::Leader),
        Fault::IsolatePrimary,
        Fault::Several(vec![Fault::KillNode(Target::Follower), Fault::PausePrimary]),
        Fault::Several(vec![Fault::IsolateNode(Target::Leader), Fault::ClockSkew]),
    ]
}

/// A random fault for full mode: any single one, or two at once (at most one on the database).
pub fn random_fault() -> Fault {
    let singles = smoke_schedule().into_iter().filter(|fault| !matches!(fault, Fault::Several(_))).collect::<Vec<_>>();
    let mut rng = rand::rng();
    if rng.random_bool(0.25) {
        let first = singles.choose(&mut rng).expect("faults").clone();
        let second = singles
            .iter()
            .filter(|fault| !(fault.touches_database() && first.touches_database()))
            .filter(|fault| **fault != first)
            .collect::<Vec<_>>()
            .choose(&mut rng)
            .map(|fault| (*fault).clone());
        match second {
            Some(second) if is_node_fault(&first) != is_node_fault(&second) || !is_node_fault(&first) => {
                Fault::Several(vec![first, second])
            }
            _ => first,
        }
    } else {
        singles.choose(&mut rng).expect("faults").clone()
    }
}

/// Faults that take a shardkeeper node away; two of them at once could take the majority.
fn is_node_fault(fault: &Fault) -> bool {
    matches!(fault, Fault::KillNode(_) | Fault::PauseNode(_) | Fault::IsolateNode(_) | Fault::Bridge | Fault::OneWayLoss)
}

/// One step that undoes part of an injected fault.
#[derive(Debug, Clone)]
enum Heal {
    Start(&'static Host),
    Continue(&'static Host),
    Network(&'static Host),
    Clock(&'static Host),
}

pub struct Nemesis {
    api: ApiClient,
    clocks: ClockFiles,
    /// The start of the run, which the nemesis log's times count from (as the history's do).
    started: std::time::Instant,
    log: std::fs::File,
    /// How many faults were injected, by name.
    pub injected: Vec<String>,
    pub errors: Vec<String>,
}

impl Nemesis {
    pub fn new(api: ApiClient, clocks: ClockFiles, started: std::time::Instant, log_path: &Path) -> anyhow::Result<Nemesis> {
        let log = std::fs::File::create(log_path).with_context(|| format!("cannot create {}", log_path.display()))?;
        Ok(Nemesis { api, clocks, started, log, injected: Vec::new(), errors: Vec::new() })
    }

    fn note(&mut self, fault: &str, phase: &str, detail: Value) {
        let elapsed = self.started.elapsed();
        let line = json!({"time_ns": elapsed.as_nanos() as u64, "fault": fault, "phase": phase, "detail": detail});
        let _ = writeln!(self.log, "{line}");
        println!("  {:>7.1}s  nemesis {phase:<8} {fault} {detail}", elapsed.as_secs_f64());
    }

    /// Injects `fault`, holds it for `hold`, heals it.
    pub async fn run_fault(&mut self, fault: &Fault, hold: Duration) {
        let name = fault.name();
        if fault.touches_database() {
            if let Err(error) = self.prepare_database_shard().await {
                self.note(&name, "skipped", json!(error.to_string()));
                self.errors.push(format!("{name} skipped: {error}"));
                return;
            }
        }
        let mut heals = Vec::new();
        match self.inject(fault, &mut heals).await {
            Ok(detail) => {
                self.injected.push(name.clone());
                self.note(&name, "start", detail);
            }
            Err(error) => {
                self.note(&name, "failed", json!(error.to_string()));
                self.errors.push(format!("{name} could not be injected: {error}"));
            }
        }
        tokio::time::sleep(hold).await;
        self.heal(&name, heals).await;
    }

    async fn heal(&mut self, name: &str, heals: Vec<Heal>) {
        let mut problems = Vec::new();
        for heal in heals.into_iter().rev() {
            let outcome = match &heal {
                Heal::Start(host) => deployment::start(host).await,
                Heal::Continue(host) => deployment::signal_processes(host, "CONT").await,
                Heal::Network(host) => deployment::heal_network(host).await,
                Heal::Clock(host) => self.clocks.set_offset(host, 0),
            };
            if let Err(error) = outcome {
                problems.push(format!("{heal:?}: {error}"));
            }
        }
        self.note(name, "healed", json!(problems));
        self.errors.extend(problems.into_iter().map(|problem| format!("healing {name}: {problem}")));
    }

    /// Heals whatever may still be broken: every container running and continued, no iptables
    /// rule, every clock true.
    pub async fn heal_everything(&mut self) {
        let mut heals = Vec::new();
        for host in SHARDKEEPER_NODES.iter().chain(DATABASE_SERVERS.iter()) {
            heals.push(Heal::Network(host));
            if deployment::is_running(host).await {
                heals.push(Heal::Continue(host));
            } else {
                heals.push(Heal::Start(host));
            }
        }
        for host in &SHARDKEEPER_NODES {
            heals.push(Heal::Clock(host));
        }
        self.heal("everything", heals).await;
    }

    fn inject<'a>(
        &'a mut self,
        fault: &'a Fault,
        heals: &'a mut Vec<Heal>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<Value>> + Send + 'a>> {
        Box::pin(async move {
            match fault {
                Fault::KillNode(target) => {
                    let host = self.shardkeeper_node(*target).await?;
                    deployment::kill(host).await?;
                    heals.push(Heal::Start(host));
                    Ok(json!({"node": host.name}))
                }
                Fault::PauseNode(target) => {
                    let host = self.shardkeeper_node(*target).await?;
                    heals.push(Heal::Continue(host));
                    deployment::signal_processes(host, "STOP").await?;
                    Ok(json!({"node": host.name}))
                }
                Fault::IsolateNode(target) => {
                    let host = self.shardkeeper_node(*target).await?;
                    for other in SHARDKEEPER_NODES.iter().filter(|other| other.name != host.name) {
                        heals.push(Heal::Network(host));
                        heals.push(Heal::Network(other));
                        deployment::cut(host, other).await?;
                    }
                    Ok(json!({"node": host.name}))
                }
                Fault::Bridge => {
                    let order = shuffled_nodes();
                    let (a, b, c) = (order[0], order[1], order[2]);
                    heals.push(Heal::Network(a));
                    heals.push(Heal::Network(c));
                    deployment::cut(a, c).await?;
                    Ok(json!({"cut_apart": [a.name, c.name], "bridge": b.name}))
                }
                Fault::OneWayLoss => {
                    let order = shuffled_nodes();
                    let (deaf, sender) = (order[0], order[1]);
                    heals.push(Heal::Network(deaf));
                    deployment::drop_incoming(deaf, sender).await?;
                    Ok(json!({"receives_nothing": deaf.name, "from": sender.name}))
                }
                Fault::ClockSkew => {
                    let host = shuffled_nodes()[0];
                    let seconds = if rand::rng().random_bool(0.5) { 300 } else { -300 };
                    heals.push(Heal::Clock(host));
                    self.clocks.set_offset(host, seconds)?;
                    Ok(json!({"node": host.name, "offset_s": seconds}))
                }
                Fault::KillPrimary => {
                    let host = self.database_master().await?;
                    deployment::kill(host).await?;
                    heals.push(Heal::Start(host));
                    Ok(json!({"server": host.name}))
                }
                Fault::PausePrimary => {
                    let host = self.database_master().await?;
                    heals.push(Heal::Continue(host));
                    deployment::signal_processes(host, "STOP").await?;
                    Ok(json!({"server": host.name}))
                }
                Fault::IsolatePrimary => {
                    let host = self.database_master().await?;
                    heals.push(Heal::Network(host));
                    deployment::isolate_completely(host).await?;
                    Ok(json!({"server": host.name}))
                }
                Fault::Several(faults) => {
                    let mut details = Vec::new();
                    for fault in faults {
                        details.push(self.inject(fault, heals).await?);
                    }
                    Ok(Value::Array(details))
                }
            }
        })
    }

    /// The current raft leader (as most nodes see it) or one of its followers.
    async fn shardkeeper_node(&self, target: Target) -> anyhow::Result<&'static Host> {
        let mut votes = std::collections::HashMap::<u64, usize>::new();
        for host in &SHARDKEEPER_NODES {
            if let Outcome::Ok { data, .. } = self.api.get(&host.url(), "/api/v1/status").await {
                if let Some(leader) = data.get("leader_id").and_then(Value::as_u64) {
                    *votes.entry(leader).or_default() += 1;
                }
            }
        }
        let leader_id = votes.into_iter().max_by_key(|(_, count)| *count).map(|(id, _)| id);
        let leader = leader_id.and_then(deployment::shardkeeper_node).ok_or_else(|| anyhow!("no node knows a leader"))?;
        Ok(match target {
            Target::Leader => leader,
            Target::Follower => {
                let followers: Vec<_> = SHARDKEEPER_NODES.iter().filter(|host| host.name != leader.name).collect();
                followers.choose(&mut rand::rng()).expect("two followers")
            }
        })
    }

    async fn database_master(&self) -> anyhow::Result<&'static Host> {
        let data = self.ask_any(&demo_path("")).await?;
        let master = data
            .pointer("/cluster/shards/0/nodes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|node| node.get("role").and_then(Value::as_str) == Some("master"))
            .and_then(|node| node.get("addr").and_then(Value::as_str))
            .ok_or_else(|| anyhow!("the demo shard names no master"))?;
        deployment::database_server(master).ok_or_else(|| anyhow!("unknown server {master}"))
    }

    async fn ask_any(&self, path: &str) -> anyhow::Result<Value> {
        let mut last = String::new();
        for host in shuffled_nodes() {
            match self.api.get(&host.url(), path).await {
                Outcome::Ok { data, .. } => return Ok(data),
                Outcome::Fail { error, .. } | Outcome::Unknown { error } => last = error,
            }
        }
        bail!("no shardkeeper node answered GET {path}: {last}")
    }

    async fn post_any(&self, path: &str, body: &Value) -> anyhow::Result<()> {
        let mut last = String::new();
        for host in shuffled_nodes() {
            match self.api.post(&host.url(), path, body, None).await {
                Outcome::Ok { .. } => return Ok(()),
                Outcome::Fail { error, .. } | Outcome::Unknown { error } => last = error,
            }
        }
        bail!("no shardkeeper node accepted POST {path}: {last}")
    }

    /// Before a database fault: acknowledges finished recoveries, re-seeds diverged servers and
    /// waits (at most 60 s) until the shard is `AllHealthy`.
    async fn prepare_database_shard(&mut self) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        let mut last = String::new();
        while tokio::time::Instant::now() < deadline {
            self.acknowledge_recoveries().await;
            self.reseed_diverged_servers().await;
            match self.ask_any(&demo_path("/health")).await {
                Ok(health) => {
                    let kinds: Vec<&str> = health
                        .pointer("/shards/0/findings")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|finding| finding.get("kind").and_then(Value::as_str))
                        .collect();
                    if kinds == ["AllHealthy"] {
                        return Ok(());
                    }
                    last = kinds.join(",");
                }
                Err(error) => last = error.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        bail!("the demo shard was not AllHealthy within 60s (last: {last})")
    }

    async fn acknowledge_recoveries(&mut self) {
        let Ok(data) = self.ask_any(&demo_path("/recoveries")).await else { return };
        let pending: Vec<u64> = data
            .get("recoveries")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|recovery| recovery.get("state").and_then(Value::as_str) != Some("running"))
            .filter(|recovery| recovery.get("acknowledged_by").is_none_or(Value::is_null))
            .filter_map(|recovery| recovery.get("id").and_then(Value::as_u64))
            .collect();
        for id in pending {
            let body = json!({"by": "jepsen-nemesis", "comment": "acknowledged between faults"});
            match self.post_any(&demo_path(&format!("/recoveries/{id}/acknowledge")), &body).await {
                Ok(()) => self.note("operator", "ack", json!({"recovery": id})),
                Err(error) => self.note("operator", "ack-fail", json!(error.to_string())),
            }
        }
    }

    /// A server marked diverged holds transactions the master lacks; as an operator would, the
    /// nemesis throws its data away (a blank server) and clears the mark, so shardkeeper
    /// re-attaches it.
    async fn reseed_diverged_servers(&mut self) {
        let Ok(data) = self.ask_any(&demo_path("")).await else { return };
        let diverged: Vec<(String, String)> = data
            .pointer("/cluster/shards/0/nodes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|node| node.get("diverged").is_some_and(|reason| !reason.is_null()))
            .filter_map(|node| Some((node.get("id")?.as_str()?.to_string(), node.get("addr")?.as_str()?.to_string())))
            .collect();
        for (id, addr) in diverged {
            let Some(server) = deployment::database_server(&addr) else { continue };
            let outcome = async {
                deployment::wipe_database(server).await?;
                self.post_any(&demo_path(&format!("/shards/0/nodes/{id}/clear-diverged")), &json!({})).await
            }
            .await;
            match outcome {
                Ok(()) => self.note("operator", "reseeded", json!({"server": server.name})),
                Err(error) => {
                    self.note("operator", "reseed-fail", json!(error.to_string()));
                    self.errors.push(format!("re-seeding {}: {error}", server.name));
                }
            }
        }
    }
}

fn demo_path(rest: &str) -> String {
    format!("/api/v1/namespaces/{DEMO_NAMESPACE}/clusters/{DEMO_CLUSTER}{rest}")
}

fn shuffled_nodes() -> Vec<&'static Host> {
    let mut nodes: Vec<&'static Host> = SHARDKEEPER_NODES.iter().collect();
    rand::seq::SliceRandom::shuffle(nodes.as_mut_slice(), &mut rand::rng());
    nodes
}
