//! Table-driven tests of the node admin commands: server names (given at creation, changed by
//! `UpdateNode`, unique across the fleet, compared case-insensitively with whitespace as
//! hyphens), addresses, admin states; each accepted change bumps the cluster version, each
//! rejection changes nothing. Also: metadata written before these fields existed still reads.

use super::rejections::{rejected, run_rejections};
use super::*;
use crate::meta::AdminState;
use MetaErrorKind::{AlreadyExists, Invalid, NotFound, VersionMismatch};

fn named(n: usize, name: &str) -> NodeSpec {
    NodeSpec { name: Some(name.to_string()), ..spec(n) }
}

fn set_state(shard: usize, node: usize, state: AdminState) -> Command {
    Command::SetNodeAdminState {
        namespace: NS.into(),
        cluster: CL.into(),
        shard,
        node_id: id(node),
        state,
        expected_version: None,
    }
}

fn update(shard: usize, node: usize, name: Option<&str>, addr: &str) -> Command {
    Command::UpdateNode {
        namespace: NS.into(),
        cluster: CL.into(),
        shard,
        node_id: id(node),
        name: name.map(str::to_string),
        addr: addr.to_string(),
        expected_version: None,
    }
}

fn with_version(mut command: Command, version: u64) -> Command {
    match &mut command {
        Command::SetNodeAdminState { expected_version, .. } | Command::UpdateNode { expected_version, .. } => {
            *expected_version = Some(version)
        }
        other => panic!("{} carries no version here", other.kind()),
    }
    command
}

fn node(state: &MetaState, shard: usize, n: usize) -> &crate::meta::Node {
    cluster(state).shards[shard].nodes.iter().find(|node| node.id == id(n)).expect("node")
}

/// Namespace `ns` with cluster `c` whose db0 is named "server0"; namespace `other` with cluster
/// `o` whose db10 is named "Server Ten".
fn named_fleet() -> Vec<Command> {
    vec![
        create_ns(NS),
        create_cluster(NS, CL, vec![named(0, "server0"), spec(1), spec(2), spec(3)], 2),
        create_ns("other"),
        create_cluster("other", "o", vec![named(10, "Server Ten"), spec(11)], 2),
    ]
}

#[rustfmt::skip]
#[test]
fn accepts_names_addresses_and_admin_states() {
    type Case = (&'static str, Vec<Command>, Command, fn(&MetaState));
    let cases: Vec<Case> = vec![
        ("a name given at cluster creation", vec![], set_state(0, 1, AdminState::Active), |s| {
            assert_eq!(node(s, 0, 0).name.as_deref(), Some("server0"));
            assert_eq!(node(s, 0, 1).name, None);
        }),
        ("a name given at node creation", vec![create_node(0, named(9, "db-nine"), NodeRole::Slave)],
         set_state(0, 9, AdminState::Active), |s| assert_eq!(node(s, 0, 9).name.as_deref(), Some("db-nine"))),
        ("maintenance", vec![], set_state(0, 1, AdminState::Maintenance),
         |s| assert_eq!(node(s, 0, 1).admin_state, AdminState::Maintenance)),
        ("drain of a master", vec![], set_state(1, 2, AdminState::Drain),
         |s| assert_eq!(node(s, 1, 2).admin_state, AdminState::Drain)),
        ("back to active", vec![set_state(0, 1, AdminState::Maintenance)], set_state(0, 1, AdminState::Active),
         |s| assert_eq!(node(s, 0, 1).admin_state, AdminState::Active)),
        ("rename", vec![], update(0, 0, Some("primary-eu"), "db0:3306"),
         |s| assert_eq!(node(s, 0, 0).name.as_deref(), Some("primary-eu"))),
        ("rename to its own name in another case", vec![], update(0, 0, Some("SERVER0"), "db0:3306"),
         |s| assert_eq!(node(s, 0, 0).name.as_deref(), Some("SERVER0"))),
        ("clear the name: the node goes by its address", vec![], update(0, 0, None, "db0:3306"),
         |s| assert_eq!(node(s, 0, 0).name, None)),
        ("move to a new address", vec![], update(0, 1, None, "db1-new:3307"),
         |s| assert_eq!(node(s, 0, 1).addr, "db1-new:3307")),
        ("a name another cluster's node lost", vec![Command::DeleteCluster { namespace: "other".into(), name: "o".into(), expected_version: None }],
         update(0, 1, Some("server ten"), "db1:3306"), |s| assert_eq!(node(s, 0, 1).name.as_deref(), Some("server ten"))),
        ("with the right expected version", vec![], with_version(set_state(0, 1, AdminState::Drain), 0),
         |s| assert_eq!(node(s, 0, 1).admin_state, AdminState::Drain)),
    ];
    for (name, setup, command, check) in cases {
        let mut state = prepared(&named_fleet().into_iter().chain(setup).collect::<Vec<_>>(), no_edit);
        let before = cluster(&state).version;
        let fleet_changes = state.fleet_changes;
        match state.apply(&command) {
            Ok(Response::ClusterVersion(version)) => assert_eq!(version, before + 1, "{name}: version bumped"),
            other => panic!("{name}: {other:?}"),
        }
        assert_eq!(state.fleet_changes, fleet_changes + 1, "{name}: the supervisor notices");
        check(&state);
    }
}

#[rustfmt::skip]
#[test]
fn rejects_bad_names_addresses_and_targets() {
    let fleet = named_fleet;
    let in_cluster = |names: Vec<NodeSpec>| create_cluster(NS, "c2", names, 1);
    run_rejections(vec![
        rejected("a name used in another namespace, other case", fleet(), create_node(0, named(9, "server ten"), NodeRole::Slave),
                 AlreadyExists, "server name \"server ten\" is already used by node"),
        rejected("a name used, whitespace against hyphen", fleet(), create_node(0, named(9, "SERVER-TEN"), NodeRole::Slave),
                 AlreadyExists, "cluster \"o\" in namespace \"other\""),
        rejected("a name twice in one cluster", fleet(), in_cluster(vec![named(20, "x1"), named(21, "X1")]),
                 Invalid, "server name \"X1\" appears more than once in the request"),
        rejected("a name used, new cluster", fleet(), in_cluster(vec![named(20, "server0")]),
                 AlreadyExists, "server name \"server0\" is already used"),
        rejected("a name used, new shard", fleet(), create_shard(vec![named(20, "Server0")]),
                 AlreadyExists, "server name \"Server0\" is already used"),
        rejected("an address as a name", fleet(), create_node(0, named(9, "db9:3306"), NodeRole::Slave),
                 Invalid, "contains ':'"),
        rejected("an empty name", fleet(), create_node(0, named(9, ""), NodeRole::Slave),
                 Invalid, "server name must not be empty"),
        rejected("rename onto another node's name", fleet(), update(0, 1, Some("Server Ten"), "db1:3306"),
                 AlreadyExists, "server name \"Server Ten\" is already used"),
        rejected("rename with a bad name", fleet(), update(0, 1, Some("a/b"), "db1:3306"),
                 Invalid, "contains '/'"),
        rejected("move onto another node's address", fleet(), update(0, 1, None, "db3:3306"),
                 AlreadyExists, "address \"db3:3306\" is already used by node"),
        rejected("move to a bad address", fleet(), update(0, 1, None, "db1"),
                 Invalid, "address \"db1\" is not host:port"),
        rejected("update a missing node", fleet(), update(0, 9, None, "db9:3306"),
                 NotFound, format!("node {:?} does not exist in shard 0", id(9))),
        rejected("update a node of another shard", fleet(), update(0, 2, None, "db2:3306"),
                 NotFound, "does not exist in shard 0"),
        rejected("admin state of a missing node", fleet(), set_state(0, 9, AdminState::Maintenance),
                 NotFound, format!("node {:?} does not exist in shard 0", id(9))),
        rejected("admin state in a missing shard", fleet(), set_state(4, 1, AdminState::Maintenance),
                 NotFound, "shard 4 does not exist"),
        rejected("admin state with a stale version", fleet(), with_version(set_state(0, 1, AdminState::Drain), 7),
                 VersionMismatch, "cluster version is 0, expected 7"),
        rejected("update with a stale version", fleet(), with_version(update(0, 1, None, "db1:3306"), 3),
                 VersionMismatch, "cluster version is 0, expected 3"),
    ]);
}

/// Snapshots and log entries written before nodes had names and admin states, and before node
/// specs had names, still deserialize: the fields default to none and active.
#[test]
fn metadata_without_the_new_fields_still_reads() {
    let old_node = serde_json::json!({
        "id": id(1), "addr": "db1:3306", "role": "slave", "created_at": CREATED, "password": "pw"
    });
    let node: crate::meta::Node = serde_json::from_value(old_node).expect("old node");
    assert_eq!((node.name, node.admin_state), (None, AdminState::Active));

    let old_entry = serde_json::json!({"CreateNode": {
        "namespace": NS, "cluster": CL, "shard": 0, "node": {"id": id(9), "addr": "db9:3306"},
        "role": "slave", "password": "pw", "created_at": CREATED, "expected_version": null
    }});
    let command: Command = serde_json::from_value(old_entry).expect("old log entry");
    let mut state = prepared(&base(), no_edit);
    state.apply(&command).expect("old entry applies");
    assert_eq!(node_of(&state, 9).name, None);
}

fn node_of(state: &MetaState, n: usize) -> &crate::meta::Node {
    cluster(state).nodes().map(|(_, node)| node).find(|node| node.id == id(n)).expect("node")
}
