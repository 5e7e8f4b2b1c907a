use std::time::Duration;

use super::*;
use crate::health::test_fixtures::*;
use crate::meta::{AdminState, ClusterPolicy, RecoveryKind, RecoveryState};
use crate::mysql::Flavor;
use crate::mysql::IoThreadState::{Connecting, Running};

fn dead_master_observations(r1: &str, r2: &str) -> Vec<NodeObservation> {
    vec![
        lost("m", MASTER, 3, Some(primary(1, "0-1-10"))),
        seen("r1", REPLICA_1, replica(2, r1, MASTER, Connecting)),
        seen("r2", REPLICA_2, replica(3, r2, MASTER, Connecting)),
    ]
}

/// `state` having applied only `executed` of what it received.
fn applied_only(state: ServerState, executed: &str) -> ServerState {
    ServerState { gtid_executed: gtids(executed), ..state }
}

/// (case, shard, observations, preferred, master alive, expected winner or error fragment, data loss possible)
type CandidateCase = (&'static str, Shard, Vec<NodeObservation>, Option<&'static str>, bool, Result<&'static str, &'static str>, bool);

#[test]
fn candidate_choice() {
    let policy = ClusterPolicy::default();
    let must_not = |mut shard: Shard, index: usize| {
        shard.nodes[index].promotion_rule = PromotionRule::MustNot;
        shard
    };
    let prefer = |mut shard: Shard, index: usize| {
        shard.nodes[index].promotion_rule = PromotionRule::Prefer;
        shard
    };
    let held = |mut shard: Shard, index: usize, state: AdminState| {
        shard.nodes[index].admin_state = state;
        shard
    };
    let cases: Vec<CandidateCase> = vec![
        ("the most advanced replica wins", shard(), dead_master_observations("0-1-8", "0-1-10"), None, false, Ok("r2"), false),
        ("equal replicas: declared order", shard(), dead_master_observations("0-1-10", "0-1-10"), None, false, Ok("r1"), false),
        ("equal replicas: prefer wins", prefer(shard(), 2), dead_master_observations("0-1-10", "0-1-10"), None, false, Ok("r2"), false),
        (
            "equally advanced: the replica with less relay log left to apply wins",
            shard(),
            vec![
                lost("m", MASTER, 3, Some(primary(1, "0-1-10"))),
                seen("r1", REPLICA_1, applied_only(replica(2, "0-1-10", MASTER, Connecting), "0-1-4")),
                seen("r2", REPLICA_2, replica(3, "0-1-10", MASTER, Connecting)),
            ],
            None,
            false,
            Ok("r2"),
            false,
        ),
        ("must_not is never chosen", must_not(shard(), 2), dead_master_observations("0-1-8", "0-1-10"), None, false, Ok("r1"), true),
        (
            "a replica in maintenance is never chosen, even the most advanced",
            held(shard(), 2, AdminState::Maintenance),
            dead_master_observations("0-1-8", "0-1-10"),
            None,
            false,
            Ok("r1"),
            true,
        ),
        (
            "equal replicas: the one in maintenance is passed over",
            held(shard(), 1, AdminState::Maintenance),
            dead_master_observations("0-1-10", "0-1-10"),
            None,
            false,
            Ok("r2"),
            false,
        ),
        (
            "a draining replica may still be promoted",
            held(shard(), 2, AdminState::Drain),
            dead_master_observations("0-1-8", "0-1-10"),
            None,
            false,
            Ok("r2"),
            false,
        ),
        (
            "switchover to a replica in maintenance is refused",
            held(shard(), 2, AdminState::Maintenance),
            healthy(),
            Some("r2"),
            true,
            Err("cannot be promoted: 127.0.0.1:3308: it is in maintenance"),
            false,
        ),
        (
            "every replica in maintenance: nothing to promote",
            held(held(shard(), 1, AdminState::Maintenance), 2, AdminState::Maintenance),
            dead_master_observations("0-1-10", "0-1-10"),
            None,
            false,
            Err("it is in maintenance"),
            false,
        ),
        (
            "errant replica is refused",
            shard(),
            dead_master_observations("0-1-10", "0-1-10,0-3-11"),
            None,
            false,
            Ok("r1"),
            false,
        ),
        (
            "preferred but behind another replica: refused on a dead master",
            shard(),
            dead_master_observations("0-1-8", "0-1-10"),
            Some("r1"),
            false,
            Err("lacks transactions"),
            false,
        ),
        ("preferred on a switchover", shard(), healthy(), Some("r2"), true, Ok("r2"), false),
        ("preferred master itself", shard(), healthy(), Some("m"), true, Err("already the master"), false),
        ("preferred unknown node", shard(), healthy(), Some("zz"), true, Err("not part of the shard"), false),
        (
            "no reachable replica",
            shard(),
            vec![lost("m", MASTER, 3, None), lost("r1", REPLICA_1, 3, None), lost("r2", REPLICA_2, 3, None)],
            None,
            false,
            Err("no replica can be promoted"),
            false,
        ),
    ];
    for (name, shard, observations, preferred, alive, expected, loss) in cases {
        let outcome = choose_candidate(&shard, &observed(observations), &policy, preferred, alive);
        match (expected, outcome) {
            (Ok(winner), Ok(candidate)) => {
                assert_eq!(candidate.node.id, winner, "case: {name}");
                assert_eq!(candidate.data_loss_possible, loss, "case: {name}: {:?}", candidate.data_loss_reasons);
            }
            (Err(fragment), Err(reason)) => assert!(reason.contains(fragment), "case: {name}: {reason}"),
            (expected, outcome) => panic!("case: {name}: expected {expected:?}, got {outcome:?}"),
        }
    }
}

#[test]
fn data_loss_is_possible_when_the_master_ran_asynchronously_or_a_replica_is_missing() {
    let policy = ClusterPolicy::default();
    let mut observations = dead_master_observations("0-1-10", "0-1-10");
    observations[0] = lost("m", MASTER, 3, Some(ServerState { semi_sync_source_active: false, ..primary(1, "0-1-10") }));
    let candidate = choose_candidate(&shard(), &observed(observations), &policy, None, false).expect("candidate");
    assert!(candidate.data_loss_possible);

    let mut observations = dead_master_observations("0-1-10", "0-1-10");
    observations[2] = lost("r2", REPLICA_2, 3, None);
    let candidate = choose_candidate(&shard(), &observed(observations), &policy, None, false).expect("candidate");
    assert!(candidate.data_loss_reasons.iter().any(|reason| reason.contains(REPLICA_2)));
}

#[test]
fn lag_bound_excludes_a_candidate() {
    let policy = ClusterPolicy { max_promotion_lag: Some(Duration::from_secs(10)), ..ClusterPolicy::default() };
    let mut observations = dead_master_observations("0-1-10", "0-1-10");
    if let Some(status) = observations[1].state.as_mut().and_then(|state| state.replica.as_mut()) {
        status.seconds_behind_source = Some(60);
    }
    let candidate = choose_candidate(&shard(), &observed(observations), &policy, None, false).expect("candidate");
    assert_eq!(candidate.node.id, "r2");
}

fn recovery(ended_at_ms: i64, acknowledged: bool) -> Recovery {
    Recovery {
        id: 1,
        namespace: "ns".to_string(),
        cluster: "c".to_string(),
        shard: 0,
        kind: RecoveryKind::Failover,
        finding: "DeadPrimary".to_string(),
        failed_node: NodeRef { id: "m".to_string(), addr: MASTER.to_string() },
        successor: None,
        started_at_ms: ended_at_ms - 100,
        ended_at_ms: Some(ended_at_ms),
        state: RecoveryState::Succeeded,
        error: None,
        lost_replicas: Vec::new(),
        steps: Vec::new(),
        data_loss_possible: false,
        acknowledged_by: acknowledged.then(|| "ops".to_string()),
        acknowledged_at_ms: acknowledged.then_some(ended_at_ms + 1),
        acknowledge_comment: None,
    }
}

#[test]
fn automatic_failover_decision() {
    let policy = ClusterPolicy::default();
    let dead = crate::health::analyze_cluster(&cluster(shard()), &observed(dead_master_observations("0-1-10", "0-1-10")));
    let healthy_shard = crate::health::analyze_cluster(&cluster(shard()), &observed(healthy()));
    let mut still_followed = dead_master_observations("0-1-10", "0-1-10");
    still_followed[2] = seen("r2", REPLICA_2, replica(3, "0-1-10", MASTER, Running));
    let unreachable = crate::health::analyze_cluster(&cluster(shard()), &observed(still_followed));
    let block_ms = policy.recovery_block_period.as_millis() as i64;
    let now = 10_000_000;
    let cases: Vec<(&str, &ShardHealth, ClusterPolicy, Option<Recovery>, bool)> = vec![
        ("dead master, no history", &dead[0], policy.clone(), None, true),
        ("healthy shard", &healthy_shard[0], policy.clone(), None, false),
        ("auto_failover off", &dead[0], ClusterPolicy { auto_failover: false, ..policy.clone() }, None, false),
        ("recent recovery blocks", &dead[0], policy.clone(), Some(recovery(now - 1000, false)), false),
        ("acknowledged recovery does not block", &dead[0], policy.clone(), Some(recovery(now - 1000, true)), true),
        ("old recovery does not block", &dead[0], policy.clone(), Some(recovery(now - block_ms - 1, false)), true),
        (
            "a failed recovery pauses retries briefly",
            &dead[0],
            policy.clone(),
            Some(Recovery { state: RecoveryState::Failed, ..recovery(now - 1000, false) }),
            false,
        ),
        (
            "a failed recovery does not block for the whole period",
            &dead[0],
            policy.clone(),
            Some(Recovery { state: RecoveryState::Failed, ..recovery(now - FAILED_RECOVERY_PAUSE_MS - 1, false) }),
            true,
        ),
        (
            "an unreachable master that replicas still follow never fails over",
            &unreachable[0],
            policy.clone(),
            None,
            false,
        ),
        (
            "running recovery: nothing new",
            &dead[0],
            policy.clone(),
            Some(Recovery { state: RecoveryState::Running, ended_at_ms: None, ..recovery(now, false) }),
            false,
        ),
    ];
    for (name, health, policy, last, expected) in cases {
        assert_eq!(should_fail_over(health, &policy, last.as_ref(), now), expected, "case: {name}");
    }
}

/// A replica of the master whose threads are stopped, with these last errors.
fn stopped_replica(server_id: u32, io_error: &str, sql_error: &str) -> ServerState {
    let mut state = replica(server_id, "0-1-10", MASTER, crate::mysql::IoThreadState::Stopped);
    let status = state.replica.as_mut().expect("a replica");
    status.sql_running = false;
    status.last_io_error = io_error.to_string();
    status.last_sql_error = sql_error.to_string();
    state
}

#[test]
fn repairs_for_blank_and_returning_servers() {
    let policy = ClusterPolicy::default();
    let blank = |id: u32| ServerState { semi_sync_source_enabled: false, ..primary(id, "") };
    let r = |id: &str| NodeRef { id: id.to_string(), addr: if id == "r1" { REPLICA_1 } else { REPLICA_2 }.to_string() };
    let m = NodeRef { id: "m".to_string(), addr: MASTER.to_string() };
    let cases: Vec<(&str, Vec<NodeObservation>, Vec<Repair>)> = vec![
        ("healthy: nothing to do", healthy(), vec![]),
        (
            "three blank writable servers: fence and attach replicas; open the master only once they are fenced",
            vec![seen("m", MASTER, blank(1)), seen("r1", REPLICA_1, blank(2)), seen("r2", REPLICA_2, blank(3))],
            vec![
                Repair::EnableSourceSemiSync { node: m.clone(), flavor: Flavor::MariaDb },
                Repair::Fence { node: r("r1") },
                Repair::Attach { node: r("r1"), master: m.clone() },
                Repair::Fence { node: r("r2") },
                Repair::Attach { node: r("r2"), master: m.clone() },
            ],
        ),
        (
            "blank replicas already read-only: attach them and open the master",
            vec![
                seen("m", MASTER, ServerState { read_only: true, ..primary(1, "") }),
                seen("r1", REPLICA_1, ServerState { read_only: true, ..blank(2) }),
                seen("r2", REPLICA_2, ServerState { read_only: true, ..blank(3) }),
            ],
            vec![
                Repair::Attach { node: r("r1"), master: m.clone() },
                Repair::Attach { node: r("r2"), master: m.clone() },
                Repair::OpenMaster { node: m.clone() },
            ],
        ),
        (
            "a returning old master with extra transactions: fence and mark diverged",
            vec![
                seen("m", MASTER, primary(1, "0-1-10")),
                seen("r1", REPLICA_1, replica(2, "0-1-10", MASTER, Running)),
                seen("r2", REPLICA_2, primary(3, "0-3-11")),
            ],
            vec![
                Repair::Fence { node: r("r2") },
                Repair::MarkDiverged {
                    node: r("r2"),
                    reason: format!("it holds transactions the master {MASTER} lacks: 0-3-11"),
                },
            ],
        ),
        (
            "a returning old master behind the new one: fence and re-attach",
            vec![
                seen("m", MASTER, primary(1, "0-3-9,0-1-10")),
                seen("r1", REPLICA_1, replica(2, "0-3-9,0-1-10", MASTER, Running)),
                seen("r2", REPLICA_2, primary(3, "0-3-9")),
            ],
            vec![Repair::Fence { node: r("r2") }, Repair::Attach { node: r("r2"), master: m.clone() }],
        ),
        (
            "replica lacking semi-sync is re-attached",
            vec![
                seen("m", MASTER, primary(1, "0-1-10")),
                seen("r1", REPLICA_1, ServerState { semi_sync_replica_enabled: false, ..replica(2, "0-1-10", MASTER, Running) }),
                seen("r2", REPLICA_2, replica(3, "0-1-10", MASTER, Running)),
            ],
            vec![Repair::Attach { node: r("r1"), master: m.clone() }],
        ),
        (
            "semi-sync enabled on the master but no replica acknowledges: replicas reconnect",
            vec![
                seen("m", MASTER, ServerState { semi_sync_source_active: false, ..primary(1, "0-1-10") }),
                seen("r1", REPLICA_1, replica(2, "0-1-10", MASTER, Running)),
                seen("r2", REPLICA_2, replica(3, "0-1-10", MASTER, Running)),
            ],
            vec![Repair::Attach { node: r("r1"), master: m.clone() }, Repair::Attach { node: r("r2"), master: m.clone() }],
        ),
        (
            "replication stopped after losing the master (a failed failover stopped it): re-attach",
            vec![
                seen("m", MASTER, primary(1, "0-1-10")),
                seen("r1", REPLICA_1, stopped_replica(2, "error reconnecting to master 'repl@m:3306' - retry-time: 1", "")),
                seen("r2", REPLICA_2, replica(3, "0-1-10", MASTER, Running)),
            ],
            vec![Repair::Attach { node: r("r1"), master: m.clone() }],
        ),
        (
            "replication stopped cleanly: re-attach",
            vec![
                seen("m", MASTER, primary(1, "0-1-10")),
                seen("r1", REPLICA_1, stopped_replica(2, "", "")),
                seen("r2", REPLICA_2, replica(3, "0-1-10", MASTER, Running)),
            ],
            vec![Repair::Attach { node: r("r1"), master: m.clone() }],
        ),
        (
            "replication stopped by an applier error: left for an operator",
            vec![
                seen("m", MASTER, primary(1, "0-1-10")),
                seen("r1", REPLICA_1, stopped_replica(2, "", "Duplicate entry '1' for key 'PRIMARY'")),
                seen("r2", REPLICA_2, replica(3, "0-1-10", MASTER, Running)),
            ],
            vec![],
        ),
        (
            "replication stopped by a binlog error from the master: left for an operator",
            vec![
                seen("m", MASTER, primary(1, "0-1-10")),
                seen("r1", REPLICA_1, stopped_replica(2, "Got fatal error 1236 from master when reading data from binary log", "")),
                seen("r2", REPLICA_2, replica(3, "0-1-10", MASTER, Running)),
            ],
            vec![],
        ),
        (
            "attached, with errant transactions, replication broken by the master's binlog: mark diverged",
            vec![
                seen("m", MASTER, primary(1, "0-1-10")),
                seen(
                    "r1",
                    REPLICA_1,
                    ServerState {
                        gtid_executed: gtids("0-1-10,1-2-1"),
                        ..stopped_replica(2, "Got fatal error 1236 from master when reading data from binary log", "")
                    },
                ),
                seen("r2", REPLICA_2, replica(3, "0-1-10", MASTER, Running)),
            ],
            vec![Repair::MarkDiverged {
                node: r("r1"),
                reason: format!(
                    "it holds transactions the master {MASTER} lacks: 1-2-1; its replication stopped: Got fatal error 1236 from master when reading data from binary log"
                ),
            }],
        ),
        (
            "attached, with errant transactions, still replicating: only reported (never promoted)",
            vec![
                seen("m", MASTER, primary(1, "0-1-10")),
                seen("r1", REPLICA_1, ServerState { gtid_executed: gtids("0-1-10,1-2-1"), ..replica(2, "0-1-10", MASTER, Running) }),
                seen("r2", REPLICA_2, replica(3, "0-1-10", MASTER, Running)),
            ],
            vec![],
        ),
        (
            "attached, with errant transactions, only disconnected: re-attached, not diverged",
            vec![
                seen("m", MASTER, primary(1, "0-1-10")),
                seen(
                    "r1",
                    REPLICA_1,
                    ServerState { gtid_executed: gtids("0-1-10,1-2-1"), ..stopped_replica(2, "error reconnecting to master 'repl@m:3306'", "") },
                ),
                seen("r2", REPLICA_2, replica(3, "0-1-10", MASTER, Running)),
            ],
            vec![Repair::Attach { node: r("r1"), master: m.clone() }],
        ),
        (
            "dead master: no repairs",
            dead_master_observations("0-1-10", "0-1-10"),
            vec![],
        ),
    ];
    for (name, observations, expected) in cases {
        assert_eq!(plan_repairs(&shard(), &observed(observations), &policy), expected, "case: {name}");
    }
}
