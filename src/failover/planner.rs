//! Planning: pure decisions over (declared shard, observations, findings).
//!
//! Owns: whether a shard fails over now, which replica is promoted, and which repairs make a
//! healthy shard match its declared topology. No I/O; the executor carries the plans out.

use std::collections::HashMap;

use crate::health::{errant_transactions, replicates_from, FindingKind, NodeObservation, ShardHealth};
use crate::meta::{AdminState, ClusterPolicy, Node, NodeRef, NodeRole, PromotionRule, Recovery, RecoveryState, Shard};
use crate::mysql::{Flavor, GtidSet, IoThreadState, ServerState};

/// The replica chosen for promotion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub node: NodeRef,
    /// Some acknowledged write may be missing on the candidate.
    pub data_loss_possible: bool,
    /// Why it may be (empty when not).
    pub data_loss_reasons: Vec<String>,
}

/// One step that moves a shard toward its declared topology.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Repair {
    /// A replica (or a returning old master) accepts writes: read_only on, kill client sessions.
    Fence { node: NodeRef },
    /// Replicate from the master with GTID auto-positioning (and the policy's semi-sync).
    Attach { node: NodeRef, master: NodeRef },
    /// The node holds transactions the master lacks: record it, leave it read-only and alone.
    MarkDiverged { node: NodeRef, reason: String },
    /// The master lacks the policy's source-side semi-sync: enable it before replicas attach, so
    /// that they connect as semi-sync replicas.
    EnableSourceSemiSync { node: NodeRef, flavor: Flavor },
    /// The master is read-only while no other node takes writes.
    OpenMaster { node: NodeRef },
}

impl Repair {
    pub fn describe(&self) -> String {
        match self {
            Repair::Fence { node } => format!("fence {}", node.addr),
            Repair::Attach { node, master } => format!("attach {} to {}", node.addr, master.addr),
            Repair::MarkDiverged { node, reason } => format!("mark {} diverged: {reason}", node.addr),
            Repair::EnableSourceSemiSync { node, .. } => format!("enable semi-sync on master {}", node.addr),
            Repair::OpenMaster { node } => format!("open master {} for writes", node.addr),
        }
    }
}

pub fn node_ref(node: &Node) -> NodeRef {
    NodeRef { id: node.id.clone(), addr: node.addr.clone() }
}

/// Whether the leader fails a shard over on its own now.
pub fn should_fail_over(
    health: &ShardHealth,
    policy: &ClusterPolicy,
    last_recovery: Option<&Recovery>,
    now_ms: i64,
) -> bool {
    if !policy.auto_failover || !health.has(FindingKind::DeadPrimary) {
        return false;
    }
    match last_recovery {
        Some(recovery) if recovery.is_running() => false,
        Some(recovery) => !is_blocked(recovery, policy, now_ms),
        None => true,
    }
}

/// After a failed recovery, the next automatic attempt waits this long (milliseconds).
pub const FAILED_RECOVERY_PAUSE_MS: i64 = 5_000;

/// A successful recovery blocks the next automatic one for the block period unless acknowledged;
/// a failed one only pauses retries for `FAILED_RECOVERY_PAUSE_MS`.
pub fn is_blocked(recovery: &Recovery, policy: &ClusterPolicy, now_ms: i64) -> bool {
    if recovery.acknowledged_at_ms.is_some() {
        return false;
    }
    let ended = recovery.ended_at_ms.unwrap_or(recovery.started_at_ms);
    let block_ms = if recovery.state == RecoveryState::Succeeded {
        i64::try_from(policy.recovery_block_period.as_millis()).unwrap_or(i64::MAX)
    } else {
        FAILED_RECOVERY_PAUSE_MS
    };
    now_ms < ended.saturating_add(block_ms)
}

/// Everything a server holds or will hold once its relay log is applied.
fn advanced_set(state: &ServerState) -> GtidSet {
    match &state.replica {
        Some(replica) => state.gtid_executed.union(&replica.received_gtids),
        None => state.gtid_executed.clone(),
    }
}

/// Transactions the replica received but has not applied yet (its relay log backlog).
fn unapplied_count(state: &ServerState) -> u64 {
    advanced_set(state).transaction_count().saturating_sub(state.gtid_executed.transaction_count())
}

/// Chooses the replica to promote in place of `master`. `preferred` (an operator's choice) must
/// be eligible; for a dead master it must also hold every transaction the other replicas hold.
/// `master_alive` (a switchover) means the candidate will catch up before promotion.
pub fn choose_candidate(
    shard: &Shard,
    observations: &HashMap<String, NodeObservation>,
    policy: &ClusterPolicy,
    preferred: Option<&str>,
    master_alive: bool,
) -> Result<Candidate, String> {
    let master = shard.master().ok_or("the shard has no master")?;
    let master_state = observations.get(&master.id).and_then(|observation| observation.state.as_ref());
    let replicas: Vec<&Node> = shard.nodes.iter().filter(|node| node.role == NodeRole::Slave).collect();
    if replicas.is_empty() {
        return Err("the shard has no replica to promote".to_string());
    }
    let mut refused = Vec::new();
    let mut eligible: Vec<(&Node, GtidSet)> = Vec::new();
    let mut backlog: HashMap<&str, u64> = HashMap::new();
    let mut unreachable = Vec::new();
    let mut reference: Vec<GtidSet> = Vec::new();
    for replica in &replicas {
        let live = observations.get(&replica.id).and_then(NodeObservation::live_state);
        match live {
            None => unreachable.push(replica.addr.clone()),
            Some(state) if replica.diverged.is_none() => {
                let errant = master_state.is_some_and(|master_state| errant_transactions(state, master_state).is_some());
                if !errant {
                    reference.push(advanced_set(state));
                }
            }
            Some(_) => {}
        }
        match eligibility(replica, observations, master, master_state, policy, master_alive) {
            Ok(state) => {
                backlog.insert(replica.id.as_str(), unapplied_count(state));
                eligible.push((replica, advanced_set(state)));
            }
            Err(reason) => refused.push(format!("{}: {reason}", replica.addr)),
        }
    }
    if let Some(preferred) = preferred {
        if !shard.nodes.iter().any(|node| node.id == preferred) {
            return Err(format!("node {preferred:?} is not part of the shard"));
        }
        if preferred == master.id {
            return Err(format!("node {preferred:?} is already the master"));
        }
        eligible.retain(|(node, _)| node.id == preferred || !master_alive);
        if !eligible.iter().any(|(node, _)| node.id == preferred) {
            let reason = refused.iter().find(|reason| reason.starts_with(&address_of(shard, preferred)));
            return Err(format!("node {preferred:?} cannot be promoted: {}", reason.cloned().unwrap_or_default()));
        }
    }
    if eligible.is_empty() {
        return Err(format!("no replica can be promoted ({})", refused.join("; ")));
    }
    let holds_everything = |set: &GtidSet| reference.iter().all(|other| other.is_subset_of(set));
    // Among equally advanced replicas: `prefer` first, then the one with the least relay log left
    // to apply (it is writable soonest), then declaration order.
    let rank = |node: &Node| {
        let unapplied = backlog.get(node.id.as_str()).copied().unwrap_or(u64::MAX);
        (node.promotion_rule != PromotionRule::Prefer, unapplied, position_of(shard, &node.id))
    };
    let complete: Vec<&(&Node, GtidSet)> = eligible.iter().filter(|(_, set)| holds_everything(set)).collect();
    let mut reasons = Vec::new();
    let chosen = match preferred {
        Some(preferred) => {
            let (node, set) = eligible.iter().find(|(node, _)| node.id == preferred).ok_or("preferred node vanished")?;
            if !master_alive && !holds_everything(set) {
                return Err(format!(
                    "node {preferred:?} lacks transactions another replica holds; promote the most advanced replica instead"
                ));
            }
            *node
        }
        None => match complete.iter().min_by_key(|(node, _)| rank(node)) {
            Some((node, _)) => *node,
            None => {
                if !master_alive {
                    reasons.push("no promotable replica holds every transaction the reachable replicas hold".to_string());
                }
                eligible.iter().max_by_key(|(node, set)| (set.transaction_count(), std::cmp::Reverse(rank(node)))).map(|(node, _)| *node).ok_or("no candidate")?
            }
        },
    };
    if !master_alive {
        if !unreachable.is_empty() {
            reasons.push(format!("replicas that may be more advanced are unreachable: {}", unreachable.join(", ")));
        }
        match master_state {
            Some(state) if state.semi_sync_source_active => {}
            Some(_) => reasons.push("the master was not running semi-sync replication".to_string()),
            None => reasons.push("the master was never observed".to_string()),
        }
    }
    Ok(Candidate { node: node_ref(chosen), data_loss_possible: !reasons.is_empty(), data_loss_reasons: reasons })
}

fn address_of(shard: &Shard, node_id: &str) -> String {
    shard.nodes.iter().find(|node| node.id == node_id).map(|node| node.addr.clone()).unwrap_or_default()
}

fn position_of(shard: &Shard, node_id: &str) -> usize {
    shard.nodes.iter().position(|node| node.id == node_id).unwrap_or(usize::MAX)
}

/// The replica's live state when it may be promoted, or why not.
fn eligibility<'a>(
    replica: &Node,
    observations: &'a HashMap<String, NodeObservation>,
    master: &Node,
    master_state: Option<&ServerState>,
    policy: &ClusterPolicy,
    master_alive: bool,
) -> Result<&'a ServerState, String> {
    let state = observations
        .get(&replica.id)
        .and_then(NodeObservation::live_state)
        .ok_or("unreachable or not probed yet")?;
    if replica.promotion_rule == PromotionRule::MustNot {
        return Err("its promotion rule is must_not".to_string());
    }
    // Drain only keeps new routed connections away; a draining replica may still be promoted.
    if replica.admin_state == AdminState::Maintenance {
        return Err("it is in maintenance".to_string());
    }
    if let Some(reason) = &replica.diverged {
        return Err(format!("it is diverged: {reason}"));
    }
    if let Some(errant) = master_state.and_then(|master_state| errant_transactions(state, master_state)) {
        return Err(format!("it holds errant transactions {errant}"));
    }
    if master_alive {
        let attached = replicates_from(state, &master.addr)
            && state.replica.as_ref().is_some_and(|status| status.io_state == IoThreadState::Running && status.sql_running);
        if !attached {
            return Err("it is not replicating from the master".to_string());
        }
    }
    if let (Some(bound), Some(lag)) =
        (policy.max_promotion_lag, state.replica.as_ref().and_then(|status| status.seconds_behind_source))
    {
        if lag > bound.as_secs() {
            return Err(format!("it lags {lag}s behind, more than the {}s bound", bound.as_secs()));
        }
    }
    Ok(state)
}

/// Repairs that make a shard with a reachable master match its declared topology. Fencing comes
/// first; the master is opened only when no other node accepts writes.
pub fn plan_repairs(
    shard: &Shard,
    observations: &HashMap<String, NodeObservation>,
    policy: &ClusterPolicy,
) -> Vec<Repair> {
    let Some(master) = shard.master() else { return Vec::new() };
    let Some(master_state) = observations.get(&master.id).and_then(NodeObservation::live_state) else {
        return Vec::new();
    };
    if master_state.replica.as_ref().is_some_and(|status| status.io_state != IoThreadState::Stopped) {
        return Vec::new();
    }
    let mut repairs = Vec::new();
    if policy.semi_sync && !master_state.semi_sync_source_enabled {
        repairs.push(Repair::EnableSourceSemiSync { node: node_ref(master), flavor: master_state.flavor });
    }
    let mut others_writable = false;
    for replica in shard.nodes.iter().filter(|node| node.role == NodeRole::Slave) {
        let Some(state) = observations.get(&replica.id).and_then(NodeObservation::live_state) else { continue };
        if !state.read_only {
            repairs.push(Repair::Fence { node: node_ref(replica) });
            others_writable = true;
        }
        if replica.diverged.is_some() {
            continue;
        }
        let attached = replicates_from(state, &master.addr);
        let errant = errant_transactions(state, master_state);
        match (attached, errant) {
            (false, Some(errant)) => repairs.push(Repair::MarkDiverged {
                node: node_ref(replica),
                reason: format!("it holds transactions the master {} lacks: {errant}", master.addr),
            }),
            (false, None) => repairs.push(Repair::Attach { node: node_ref(replica), master: node_ref(master) }),
            (true, errant) => match (errant, replication_broken_by(state)) {
                (Some(errant), Some(error)) => repairs.push(Repair::MarkDiverged {
                    node: node_ref(replica),
                    reason: format!("it holds transactions the master {} lacks: {errant}; its replication stopped: {error}", master.addr),
                }),
                _ if needs_reattach(state, master_state, policy) => {
                    repairs.push(Repair::Attach { node: node_ref(replica), master: node_ref(master) })
                }
                _ => {}
            },
        }
    }
    if master_state.read_only && !others_writable {
        repairs.push(Repair::OpenMaster { node: node_ref(master) });
    }
    repairs
}

/// An attached replica whose replication was stopped (someone ran STOP SLAVE, or a failover that
/// stopped it on a candidate failed afterwards) with no error but a lost connection, that lacks
/// the policy's replica-side semi-sync, or whose master runs semi-sync without any semi-sync
/// replica (replicas that connected before the master enabled it must reconnect). A replica
/// stopped by an applier error, or by any other IO error, is left for an operator.
fn needs_reattach(state: &ServerState, master_state: &ServerState, policy: &ClusterPolicy) -> bool {
    let Some(status) = &state.replica else { return false };
    let stopped_cleanly = status.io_state == IoThreadState::Stopped
        && !status.sql_running
        && (status.last_io_error.is_empty() || is_connection_error(&status.last_io_error))
        && status.last_sql_error.is_empty();
    let semi_sync_missing = policy.semi_sync
        && (!state.semi_sync_replica_enabled
            || (master_state.semi_sync_source_enabled && !master_state.semi_sync_source_active));
    stopped_cleanly || semi_sync_missing
}

/// The error that stopped an attached replica's replication, unless it only lost its connection.
/// With errant transactions this is how a paused old master that committed its last statement
/// after it was re-attached ends: the master's binary log refuses its position (error 1236).
fn replication_broken_by(state: &ServerState) -> Option<&str> {
    let status = state.replica.as_ref()?;
    if !status.last_sql_error.is_empty() {
        return Some(&status.last_sql_error);
    }
    let io_broken = status.io_state == IoThreadState::Stopped && !status.last_io_error.is_empty() && !is_connection_error(&status.last_io_error);
    io_broken.then_some(status.last_io_error.as_str())
}

/// An IO thread error that only says the source could not be reached (MariaDB: "error
/// reconnecting to master ...", "error connecting to master ..."; MySQL: "... to source ...").
fn is_connection_error(io_error: &str) -> bool {
    let error = io_error.to_ascii_lowercase();
    ["connecting to master", "connecting to source"].iter().any(|phrase| error.contains(phrase))
}

#[cfg(test)]
#[path = "planner_tests.rs"]
mod tests;
