//! The state machine's node-level changes: promotion rule, diverged mark, admin state
//! (maintenance, drain) and `UpdateNode` (server name and address; the name must be free in the
//! whole fleet, the address in the cluster). Each validates everything before it changes
//! anything and bumps the cluster version. Pure, like the rest of `meta`.

use super::apply::{bump, node_mut, validate_addr};
use super::command::{Command, CommandResult};
use super::error::MetaError;
use super::server_names::check_name_free;
use super::types::{MetaState, NodeRole};

impl MetaState {
    /// Applies a node-level command; `apply` routes exactly these here.
    pub(super) fn apply_node_change(&mut self, command: &Command) -> CommandResult {
        match command {
            Command::SetPromotionRule { namespace, cluster, shard, node_id, rule, expected_version } => {
                let cluster = self.cluster_to_change(namespace, cluster, *expected_version)?;
                node_mut(cluster, *shard, node_id)?.promotion_rule = *rule;
                Ok(bump(cluster))
            }
            Command::MarkDiverged { namespace, cluster, shard, node_id, reason } => {
                let cluster = self.cluster_to_change(namespace, cluster, None)?;
                let node = node_mut(cluster, *shard, node_id)?;
                if node.role == NodeRole::Master && reason.is_some() {
                    return Err(MetaError::conflict(format!("node {node_id:?} is the master of shard {shard}")));
                }
                node.diverged = reason.clone();
                Ok(bump(cluster))
            }
            Command::SetNodeAdminState { namespace, cluster, shard, node_id, state, expected_version } => {
                let cluster = self.cluster_to_change(namespace, cluster, *expected_version)?;
                node_mut(cluster, *shard, node_id)?.admin_state = *state;
                Ok(bump(cluster))
            }
            Command::UpdateNode { namespace, cluster, shard, node_id, name, addr, expected_version } => {
                self.update_node(namespace, cluster, NodeChange { shard: *shard, node_id, name: name.as_deref(), addr }, *expected_version)
            }
            other => Err(MetaError::invalid(format!("{} is not a node-level command", other.kind()))),
        }
    }

    fn update_node(
        &mut self,
        namespace: &str,
        cluster_name: &str,
        change: NodeChange<'_>,
        expected_version: Option<u64>,
    ) -> CommandResult {
        validate_addr(change.addr)?;
        if let Some(name) = change.name {
            check_name_free(self, name, Some(change.node_id))?;
        }
        let cluster = self.cluster_to_change(namespace, cluster_name, expected_version)?;
        if let Some((shard, other)) =
            cluster.nodes().find(|(_, node)| node.addr == change.addr && node.id != change.node_id)
        {
            return Err(MetaError::already_exists(format!(
                "address {:?} is already used by node {:?} in shard {shard} of cluster {cluster_name:?}",
                change.addr, other.id
            )));
        }
        let node = node_mut(cluster, change.shard, change.node_id)?;
        node.name = change.name.map(str::to_string);
        node.addr = change.addr.to_string();
        Ok(bump(cluster))
    }
}

/// What `UpdateNode` sets on one node.
struct NodeChange<'a> {
    shard: usize,
    node_id: &'a str,
    name: Option<&'a str>,
    addr: &'a str,
}
