//! Commands proposed through raft and their responses.
//!
//! Every id and timestamp is stamped by the proposer. Cluster-level commands carry the caller's
//! `expected_version` (from `If-Match`); `apply` rejects them with `VersionMismatch` when it differs.

use serde::{Deserialize, Serialize};

use super::error::MetaError;
use super::recovery::{RecoveryIntent, RecoveryOutcome};
use super::slots::SlotRange;
use super::secret::Secret;
use super::types::{AdminState, ClusterCredentials, ClusterPolicy, NodeRole, PromotionRule};

/// A database node as the proposer declared it: id already chosen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeSpec {
    pub id: String,
    pub addr: String,
    /// A server name, unique across the fleet (`meta::server_names`); `None` goes by the address.
    #[serde(default)]
    pub name: Option<String>,
}

impl NodeSpec {
    /// A spec without a name.
    pub fn new(id: impl Into<String>, addr: impl Into<String>) -> Self {
        NodeSpec { id: id.into(), addr: addr.into(), name: None }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    CreateNamespace {
        name: String,
    },
    /// Refused while the namespace still holds clusters.
    DeleteNamespace {
        name: String,
    },
    /// `nodes` are split into shards of `replicas` nodes each, the first of each shard is master,
    /// and slots 0..=16383 are split evenly over the shards. The cluster starts at version 0.
    CreateCluster {
        namespace: String,
        name: String,
        nodes: Vec<NodeSpec>,
        replicas: u32,
        credentials: ClusterCredentials,
        policy: ClusterPolicy,
        created_at: i64,
    },
    /// A cluster registered from live replication trees: one shard per tree, its master first;
    /// slots are split evenly over the shards.
    ImportCluster {
        namespace: String,
        name: String,
        shards: Vec<Vec<NodeSpec>>,
        credentials: ClusterCredentials,
        policy: ClusterPolicy,
        created_at: i64,
    },
    DeleteCluster {
        namespace: String,
        name: String,
        expected_version: Option<u64>,
    },
    /// A new shard with no slots; its first node is master.
    CreateShard {
        namespace: String,
        cluster: String,
        nodes: Vec<NodeSpec>,
        password: Secret,
        created_at: i64,
        expected_version: Option<u64>,
    },
    /// Refused while the shard owns slots.
    DeleteShard {
        namespace: String,
        cluster: String,
        shard: usize,
        expected_version: Option<u64>,
    },
    CreateNode {
        namespace: String,
        cluster: String,
        shard: usize,
        node: NodeSpec,
        role: NodeRole,
        password: Secret,
        created_at: i64,
        expected_version: Option<u64>,
    },
    /// Refused for the shard's master.
    DeleteNode {
        namespace: String,
        cluster: String,
        shard: usize,
        node_id: String,
        expected_version: Option<u64>,
    },
    /// Metadata-only slot move (`slot_only`): the slots leave whichever shards own them and join
    /// `target`.
    MigrateSlots {
        namespace: String,
        cluster: String,
        target: usize,
        slots: SlotRange,
        expected_version: Option<u64>,
    },
    /// Commit a new master for a shard: `new_master_id` becomes master, the old master a slave.
    PromoteNode {
        namespace: String,
        cluster: String,
        shard: usize,
        new_master_id: String,
        expected_version: Option<u64>,
    },
    SetPromotionRule {
        namespace: String,
        cluster: String,
        shard: usize,
        node_id: String,
        rule: PromotionRule,
        expected_version: Option<u64>,
    },
    /// An operator's hold on a node: maintenance (no new routed connections, never promoted) or
    /// drain (no new routed connections), or back to active.
    SetNodeAdminState {
        namespace: String,
        cluster: String,
        shard: usize,
        node_id: String,
        state: AdminState,
        expected_version: Option<u64>,
    },
    /// Replaces a node's server name (`None`: go by the address) and address; the name must be
    /// free in the whole fleet, the address in the cluster.
    UpdateNode {
        namespace: String,
        cluster: String,
        shard: usize,
        node_id: String,
        name: Option<String>,
        addr: String,
        expected_version: Option<u64>,
    },
    /// Marks a node as diverged (it holds transactions its master lacks) with the reason, or clears
    /// the mark with `None`.
    MarkDiverged {
        namespace: String,
        cluster: String,
        shard: usize,
        node_id: String,
        reason: Option<String>,
    },
    /// Records a failover or switchover before any server is touched; answers the recovery id.
    BeginRecovery(RecoveryIntent),
    /// Ends a recovery; on success the successor becomes master in the same command.
    FinishRecovery(RecoveryOutcome),
    AcknowledgeRecovery {
        id: u64,
        by: String,
        comment: String,
        at_ms: i64,
    },
    /// Commands the leader's callers proposed at about the same time, committed as one raft entry
    /// (`node::batcher`). Applied in order, each on its own: one rejected command changes nothing
    /// and does not stop the others. Answers `Response::Batch` with one result per command.
    Batch(Vec<Command>),
}

impl Command {
    /// Whether applying it may change a cluster or a recovery (`MetaState::fleet_changes`); a
    /// batch counts through its commands.
    pub fn may_change_fleet(&self) -> bool {
        !matches!(self, Command::CreateNamespace { .. } | Command::DeleteNamespace { .. } | Command::Batch(_))
    }

    /// Short name for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Command::CreateNamespace { .. } => "create_namespace",
            Command::DeleteNamespace { .. } => "delete_namespace",
            Command::CreateCluster { .. } => "create_cluster",
            Command::DeleteCluster { .. } => "delete_cluster",
            Command::CreateShard { .. } => "create_shard",
            Command::DeleteShard { .. } => "delete_shard",
            Command::CreateNode { .. } => "create_node",
            Command::DeleteNode { .. } => "delete_node",
            Command::MigrateSlots { .. } => "migrate_slots",
            Command::PromoteNode { .. } => "promote_node",
            Command::ImportCluster { .. } => "import_cluster",
            Command::SetPromotionRule { .. } => "set_promotion_rule",
            Command::MarkDiverged { .. } => "mark_diverged",
            Command::SetNodeAdminState { .. } => "set_node_admin_state",
            Command::UpdateNode { .. } => "update_node",
            Command::BeginRecovery(_) => "begin_recovery",
            Command::FinishRecovery(_) => "finish_recovery",
            Command::AcknowledgeRecovery { .. } => "acknowledge_recovery",
            Command::Batch(_) => "batch",
        }
    }
}

/// What a successful command answers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    /// Nothing to report (also the response of raft's own blank and membership entries).
    #[default]
    Done,
    /// A cluster-level change; the cluster's version after it (absent when the cluster was deleted).
    ClusterVersion(u64),
    /// The id of a recovery that has just begun.
    Recovery(u64),
    /// One result per command of a `Command::Batch`, in order.
    Batch(Vec<CommandResult>),
}

/// The replicated outcome of one command.
pub type CommandResult = Result<Response, MetaError>;
