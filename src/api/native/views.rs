//! Response shapes of the native flavor, in the kvrocks-controller field order.
//!
//! Every view is built field by field from the domain types, and none has a field for a secret:
//! the domain `Node` and `Cluster` carry passwords, so they are never serialized directly.

use serde::Serialize;

use crate::meta::{AdminState, Cluster, ClusterPolicy, Node, PromotionRule, Shard};

/// A database node, without its password (kvrocks also answers `password` and `master_auth`).
#[derive(Serialize)]
pub struct NodeView {
    pub id: String,
    pub addr: String,
    pub role: &'static str,
    pub created_at: i64,
    /// shardkeeper extension: whether failover may promote the node.
    pub promotion_rule: PromotionRule,
    /// shardkeeper extension: why the node was left out of replication, when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diverged: Option<String>,
    /// shardkeeper extension: the server name (absent: the node goes by its address).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// shardkeeper extension: `active`, `maintenance` or `drain`.
    pub admin_state: AdminState,
}

impl From<&Node> for NodeView {
    fn from(node: &Node) -> Self {
        NodeView {
            id: node.id.clone(),
            addr: node.addr.clone(),
            role: node.role.as_str(),
            created_at: node.created_at,
            promotion_rule: node.promotion_rule,
            diverged: node.diverged.clone(),
            name: node.name.clone(),
            admin_state: node.admin_state,
        }
    }
}

/// A shard. `slot_ranges` is `[]` when the shard owns no slot (kvrocks answers `null`);
/// `import_slot` and `migrating_slot` are `-1` when no migration is under way.
#[derive(Serialize)]
pub struct ShardView {
    pub nodes: Vec<NodeView>,
    pub slot_ranges: Vec<String>,
    pub import_slot: i32,
    pub migrating_slot: i32,
}

impl From<&Shard> for ShardView {
    fn from(shard: &Shard) -> Self {
        ShardView {
            nodes: shard.nodes.iter().map(NodeView::from).collect(),
            slot_ranges: shard.slot_ranges.iter().map(ToString::to_string).collect(),
            import_slot: slot_or_minus_one(shard.import_slot),
            migrating_slot: slot_or_minus_one(shard.migrating_slot),
        }
    }
}

fn slot_or_minus_one(slot: Option<u16>) -> i32 {
    slot.map_or(-1, i32::from)
}

/// A cluster, without its credentials.
#[derive(Serialize)]
pub struct ClusterView {
    pub name: String,
    pub version: u64,
    pub shards: Vec<ShardView>,
    /// shardkeeper extension: how the leader watches and repairs the cluster.
    pub policy: ClusterPolicy,
}

impl From<&Cluster> for ClusterView {
    fn from(cluster: &Cluster) -> Self {
        ClusterView {
            name: cluster.name.clone(),
            version: cluster.version,
            shards: cluster.shards.iter().map(ShardView::from).collect(),
            policy: cluster.policy.clone(),
        }
    }
}

/// `{"namespaces": [...]}`
#[derive(Serialize)]
pub struct NamespaceList {
    pub namespaces: Vec<String>,
}

/// `{"namespace": "..."}`
#[derive(Serialize)]
pub struct NamespaceOne {
    pub namespace: String,
}

/// `{"clusters": [...]}`
#[derive(Serialize)]
pub struct ClusterList {
    pub clusters: Vec<String>,
}

/// `{"cluster": {...}}`
#[derive(Serialize)]
pub struct ClusterOne {
    pub cluster: ClusterView,
}

/// `{"shards": [...]}`
#[derive(Serialize)]
pub struct ShardList {
    pub shards: Vec<ShardView>,
}

/// `{"shard": {...}}`
#[derive(Serialize)]
pub struct ShardOne {
    pub shard: ShardView,
}

/// `{"nodes": [...]}`
#[derive(Serialize)]
pub struct NodeList {
    pub nodes: Vec<NodeView>,
}

/// `{"new_master_id": "..."}`
#[derive(Serialize)]
pub struct FailoverDone {
    pub new_master_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::{ClusterCredentials, NodeRole, Secret, SlotRange};

    fn node(id: &str, role: NodeRole) -> Node {
        Node {
            id: id.to_string(),
            addr: "db1:3306".to_string(),
            role,
            created_at: 1_700_000_000,
            password: Secret::new("hunter2"),
            promotion_rule: Default::default(),
            diverged: None,
            name: None,
            admin_state: Default::default(),
        }
    }

    #[test]
    fn cluster_view_has_the_kvrocks_shape_without_secrets() {
        let cluster = Cluster {
            name: "c1".to_string(),
            version: 3,
            credentials: ClusterCredentials {
                user: "admin".to_string(),
                password: Secret::new("hunter2"),
                replication_user: "repl".to_string(),
                replication_password: Secret::new("hunter3"),
            },
            policy: Default::default(),
            shards: vec![
                Shard {
                    nodes: vec![node("a", NodeRole::Master), node("b", NodeRole::Slave)],
                    slot_ranges: vec!["0-8191".parse::<SlotRange>().unwrap()],
                    migrating_slot: Some(5),
                    import_slot: None,
                },
                Shard::default(),
            ],
        };
        let json = serde_json::to_value(ClusterOne { cluster: ClusterView::from(&cluster) }).unwrap();
        let expected = serde_json::json!({"cluster": {"name": "c1", "version": 3, "shards": [
            {"nodes": [
                {"id": "a", "addr": "db1:3306", "role": "master", "created_at": 1_700_000_000,
                 "promotion_rule": "neutral", "admin_state": "active"},
                {"id": "b", "addr": "db1:3306", "role": "slave", "created_at": 1_700_000_000,
                 "promotion_rule": "neutral", "admin_state": "active"}
             ],
             "slot_ranges": ["0-8191"], "import_slot": -1, "migrating_slot": 5},
            {"nodes": [], "slot_ranges": [], "import_slot": -1, "migrating_slot": -1}
        ],
        "policy": {"auto_failover": true, "auto_rejoin": true, "probe_interval": null, "failure_threshold": 3,
                   "recovery_block_period": "10m", "max_promotion_lag": null, "semi_sync": true}}});
        assert_eq!(json, expected);
        let text = json.to_string();
        assert!(!text.contains("password") && !text.contains("hunter") && !text.contains("repl"), "{text}");
    }
}
