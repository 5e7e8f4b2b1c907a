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

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

use crate::mysql::ServerState;

pub use analysis::{analyze_cluster, analyze_shard_at, errant_transactions, replicates_from, Finding, FindingKind, ShardHealth};
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

    /// The same evidence for the analysis: equal but for the probe timestamps.
    fn same_evidence(&self, other: &NodeObservation) -> bool {
        self.addr == other.addr
            && self.reachable == other.reachable
            && self.consecutive_failures == other.consecutive_failures
            && self.last_error == other.last_error
            && self.state == other.state
    }
}

/// The leader's observations by database node id, and which nodes' evidence changed since the
/// supervisor last asked. Cheap to clone.
#[derive(Clone, Default)]
pub struct Observations {
    inner: Arc<RwLock<Store>>,
}

#[derive(Default)]
struct Store {
    by_node: HashMap<String, NodeObservation>,
    /// Nodes whose observation changed in anything the analysis reads (not the probe times).
    changed: HashSet<String>,
}

impl Observations {
    /// The node's observation when it was last probed at `addr` (a copy: failed probes only).
    pub fn previous(&self, node_id: &str, addr: &str) -> Option<NodeObservation> {
        self.read().by_node.get(node_id).filter(|previous| previous.addr == addr).cloned()
    }

    /// The node was probed and its last probe failed.
    pub fn is_unreachable(&self, node_id: &str) -> bool {
        self.read().by_node.get(node_id).is_some_and(|observation| !observation.reachable)
    }

    /// A copy of every observation, for an API answer.
    pub fn snapshot(&self) -> HashMap<String, NodeObservation> {
        self.read().by_node.clone()
    }

    /// A copy of the observations of the given nodes, for one analysis pass.
    pub fn of_nodes<'a>(&self, node_ids: impl IntoIterator<Item = &'a str>) -> HashMap<String, NodeObservation> {
        let store = self.read();
        node_ids
            .into_iter()
            .filter_map(|node_id| store.by_node.get_key_value(node_id))
            .map(|(node_id, observation)| (node_id.clone(), observation.clone()))
            .collect()
    }

    pub fn record(&self, observation: NodeObservation) {
        let mut store = self.write();
        let same = store.by_node.get(&observation.node_id).is_some_and(|previous| previous.same_evidence(&observation));
        if !same && !store.changed.contains(&observation.node_id) {
            store.changed.insert(observation.node_id.clone());
        }
        match store.by_node.get_mut(&observation.node_id) {
            Some(slot) => *slot = observation,
            None => {
                store.by_node.insert(observation.node_id.clone(), observation);
            }
        }
    }

    /// The nodes whose evidence changed since the last call.
    pub fn take_changed(&self) -> HashSet<String> {
        std::mem::take(&mut self.write().changed)
    }

    /// Drops the observations of nodes no longer declared anywhere.
    pub fn retain(&self, keep: impl Fn(&str) -> bool) {
        let mut store = self.write();
        store.by_node.retain(|node_id, _| keep(node_id));
        store.changed.retain(|node_id| keep(node_id));
    }

    pub fn clear(&self) {
        self.retain(|_| false);
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Store> {
        self.inner.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Store> {
        self.inner.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::test_fixtures::{lost, primary, seen, MASTER, REPLICA_1};
    use super::*;

    fn probed_later(mut observation: NodeObservation) -> NodeObservation {
        observation.probed_at_ms += 1_000;
        observation.last_seen_ms = observation.last_seen_ms.map(|seen| seen + 1_000);
        observation
    }

    /// Only a change of evidence (not a later probe time) marks a node changed, once per take.
    #[test]
    fn records_mark_changed_evidence_only() {
        let first = seen("m", MASTER, primary(1, "0-1-10"));
        let cases: Vec<(&str, NodeObservation, bool)> = vec![
            ("same evidence, later probe", probed_later(first.clone()), false),
            ("new gtids", seen("m", MASTER, primary(1, "0-1-11")), true),
            ("probe failed", lost("m", MASTER, 1, Some(primary(1, "0-1-10"))), true),
            ("failed once more", lost("m", MASTER, 2, Some(primary(1, "0-1-10"))), true),
            ("moved", seen("m", REPLICA_1, primary(1, "0-1-10")), true),
        ];
        for (name, next, changed) in cases {
            let observations = Observations::default();
            observations.record(first.clone());
            assert_eq!(observations.take_changed(), HashSet::from(["m".to_string()]), "{name}: first probe");
            assert!(observations.take_changed().is_empty(), "{name}: taken");
            observations.record(next);
            assert_eq!(observations.take_changed().contains("m"), changed, "{name}");
        }
    }

    #[test]
    fn retained_nodes_keep_their_marks() {
        let observations = Observations::default();
        observations.record(seen("a", MASTER, primary(1, "0-1-10")));
        observations.record(seen("b", REPLICA_1, primary(2, "0-2-10")));
        observations.retain(|node_id| node_id == "a");
        assert_eq!(observations.take_changed(), HashSet::from(["a".to_string()]));
        assert!(!observations.is_unreachable("a"));
        assert_eq!(observations.of_nodes(["a", "b"]).len(), 1);
    }
}
