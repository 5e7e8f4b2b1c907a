use super::*;
use crate::api::orchestrator::test_support::{by_id, lost, master_state, member, replica_state, seen, tree, NOW_MS};
use crate::api::orchestrator::views::instance_views;
use crate::health::NodeObservation;
use crate::meta::NodeRole::{Master, Slave};

const M: &str = "127.0.0.1:3306";
const R1: &str = "127.0.0.1:3307";
const R2: &str = "127.0.0.1:3308";

fn three() -> ShardTree {
    // Declared order puts a replica first: the master must still come first.
    tree(vec![member("r1", R1, Slave), member("m", M, Master), member("r2", R2, Slave)])
}

fn render(tree: &ShardTree, observations: Vec<NodeObservation>) -> String {
    let views = instance_views(tree, &by_id(observations), NOW_MS);
    let entries: Vec<(usize, &InstanceView)> = views.iter().map(|(depth, view)| (*depth, view)).collect();
    ascii(&entries)
}

/// (what, observations, expected parents, expected order).
type PlacementCase = (&'static str, Vec<NodeObservation>, Vec<Option<usize>>, Vec<(usize, usize)>);

#[test]
fn placement_follows_observed_sources() {
    let t = three();
    let healthy =
        || vec![seen("m", M, master_state(1, "0-1-5")), seen("r1", R1, replica_state(2, M, "0-1-5", Some(0)))];
    let cases: Vec<PlacementCase> = vec![
        (
            "both replicas under the master",
            [healthy(), vec![seen("r2", R2, replica_state(3, M, "0-1-5", Some(0)))]].concat(),
            vec![Some(1), None, Some(1)],
            vec![(1, 0), (0, 1), (2, 1)],
        ),
        (
            "a chain: r2 replicates from r1",
            [healthy(), vec![seen("r2", R2, replica_state(3, R1, "0-1-5", Some(0)))]].concat(),
            vec![Some(1), None, Some(0)],
            vec![(1, 0), (0, 1), (2, 2)],
        ),
        ("never probed: under the master", healthy(), vec![Some(1), None, Some(1)], vec![(1, 0), (0, 1), (2, 1)]),
        (
            "unreachable with a stale source elsewhere: under the master",
            [healthy(), vec![lost("r2", R2, Some(replica_state(3, R1, "0-1-5", Some(0))))]].concat(),
            vec![Some(1), None, Some(1)],
            vec![(1, 0), (0, 1), (2, 1)],
        ),
        (
            "a loop between replicas: both under the master",
            vec![
                seen("m", M, master_state(1, "0-1-5")),
                seen("r1", R1, replica_state(2, R2, "0-1-5", Some(0))),
                seen("r2", R2, replica_state(3, R1, "0-1-5", Some(0))),
            ],
            vec![Some(1), None, Some(1)],
            vec![(1, 0), (0, 1), (2, 1)],
        ),
        (
            "a source outside the shard, or itself: under the master",
            [healthy(), vec![seen("r2", R2, replica_state(3, "10.9.9.9:3306", "0-1-5", Some(0)))]].concat(),
            vec![Some(1), None, Some(1)],
            vec![(1, 0), (0, 1), (2, 1)],
        ),
        (
            "a replica pointed at itself: under the master",
            [healthy(), vec![seen("r2", R2, replica_state(3, R2, "0-1-5", Some(0)))]].concat(),
            vec![Some(1), None, Some(1)],
            vec![(1, 0), (0, 1), (2, 1)],
        ),
    ];
    for (what, observations, parent, order) in cases {
        let placement = place(&t, &by_id(observations));
        assert_eq!(placement.parent, parent, "{what}");
        assert_eq!(placement.order, order, "{what}");
    }
}

#[test]
fn placement_without_a_master_makes_roots_in_declared_order() {
    let t = tree(vec![member("a", R1, Slave), member("b", R2, Slave)]);
    let placement = place(&t, &by_id(vec![seen("b", R2, replica_state(3, R1, "", Some(0)))]));
    assert_eq!(placement.parent, vec![None, Some(0)]);
    assert_eq!(placement.order, vec![(0, 0), (1, 1)]);
    let placement = place(&t, &HashMap::new());
    assert_eq!(placement.order, vec![(0, 0), (1, 0)]);
}

#[test]
fn ascii_matches_orchestrator() {
    let t = three();
    let stopped = {
        let mut state = replica_state(3, M, "0-1-5", None);
        if let Some(replica) = state.replica.as_mut() {
            replica.sql_running = false;
        }
        state
    };
    let cases: Vec<(&str, Vec<NodeObservation>, &str)> = vec![
        (
            "healthy",
            vec![
                seen("m", M, master_state(1, "0-1-5")),
                seen("r1", R1, replica_state(2, M, "0-1-5", Some(0))),
                seen("r2", R2, replica_state(3, M, "0-1-5", Some(3))),
            ],
            "127.0.0.1:3306   [0s,ok,10.11.6-MariaDB,rw,>>,GTID,semi:master]\n\
             + 127.0.0.1:3307 [0s,ok,10.11.6-MariaDB,ro,>>,GTID,semi:replica]\n\
             + 127.0.0.1:3308 [3s,ok,10.11.6-MariaDB,ro,>>,GTID,semi:replica]",
        ),
        (
            "a chain, one replica lagging",
            vec![
                seen("m", M, master_state(1, "0-1-5")),
                seen("r1", R1, replica_state(2, M, "0-1-5", Some(0))),
                seen("r2", R2, replica_state(3, R1, "0-1-5", Some(30))),
            ],
            "127.0.0.1:3306     [0s,ok,10.11.6-MariaDB,rw,>>,GTID,semi:master]\n\
             + 127.0.0.1:3307   [0s,ok,10.11.6-MariaDB,ro,>>,GTID,semi:replica]\n\
             \x20 + 127.0.0.1:3308 [30s,lag,10.11.6-MariaDB,ro,>>,GTID,semi:replica]",
        ),
        (
            "one replica stopped, one unreachable and never seen",
            vec![seen("m", M, master_state(1, "0-1-5")), seen("r2", R2, stopped)],
            "127.0.0.1:3306   [0s,ok,10.11.6-MariaDB,rw,>>,GTID,semi:master]\n\
             - 127.0.0.1:3307 [unknown,invalid,rw,nobinlog]\n\
             - 127.0.0.1:3308 [null,nonreplicating,10.11.6-MariaDB,ro,>>,GTID,semi:replica]",
        ),
        (
            "master unreachable, last seen state kept",
            vec![
                lost("m", M, Some(master_state(1, "0-1-5"))),
                seen("r1", R1, replica_state(2, M, "0-1-5", Some(0))),
                seen("r2", R2, replica_state(3, M, "0-1-5", Some(0))),
            ],
            "127.0.0.1:3306   [unknown,invalid,10.11.6-MariaDB,rw,>>,GTID,semi:master]\n\
             + 127.0.0.1:3307 [0s,ok,10.11.6-MariaDB,ro,>>,GTID,semi:replica]\n\
             + 127.0.0.1:3308 [0s,ok,10.11.6-MariaDB,ro,>>,GTID,semi:replica]",
        ),
        (
            "errant transactions on a replica",
            vec![
                seen("m", M, master_state(1, "0-1-5")),
                seen("r1", R1, replica_state(2, M, "0-1-5,1-2-3", Some(0))),
                seen("r2", R2, replica_state(3, M, "0-1-5", Some(0))),
            ],
            "127.0.0.1:3306   [0s,ok,10.11.6-MariaDB,rw,>>,GTID,semi:master]\n\
             + 127.0.0.1:3307 [0s,ok,10.11.6-MariaDB,ro,>>,GTID:errant,semi:replica]\n\
             + 127.0.0.1:3308 [0s,ok,10.11.6-MariaDB,ro,>>,GTID,semi:replica]",
        ),
    ];
    for (what, observations, expected) in cases {
        assert_eq!(render(&t, observations), expected, "{what}");
    }
}

#[test]
fn ascii_of_nothing_observed_shows_declared_places() {
    let rendered = render(&three(), Vec::new());
    assert_eq!(
        rendered,
        "127.0.0.1:3306   [unknown,invalid,rw,nobinlog]\n\
         - 127.0.0.1:3307 [unknown,invalid,rw,nobinlog]\n\
         - 127.0.0.1:3308 [unknown,invalid,rw,nobinlog]"
    );
}

#[test]
fn ascii_brackets_ipv6_keys() {
    let t = tree(vec![member("m", "[::1]:3306", Master)]);
    assert_eq!(
        render(&t, vec![seen("m", "[::1]:3306", master_state(1, ""))]),
        "[::1]:3306 [0s,ok,10.11.6-MariaDB,rw,>>,GTID,semi:master]"
    );
}
