//! Analysis: a pure function of (declared cluster, observations) → findings per shard.
//!
//! Holistic detection: a master is dead only when shardkeeper failed to reach it `failure_threshold`
//! times in a row AND every reachable replica configured to replicate from it lost it too. While
//! one replica still replicates from it, the verdict is `UnreachablePrimary` and nothing fails over.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::NodeObservation;
use crate::meta::{Cluster, Node, NodeRole, Shard};
use crate::mysql::{GtidSet, IoThreadState, ServerState};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FindingKind {
    /// Nothing to report.
    AllHealthy,
    /// A node has not been probed yet (the leader just took over, or the node is new).
    NotProbedYet,
    /// The master is unreachable and every reachable replica lost it: fail over.
    DeadPrimary,
    /// shardkeeper cannot reach the master but a replica still replicates from it: no failover.
    UnreachablePrimary,
    /// The master and every replica are unreachable: nothing can be promoted.
    DeadPrimaryAndReplicas,
    /// The master is unreachable and no reachable replica was replicating from it.
    DeadPrimaryWithoutReplicas,
    UnreachableReplica,
    /// A replica's IO or SQL thread is not running (with the server's error, if any).
    ReplicationStopped,
    /// A replica does not replicate from its shard's master (blank, or pointed elsewhere).
    ReplicaNotAttached,
    ReplicaLagging,
    WritableReplica,
    ReadOnlyPrimary,
    /// The master itself replicates from some server.
    PrimaryReplicating,
    /// A replica holds transactions that did not come from its master.
    ErrantGtid,
    /// More than one node of the shard accepts writes.
    SplitBrain,
    /// A node was marked diverged and is left out of replication until an operator acts.
    DivergedNode,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub kind: FindingKind,
    pub node_id: Option<String>,
    pub addr: Option<String>,
    pub detail: String,
}

impl Finding {
    fn about(kind: FindingKind, node: &Node, detail: impl Into<String>) -> Finding {
        Finding { kind, node_id: Some(node.id.clone()), addr: Some(node.addr.clone()), detail: detail.into() }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardHealth {
    pub shard: usize,
    pub master_id: Option<String>,
    pub findings: Vec<Finding>,
}

impl ShardHealth {
    pub fn has(&self, kind: FindingKind) -> bool {
        self.findings.iter().any(|finding| finding.kind == kind)
    }
}

/// The findings of every shard of `cluster`.
pub fn analyze_cluster(cluster: &Cluster, observations: &HashMap<String, NodeObservation>) -> Vec<ShardHealth> {
    (0..cluster.shards.len()).map(|index| analyze_shard_at(cluster, index, observations)).collect()
}

/// The findings of shard `index` of `cluster` (which must exist); reads only that shard's nodes.
pub fn analyze_shard_at(cluster: &Cluster, index: usize, observations: &HashMap<String, NodeObservation>) -> ShardHealth {
    let threshold = cluster.policy.failure_threshold.max(1);
    let max_lag = cluster.policy.max_promotion_lag.map(|lag| lag.as_secs());
    let shard = &cluster.shards[index];
    let mut findings = analyze_shard(shard, observations, threshold, max_lag);
    if findings.is_empty() {
        findings.push(Finding {
            kind: FindingKind::AllHealthy,
            node_id: None,
            addr: None,
            detail: "every node is reachable and replicating as declared".to_string(),
        });
    }
    ShardHealth { shard: index, master_id: shard.master().map(|master| master.id.clone()), findings }
}

fn analyze_shard(
    shard: &Shard,
    observations: &HashMap<String, NodeObservation>,
    threshold: u32,
    max_lag_secs: Option<u64>,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for node in shard.nodes.iter().filter(|node| !observations.contains_key(&node.id)) {
        findings.push(Finding::about(FindingKind::NotProbedYet, node, "no probe has answered yet"));
    }
    for node in shard.nodes.iter().filter(|node| node.diverged.is_some()) {
        let reason = node.diverged.clone().unwrap_or_default();
        findings.push(Finding::about(FindingKind::DivergedNode, node, reason));
    }
    let Some(master) = shard.master() else {
        return findings;
    };
    let master_observation = observations.get(&master.id);
    let replicas: Vec<&Node> = shard.nodes.iter().filter(|node| node.role == NodeRole::Slave).collect();
    match master_observation.and_then(NodeObservation::live_state) {
        Some(master_state) => {
            findings.extend(master_findings(master, master_state));
            for replica in &replicas {
                let Some(observation) = observations.get(&replica.id) else { continue };
                findings.extend(replica_findings(replica, observation, master, Some(master_state), max_lag_secs));
            }
        }
        None => {
            if let Some(observation) = master_observation {
                findings.push(unreachable_master_finding(master, observation, &replicas, observations, threshold));
            }
            for replica in &replicas {
                let Some(observation) = observations.get(&replica.id) else { continue };
                let last_known_master = master_observation.and_then(|observation| observation.state.as_ref());
                findings.extend(
                    replica_findings(replica, observation, master, last_known_master, max_lag_secs)
                        .into_iter()
                        .filter(|finding| finding.kind != FindingKind::ReplicationStopped),
                );
            }
        }
    }
    let writable: Vec<&Node> = shard
        .nodes
        .iter()
        .filter(|node| observations.get(&node.id).and_then(NodeObservation::live_state).is_some_and(accepts_writes))
        .collect();
    if writable.len() > 1 {
        let addrs: Vec<&str> = writable.iter().map(|node| node.addr.as_str()).collect();
        findings.push(Finding {
            kind: FindingKind::SplitBrain,
            node_id: None,
            addr: None,
            detail: format!("{} nodes accept writes: {}", writable.len(), addrs.join(", ")),
        });
    }
    findings
}

fn master_findings(master: &Node, state: &ServerState) -> Vec<Finding> {
    let mut findings = Vec::new();
    if state.read_only {
        findings.push(Finding::about(FindingKind::ReadOnlyPrimary, master, "the master is read-only"));
    }
    if let Some(replica) = state.replica.as_ref().filter(|replica| replica.io_state != IoThreadState::Stopped) {
        let detail = format!("the master replicates from {}:{}", replica.source_host, replica.source_port);
        findings.push(Finding::about(FindingKind::PrimaryReplicating, master, detail));
    }
    findings
}

/// The verdict on a master the last probe could not reach.
fn unreachable_master_finding(
    master: &Node,
    observation: &NodeObservation,
    replicas: &[&Node],
    observations: &HashMap<String, NodeObservation>,
    threshold: u32,
) -> Finding {
    let error = observation.last_error.clone().unwrap_or_default();
    if observation.consecutive_failures < threshold {
        let detail = format!("{} of {threshold} probes failed: {error}", observation.consecutive_failures);
        return Finding::about(FindingKind::UnreachablePrimary, master, detail);
    }
    let reachable: Vec<&ServerState> =
        replicas.iter().filter_map(|replica| observations.get(&replica.id)?.live_state()).collect();
    if !replicas.is_empty() && reachable.is_empty() {
        let detail = format!("the master and all {} replicas are unreachable: {error}", replicas.len());
        return Finding::about(FindingKind::DeadPrimaryAndReplicas, master, detail);
    }
    let attached: Vec<&&ServerState> =
        reachable.iter().filter(|state| replicates_from(state, &master.addr)).collect();
    let still_replicating = attached
        .iter()
        .filter(|state| state.replica.as_ref().is_some_and(|replica| replica.io_state == IoThreadState::Running))
        .count();
    if still_replicating > 0 {
        let detail = format!("shardkeeper cannot reach it ({error}) but {still_replicating} replica(s) still replicate from it");
        Finding::about(FindingKind::UnreachablePrimary, master, detail)
    } else if attached.is_empty() {
        let detail = format!("unreachable ({error}) and no reachable replica was replicating from it");
        Finding::about(FindingKind::DeadPrimaryWithoutReplicas, master, detail)
    } else {
        let detail = format!(
            "unreachable for {} probes ({error}); all {} attached replica(s) lost it too",
            observation.consecutive_failures,
            attached.len()
        );
        Finding::about(FindingKind::DeadPrimary, master, detail)
    }
}

fn replica_findings(
    replica: &Node,
    observation: &NodeObservation,
    master: &Node,
    master_state: Option<&ServerState>,
    max_lag_secs: Option<u64>,
) -> Vec<Finding> {
    let Some(state) = observation.live_state() else {
        let error = observation.last_error.clone().unwrap_or_default();
        return vec![Finding::about(FindingKind::UnreachableReplica, replica, error)];
    };
    let mut findings = Vec::new();
    if !state.read_only {
        findings.push(Finding::about(FindingKind::WritableReplica, replica, "the replica is writable"));
    }
    if let Some(errant) = master_state.and_then(|master_state| errant_transactions(state, master_state)) {
        findings.push(Finding::about(
            FindingKind::ErrantGtid,
            replica,
            format!("transactions the master lacks: {errant}"),
        ));
    }
    match state.replica.as_ref() {
        Some(status) if replicates_from(state, &master.addr) => {
            if status.io_state != IoThreadState::Running || !status.sql_running {
                let errors: Vec<&str> = [status.last_io_error.as_str(), status.last_sql_error.as_str()]
                    .into_iter()
                    .filter(|error| !error.is_empty())
                    .collect();
                let detail = format!(
                    "io thread {:?}, sql thread {}{}",
                    status.io_state,
                    if status.sql_running { "running" } else { "stopped" },
                    if errors.is_empty() { String::new() } else { format!(": {}", errors.join("; ")) }
                );
                findings.push(Finding::about(FindingKind::ReplicationStopped, replica, detail));
            }
            if let (Some(lag), Some(bound)) = (status.seconds_behind_source, max_lag_secs) {
                if lag > bound {
                    let detail = format!("{lag}s behind the master, the bound is {bound}s");
                    findings.push(Finding::about(FindingKind::ReplicaLagging, replica, detail));
                }
            }
        }
        Some(status) => findings.push(Finding::about(
            FindingKind::ReplicaNotAttached,
            replica,
            format!("replicates from {}:{} instead of {}", status.source_host, status.source_port, master.addr),
        )),
        None => findings.push(Finding::about(FindingKind::ReplicaNotAttached, replica, "replication is not configured")),
    }
    findings
}

/// The server is configured to replicate from `master_addr` (host:port).
pub fn replicates_from(state: &ServerState, master_addr: &str) -> bool {
    state
        .replica
        .as_ref()
        .is_some_and(|replica| format!("{}:{}", replica.source_host, replica.source_port) == master_addr)
}

/// Writable and not replicating: a server clients may be writing to.
fn accepts_writes(state: &ServerState) -> bool {
    !state.read_only
        && state.replica.as_ref().is_none_or(|replica| replica.io_state == IoThreadState::Stopped && !replica.sql_running)
}

/// Transactions `replica` executed that `master` lacks and that did not originate on `master`
/// (those may simply be newer than the master's last probe). `None` when there are none.
pub fn errant_transactions(replica: &ServerState, master: &ServerState) -> Option<GtidSet> {
    let missing = replica.gtid_executed.difference(&master.gtid_executed);
    let errant = missing.without_origin(master.server_id, master.server_uuid.as_deref());
    (!errant.is_empty()).then_some(errant)
}

#[cfg(test)]
#[path = "analysis_tests.rs"]
mod tests;
