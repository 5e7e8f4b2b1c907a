//! Domain types of the fleet's desired state, as replicated through raft.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::slots::SlotRange;

/// Longest accepted namespace or cluster name, in bytes.
pub const MAX_NAME_LEN: usize = 128;
/// Length of a database node id (random alphanumerics, like kvrocks).
pub const NODE_ID_LEN: usize = 40;

/// A secret (MySQL password). Stored through raft so the leader can use it, but its `Debug` never
/// shows it and the API layer never serializes it.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the code that logs in to MySQL. Never log or return it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Role of a database node inside its shard. The API keeps the kvrocks words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeRole {
    Master,
    Slave,
}

impl NodeRole {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeRole::Master => "master",
            NodeRole::Slave => "slave",
        }
    }
}

/// One database server (MySQL / MariaDB) of a shard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    pub id: String,
    pub addr: String,
    pub role: NodeRole,
    /// Unix seconds, stamped by the proposer.
    pub created_at: i64,
    pub password: Secret,
}

/// A replication tree: one master and its slaves, owning some slot ranges.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub nodes: Vec<Node>,
    pub slot_ranges: Vec<SlotRange>,
    pub migrating_slot: Option<u16>,
    pub import_slot: Option<u16>,
}

impl Shard {
    pub fn master(&self) -> Option<&Node> {
        self.nodes.iter().find(|node| node.role == NodeRole::Master)
    }

    pub fn slot_count(&self) -> u32 {
        self.slot_ranges.iter().map(|range| range.len()).sum()
    }
}

/// Credentials shardkeeper uses against the cluster's database servers. Never returned by any API.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterCredentials {
    pub password: Secret,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cluster {
    pub name: String,
    /// Bumped by every change to the cluster; the compare-and-set token of `If-Match`.
    pub version: u64,
    pub credentials: ClusterCredentials,
    pub shards: Vec<Shard>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Namespace {
    pub name: String,
    pub clusters: BTreeMap<String, Cluster>,
}

/// The whole replicated metadata. `BTreeMap`s keep iteration (and snapshots) deterministic.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaState {
    pub namespaces: BTreeMap<String, Namespace>,
}

impl MetaState {
    pub fn namespace(&self, name: &str) -> Option<&Namespace> {
        self.namespaces.get(name)
    }

    pub fn cluster(&self, namespace: &str, cluster: &str) -> Option<&Cluster> {
        self.namespace(namespace)?.clusters.get(cluster)
    }
}
