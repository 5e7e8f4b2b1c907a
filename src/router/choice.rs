//! Destination choice, pure: from one shard's declared topology, the leader's observations of its
//! servers (when this node has them), the quarantine and the admin states, which servers a route
//! may send a new connection to, in the order its strategy tries them. Owns no state and no I/O.

use std::collections::{HashMap, HashSet};

use super::config::RoutingStrategy;
use super::status::RouteRole;
use crate::health::{replicates_from, NodeObservation};
use crate::meta::{AdminState, ClusterPolicy, Node, NodeRole, Shard};

/// A server a connection may go to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub node_id: String,
    pub addr: String,
    pub is_primary: bool,
}

impl Candidate {
    fn of(node: &Node) -> Candidate {
        Candidate { node_id: node.id.clone(), addr: node.addr.clone(), is_primary: node.role == NodeRole::Master }
    }
}

/// The servers of a shard that qualify for new connections, before quarantine and strategy.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Eligible {
    pub primary: Option<Candidate>,
    /// Replicas that qualify, in declaration order.
    pub replicas: Vec<Candidate>,
    /// Servers left out, each with the reason, for the error a client gets when nothing qualifies.
    pub excluded: Vec<Excluded>,
}

/// A server left out of the candidates, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Excluded {
    pub addr: String,
    pub reason: String,
    pub is_primary: bool,
}

/// Which servers of `shard` qualify. `observations` are the leader's probes (`None` on a node that
/// has none: the metadata alone decides). A primary qualifies unless diverged, held by an operator
/// or seen down; a replica also must be attached to the primary and within `max_promotion_lag`.
pub fn eligible(shard: &Shard, policy: &ClusterPolicy, observations: Option<&HashMap<String, NodeObservation>>) -> Eligible {
    let mut eligible = Eligible::default();
    let master_addr = shard.master().map(|master| master.addr.as_str());
    for node in &shard.nodes {
        let observation = observations.and_then(|observations| observations.get(&node.id));
        let verdict = match node.role {
            NodeRole::Master => held_or_diverged(node).or_else(|| observation.and_then(down)),
            NodeRole::Slave => held_or_diverged(node)
                .or_else(|| observation.and_then(|observation| unfit_replica(observation, master_addr, policy))),
        };
        match (verdict, node.role) {
            (Some(reason), role) => {
                eligible.excluded.push(Excluded { addr: node.addr.clone(), reason, is_primary: role == NodeRole::Master })
            }
            (None, NodeRole::Master) => eligible.primary = Some(Candidate::of(node)),
            (None, NodeRole::Slave) => eligible.replicas.push(Candidate::of(node)),
        }
    }
    eligible
}

fn held_or_diverged(node: &Node) -> Option<String> {
    match node.admin_state {
        AdminState::Maintenance => return Some("in maintenance".to_string()),
        AdminState::Drain => return Some("draining".to_string()),
        AdminState::Active => {}
    }
    node.diverged.as_ref().map(|reason| format!("diverged: {reason}"))
}

fn down(observation: &NodeObservation) -> Option<String> {
    (!observation.reachable).then(|| match &observation.last_error {
        Some(error) => format!("down: {error}"),
        None => "down".to_string(),
    })
}

fn unfit_replica(observation: &NodeObservation, master_addr: Option<&str>, policy: &ClusterPolicy) -> Option<String> {
    if let Some(reason) = down(observation) {
        return Some(reason);
    }
    let state = observation.live_state()?;
    let attached = master_addr.is_some_and(|master| replicates_from(state, master))
        && state.replica.as_ref().is_some_and(|replica| replica.io_running_or_connecting() && replica.sql_running);
    if !attached {
        return Some("not replicating from the primary".to_string());
    }
    let lag = state.replica.as_ref().and_then(|replica| replica.seconds_behind_source);
    match (policy.max_promotion_lag, lag) {
        (Some(bound), Some(lag)) if lag > bound.as_secs() => Some(format!("lagging {lag}s (bound {}s)", bound.as_secs())),
        (Some(_), None) => Some("replication lag unknown".to_string()),
        _ => None,
    }
}

/// The order in which a new connection tries the eligible servers: quarantined ones left out,
/// then `strategy` applied with `cursor` (a per-route counter bumped by every connection). An empty
/// list means no server qualifies.
pub fn order(
    eligible: &Eligible,
    role: RouteRole,
    strategy: RoutingStrategy,
    quarantined: &HashSet<String>,
    cursor: u64,
) -> Vec<Candidate> {
    let usable = |candidate: &&Candidate| !quarantined.contains(&candidate.addr);
    let primary = eligible.primary.iter().filter(usable);
    let replicas = eligible.replicas.iter().filter(usable);
    let pool: Vec<Candidate> = match role {
        RouteRole::Primary => primary.cloned().collect(),
        RouteRole::Secondary => replicas.cloned().collect(),
        RouteRole::PrimaryAndSecondary => primary.chain(replicas).cloned().collect(),
    };
    match strategy {
        RoutingStrategy::FirstAvailable | RoutingStrategy::NextAvailable => pool,
        RoutingStrategy::RoundRobin => rotated(pool, cursor),
        RoutingStrategy::RoundRobinWithFallback => {
            let mut ordered = rotated(pool, cursor);
            if ordered.is_empty() {
                ordered.extend(eligible.primary.iter().filter(usable).cloned());
            }
            ordered
        }
    }
}

fn rotated(mut pool: Vec<Candidate>, cursor: u64) -> Vec<Candidate> {
    if !pool.is_empty() {
        let start = (cursor % pool.len() as u64) as usize;
        pool.rotate_left(start);
    }
    pool
}

/// Why nothing qualifies, for the client's error: `no PRIMARY available for shard p/c/0: ...`,
/// naming only the servers the route's role could have used.
pub fn unavailable_reason(eligible: &Eligible, role: RouteRole, quarantined: &HashSet<String>, shard_path: &str) -> String {
    let relevant = |is_primary: bool| match role {
        RouteRole::Primary => is_primary,
        RouteRole::Secondary => !is_primary,
        RouteRole::PrimaryAndSecondary => true,
    };
    let excluded = eligible.excluded.iter().filter(|excluded| relevant(excluded.is_primary));
    let mut reasons: Vec<String> = excluded.map(|excluded| format!("{} {}", excluded.addr, excluded.reason)).collect();
    let candidates = eligible.primary.iter().chain(&eligible.replicas).filter(|candidate| relevant(candidate.is_primary));
    reasons.extend(candidates.filter(|candidate| quarantined.contains(&candidate.addr)).map(|candidate| {
        format!("{} quarantined (refused or timed out; retried in the background)", candidate.addr)
    }));
    let wanted = match role {
        RouteRole::Primary => "PRIMARY",
        RouteRole::Secondary => "SECONDARY",
        RouteRole::PrimaryAndSecondary => "PRIMARY or SECONDARY",
    };
    if role == RouteRole::Primary && reasons.is_empty() {
        reasons.push("the shard has no primary".to_string());
    }
    if role == RouteRole::Secondary && reasons.is_empty() {
        reasons.push("the shard has no replica".to_string());
    }
    format!("no {wanted} available for shard {shard_path}: {}", reasons.join("; "))
}

#[cfg(test)]
#[path = "choice_tests.rs"]
mod tests;
