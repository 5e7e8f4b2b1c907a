//! Observed state of the fleet: what the leader's prober last saw of every database node, and the
//! pure analysis that turns declared topology plus observations into findings.
//!
//! Owns: `NodeObservation`, the in-memory `Observations` store (leader only, rebuilt after a
//! leadership change, never replicated), the per-node `DbClient` registry and the prober loop.
//! Must not touch raft or decide repairs: `failover` reads the findings and acts.

mod analysis;
mod clients;
mod prober;
#[cfg(test)]
pub(crate) mod test_fixtures;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

use crate::mysql::ServerState;

pub use analysis::{analyze_cluster, errant_transactions, replicates_from, Finding, FindingKind, ShardHealth};
pub use clients::DbClients;
pub use prober::Prober;

/// The latest probe of one database node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeObservation {
    pub node_id: String,
    pub addr: String,
    /// The last probe succeeded.
    pub reachable: bool,
    /// Failed probes since the last success.
    pub consecutive_failures: u32,
    /// Why the last probe failed.
    pub last_error: Option<String>,
    /// Unix milliseconds of the last probe, successful or not.
    pub probed_at_ms: i64,
    /// Unix milliseconds of the last successful probe.
    pub last_seen_ms: Option<i64>,
    /// What the last successful probe read; kept while the node is unreachable.
    pub state: Option<ServerState>,
}

impl NodeObservation {
    /// The server's state when the last probe succeeded, `None` when it did not.
    pub fn live_state(&self) -> Option<&ServerState> {
        self.state.as_ref().filter(|_| self.reachable)
    }
}

/// The leader's observations by database node id. Cheap to clone.
#[derive(Clone, Default)]
pub struct Observations {
    by_node: Arc<RwLock<HashMap<String, NodeObservation>>>,
}

impl Observations {
    pub fn get(&self, node_id: &str) -> Option<NodeObservation> {
        self.read().get(node_id).cloned()
    }

    /// A copy of every observation, for one analysis pass or an API answer.
    pub fn snapshot(&self) -> HashMap<String, NodeObservation> {
        self.read().clone()
    }

    pub fn record(&self, observation: NodeObservation) {
        let mut by_node = self.by_node.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        by_node.insert(observation.node_id.clone(), observation);
    }

    /// Drops the observations of nodes no longer declared anywhere.
    pub fn retain(&self, keep: impl Fn(&str) -> bool) {
        let mut by_node = self.by_node.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        by_node.retain(|node_id, _| keep(node_id));
    }

    pub fn clear(&self) {
        self.retain(|_| false);
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, NodeObservation>> {
        self.by_node.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
