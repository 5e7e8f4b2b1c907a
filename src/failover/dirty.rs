//! Dirty tracking for the supervisor (pure): which shards a pass must analyse. A shard is dirty
//! when the metadata changed, when one of its nodes' evidence changed, or when the last pass left
//! it with something still to do (a finding, work in flight, a repair waiting for its backoff);
//! a shard the last pass found healthy and idle is skipped until one of those happens again.
//!
//! Owns only the bookkeeping: it must not read observations or decide repairs.

use std::collections::{HashMap, HashSet};

use super::ShardKey;
use crate::meta::MetaState;

#[derive(Default)]
pub(super) struct DirtyShards {
    /// The shard of every declared node, as of the last metadata seen.
    shard_of: HashMap<String, ShardKey>,
    dirty: HashSet<ShardKey>,
}

impl DirtyShards {
    /// New metadata: indexes its nodes and marks every shard dirty.
    pub(super) fn reset(&mut self, state: &MetaState) {
        self.shard_of.clear();
        self.dirty.clear();
        for (namespace, ns) in &state.namespaces {
            for cluster in ns.clusters.values() {
                for (index, shard) in cluster.shards.iter().enumerate() {
                    let key = ShardKey::new(namespace, &cluster.name, index);
                    for node in &shard.nodes {
                        self.shard_of.insert(node.id.clone(), key.clone());
                    }
                    self.dirty.insert(key);
                }
            }
        }
    }

    /// Marks the shards of nodes whose evidence changed; nodes not declared are ignored.
    pub(super) fn mark_nodes(&mut self, changed: impl IntoIterator<Item = String>) {
        for node_id in changed {
            if let Some(key) = self.shard_of.get(&node_id) {
                self.dirty.insert(key.clone());
            }
        }
    }

    /// The shards to analyse now; each is clean until marked again or handed back with `keep`.
    pub(super) fn take(&mut self) -> Vec<ShardKey> {
        self.dirty.drain().collect()
    }

    /// The pass left the shard with something still to do: analyse it again next pass.
    pub(super) fn keep(&mut self, key: ShardKey) {
        self.dirty.insert(key);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::health::test_fixtures::{cluster, shard};
    use crate::meta::Namespace;

    fn state() -> MetaState {
        let mut two_shards = cluster(shard());
        let mut second = shard();
        for node in &mut second.nodes {
            node.id = format!("{}-b", node.id);
        }
        two_shards.shards.push(second);
        let clusters = BTreeMap::from([(two_shards.name.clone(), two_shards)]);
        let namespace = Namespace { name: "ns".to_string(), clusters };
        let mut state = MetaState::default();
        state.namespaces.insert("ns".to_string(), namespace);
        state
    }

    fn sorted(mut keys: Vec<ShardKey>) -> Vec<String> {
        keys.sort_by_key(|key| key.shard);
        keys.iter().map(ToString::to_string).collect()
    }

    /// (case, nodes whose evidence changed, shards the pass kept, shards the next pass analyses)
    type Case = (&'static str, Vec<&'static str>, Vec<usize>, Vec<&'static str>);

    /// Each case: after a reset and one pass that took everything, which nodes changed and which
    /// shards the pass kept; then what the next pass analyses.
    #[test]
    fn next_pass_sees_changed_and_kept_shards_only() {
        let cases: Vec<Case> = vec![
            ("nothing changed", vec![], vec![], vec![]),
            ("a replica of shard 0", vec!["r1"], vec![], vec!["ns/c/0"]),
            ("both shards' masters", vec!["m", "m-b"], vec![], vec!["ns/c/0", "ns/c/1"]),
            ("two nodes of one shard", vec!["m", "r2"], vec![], vec!["ns/c/0"]),
            ("an undeclared node", vec!["stranger"], vec![], vec![]),
            ("kept with work left", vec![], vec![1], vec!["ns/c/1"]),
            ("kept and changed", vec!["r1-b"], vec![1], vec!["ns/c/1"]),
        ];
        for (name, changed, kept, expected) in cases {
            let mut dirty = DirtyShards::default();
            dirty.reset(&state());
            assert_eq!(sorted(dirty.take()), vec!["ns/c/0", "ns/c/1"], "{name}: metadata marks every shard");
            for shard in kept {
                dirty.keep(ShardKey::new("ns", "c", shard));
            }
            dirty.mark_nodes(changed.into_iter().map(String::from));
            assert_eq!(sorted(dirty.take()), expected, "{name}");
            assert!(dirty.take().is_empty(), "{name}: taken once");
        }
    }

    #[test]
    fn reset_forgets_removed_nodes() {
        let mut dirty = DirtyShards::default();
        dirty.reset(&state());
        dirty.take();
        dirty.reset(&MetaState::default());
        assert!(dirty.take().is_empty());
        dirty.mark_nodes(["m".to_string()]);
        assert!(dirty.take().is_empty());
    }
}
