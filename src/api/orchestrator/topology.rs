//! Where each instance of a v2 cluster sits in its replication tree, and orchestrator's ASCII
//! rendering of that tree. Pure.
//!
//! Placement follows what the servers report: a replica that replicates from another member sits
//! under it (so a chain shows as a chain). The declared master is always the root. A member that
//! reports no source inside the shard (unreachable, not probed yet, blank, pointed elsewhere) or
//! whose sources form a loop sits directly under the master.
//!
//! Rendering matches orchestrator's `ASCIITopology`: one line per instance, the master first,
//! each replica indented two spaces per level below the first and marked `+ ` when it replicates
//! fine or `- ` when not, then `host:port` and `[lag,status,version,rw|ro,binlog format,>>,GTID,...]`
//! with the `[` of every line aligned.

use std::collections::HashMap;

use super::catalog::{split_addr, ShardTree};
use super::views::InstanceView;
use crate::health::NodeObservation;
use crate::meta::NodeRole;

/// Replication lag above which orchestrator calls a replica lagging (its
/// `ReasonableMaintenanceReplicationLagSeconds` default).
pub const REASONABLE_LAG_SECONDS: i64 = 20;

/// Where every member of a tree sits, by index into `ShardTree::members`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    /// The member each member hangs under; `None` for roots.
    pub parent: Vec<Option<usize>>,
    /// Every member once, depth first (a parent before its children), with its depth (roots 0).
    pub order: Vec<(usize, usize)>,
}

impl Placement {
    pub fn depth(&self, member: usize) -> usize {
        self.order.iter().find(|(index, _)| *index == member).map(|(_, depth)| *depth).unwrap_or(0)
    }

    /// The members directly under `member`, in declared order.
    pub fn children(&self, member: usize) -> Vec<usize> {
        (0..self.parent.len()).filter(|index| self.parent[*index] == Some(member)).collect()
    }
}

/// Places the members of `tree` from the sources their last successful probe reported.
pub fn place(tree: &ShardTree, observations: &HashMap<String, NodeObservation>) -> Placement {
    let count = tree.members.len();
    let master = tree.members.iter().position(|member| member.role == NodeRole::Master);
    let mut parent: Vec<Option<usize>> = (0..count)
        .map(|index| {
            if Some(index) == master {
                return None;
            }
            let member = &tree.members[index];
            let source = observations
                .get(&member.id)
                .and_then(NodeObservation::live_state)
                .and_then(|state| state.replica.as_ref())
                .map(|replica| (replica.source_host.clone(), replica.source_port));
            let observed = source
                .and_then(|source| tree.members.iter().position(|candidate| split_addr(&candidate.addr) == source));
            observed.filter(|source| *source != index).or(master)
        })
        .collect();
    // Replicas replicating from each other in a loop never reach the master: hang every member of
    // the loop under the master (a member leading into a loop keeps its source).
    let on_loop: Vec<bool> = (0..count)
        .map(|index| {
            let mut current = parent[index];
            for _ in 0..count {
                match current {
                    Some(above) if above == index => return true,
                    Some(above) => current = parent[above],
                    None => return false,
                }
            }
            false
        })
        .collect();
    for index in (0..count).filter(|index| on_loop[*index]) {
        parent[index] = master.filter(|master| *master != index);
    }
    let mut roots: Vec<usize> = (0..count).filter(|index| parent[*index].is_none()).collect();
    roots.sort_by_key(|index| Some(*index) != master);
    let mut placement = Placement { parent, order: Vec::with_capacity(count) };
    for root in roots {
        visit(&mut placement, root, 0);
    }
    placement
}

fn visit(placement: &mut Placement, member: usize, depth: usize) {
    placement.order.push((member, depth));
    for child in placement.children(member) {
        visit(placement, child, depth + 1);
    }
}

/// orchestrator's lag column: `unknown` when the last check failed, `null` for a replica that is
/// not replicating or cannot tell, else the lag in seconds (`0s` for a master).
pub fn lag_token(view: &InstanceView) -> String {
    if !view.is_last_check_valid || !view.is_recently_checked {
        return "unknown".to_string();
    }
    if view.is_replica() && (!view.replica_running() || !view.seconds_behind_master.valid) {
        return "null".to_string();
    }
    format!("{}s", view.replication_lag_seconds.int64)
}

/// orchestrator's status column: `invalid`, `unchecked`, `nonreplicating`, `lag` or `ok`.
pub fn status_token(view: &InstanceView) -> &'static str {
    if !view.is_last_check_valid {
        "invalid"
    } else if !view.is_recently_checked {
        "unchecked"
    } else if view.is_replica() && !view.replica_running() {
        "nonreplicating"
    } else if view.is_replica() && view.seconds_behind_master.int64 > REASONABLE_LAG_SECONDS {
        "lag"
    } else {
        "ok"
    }
}

/// `[lag,status,version,rw|ro,binlog format|nobinlog,>>,GTID,semi:master,semi:replica]`, empty
/// tokens left out (an unknown version, binlog format).
pub fn description(view: &InstanceView) -> String {
    let mut tokens = vec![lag_token(view), status_token(view).to_string(), view.version.clone()];
    tokens.push(if view.read_only { "ro" } else { "rw" }.to_string());
    tokens.push(if view.log_bin_enabled { view.binlog_format.clone() } else { "nobinlog".to_string() });
    if view.log_bin_enabled && view.log_replication_updates_enabled {
        tokens.push(">>".to_string());
    }
    if view.using_oracle_gtid || view.using_mariadb_gtid || view.supports_oracle_gtid {
        tokens.push(if view.gtid_errant.is_empty() { "GTID".to_string() } else { "GTID:errant".to_string() });
    }
    if view.semi_sync_master_status {
        tokens.push("semi:master".to_string());
    }
    if view.semi_sync_replica_status {
        tokens.push("semi:replica".to_string());
    }
    tokens.retain(|token| !token.is_empty());
    format!("[{}]", tokens.join(","))
}

/// The ASCII tree of `entries` (depth, instance) in placement order, one line each, `[` aligned.
pub fn ascii(entries: &[(usize, &InstanceView)]) -> String {
    let lines: Vec<(String, String)> = entries
        .iter()
        .map(|(depth, view)| {
            let prefix = match depth {
                0 => String::new(),
                depth => {
                    let healthy = view.replica_running() && view.is_last_check_valid && view.is_recently_checked;
                    format!("{}{} ", "  ".repeat(depth - 1), if healthy { "+" } else { "-" })
                }
            };
            (format!("{prefix}{}", view.key.display()), description(view))
        })
        .collect();
    let width = lines.iter().map(|(head, _)| head.chars().count()).max().unwrap_or(0);
    lines
        .iter()
        .map(|(head, description)| {
            let padding = width - head.chars().count();
            format!("{head}{} {description}", " ".repeat(padding))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
#[path = "topology_tests.rs"]
mod tests;
