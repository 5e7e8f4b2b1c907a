//! Recovery records (failovers and switchovers) and the state-machine rules that change them.
//!
//! Owns: the record's shape, its life cycle (begin → finish → acknowledge) and the atomic commit of
//! a shard's new master together with the record that explains it. Pure, like the rest of `meta`.

use serde::{Deserialize, Serialize};

use super::command::{CommandResult, Response};
use super::error::MetaError;
use super::types::{Cluster, MetaState, NodeRole};

/// Recoveries kept in the state; the oldest finished ones are dropped first.
pub const MAX_RECOVERIES: usize = 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecoveryKind {
    /// The master died; the leader promoted a replica without it.
    Failover,
    /// Planned: the master was healthy and handed over after the candidate caught up.
    Switchover,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecoveryState {
    Running,
    Succeeded,
    Failed,
}

/// A database node as a recovery saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRef {
    pub id: String,
    pub addr: String,
}

/// One action of a recovery, with the leader's wall-clock time in Unix milliseconds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryStep {
    pub at_ms: i64,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recovery {
    pub id: u64,
    pub namespace: String,
    pub cluster: String,
    pub shard: usize,
    pub kind: RecoveryKind,
    /// The analysis finding that started it ("DeadPrimary", "Switchover" ...).
    pub finding: String,
    pub failed_node: NodeRef,
    /// The node being promoted, chosen before anything was changed.
    pub successor: Option<NodeRef>,
    pub started_at_ms: i64,
    pub ended_at_ms: Option<i64>,
    pub state: RecoveryState,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// Replicas that could not be repointed to the successor.
    pub lost_replicas: Vec<NodeRef>,
    pub steps: Vec<RecoveryStep>,
    /// Semi-sync was off or had fallen back to async, or a possibly more advanced replica was unreachable.
    pub data_loss_possible: bool,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at_ms: Option<i64>,
    pub acknowledge_comment: Option<String>,
}

impl Recovery {
    pub fn is_running(&self) -> bool {
        self.state == RecoveryState::Running
    }
}

/// What the leader records before it touches any server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryIntent {
    pub namespace: String,
    pub cluster: String,
    pub shard: usize,
    pub kind: RecoveryKind,
    pub finding: String,
    pub failed_node: NodeRef,
    pub successor: NodeRef,
    pub started_at_ms: i64,
    pub data_loss_possible: bool,
}

/// How a recovery ended. On success the successor becomes the shard's master in the same command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryOutcome {
    pub id: u64,
    pub ended_at_ms: i64,
    pub success: bool,
    pub error: Option<String>,
    pub lost_replicas: Vec<NodeRef>,
    pub steps: Vec<RecoveryStep>,
    pub data_loss_possible: bool,
}

impl MetaState {
    /// The running recovery of a shard, if any.
    pub fn running_recovery(&self, namespace: &str, cluster: &str, shard: usize) -> Option<&Recovery> {
        self.recoveries
            .values()
            .find(|r| r.is_running() && r.namespace == namespace && r.cluster == cluster && r.shard == shard)
    }

    /// The newest recovery of a shard, running or not.
    pub fn last_recovery(&self, namespace: &str, cluster: &str, shard: usize) -> Option<&Recovery> {
        self.recoveries
            .values()
            .rev()
            .find(|r| r.namespace == namespace && r.cluster == cluster && r.shard == shard)
    }

    pub(super) fn begin_recovery(&mut self, intent: &RecoveryIntent) -> CommandResult {
        let cluster = self
            .cluster(&intent.namespace, &intent.cluster)
            .ok_or_else(|| MetaError::not_found(format!("cluster {:?} does not exist", intent.cluster)))?;
        check_member(cluster, intent.shard, &intent.failed_node.id)?;
        check_member(cluster, intent.shard, &intent.successor.id)?;
        if let Some(running) = self.running_recovery(&intent.namespace, &intent.cluster, intent.shard) {
            return Err(MetaError::conflict(format!(
                "shard {} already has recovery {} running",
                intent.shard, running.id
            )));
        }
        let id = self.next_recovery_id;
        let recovery = Recovery {
            id,
            namespace: intent.namespace.clone(),
            cluster: intent.cluster.clone(),
            shard: intent.shard,
            kind: intent.kind,
            finding: intent.finding.clone(),
            failed_node: intent.failed_node.clone(),
            successor: Some(intent.successor.clone()),
            started_at_ms: intent.started_at_ms,
            ended_at_ms: None,
            state: RecoveryState::Running,
            error: None,
            lost_replicas: Vec::new(),
            steps: Vec::new(),
            data_loss_possible: intent.data_loss_possible,
            acknowledged_by: None,
            acknowledged_at_ms: None,
            acknowledge_comment: None,
        };
        self.next_recovery_id += 1;
        self.recoveries.insert(id, recovery);
        self.forget_old_recoveries();
        Ok(Response::Recovery(id))
    }

    /// Ends a running recovery; on success the successor becomes master (the cluster version bumps).
    /// When the shard no longer holds the successor (deleted meanwhile) only the record ends.
    pub(super) fn finish_recovery(&mut self, outcome: &RecoveryOutcome) -> CommandResult {
        let recovery = self
            .recoveries
            .get(&outcome.id)
            .ok_or_else(|| MetaError::not_found(format!("recovery {} does not exist", outcome.id)))?;
        if !recovery.is_running() {
            return Err(MetaError::conflict(format!("recovery {} has already ended", outcome.id)));
        }
        let (namespace, cluster_name, shard) = (recovery.namespace.clone(), recovery.cluster.clone(), recovery.shard);
        let successor = recovery.successor.clone();
        let mut response = Response::Done;
        if outcome.success {
            let successor = successor.ok_or_else(|| MetaError::invalid("a recovery without successor cannot succeed"))?;
            let cluster = self.namespaces.get_mut(&namespace).and_then(|ns| ns.clusters.get_mut(&cluster_name));
            if let Some(cluster) = cluster.filter(|cluster| check_member(cluster, shard, &successor.id).is_ok()) {
                for node in &mut cluster.shards[shard].nodes {
                    node.role = if node.id == successor.id { NodeRole::Master } else { NodeRole::Slave };
                }
                cluster.version += 1;
                response = Response::ClusterVersion(cluster.version);
            }
        }
        if let Some(recovery) = self.recoveries.get_mut(&outcome.id) {
            recovery.ended_at_ms = Some(outcome.ended_at_ms);
            recovery.state = if outcome.success { RecoveryState::Succeeded } else { RecoveryState::Failed };
            recovery.error = outcome.error.clone();
            recovery.lost_replicas = outcome.lost_replicas.clone();
            recovery.steps.extend(outcome.steps.iter().cloned());
            recovery.data_loss_possible = outcome.data_loss_possible;
        }
        Ok(response)
    }

    pub(super) fn acknowledge_recovery(&mut self, id: u64, by: &str, comment: &str, at_ms: i64) -> CommandResult {
        if by.trim().is_empty() {
            return Err(MetaError::invalid("acknowledging a recovery needs a non-empty \"by\""));
        }
        let recovery =
            self.recoveries.get_mut(&id).ok_or_else(|| MetaError::not_found(format!("recovery {id} does not exist")))?;
        if recovery.is_running() {
            return Err(MetaError::conflict(format!("recovery {id} is still running")));
        }
        recovery.acknowledged_by = Some(by.to_string());
        recovery.acknowledged_at_ms = Some(at_ms);
        recovery.acknowledge_comment = (!comment.is_empty()).then(|| comment.to_string());
        Ok(Response::Done)
    }

    /// Keeps at most `MAX_RECOVERIES`, dropping the oldest finished records; running ones stay.
    fn forget_old_recoveries(&mut self) {
        while self.recoveries.len() > MAX_RECOVERIES {
            let oldest_finished = self.recoveries.values().find(|r| !r.is_running()).map(|r| r.id);
            match oldest_finished {
                Some(id) => self.recoveries.remove(&id),
                None => break,
            };
        }
    }
}

/// `node_id` belongs to shard `shard` of `cluster`.
pub(super) fn check_member(cluster: &Cluster, shard: usize, node_id: &str) -> Result<(), MetaError> {
    let shard_nodes = &cluster
        .shards
        .get(shard)
        .ok_or_else(|| MetaError::not_found(format!("shard {shard} does not exist in cluster {:?}", cluster.name)))?
        .nodes;
    if shard_nodes.iter().any(|node| node.id == node_id) {
        Ok(())
    } else {
        Err(MetaError::not_found(format!("node {node_id:?} does not exist in shard {shard}")))
    }
}
