//! The state machine's handling of `Command::UpdateNode`: a node's server name and address,
//! validated (name free in the whole fleet, address free in the cluster) before anything changes.
//! `SetNodeAdminState` needs no validation beyond the node's existence and lives beside the other
//! flag commands in `apply`. Pure, like the rest of `meta`.

use super::apply::{bump, node_mut, validate_addr};
use super::command::CommandResult;
use super::error::MetaError;
use super::server_names::check_name_free;
use super::types::MetaState;

/// What `UpdateNode` sets on one node.
pub(super) struct NodeChange<'a> {
    pub shard: usize,
    pub node_id: &'a str,
    pub name: Option<&'a str>,
    pub addr: &'a str,
}

impl MetaState {
    pub(super) fn update_node(
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
