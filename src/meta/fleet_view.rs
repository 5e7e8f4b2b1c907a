//! The fleet's view of the metadata (pure): the namespaces that hold clusters and the recoveries,
//! everything the leader's prober and supervisor read. It lets the supervisor see that a write
//! left the fleet untouched (a new namespace, say) without copying or walking the whole metadata
//! under the state machine's lock on every tick of a write load (`MetaState::fleet_changes`).

use super::MetaState;

impl MetaState {
    /// A copy of the parts the fleet reads: namespaces with at least one cluster, the recoveries.
    pub fn fleet_view(&self) -> MetaState {
        MetaState {
            namespaces: self
                .namespaces
                .iter()
                .filter(|(_, namespace)| !namespace.clusters.is_empty())
                .map(|(name, namespace)| (name.clone(), namespace.clone()))
                .collect(),
            recoveries: self.recoveries.clone(),
            next_recovery_id: self.next_recovery_id,
            fleet_changes: self.fleet_changes,
        }
    }

    /// `view`, taken from this state earlier, still equals its fleet view: no command that may
    /// change the fleet was accepted since. Constant time, whatever the number of namespaces.
    pub fn has_fleet_view(&self, view: &MetaState) -> bool {
        self.fleet_changes == view.fleet_changes
    }
}

#[cfg(test)]
mod tests {
    use super::super::{ClusterCredentials, ClusterPolicy, Command, NodeSpec, Secret};
    use super::*;

    fn create_namespace(name: &str) -> Command {
        Command::CreateNamespace { name: name.to_string() }
    }

    fn create_cluster(namespace: &str, name: &str) -> Command {
        let nodes = (0..2)
            .map(|n| NodeSpec::new(format!("{name}{n:0width$}", width = 40 - name.len()), format!("{name}-db{n}:3306")))
            .collect();
        Command::CreateCluster {
            namespace: namespace.to_string(),
            name: name.to_string(),
            nodes,
            replicas: 2,
            credentials: ClusterCredentials {
                user: "root".into(),
                password: Secret::new("pw"),
                replication_user: "repl".into(),
                replication_password: Secret::new("pw"),
            },
            policy: ClusterPolicy::default(),
            created_at: 1,
        }
    }

    /// Each case: a command applied after the view was taken, whether the view still holds. Where
    /// it holds, the fleet's view must indeed be unchanged.
    #[test]
    fn only_changes_the_fleet_reads_invalidate_the_view() {
        let mut base = MetaState::default();
        for command in [create_namespace("fleet"), create_cluster("fleet", "c"), create_namespace("empty")] {
            base.apply(&command).expect("setup");
        }
        let delete_cluster = Command::DeleteCluster { namespace: "fleet".into(), name: "c".into(), expected_version: None };
        let cases: Vec<(&str, Command, bool)> = vec![
            ("a namespace created", create_namespace("more"), true),
            ("the empty namespace deleted", Command::DeleteNamespace { name: "empty".into() }, true),
            ("a rejected cluster create", create_cluster("missing", "c"), true),
            ("a batch of namespace creates", Command::Batch(vec![create_namespace("a"), create_namespace("b")]), true),
            ("a cluster created", create_cluster("empty", "c2"), false),
            ("a cluster deleted", delete_cluster.clone(), false),
            ("a batch holding a cluster change", Command::Batch(vec![create_namespace("a"), delete_cluster]), false),
        ];
        for (name, command, holds) in cases {
            let mut now = base.clone();
            let view = now.fleet_view();
            let accepted = now.apply(&command).is_ok();
            assert!(accepted || holds, "{name}: a change the view must notice was rejected");
            assert_eq!(now.has_fleet_view(&view), holds, "{name}");
            if holds {
                assert_eq!(now.fleet_view(), view, "{name}: the view claimed to hold changed");
            }
            assert!(now.has_fleet_view(&now.fleet_view()), "{name}: a fresh view holds");
        }
        assert_eq!(base.fleet_view().namespaces.keys().collect::<Vec<_>>(), vec!["fleet"]);
    }
}
