//! The generated protobuf + tonic code for proto/shardkeeper.proto, and the pb <-> domain
//! conversions every gRPC side shares.
//!
//! Owns: nothing but message shapes. Imports only `meta` and `error`; every module that speaks gRPC
//! (transport, raft's network, the members' and the Admin servers) imports it from below.

use crate::error::ServiceError;
use crate::meta::{AdminState, Cluster, Node as DbNode, NodeRole, Shard, SlotRange};

tonic::include_proto!("shardkeeper.v1");

/// A database node as the Admin service shows it: never its password.
pub fn node_to_pb(node: DbNode) -> NodeInfo {
    NodeInfo {
        admin_state: admin_state_word(node.admin_state).to_string(),
        name: node.name.unwrap_or_default(),
        id: node.id,
        addr: node.addr,
        role: node.role.as_str().to_string(),
        created_at: node.created_at,
    }
}

/// The word of an admin state, as the REST API and `AdminStateRequest` spell it.
pub fn admin_state_word(state: AdminState) -> &'static str {
    match state {
        AdminState::Active => "active",
        AdminState::Maintenance => "maintenance",
        AdminState::Drain => "drain",
    }
}

/// The admin state a word names.
pub fn admin_state_from_word(word: &str) -> Option<AdminState> {
    [AdminState::Active, AdminState::Maintenance, AdminState::Drain].into_iter().find(|state| admin_state_word(*state) == word)
}

pub fn shard_to_pb(shard: Shard) -> ShardInfo {
    ShardInfo {
        nodes: shard.nodes.into_iter().map(node_to_pb).collect(),
        slot_ranges: shard.slot_ranges.iter().map(SlotRange::to_string).collect(),
        import_slot: shard.import_slot.map(i32::from).unwrap_or(-1),
        migrating_slot: shard.migrating_slot.map(i32::from).unwrap_or(-1),
    }
}

pub fn cluster_to_pb(cluster: Cluster) -> ClusterInfo {
    ClusterInfo { name: cluster.name, version: cluster.version, shards: cluster.shards.into_iter().map(shard_to_pb).collect() }
}

/// A node role from its protobuf string; empty means a slave.
pub fn parse_role(role: &str) -> Result<NodeRole, ServiceError> {
    match role {
        "" | "slave" => Ok(NodeRole::Slave),
        "master" => Ok(NodeRole::Master),
        other => Err(ServiceError::invalid(format!("role \"{other}\" is neither \"master\" nor \"slave\""))),
    }
}
