//! The executor (leader only): carries out repairs, failovers and switchovers against MySQL.
//!
//! Every recovery is recorded through raft before any server is touched (`BeginRecovery`, naming
//! the successor) and ended by one command that also commits the new master (`FinishRecovery`).
//! Every step is idempotent, so a new leader that finds a running recovery drives it again.

use std::sync::Arc;

use crate::config::FleetConfig;
use crate::error::{ErrorCode, ServiceError};
use crate::health::DbClients;
use crate::meta::{
    Cluster, Command, NodeRef, Recovery, RecoveryIntent, RecoveryKind, RecoveryOutcome, RecoveryStep,
    Response,
};
use crate::mysql::{dialect, DbClient, ReplicationSource};
use crate::node::Node;

use super::planner::{node_ref, Candidate, Repair};

/// One shard of a cluster as metadata declared it when the work started.
#[derive(Clone, Debug)]
pub struct ShardTarget {
    pub namespace: String,
    pub cluster: Arc<Cluster>,
    pub shard: usize,
}

impl ShardTarget {
    fn others(&self, excluded: &[&str]) -> Vec<NodeRef> {
        self.cluster.shards[self.shard]
            .nodes
            .iter()
            .filter(|node| !excluded.contains(&node.id.as_str()))
            .map(node_ref)
            .collect()
    }

    fn label(&self) -> String {
        format!("{}/{}/{}", self.namespace, self.cluster.name, self.shard)
    }
}

/// The steps of one recovery, as they happen.
#[derive(Default)]
struct Steps {
    list: Vec<RecoveryStep>,
}

impl Steps {
    fn record(&mut self, recovery_id: u64, text: impl Into<String>) {
        let text = text.into();
        tracing::info!(recovery_id, step = %text, "recovery step");
        self.list.push(RecoveryStep { at_ms: crate::clock::unix_millis(), text });
    }
}

/// What a finished recovery leaves for its caller.
#[derive(Clone, Debug)]
pub struct RecoveryReport {
    pub id: u64,
    pub new_master: NodeRef,
}

#[derive(Clone)]
pub struct Executor {
    node: Node,
    clients: DbClients,
    config: FleetConfig,
}

impl Executor {
    pub fn new(node: Node, clients: DbClients, config: FleetConfig) -> Self {
        Executor { node, clients, config }
    }

    fn client(&self, cluster: &Cluster, node: &NodeRef) -> DbClient {
        self.clients.client(&node.id, &node.addr, &cluster.credentials)
    }

    fn source(&self, cluster: &Cluster, master: &NodeRef) -> Result<ReplicationSource, String> {
        let (host, port) = split_addr(&master.addr)?;
        Ok(ReplicationSource {
            host,
            port,
            user: cluster.credentials.replication_user.clone(),
            password: cluster.credentials.replication_password.clone(),
            heartbeat: self.config.replication_heartbeat,
            connect_retry_secs: 1,
        })
    }

    /// Carries out one repair of a shard whose master is healthy.
    pub async fn repair(&self, target: &ShardTarget, repair: &Repair) -> Result<(), String> {
        let cluster = &target.cluster;
        let semi_sync = cluster.policy.semi_sync;
        match repair {
            Repair::Fence { node } => self.fence(cluster, node).await,
            Repair::Attach { node, master } => {
                let source = self.source(cluster, master)?;
                self.attach(&self.client(cluster, node), &source, semi_sync).await
            }
            Repair::EnableSourceSemiSync { node, flavor } => {
                let sql = dialect::set_global_flag(dialect::semi_sync_names(*flavor).source_enabled, true);
                self.client(cluster, node).execute(&sql).await.map_err(|error| error.to_string())
            }
            Repair::OpenMaster { node } => {
                self.client(cluster, node).promote(semi_sync).await.map_err(|error| error.to_string())
            }
            Repair::MarkDiverged { node, reason } => {
                let command = Command::MarkDiverged {
                    namespace: target.namespace.clone(),
                    cluster: cluster.name.clone(),
                    shard: target.shard,
                    node_id: node.id.clone(),
                    reason: Some(reason.clone()),
                };
                self.node.propose_as_leader(command).await.map(|_| ()).map_err(|error| error.message)
            }
        }
    }

    /// Makes `client`'s server a replica of `source` that notices a lost source within
    /// `replica_net_timeout`.
    async fn attach(&self, client: &DbClient, source: &ReplicationSource, semi_sync: bool) -> Result<(), String> {
        let state = client.probe().await.map_err(|error| error.to_string())?;
        let timeout = dialect::set_replica_net_timeout(state.flavor, self.config.replica_net_timeout);
        client.execute(&timeout).await.map_err(|error| error.to_string())?;
        client.repoint(source, semi_sync).await.map_err(|error| error.to_string())
    }

    /// read_only on and every client session killed: nothing writes to `node` any more.
    async fn fence(&self, cluster: &Cluster, node: &NodeRef) -> Result<(), String> {
        self.client(cluster, node).fence().await.map(|_| ()).map_err(|error| error.to_string())
    }

    /// Records the intent, then drives the recovery to its end.
    pub async fn start_recovery(
        &self,
        target: &ShardTarget,
        kind: RecoveryKind,
        finding: &str,
        candidate: &Candidate,
    ) -> Result<RecoveryReport, ServiceError> {
        let master = target.cluster.shards[target.shard]
            .master()
            .ok_or_else(|| ServiceError::new(ErrorCode::Conflict, "the shard has no master"))?;
        let intent = RecoveryIntent {
            namespace: target.namespace.clone(),
            cluster: target.cluster.name.clone(),
            shard: target.shard,
            kind,
            finding: finding.to_string(),
            failed_node: node_ref(master),
            successor: candidate.node.clone(),
            started_at_ms: crate::clock::unix_millis(),
            data_loss_possible: candidate.data_loss_possible,
        };
        let id = match self.node.propose_as_leader(Command::BeginRecovery(intent.clone())).await? {
            Response::Recovery(id) => id,
            other => return Err(ServiceError::internal(format!("begin recovery answered {other:?}"))),
        };
        tracing::warn!(
            recovery_id = id,
            shard = %target.label(),
            kind = ?kind,
            failed = %intent.failed_node.addr,
            successor = %intent.successor.addr,
            data_loss_possible = candidate.data_loss_possible,
            "recovery started"
        );
        let mut steps = Steps::default();
        for reason in &candidate.data_loss_reasons {
            steps.record(id, format!("data loss possible: {reason}"));
        }
        self.drive(target, id, kind, &intent.failed_node, &intent.successor, steps).await
    }

    /// Drives a recovery a previous leader began and did not finish.
    pub async fn resume(&self, target: &ShardTarget, recovery: &Recovery) -> Result<RecoveryReport, ServiceError> {
        let successor = recovery
            .successor
            .clone()
            .ok_or_else(|| ServiceError::internal(format!("recovery {} names no successor", recovery.id)))?;
        let mut steps = Steps::default();
        steps.record(recovery.id, "resumed by a new shardkeeper leader");
        self.drive(target, recovery.id, recovery.kind, &recovery.failed_node, &successor, steps).await
    }

    async fn drive(
        &self,
        target: &ShardTarget,
        id: u64,
        kind: RecoveryKind,
        failed: &NodeRef,
        successor: &NodeRef,
        mut steps: Steps,
    ) -> Result<RecoveryReport, ServiceError> {
        let outcome = match kind {
            RecoveryKind::Failover => self.fail_over(target, id, failed, successor, &mut steps).await,
            RecoveryKind::Switchover => self.switch_over(target, id, failed, successor, &mut steps).await,
        };
        let (success, error, lost) = match outcome {
            Ok(lost) => (true, None, lost),
            Err(error) => {
                steps.record(id, format!("failed: {error}"));
                (false, Some(error), Vec::new())
            }
        };
        let recorded_loss = self
            .node
            .read(crate::node::Consistency::Stale, |state| {
                Ok(state.recoveries.get(&id).is_some_and(|recovery| recovery.data_loss_possible))
            })
            .await
            .unwrap_or(true);
        let finish = RecoveryOutcome {
            id,
            ended_at_ms: crate::clock::unix_millis(),
            success,
            error: error.clone(),
            lost_replicas: lost,
            steps: steps.list,
            data_loss_possible: recorded_loss && kind == RecoveryKind::Failover,
        };
        self.node.propose_as_leader(Command::FinishRecovery(finish)).await?;
        match error {
            None => {
                tracing::warn!(recovery_id = id, new_master = %successor.addr, "recovery succeeded");
                Ok(RecoveryReport { id, new_master: successor.clone() })
            }
            Some(error) => {
                tracing::error!(recovery_id = id, %error, "recovery failed");
                Err(ServiceError::new(ErrorCode::Conflict, format!("recovery {id} failed: {error}")))
            }
        }
    }

    /// Promote the successor, repoint the other replicas, fence the old master if it answers.
    /// Answers the replicas that could not be repointed.
    async fn fail_over(
        &self,
        target: &ShardTarget,
        id: u64,
        failed: &NodeRef,
        successor: &NodeRef,
        steps: &mut Steps,
    ) -> Result<Vec<NodeRef>, String> {
        let cluster = &target.cluster;
        let candidate = self.client(cluster, successor);
        match candidate.wait_relay_log_applied(self.config.relay_log_apply_timeout).await {
            Ok(true) => steps.record(id, format!("{} applied its relay log", successor.addr)),
            Ok(false) => {
                return Err(format!(
                    "{} did not apply its relay log within {:?}; promoting it would discard the transactions it received, so the next attempt waits again",
                    successor.addr, self.config.relay_log_apply_timeout
                ))
            }
            Err(error) => return Err(format!("{} is not reachable: {error}", successor.addr)),
        }
        candidate.promote(cluster.policy.semi_sync).await.map_err(|error| format!("promoting {}: {error}", successor.addr))?;
        steps.record(id, format!("promoted {} (replication reset, read_only off)", successor.addr));
        let lost = self.repoint_others(target, id, &[&failed.id, &successor.id], successor, steps).await;
        match tokio::time::timeout(self.config.connect_timeout * 2, self.fence(cluster, failed)).await {
            Ok(Ok(())) => steps.record(id, format!("fenced the old master {} (read_only on, sessions killed)", failed.addr)),
            _ => steps.record(id, format!("the old master {} did not answer; it will be fenced when it returns", failed.addr)),
        }
        Ok(lost)
    }

    /// Fence the old master, wait for the successor to apply everything, promote it and repoint
    /// every other node (the old master too). On timeout the old master is made writable again.
    async fn switch_over(
        &self,
        target: &ShardTarget,
        id: u64,
        old_master: &NodeRef,
        successor: &NodeRef,
        steps: &mut Steps,
    ) -> Result<Vec<NodeRef>, String> {
        let cluster = &target.cluster;
        let old = self.client(cluster, old_master);
        let candidate = self.client(cluster, successor);
        let declared_master = cluster.shards[target.shard].master().map(|master| master.id.clone());
        if declared_master.as_deref() == Some(old_master.id.as_str()) {
            if let Err(error) = self.fence(cluster, old_master).await {
                self.roll_back(cluster, &old, id, steps).await;
                return Err(format!("fencing the master {}: {error}", old_master.addr));
            }
            steps.record(id, format!("fenced the master {} (read_only on, sessions killed)", old_master.addr));
            let final_gtids = match old.gtid_executed().await {
                Ok(gtids) => gtids,
                Err(error) => {
                    self.roll_back(cluster, &old, id, steps).await;
                    return Err(format!("reading the master's gtids: {error}"));
                }
            };
            match candidate.wait_for_gtids(&final_gtids, self.config.switchover_timeout).await {
                Ok(true) => steps.record(id, format!("{} applied every transaction ({final_gtids})", successor.addr)),
                Ok(false) | Err(_) => {
                    self.roll_back(cluster, &old, id, steps).await;
                    return Err(format!(
                        "{} did not catch up within {}ms; the old master is writable again",
                        successor.addr,
                        self.config.switchover_timeout.as_millis()
                    ));
                }
            }
        }
        candidate.promote(cluster.policy.semi_sync).await.map_err(|error| format!("promoting {}: {error}", successor.addr))?;
        steps.record(id, format!("promoted {}", successor.addr));
        Ok(self.repoint_others(target, id, &[&successor.id], successor, steps).await)
    }

    async fn roll_back(&self, cluster: &Cluster, old: &DbClient, id: u64, steps: &mut Steps) {
        match old.promote(cluster.policy.semi_sync).await {
            Ok(()) => steps.record(id, format!("rolled back: {} is writable again", old.addr())),
            Err(error) => steps.record(id, format!("roll back of {} failed: {error}", old.addr())),
        }
    }

    /// Repoints every node of the shard except `excluded` to `master`; answers those that failed.
    async fn repoint_others(
        &self,
        target: &ShardTarget,
        id: u64,
        excluded: &[&str],
        master: &NodeRef,
        steps: &mut Steps,
    ) -> Vec<NodeRef> {
        let cluster = &target.cluster;
        let source = match self.source(cluster, master) {
            Ok(source) => source,
            Err(error) => {
                steps.record(id, error);
                return target.others(excluded);
            }
        };
        let others = target.others(excluded);
        let attempts = others.iter().map(|node| {
            let client = self.client(cluster, node);
            let source = source.clone();
            async move { (node, self.attach(&client, &source, cluster.policy.semi_sync).await) }
        });
        let mut lost = Vec::new();
        for (node, outcome) in futures::future::join_all(attempts).await {
            match outcome {
                Ok(()) => steps.record(id, format!("repointed {} to {}", node.addr, master.addr)),
                Err(error) => {
                    steps.record(id, format!("could not repoint {}: {error}", node.addr));
                    lost.push(node.clone());
                }
            }
        }
        lost
    }
}

/// `host:port` (IPv6 hosts in brackets) → (host, port).
fn split_addr(addr: &str) -> Result<(String, u16), String> {
    let (host, port) = addr.rsplit_once(':').ok_or_else(|| format!("address {addr:?} is not host:port"))?;
    let port = port.parse().map_err(|_| format!("address {addr:?} has no valid port"))?;
    Ok((host.trim_start_matches('[').trim_end_matches(']').to_string(), port))
}
