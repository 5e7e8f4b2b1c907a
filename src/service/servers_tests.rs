//! Table-driven tests of the pure pieces of the server use cases: name lookups across the fleet,
//! monitor names, address splitting and joining.

use super::*;
use crate::meta::{ClusterCredentials, ClusterPolicy, NodeSpec};

fn node_id(n: usize) -> String {
    format!("node{n:036}")
}

/// `prod.orders`: "Server One" (db1:3306, master), db2:3306; `prod.users.eu`: db2:3306 (master,
/// the same address as in orders), "server3"; `prod.users.eu` again, the other way round.
fn fleet() -> MetaState {
    let mut state = MetaState::default();
    let cluster = |namespace: &str, name: &str, nodes: Vec<NodeSpec>| Command::CreateCluster {
        namespace: namespace.into(),
        name: name.into(),
        nodes,
        replicas: 2,
        credentials: ClusterCredentials::default(),
        policy: ClusterPolicy::default(),
        created_at: 0,
    };
    let named = |n: usize, addr: &str, name: &str| NodeSpec { name: Some(name.into()), ..NodeSpec::new(node_id(n), addr) };
    for command in [
        Command::CreateNamespace { name: "prod".into() },
        Command::CreateNamespace { name: "prod.users".into() },
        cluster("prod", "orders", vec![named(1, "db1:3306", "Server One"), NodeSpec::new(node_id(2), "db2:3306")]),
        cluster("prod", "users.eu", vec![NodeSpec::new(node_id(3), "db2:3306"), named(4, "db4:3306", "server3")]),
        cluster("prod.users", "eu", vec![NodeSpec::new(node_id(5), "db5:3306"), NodeSpec::new(node_id(6), "db6:3306")]),
    ] {
        state.apply(&command).expect("setup");
    }
    state
}

#[test]
fn servers_are_found_by_name_across_the_fleet() {
    let state = fleet();
    let cases: [(&str, Result<usize, &str>); 8] = [
        ("Server One", Ok(1)),
        ("server-one", Ok(1)),
        ("SERVER ONE", Ok(1)),
        ("db5:3306", Ok(5)),
        ("db1:3306", Err("server \"db1:3306\" does not exist")),
        ("SERVER3", Ok(4)),
        ("DB2:3306", Err("is ambiguous (prod.orders shard 0; prod.users.eu shard 0)")),
        ("server9", Err("server \"server9\" does not exist")),
    ];
    for (name, expected) in cases {
        match (find_server(&state, name), expected) {
            (Ok((_, node)), Ok(n)) => assert_eq!(node.id, node_id(n), "{name}"),
            (Err(error), Err(fragment)) => assert!(error.message.contains(fragment), "{name}: {}", error.message),
            (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn monitors_name_clusters_as_namespace_dot_cluster() {
    let state = fleet();
    let found = find_cluster_by_monitor_name(&state, "prod.orders").expect("prod.orders");
    assert_eq!((found.namespace.as_str(), found.cluster.as_str()), ("prod", "orders"));
    let ambiguous = find_cluster_by_monitor_name(&state, "prod.users.eu").unwrap_err();
    assert_eq!(ambiguous.code, ErrorCode::InvalidArgument, "{}", ambiguous.message);
    let missing = find_cluster_by_monitor_name(&state, "prod.nope").unwrap_err();
    assert_eq!(missing.code, ErrorCode::NotFound);
    assert!(only_cluster(&state).is_err(), "three clusters: the monitor must be named");
}

#[test]
fn addresses_split_into_host_and_port_and_back() {
    let cases = [("db1:3306", "db1", 3306), ("127.0.0.1:13306", "127.0.0.1", 13306), ("[::1]:3306", "::1", 3306)];
    for (addr, host, port) in cases {
        assert_eq!(split_addr(addr).expect(addr), (host.to_string(), port), "{addr}");
        assert_eq!(join_addr(host, port), addr);
    }
    assert!(split_addr("db1").is_err());
}
