//! Table-driven tests of every rejection of `MetaState::apply`: the error kind, a message fragment
//! naming the concrete value, and a state left exactly as it was.

use super::*;
use MetaErrorKind::{AlreadyExists, Conflict, Invalid, NotFound, VersionMismatch};

pub(super) struct Rejected {
    name: String,
    setup: Vec<Command>,
    edit: fn(&mut MetaState),
    command: Command,
    kind: MetaErrorKind,
    fragment: String,
}

pub(super) fn rejected(
    name: impl Into<String>,
    setup: Vec<Command>,
    command: Command,
    kind: MetaErrorKind,
    fragment: impl Into<String>,
) -> Rejected {
    let (name, fragment) = (name.into(), fragment.into());
    Rejected {
        name,
        setup,
        edit: no_edit,
        command,
        kind,
        fragment,
    }
}

/// Each case fails with its kind and a message containing its fragment, and changes nothing.
pub(super) fn run_rejections(cases: Vec<Rejected>) {
    for case in cases {
        let name = &case.name;
        let mut state = prepared(&case.setup, case.edit);
        let before = state.clone();
        let err = match state.apply(&case.command) {
            Ok(response) => panic!("{name}: accepted with {response:?}"),
            Err(err) => err,
        };
        let message = &err.message;
        assert_eq!(err.kind, case.kind, "{name}: {message}");
        let fragment = &case.fragment;
        assert!(
            message.contains(fragment),
            "{name}: {message:?} lacks {fragment:?}"
        );
        assert!(!message.ends_with('.'), "{name}: trailing period");
        assert!(
            !message.starts_with(char::is_uppercase),
            "{name}: capitalised"
        );
        assert_eq!(state, before, "{name}: state changed");
    }
}

#[rustfmt::skip]
#[test]
fn rejects_bad_namespaces() {
    run_rejections(vec![
        rejected("empty name", vec![], create_ns(""),
                 Invalid, "namespace name must not be empty"),
        rejected("long name", vec![], create_ns(&"n".repeat(129)),
                 Invalid, "namespace name is 129 bytes long, at most 128"),
        rejected("slash", vec![], create_ns("a/b"),
                 Invalid, "namespace name must not contain '/': \"a/b\""),
        rejected("space", vec![], create_ns("a b"),
                 Invalid, "namespace name must not contain whitespace"),
        rejected("tab", vec![], create_ns("a\tb"), Invalid, "\"a\\tb\""),
        rejected("control", vec![], create_ns("a\u{7}"),
                 Invalid, "whitespace or control characters"),
        rejected("unicode space", vec![], create_ns("a\u{a0}b"), Invalid, "whitespace"),
        rejected("exists", vec![create_ns(NS)], create_ns(NS),
                 AlreadyExists, "namespace \"ns\" already exists"),
        rejected("delete missing", vec![], delete_ns("x"),
                 NotFound, "namespace \"x\" does not exist"),
        rejected("delete with clusters", base(), delete_ns(NS),
                 Conflict, "namespace \"ns\" still holds clusters: c"),
    ]);
    let longest = prepared(&[create_ns(&"n".repeat(128))], no_edit);
    assert_eq!(longest.namespaces.len(), 1, "128 bytes fit");
}

#[rustfmt::skip]
#[test]
fn rejects_bad_clusters() {
    let ns = || vec![create_ns(NS)];
    let of_nodes = |nodes: Vec<NodeSpec>| create_cluster(NS, CL, nodes, 1);
    let named = |name: &str| create_cluster(NS, name, specs(0..1), 1);
    let many = (0..16385).map(|n| raw(&format!("{n:040}"), &format!("h{n}:1"))).collect();
    run_rejections(vec![
        rejected("namespace missing", vec![], cluster_of(0..2, 1),
                 NotFound, "namespace \"ns\" does not exist"),
        rejected("empty name", ns(), named(""), Invalid, "cluster name must not be empty"),
        rejected("slash", ns(), named("a/b"), Invalid, "cluster name must not contain '/'"),
        rejected("space", ns(), named("a b"), Invalid, "cluster name must not contain whitespace"),
        rejected("long", ns(), named(&"c".repeat(200)), Invalid, "cluster name is 200 bytes"),
        rejected("exists", base(), cluster_of(10..12, 1),
                 AlreadyExists, "cluster \"c\" already exists in namespace \"ns\""),
        rejected("no nodes", ns(), cluster_of(0..0, 1),
                 Invalid, "cluster \"c\" needs at least one node"),
        rejected("zero replicas", ns(), cluster_of(0..2, 0),
                 Invalid, "replicas must be at least 1"),
        rejected("uneven", ns(), cluster_of(0..3, 2),
                 Invalid, "3 nodes cannot be split into shards of 2 replicas"),
        rejected("more replicas than nodes", ns(), cluster_of(0..2, 3),
                 Invalid, "2 nodes cannot be split"),
        rejected("duplicate addr", ns(), of_nodes(vec![spec(0), raw(&id(1), "db0:3306")]),
                 Invalid, "address \"db0:3306\" appears more than once"),
        rejected("duplicate id", ns(), of_nodes(vec![spec(0), raw(&id(0), "db1:3306")]),
                 Invalid, "appears more than once"),
        rejected("too many shards", ns(), create_cluster(NS, CL, many, 1),
                 Invalid, "16385 shards are more than the 16384 slots"),
    ]);
}

/// Node ids and addresses are checked the same way by every command that declares nodes.
#[rustfmt::skip]
#[test]
fn rejects_bad_node_specs() {
    let x = |n: usize| "x".repeat(n);
    let bad_ids = [
        (x(39), "39 chars"), (x(41), "41 chars"),
        (format!("{}-", x(39)), "dash"), (format!("{}é", x(38)), "non-ascii"),
    ];
    let bad_addrs = [
        ("", "is not host:port"),
        ("db0", "address \"db0\" is not host:port"),
        (":3306", "address \":3306\" has an empty host"),
        ("db0:", "has port \"\", which is not a number"),
        ("db0:x", "has port \"x\", which is not a number"),
        ("db0:-1", "which is not a number"),
        ("db0:0", "has port 0, which is outside 1..=65535"),
        ("db0:65536", "has port 65536, which is outside 1..=65535"),
        ("a b:1", "has an invalid host \"a b\""),
        ("::1:3306", "has an invalid host \"::1\""),
        ("[::1]", "address \"[::1]\" is not host:port"),
        ("[zz]:1", "has an invalid ipv6 host \"zz\""),
        ("[]:1", "invalid ipv6 host"),
    ];
    let id_cases = bad_ids.iter().map(|(bad, label)| {
        (format!("id {label}"), raw(bad, "db9:1"), format!("node id {bad:?} is not 40 ascii"))
    });
    let addr_cases = bad_addrs.iter().map(|(bad, fragment)| {
        (format!("addr {bad:?}"), raw(&id(9), bad), fragment.to_string())
    });
    let mut cases = Vec::new();
    for (label, node, fragment) in id_cases.chain(addr_cases) {
        cases.push(rejected(format!("cluster {label}"), vec![create_ns(NS)],
                            create_cluster(NS, CL, vec![node.clone()], 1), Invalid, &fragment));
        cases.push(rejected(format!("shard {label}"), base(),
                            create_shard(vec![node.clone()]), Invalid, &fragment));
        cases.push(rejected(format!("node {label}"), base(),
                            create_node(0, node, NodeRole::Slave), Invalid, fragment));
    }
    run_rejections(cases);
}

/// Existence and version checks shared by every cluster-level command.
#[rustfmt::skip]
#[test]
fn rejects_unknown_targets_and_stale_versions() {
    let commands = [
        delete_cluster(), create_shard(specs(8..9)), delete_shard(0),
        create_node(0, spec(9), NodeRole::Slave), delete_node(0, 1),
        migrate(0, 9000, 9001), promote(0, 1),
    ];
    let at_version_2 = || base_and([promote(1, 3), promote(1, 2)]);
    let mut cases = Vec::new();
    for command in commands {
        let kind = command.kind();
        let no_ns = aimed_at(command.clone(), "x", CL);
        let no_cluster = aimed_at(command.clone(), NS, "x");
        cases.extend([
            rejected(format!("{kind}: namespace missing"), at_version_2(), no_ns,
                     NotFound, "namespace \"x\" does not exist"),
            rejected(format!("{kind}: cluster missing"), at_version_2(), no_cluster.clone(),
                     NotFound, "cluster \"x\" does not exist in namespace \"ns\""),
            rejected(format!("{kind}: existence before version"), at_version_2(),
                     expecting(no_cluster, 7), NotFound, "cluster \"x\""),
            rejected(format!("{kind}: stale version"), at_version_2(),
                     expecting(command.clone(), 1),
                     VersionMismatch, "cluster version is 2, expected 1"),
            rejected(format!("{kind}: future version"), at_version_2(),
                     expecting(command, 3),
                     VersionMismatch, "cluster version is 2, expected 3"),
        ]);
    }
    run_rejections(cases);
}

#[rustfmt::skip]
#[test]
fn rejects_bad_shard_changes() {
    let busy = |edit: fn(&mut MetaState), name: &str, fragment: &str| Rejected {
        edit,
        ..rejected(name, base_and([create_shard(specs(4..5))]), delete_shard(2), Conflict, fragment)
    };
    let owning_a_few = base_and([create_shard(specs(4..5)), migrate(2, 5, 5), migrate(2, 9, 10)]);
    run_rejections(vec![
        rejected("create shard without nodes", base(), create_shard(vec![]),
                 Invalid, "a new shard needs at least one node"),
        rejected("create shard with duplicate addr", base(),
                 create_shard(vec![spec(4), raw(&id(5), "db4:3306")]),
                 Invalid, "address \"db4:3306\" appears more than once in the request"),
        rejected("create shard with duplicate id", base(),
                 create_shard(vec![spec(4), raw(&id(4), "db5:3306")]),
                 Invalid, "appears more than once in the request"),
        rejected("create shard with used addr", base(),
                 create_shard(vec![spec(4), raw(&id(5), "db3:3306")]),
                 AlreadyExists, "address \"db3:3306\" is already used by shard 1 of cluster \"c\""),
        rejected("create shard with used id", base(), create_shard(vec![raw(&id(0), "db9:3306")]),
                 AlreadyExists, "already exists in shard 0 of cluster \"c\""),
        rejected("delete missing shard", base(), delete_shard(4),
                 NotFound, "shard 4 does not exist in cluster \"c\""),
        rejected("delete shard owning slots", base(), delete_shard(1),
                 Conflict, "shard 1 still owns slots 8192-16383"),
        rejected("delete shard owning a few slots", owning_a_few, delete_shard(2),
                 Conflict, "shard 2 still owns slots 5, 9-10"),
        busy(|s| cluster_mut(s).shards[2].migrating_slot = Some(7),
             "delete migrating shard", "shard 2 is migrating slot 7"),
        busy(|s| cluster_mut(s).shards[2].import_slot = Some(8),
             "delete importing shard", "shard 2 is importing slot 8"),
    ]);
}

#[rustfmt::skip]
#[test]
fn rejects_bad_node_changes() {
    let slave = |shard: usize, node: NodeSpec| create_node(shard, node, NodeRole::Slave);
    let quoted = |n: usize| format!("node {:?}", id(n));
    run_rejections(vec![
        rejected("create node in missing shard", base(), slave(2, spec(9)),
                 NotFound, "shard 2 does not exist in cluster \"c\""),
        rejected("create node with addr of same shard", base(), slave(0, raw(&id(9), "db1:3306")),
                 AlreadyExists, "address \"db1:3306\" is already used by shard 0"),
        rejected("create node with addr of other shard", base(), slave(0, raw(&id(9), "db2:3306")),
                 AlreadyExists, "address \"db2:3306\" is already used by shard 1"),
        rejected("create node with used id", base(), slave(0, raw(&id(3), "db9:3306")),
                 AlreadyExists, format!("{} id {:?} already exists in shard 1", "node", id(3))),
        rejected("create second master", base(), create_node(0, spec(9), NodeRole::Master),
                 Conflict, format!("shard 0 already has master {:?}", id(0))),
        rejected("delete node in missing shard", base(), delete_node(5, 1),
                 NotFound, "shard 5 does not exist"),
        rejected("delete missing node", base(), delete_node(0, 9),
                 NotFound, format!("{} does not exist in shard 0", quoted(9))),
        rejected("delete node of other shard", base(), delete_node(0, 3),
                 NotFound, format!("{} does not exist in shard 0", quoted(3))),
        rejected("delete master", base(), delete_node(1, 2),
                 Conflict, format!("{} is the master of shard 1", quoted(2))),
        rejected("delete promoted master", base_and([promote(1, 3)]), delete_node(1, 3),
                 Conflict, format!("{} is the master of shard 1", quoted(3))),
        rejected("promote in missing shard", base(), promote(2, 1),
                 NotFound, "shard 2 does not exist"),
        rejected("promote missing node", base(), promote(0, 9),
                 NotFound, format!("{} does not exist in shard 0", quoted(9))),
        rejected("promote node of other shard", base(), promote(0, 2),
                 NotFound, format!("{} does not exist in shard 0", quoted(2))),
        rejected("promote master", base(), promote(0, 0),
                 Conflict, format!("{} is already the master of shard 0", quoted(0))),
    ]);
}

#[rustfmt::skip]
#[test]
fn rejects_bad_migrations() {
    let owning_two = base_and([migrate(1, 0, 99), migrate(1, 100, 199)]);
    run_rejections(vec![
        rejected("missing target", base(), migrate(2, 0, 99),
                 NotFound, "shard 2 does not exist in cluster \"c\""),
        rejected("slot out of range", base(), migrate(1, 0, 16384),
                 Invalid, "slot 16384 is outside 0..=16383"),
        rejected("start after stop", base(), migrate(1, 10, 5),
                 Invalid, "slot range 10-5 has start after stop"),
        rejected("already owned", base(), migrate(0, 0, 99),
                 Invalid, "slots 0-99 already belong to shard 0"),
        rejected("already owned single slot", base(), migrate(1, 16383, 16383),
                 Invalid, "slots 16383 already belong to shard 1"),
        rejected("already owned across merged ranges", owning_two, migrate(1, 50, 150),
                 Invalid, "slots 50-150 already belong to shard 1"),
    ]);
}
