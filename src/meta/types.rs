//! Domain types of the fleet's desired state, as replicated through raft.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::recovery::Recovery;
use super::secret::Secret;
use super::slots::SlotRange;

/// Longest accepted namespace or cluster name, in bytes.
pub const MAX_NAME_LEN: usize = 128;
/// Length of a database node id (random alphanumerics, like kvrocks).
pub const NODE_ID_LEN: usize = 40;

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

/// Whether failover may pick a node as the new master.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromotionRule {
    /// Chosen over equally advanced neutral candidates.
    Prefer,
    #[default]
    Neutral,
    /// Never promoted automatically or by a switchover.
    MustNot,
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
    #[serde(default)]
    pub promotion_rule: PromotionRule,
    /// Why the node was left out of replication (transactions the master lacks); `None` when healthy.
    #[serde(default)]
    pub diverged: Option<String>,
    /// A name for the flavors that name servers (MaxScale); `None` derives one from the address.
    #[serde(default)]
    pub name: Option<String>,
    /// Whether the router may send it new connections and failover may promote it.
    #[serde(default)]
    pub admin_state: AdminState,
}

/// An operator's hold on a database node, replicated through raft.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminState {
    #[default]
    Active,
    /// No new routed connections, never a promotion candidate.
    Maintenance,
    /// No new routed connections; established ones finish.
    Drain,
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
    /// Admin account for probing and repair.
    #[serde(default)]
    pub user: String,
    pub password: Secret,
    /// Account replicas use to connect to their master.
    #[serde(default)]
    pub replication_user: String,
    #[serde(default)]
    pub replication_password: Secret,
}

/// How the leader watches and repairs a cluster. Every field has a documented default
/// (docs/failover.md); durations serialize in human form ("1s").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterPolicy {
    /// Fail over a dead master without an operator.
    pub auto_failover: bool,
    /// Re-attach a returning old master as a replica when it holds no transaction the new master lacks.
    pub auto_rejoin: bool,
    /// How often each server is probed; `None` takes the node's global `probe_interval`.
    #[serde(with = "humantime_serde")]
    pub probe_interval: Option<Duration>,
    /// Consecutive failed probes before a master counts as unreachable.
    pub failure_threshold: u32,
    /// No second automatic recovery of a shard within this period, unless the last one is acknowledged.
    #[serde(with = "humantime_serde")]
    pub recovery_block_period: Duration,
    /// A replica lagging more than this is not promoted; `None` means no bound.
    #[serde(with = "humantime_serde")]
    pub max_promotion_lag: Option<Duration>,
    /// Run semi-synchronous replication (master waits for one replica's acknowledgement).
    pub semi_sync: bool,
}

impl Default for ClusterPolicy {
    fn default() -> Self {
        ClusterPolicy {
            auto_failover: true,
            auto_rejoin: true,
            probe_interval: None,
            failure_threshold: 3,
            recovery_block_period: Duration::from_secs(600),
            max_promotion_lag: None,
            semi_sync: true,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cluster {
    pub name: String,
    /// Bumped by every change to the cluster; the compare-and-set token of `If-Match`.
    pub version: u64,
    pub credentials: ClusterCredentials,
    #[serde(default)]
    pub policy: ClusterPolicy,
    pub shards: Vec<Shard>,
}

impl Cluster {
    /// Every node of every shard, with its shard index.
    pub fn nodes(&self) -> impl Iterator<Item = (usize, &Node)> {
        self.shards.iter().enumerate().flat_map(|(index, shard)| shard.nodes.iter().map(move |node| (index, node)))
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Namespace {
    pub name: String,
    pub clusters: BTreeMap<String, Cluster>,
}

/// The whole replicated metadata. Ordered maps keep iteration (and snapshots) deterministic.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaState {
    /// A persistent map: cloning the state (a snapshot, a reader that must not hold the lock)
    /// shares its nodes instead of copying every namespace, which with millions of namespaces held
    /// the state machine's lock for over a second; a change then copies only the nodes it touches.
    /// It serializes exactly like a `BTreeMap`.
    pub namespaces: imbl::OrdMap<String, Namespace>,
    /// Failovers and switchovers by id, oldest first; the newest `MAX_RECOVERIES` are kept.
    #[serde(default)]
    pub recoveries: BTreeMap<u64, Recovery>,
    /// The id the next recovery gets.
    #[serde(default)]
    pub next_recovery_id: u64,
    /// Accepted commands that may have changed what the fleet reads (all but namespace creates and
    /// deletes: a namespace holds no cluster when it is created or deleted). The leader's
    /// supervisor compares it instead of walking every namespace to notice a change.
    #[serde(default)]
    pub fleet_changes: u64,
}

impl MetaState {
    pub fn namespace(&self, name: &str) -> Option<&Namespace> {
        self.namespaces.get(name)
    }

    pub fn cluster(&self, namespace: &str, cluster: &str) -> Option<&Cluster> {
        self.namespace(namespace)?.clusters.get(cluster)
    }
}
