use std::collections::HashSet;
use std::time::Duration;

use super::*;
use crate::health::test_fixtures::{healthy, lost, observed, primary, replica, seen, shard, MASTER, REPLICA_1, REPLICA_2};
use crate::mysql::IoThreadState;

fn addrs(candidates: &[Candidate]) -> Vec<&str> {
    candidates.iter().map(|candidate| candidate.addr.as_str()).collect()
}

fn none_quarantined() -> HashSet<String> {
    HashSet::new()
}

/// Which servers qualify, by case: admin states, divergence, observations.
#[test]
fn eligibility_follows_admin_state_divergence_and_observations() {
    let lagging = {
        let mut state = replica(3, "0-1-10", MASTER, IoThreadState::Running);
        state.replica.as_mut().unwrap().seconds_behind_source = Some(30);
        seen("r2", REPLICA_2, state)
    };
    let bounded = ClusterPolicy { max_promotion_lag: Some(Duration::from_secs(10)), ..ClusterPolicy::default() };
    type Case = (&'static str, Shard, Option<Vec<NodeObservation>>, ClusterPolicy, Option<&'static str>, Vec<&'static str>);
    let cases: Vec<Case> = vec![
        ("metadata only", shard(), None, ClusterPolicy::default(), Some(MASTER), vec![REPLICA_1, REPLICA_2]),
        ("all healthy", shard(), Some(healthy()), ClusterPolicy::default(), Some(MASTER), vec![REPLICA_1, REPLICA_2]),
        (
            "primary in maintenance",
            with_node(shard(), 0, |node| node.admin_state = AdminState::Maintenance),
            None,
            ClusterPolicy::default(),
            None,
            vec![REPLICA_1, REPLICA_2],
        ),
        (
            "replica draining",
            with_node(shard(), 1, |node| node.admin_state = AdminState::Drain),
            None,
            ClusterPolicy::default(),
            Some(MASTER),
            vec![REPLICA_2],
        ),
        (
            "diverged replica",
            with_node(shard(), 2, |node| node.diverged = Some("errant 0-3-1".into())),
            Some(healthy()),
            ClusterPolicy::default(),
            Some(MASTER),
            vec![REPLICA_1],
        ),
        (
            "primary seen down",
            shard(),
            Some(vec![lost("m", MASTER, 2, None), healthy().remove(1), healthy().remove(2)]),
            ClusterPolicy::default(),
            None,
            vec![REPLICA_1, REPLICA_2],
        ),
        (
            "replica of another source",
            shard(),
            Some(vec![healthy().remove(0), seen("r1", REPLICA_1, replica(2, "0-1-10", REPLICA_2, IoThreadState::Running)), healthy().remove(2)]),
            ClusterPolicy::default(),
            Some(MASTER),
            vec![REPLICA_2],
        ),
        (
            "replica with stopped io thread",
            shard(),
            Some(vec![healthy().remove(0), seen("r1", REPLICA_1, replica(2, "0-1-10", MASTER, IoThreadState::Stopped)), healthy().remove(2)]),
            ClusterPolicy::default(),
            Some(MASTER),
            vec![REPLICA_2],
        ),
        (
            "replica that is not replicating at all",
            shard(),
            Some(vec![healthy().remove(0), seen("r1", REPLICA_1, primary(2, "0-1-10")), healthy().remove(2)]),
            ClusterPolicy::default(),
            Some(MASTER),
            vec![REPLICA_2],
        ),
        ("lag without a bound", shard(), Some(vec![healthy().remove(0), healthy().remove(1), lagging.clone()]), ClusterPolicy::default(), Some(MASTER), vec![REPLICA_1, REPLICA_2]),
        ("lag beyond the bound", shard(), Some(vec![healthy().remove(0), healthy().remove(1), lagging]), bounded, Some(MASTER), vec![REPLICA_1]),
        ("a server not probed yet qualifies", shard(), Some(vec![healthy().remove(0)]), ClusterPolicy::default(), Some(MASTER), vec![REPLICA_1, REPLICA_2]),
    ];
    for (name, shard, observations, policy, primary, replicas) in cases {
        let observations = observations.map(observed);
        let eligible = eligible(&shard, &policy, observations.as_ref());
        assert_eq!(eligible.primary.as_ref().map(|candidate| candidate.addr.as_str()), primary, "{name}: primary");
        assert_eq!(addrs(&eligible.replicas), replicas, "{name}: replicas");
        assert_eq!(eligible.excluded.len(), 3 - replicas.len() - usize::from(primary.is_some()), "{name}: excluded");
    }
}

fn with_node(mut shard: Shard, index: usize, change: impl FnOnce(&mut Node)) -> Shard {
    change(&mut shard.nodes[index]);
    shard
}

/// The order each strategy tries, with the cursor and the quarantine.
#[test]
fn strategies_order_the_candidates() {
    let all = eligible(&shard(), &ClusterPolicy::default(), None);
    let no_replicas = Eligible { replicas: Vec::new(), ..all.clone() };
    let only_r1 = Eligible { replicas: vec![all.replicas[0].clone()], ..all.clone() };
    let none = none_quarantined();
    let q_r1: HashSet<String> = [REPLICA_1.to_string()].into();
    let q_all: HashSet<String> = [MASTER, REPLICA_1, REPLICA_2].map(String::from).into();
    use RouteRole::{Primary, PrimaryAndSecondary, Secondary};
    use RoutingStrategy::{FirstAvailable, NextAvailable, RoundRobin, RoundRobinWithFallback};
    type Case<'a> = (&'static str, &'a Eligible, RouteRole, RoutingStrategy, &'a HashSet<String>, u64, Vec<&'static str>);
    let (all, no_replicas, only_r1, none, q_r1, q_all) = (&all, &no_replicas, &only_r1, &none, &q_r1, &q_all);
    let cases: Vec<Case> = vec![
        ("primary first-available", all, Primary, FirstAvailable, none, 7, vec![MASTER]),
        ("primary quarantined", all, Primary, FirstAvailable, q_all, 0, vec![]),
        ("secondary first-available", all, Secondary, FirstAvailable, none, 5, vec![REPLICA_1, REPLICA_2]),
        ("secondary next-available skips quarantined", all, Secondary, NextAvailable, q_r1, 0, vec![REPLICA_2]),
        ("secondary round-robin 0", all, Secondary, RoundRobin, none, 0, vec![REPLICA_1, REPLICA_2]),
        ("secondary round-robin 1", all, Secondary, RoundRobin, none, 1, vec![REPLICA_2, REPLICA_1]),
        ("secondary round-robin 2", all, Secondary, RoundRobin, none, 2, vec![REPLICA_1, REPLICA_2]),
        ("secondary round-robin, r1 quarantined", all, Secondary, RoundRobin, q_r1, 1, vec![REPLICA_2]),
        ("secondary round-robin without replicas", no_replicas, Secondary, RoundRobin, none, 0, vec![]),
        ("with fallback, replicas there", all, Secondary, RoundRobinWithFallback, none, 1, vec![REPLICA_2, REPLICA_1]),
        ("with fallback, no replica", no_replicas, Secondary, RoundRobinWithFallback, none, 1, vec![MASTER]),
        ("with fallback, replica quarantined", only_r1, Secondary, RoundRobinWithFallback, q_r1, 0, vec![MASTER]),
        ("both, round-robin 0", all, PrimaryAndSecondary, RoundRobin, none, 0, vec![MASTER, REPLICA_1, REPLICA_2]),
        ("both, round-robin 2", all, PrimaryAndSecondary, RoundRobin, none, 2, vec![REPLICA_2, MASTER, REPLICA_1]),
        ("both, first-available", all, PrimaryAndSecondary, FirstAvailable, q_r1, 2, vec![MASTER, REPLICA_2]),
    ];
    for (name, eligible, role, strategy, quarantined, cursor, expected) in cases {
        assert_eq!(addrs(&order(eligible, role, strategy, quarantined, cursor)), expected, "{name}");
    }
}

/// The reason a client reads when nothing qualifies names every server left out and why.
#[test]
fn the_unavailable_reason_says_why() {
    let held = with_node(shard(), 0, |node| node.admin_state = AdminState::Maintenance);
    let eligible_now = eligible(&held, &ClusterPolicy::default(), None);
    let reason = unavailable_reason(&eligible_now, RouteRole::Primary, &none_quarantined(), "p/c/0");
    assert_eq!(reason, format!("no PRIMARY available for shard p/c/0: {MASTER} in maintenance"));

    let all = eligible(&shard(), &ClusterPolicy::default(), None);
    let quarantined: HashSet<String> = [MASTER, REPLICA_1].map(String::from).into();
    let reason = unavailable_reason(&all, RouteRole::Primary, &quarantined, "p/c/0");
    assert_eq!(reason, format!("no PRIMARY available for shard p/c/0: {MASTER} quarantined (refused or timed out; retried in the background)"));

    let drained = with_node(with_node(shard(), 1, |node| node.admin_state = AdminState::Drain), 0, |node| node.diverged = Some("x".into()));
    let reason = unavailable_reason(&eligible(&drained, &ClusterPolicy::default(), None), RouteRole::Secondary, &quarantined, "p/c/0");
    assert_eq!(reason, format!("no SECONDARY available for shard p/c/0: {REPLICA_1} draining"), "only replicas are named");

    let empty = Shard::default();
    let reason = unavailable_reason(&eligible(&empty, &ClusterPolicy::default(), None), RouteRole::Secondary, &none_quarantined(), "p/c/0");
    assert_eq!(reason, "no SECONDARY available for shard p/c/0: the shard has no replica");
}
