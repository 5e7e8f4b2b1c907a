use std::time::Duration;

use super::*;
use crate::health::test_fixtures::*;
use crate::mysql::IoThreadState::{Connecting, Running, Stopped};

/// The kinds the analysis reports for one shard, sorted by name for comparison.
fn kinds(cluster: &Cluster, list: Vec<NodeObservation>) -> Vec<FindingKind> {
    let health = analyze_cluster(cluster, &observed(list));
    let mut kinds: Vec<FindingKind> = health[0].findings.iter().map(|finding| finding.kind).collect();
    kinds.sort_by_key(|kind| format!("{kind:?}"));
    kinds
}

fn replace(mut list: Vec<NodeObservation>, observation: NodeObservation) -> Vec<NodeObservation> {
    list.retain(|other| other.node_id != observation.node_id);
    list.push(observation);
    list
}

#[test]
fn findings_for_each_situation() {
    use FindingKind::*;
    let dead_master = |failures| lost("m", MASTER, failures, Some(primary(1, "0-1-10")));
    let cases: Vec<(&str, Vec<NodeObservation>, Vec<FindingKind>)> = vec![
        ("everything healthy", healthy(), vec![AllHealthy]),
        (
            "master missed one probe of three: unreachable, not dead",
            replace(
                replace(healthy(), dead_master(1)),
                seen("r1", REPLICA_1, replica(2, "0-1-10", MASTER, Connecting)),
            ),
            vec![UnreachablePrimary],
        ),
        (
            "master missed three probes and both replicas lost it: dead",
            vec![
                dead_master(3),
                seen("r1", REPLICA_1, replica(2, "0-1-10", MASTER, Connecting)),
                seen("r2", REPLICA_2, replica(3, "0-1-10", MASTER, Connecting)),
            ],
            vec![DeadPrimary],
        ),
        (
            "master unreachable from shardkeeper but one replica still replicates: no failover",
            vec![
                dead_master(5),
                seen("r1", REPLICA_1, replica(2, "0-1-10", MASTER, Connecting)),
                seen("r2", REPLICA_2, replica(3, "0-1-10", MASTER, Running)),
            ],
            vec![UnreachablePrimary],
        ),
        (
            "master and replicas unreachable",
            vec![dead_master(3), lost("r1", REPLICA_1, 3, None), lost("r2", REPLICA_2, 3, None)],
            vec![DeadPrimaryAndReplicas, UnreachableReplica, UnreachableReplica],
        ),
        (
            "master dead and no replica was ever attached",
            vec![
                dead_master(3),
                seen("r1", REPLICA_1, ServerState { read_only: true, ..primary(2, "") }),
                seen("r2", REPLICA_2, ServerState { read_only: true, ..primary(3, "") }),
            ],
            vec![DeadPrimaryWithoutReplicas, ReplicaNotAttached, ReplicaNotAttached],
        ),
        (
            "a writable replica",
            replace(
                healthy(),
                seen("r1", REPLICA_1, ServerState { read_only: false, ..replica(2, "0-1-10", MASTER, Running) }),
            ),
            vec![WritableReplica],
        ),
        (
            "a read-only master",
            replace(healthy(), seen("m", MASTER, ServerState { read_only: true, ..primary(1, "0-1-10") })),
            vec![ReadOnlyPrimary],
        ),
        (
            "a replica with a local transaction the master lacks",
            replace(healthy(), seen("r2", REPLICA_2, replica(3, "0-1-10,0-3-11", MASTER, Running))),
            vec![ErrantGtid],
        ),
        (
            "a replica ahead of the master's last probe is not errant",
            replace(healthy(), seen("r2", REPLICA_2, replica(3, "0-1-12", MASTER, Running))),
            vec![AllHealthy],
        ),
        (
            "a replica whose sql thread stopped on an error",
            replace(healthy(), {
                let mut state = replica(2, "0-1-9", MASTER, Running);
                if let Some(status) = state.replica.as_mut() {
                    status.sql_running = false;
                    status.last_sql_error = "Duplicate entry '1' for key 'PRIMARY'".to_string();
                }
                seen("r1", REPLICA_1, state)
            }),
            vec![ReplicationStopped],
        ),
        (
            "a replica of another server",
            replace(healthy(), seen("r1", REPLICA_1, replica(2, "0-1-10", "10.0.0.9:3306", Running))),
            vec![ReplicaNotAttached],
        ),
        (
            "a replica whose replication was reset is writable and not attached: split brain",
            replace(healthy(), seen("r1", REPLICA_1, primary(2, "0-1-10"))),
            vec![ReplicaNotAttached, SplitBrain, WritableReplica],
        ),
        ("a node never probed", healthy().into_iter().filter(|o| o.node_id != "r2").collect(), vec![NotProbedYet]),
        (
            "stopped replication without error",
            replace(healthy(), {
                let mut state = replica(2, "0-1-10", MASTER, Stopped);
                if let Some(status) = state.replica.as_mut() {
                    status.sql_running = false;
                }
                seen("r1", REPLICA_1, state)
            }),
            vec![ReplicationStopped],
        ),
    ];
    let cluster = cluster(shard());
    for (name, observations, mut expected) in cases {
        expected.sort_by_key(|kind| format!("{kind:?}"));
        assert_eq!(kinds(&cluster, observations), expected, "case: {name}");
    }
}

#[test]
fn lag_beyond_the_policy_bound_is_reported() {
    let mut cluster = cluster(shard());
    cluster.policy.max_promotion_lag = Some(Duration::from_secs(30));
    let mut state = replica(2, "0-1-9", MASTER, Running);
    if let Some(status) = state.replica.as_mut() {
        status.seconds_behind_source = Some(45);
    }
    let found = kinds(&cluster, replace(healthy(), seen("r1", REPLICA_1, state)));
    assert_eq!(found, vec![FindingKind::ReplicaLagging]);
}

#[test]
fn a_diverged_node_is_reported_with_its_reason() {
    let mut declared = shard();
    declared.nodes[2].diverged = Some("holds 0-3-11".to_string());
    let health = analyze_cluster(&cluster(declared), &observed(healthy()));
    let finding = health[0].findings.iter().find(|finding| finding.kind == FindingKind::DivergedNode);
    assert_eq!(finding.map(|finding| finding.detail.as_str()), Some("holds 0-3-11"));
}
