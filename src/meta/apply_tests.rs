//! Table-driven tests of `MetaState::apply`: the shared helpers, every accepted path with the
//! resulting layout, and deterministic replay. The rejections live in `apply_rejection_tests.rs`.

use std::ops::Range;

use super::super::{
    Cluster, ClusterCredentials, ClusterPolicy, Command, MetaErrorKind, MetaState, NodeRole, NodeSpec, Response,
    Secret, Shard, SlotRange,
};
use MetaErrorKind::AlreadyExists;

const NS: &str = "ns";
const CL: &str = "c";
const CREATED: i64 = 1_700_000_000;

fn id(n: usize) -> String {
    format!("node{n:036}")
}

fn spec(n: usize) -> NodeSpec {
    NodeSpec::new(id(n), format!("db{n}:3306"))
}

fn specs(numbers: Range<usize>) -> Vec<NodeSpec> {
    numbers.map(spec).collect()
}

fn raw(id: &str, addr: &str) -> NodeSpec {
    NodeSpec::new(id, addr)
}

fn password() -> Secret {
    Secret::new("pw")
}

fn create_ns(name: &str) -> Command {
    Command::CreateNamespace {
        name: name.to_string(),
    }
}

fn delete_ns(name: &str) -> Command {
    Command::DeleteNamespace {
        name: name.to_string(),
    }
}

fn create_cluster(namespace: &str, name: &str, nodes: Vec<NodeSpec>, replicas: u32) -> Command {
    Command::CreateCluster {
        namespace: namespace.to_string(),
        name: name.to_string(),
        nodes,
        replicas,
        credentials: ClusterCredentials {
            user: "root".into(),
            password: password(),
            replication_user: "repl".into(),
            replication_password: Secret::new("repl-secret"),
        },
        policy: ClusterPolicy::default(),
        created_at: CREATED,
    }
}

/// Cluster `c` in namespace `ns` of the numbered nodes.
fn cluster_of(nodes: Range<usize>, replicas: u32) -> Command {
    create_cluster(NS, CL, specs(nodes), replicas)
}

fn delete_cluster() -> Command {
    Command::DeleteCluster {
        namespace: NS.into(),
        name: CL.into(),
        expected_version: None,
    }
}

fn create_shard(nodes: Vec<NodeSpec>) -> Command {
    Command::CreateShard {
        namespace: NS.into(),
        cluster: CL.into(),
        nodes,
        password: password(),
        created_at: CREATED,
        expected_version: None,
    }
}

fn delete_shard(shard: usize) -> Command {
    Command::DeleteShard {
        namespace: NS.into(),
        cluster: CL.into(),
        shard,
        expected_version: None,
    }
}

fn create_node(shard: usize, node: NodeSpec, role: NodeRole) -> Command {
    Command::CreateNode {
        namespace: NS.into(),
        cluster: CL.into(),
        shard,
        node,
        role,
        password: password(),
        created_at: CREATED,
        expected_version: None,
    }
}

fn delete_node(shard: usize, node: usize) -> Command {
    Command::DeleteNode {
        namespace: NS.into(),
        cluster: CL.into(),
        shard,
        node_id: id(node),
        expected_version: None,
    }
}

/// Builds the range without validation, so invalid ranges reach `apply`.
fn migrate(target: usize, start: u16, stop: u16) -> Command {
    Command::MigrateSlots {
        namespace: NS.into(),
        cluster: CL.into(),
        target,
        slots: SlotRange { start, stop },
        expected_version: None,
    }
}

fn promote(shard: usize, node: usize) -> Command {
    Command::PromoteNode {
        namespace: NS.into(),
        cluster: CL.into(),
        shard,
        new_master_id: id(node),
        expected_version: None,
    }
}

/// The namespace, cluster and expected version of a cluster-level command.
fn target_of(command: &mut Command) -> (&mut String, &mut String, &mut Option<u64>) {
    match command {
        Command::DeleteCluster {
            namespace,
            name,
            expected_version,
        } => (namespace, name, expected_version),
        Command::CreateShard {
            namespace,
            cluster,
            expected_version,
            ..
        }
        | Command::DeleteShard {
            namespace,
            cluster,
            expected_version,
            ..
        }
        | Command::CreateNode {
            namespace,
            cluster,
            expected_version,
            ..
        }
        | Command::DeleteNode {
            namespace,
            cluster,
            expected_version,
            ..
        }
        | Command::MigrateSlots {
            namespace,
            cluster,
            expected_version,
            ..
        }
        | Command::PromoteNode {
            namespace,
            cluster,
            expected_version,
            ..
        } => (namespace, cluster, expected_version),
        other => panic!("{} is not a cluster-level command", other.kind()),
    }
}

fn expecting(mut command: Command, version: u64) -> Command {
    *target_of(&mut command).2 = Some(version);
    command
}

fn aimed_at(mut command: Command, namespace: &str, cluster: &str) -> Command {
    let (ns, cl, _) = target_of(&mut command);
    *ns = namespace.to_string();
    *cl = cluster.to_string();
    command
}

/// Namespace `ns` with cluster `c`: shard 0 = db0 (master), db1 with slots 0-8191; shard 1 = db2
/// (master), db3 with slots 8192-16383. Version 0.
fn base() -> Vec<Command> {
    vec![create_ns(NS), cluster_of(0..4, 2)]
}

fn base_and(more: impl IntoIterator<Item = Command>) -> Vec<Command> {
    base().into_iter().chain(more).collect()
}

fn cluster(state: &MetaState) -> &Cluster {
    state.cluster(NS, CL).expect("cluster ns/c exists")
}

fn cluster_mut(state: &mut MetaState) -> &mut Cluster {
    state
        .namespaces
        .get_mut(NS)
        .and_then(|ns| ns.clusters.get_mut(CL))
        .expect("cluster ns/c")
}

/// One line per shard: its slots, then its nodes by host, the master marked with `*`.
fn layout(state: &MetaState) -> Vec<String> {
    let show = |shard: &Shard| {
        let slots: Vec<String> = shard.slot_ranges.iter().map(ToString::to_string).collect();
        let slots = if slots.is_empty() {
            "none".to_string()
        } else {
            slots.join(",")
        };
        let nodes: Vec<String> = shard
            .nodes
            .iter()
            .map(|node| {
                let host = node.addr.rsplit_once(':').map_or("?", |(host, _)| host);
                let mark = if node.role == NodeRole::Master {
                    "*"
                } else {
                    ""
                };
                format!("{host}{mark}")
            })
            .collect();
        format!("{slots} {}", nodes.join(" "))
    };
    cluster(state).shards.iter().map(show).collect()
}

fn prepared(setup: &[Command], edit: fn(&mut MetaState)) -> MetaState {
    let mut state = MetaState::default();
    for (step, command) in setup.iter().enumerate() {
        if let Err(err) = state.apply(command) {
            panic!("setup step {step} ({}) failed: {err}", command.kind());
        }
    }
    edit(&mut state);
    state
}

fn no_edit(_: &mut MetaState) {}
struct Accepted {
    name: &'static str,
    setup: Vec<Command>,
    edit: fn(&mut MetaState),
    command: Command,
    response: Response,
    check: fn(&MetaState),
}

fn accepted(
    name: &'static str,
    setup: Vec<Command>,
    command: Command,
    response: Response,
    check: fn(&MetaState),
) -> Accepted {
    Accepted {
        name,
        setup,
        edit: no_edit,
        command,
        response,
        check,
    }
}

#[rustfmt::skip]
fn accepted_cases() -> Vec<Accepted> {
    use Response::{ClusterVersion, Done};
    vec![
        accepted("create namespace", vec![], create_ns("team-a.prod_1"), Done, |s| {
            let name = s.namespace("team-a.prod_1").map(|ns| ns.name.as_str());
            assert_eq!(name, Some("team-a.prod_1"));
        }),
        accepted("delete empty namespace", vec![create_ns(NS)], delete_ns(NS), Done, |s| {
            assert!(s.namespaces.is_empty());
        }),
        accepted("create cluster of 6 nodes with 2 replicas", vec![create_ns(NS)],
                 cluster_of(0..6, 2), ClusterVersion(0), |s| {
            let expected = ["0-5461 db0* db1", "5462-10922 db2* db3", "10923-16383 db4* db5"];
            assert_eq!(layout(s), expected);
            let c = cluster(s);
            assert_eq!((c.name.as_str(), c.version, &c.credentials.password), (CL, 0, &password()));
            for shard in &c.shards {
                assert_eq!((shard.migrating_slot, shard.import_slot), (None, None));
                for node in &shard.nodes {
                    assert_eq!((node.created_at, &node.password), (CREATED, &password()));
                }
            }
            assert_eq!(c.shards[1].nodes[1].id, id(3));
        }),
        accepted("create cluster of one node", vec![create_ns(NS)],
                 cluster_of(0..1, 1), ClusterVersion(0), |s| {
            assert_eq!(layout(s), ["0-16383 db0*"]);
        }),
        accepted("create cluster of one shard", vec![create_ns(NS)],
                 cluster_of(0..3, 3), ClusterVersion(0), |s| {
            assert_eq!(layout(s), ["0-16383 db0* db1 db2"]);
        }),
        accepted("create cluster with ipv4 and ipv6 addresses", vec![create_ns(NS)],
                 create_cluster(NS, CL, vec![raw(&id(0), "10.0.0.1:3306"),
                                             raw(&id(1), "[::1]:65535")], 1),
                 ClusterVersion(0), |s| {
            assert_eq!(layout(s), ["0-8191 10.0.0.1*", "8192-16383 [::1]*"]);
        }),
        accepted("delete cluster", base(), delete_cluster(), Done, |s| {
            assert!(s.cluster(NS, CL).is_none());
            assert!(s.namespace(NS).is_some(), "the namespace stays");
        }),
        accepted("delete cluster at its version", base_and([promote(0, 1)]),
                 expecting(delete_cluster(), 1), Done, |s| {
            assert!(s.cluster(NS, CL).is_none());
        }),
        accepted("create shard", base(), create_shard(specs(4..7)), ClusterVersion(1), |s| {
            assert_eq!(layout(s), ["0-8191 db0* db1", "8192-16383 db2* db3", "none db4* db5 db6"]);
            let shard = &cluster(s).shards[2];
            assert_eq!(shard.nodes[0].created_at, CREATED);
            assert_eq!(shard.nodes[2].password, password());
        }),
        accepted("create shard at the current version", base_and([create_shard(specs(4..5))]),
                 expecting(create_shard(specs(5..6)), 1), ClusterVersion(2), |s| {
            assert_eq!(layout(s)[2..], ["none db4*", "none db5*"]);
        }),
        accepted("delete empty shard", base_and([create_shard(specs(4..6))]),
                 delete_shard(2), ClusterVersion(2), |s| {
            assert_eq!(layout(s), ["0-8191 db0* db1", "8192-16383 db2* db3"]);
        }),
        accepted("delete shard shifts later shards down",
                 base_and([create_shard(specs(4..5)), create_shard(specs(5..6)),
                           migrate(3, 0, 8191)]),
                 delete_shard(0), ClusterVersion(4), |s| {
            assert_eq!(layout(s), ["8192-16383 db2* db3", "none db4*", "0-8191 db5*"]);
        }),
        accepted("create slave node", base(),
                 create_node(1, spec(9), NodeRole::Slave), ClusterVersion(1), |s| {
            assert_eq!(layout(s)[1], "8192-16383 db2* db3 db9");
            assert_eq!(cluster(s).shards[1].nodes[2].created_at, CREATED);
        }),
        accepted("create node with ipv6 address", base(),
                 create_node(0, raw(&id(9), "[2001:db8::7]:3307"), NodeRole::Slave),
                 ClusterVersion(1), |s| {
            assert_eq!(layout(s)[0], "0-8191 db0* db1 [2001:db8::7]");
        }),
        Accepted {
            edit: |s| cluster_mut(s).shards[0].nodes[0].role = NodeRole::Slave,
            ..accepted("create master in a shard without master", base(),
                       create_node(0, spec(9), NodeRole::Master), ClusterVersion(1), |s| {
                assert_eq!(layout(s)[0], "0-8191 db0 db1 db9*");
            })
        },
        accepted("delete slave node", base(), delete_node(1, 3), ClusterVersion(1), |s| {
            assert_eq!(layout(s), ["0-8191 db0* db1", "8192-16383 db2*"]);
        }),
        accepted("migrate slots out of the middle", base(),
                 migrate(1, 100, 199), ClusterVersion(1), |s| {
            assert_eq!(layout(s), ["0-99,200-8191 db0* db1", "100-199,8192-16383 db2* db3"]);
        }),
        accepted("migrate adjacent slots merges", base(),
                 migrate(1, 8000, 8191), ClusterVersion(1), |s| {
            assert_eq!(layout(s), ["0-7999 db0* db1", "8000-16383 db2* db3"]);
        }),
        accepted("migrate partly owned slots", base(),
                 migrate(1, 8000, 8200), ClusterVersion(1), |s| {
            assert_eq!(layout(s), ["0-7999 db0* db1", "8000-16383 db2* db3"]);
        }),
        accepted("migrate one slot", base(), migrate(0, 16383, 16383), ClusterVersion(1), |s| {
            assert_eq!(layout(s), ["0-8191,16383 db0* db1", "8192-16382 db2* db3"]);
        }),
        accepted("migrate everything to a new shard", base_and([create_shard(specs(4..5))]),
                 migrate(2, 0, 16383), ClusterVersion(2), |s| {
            assert_eq!(layout(s), ["none db0* db1", "none db2* db3", "0-16383 db4*"]);
        }),
        accepted("migrate across several shards", vec![create_ns(NS), cluster_of(0..3, 1)],
                 migrate(2, 5000, 11000), ClusterVersion(1), |s| {
            assert_eq!(layout(s), ["0-4999 db0*", "none db1*", "5000-16383 db2*"]);
        }),
        Accepted {
            edit: |s| {
                cluster_mut(s).shards[0].migrating_slot = Some(5);
                cluster_mut(s).shards[1].import_slot = Some(5);
            },
            ..accepted("migrate keeps migration markers", base(),
                       migrate(1, 0, 9), ClusterVersion(1), |s| {
                let c = cluster(s);
                assert_eq!(c.shards[0].migrating_slot, Some(5));
                assert_eq!(c.shards[1].import_slot, Some(5));
            })
        },
        accepted("promote slave", base(), promote(1, 3), ClusterVersion(1), |s| {
            assert_eq!(layout(s), ["0-8191 db0* db1", "8192-16383 db2 db3*"]);
        }),
        accepted("every change bumps the version by one",
                 base_and([create_node(0, spec(9), NodeRole::Slave), promote(0, 9),
                           delete_node(0, 0)]),
                 expecting(migrate(0, 8192, 8192), 3), ClusterVersion(4), |s| {
            assert_eq!(cluster(s).version, 4);
            assert_eq!(layout(s)[0], "0-8192 db1 db9*");
        }),
    ]
}

#[test]
fn accepts() {
    for case in accepted_cases() {
        let mut state = prepared(&case.setup, case.edit);
        match state.apply(&case.command) {
            Ok(response) => assert_eq!(response, case.response, "{}", case.name),
            Err(err) => panic!("{}: rejected: {err}", case.name),
        }
        (case.check)(&state);
    }
}

/// A batch applies its commands in order, each on its own: a rejected one changes nothing and the
/// ones after it still apply; the answer holds one result per command. A batch equals the same
/// commands applied one by one.
#[test]
fn a_batch_applies_each_command_in_order() {
    let commands = vec![
        create_ns("a"),
        create_ns("a"),
        create_ns(NS),
        cluster_of(0..4, 1),
        expecting(migrate(1, 0, 9), 7),
        expecting(migrate(1, 0, 9), 0),
        delete_ns("a"),
    ];
    let mut batched = MetaState::default();
    let Ok(Response::Batch(results)) = batched.apply(&Command::Batch(commands.clone())) else {
        panic!("a batch answers Response::Batch")
    };
    let kinds: Vec<_> = results.iter().map(|result| result.as_ref().map_err(|err| err.kind)).collect();
    use Response::{ClusterVersion, Done};
    assert_eq!(
        kinds,
        [Ok(&Done), Err(AlreadyExists), Ok(&Done), Ok(&ClusterVersion(0)), Err(MetaErrorKind::VersionMismatch), Ok(&ClusterVersion(1)), Ok(&Done)]
    );
    let mut one_by_one = MetaState::default();
    let singles: Vec<_> = commands.iter().map(|command| one_by_one.apply(command)).collect();
    assert_eq!(results, singles);
    assert_eq!(batched, one_by_one);
    assert_eq!(layout(&batched), ["10-4095 db0*", "0-9,4096-8191 db1*", "8192-12287 db2*", "12288-16383 db3*"]);
}

/// Two members applying the same log reach the same state and the same outcomes, rejections
/// included.
#[test]
fn replays_deterministically() {
    let log = base_and([
        create_shard(specs(4..6)),
        migrate(2, 4000, 12000),
        create_node(2, spec(6), NodeRole::Slave),
        promote(2, 6),
        delete_node(2, 4),
        create_node(0, spec(0), NodeRole::Slave),
    ]);
    let (mut first, mut second) = (MetaState::default(), MetaState::default());
    let outcomes: Vec<_> = log.iter().map(|command| first.apply(command)).collect();
    let replayed: Vec<_> = log.iter().map(|command| second.apply(command)).collect();
    assert_eq!(outcomes, replayed);
    assert_eq!(first, second);
    let last = outcomes
        .last()
        .map(|outcome| outcome.as_ref().map_err(|err| err.kind));
    assert_eq!(last, Some(Err(AlreadyExists)));
    let expected = [
        "0-3999 db0* db1",
        "12001-16383 db2* db3",
        "4000-12000 db5 db6*",
    ];
    assert_eq!(layout(&first), expected);
}

#[path = "apply_rejection_tests.rs"]
mod rejections;

/// Snapshots and readers copy the state under the state machine's lock: the copy must share the
/// namespaces (constant time) and stay unchanged when the state moves on.
#[test]
fn a_copy_of_the_state_shares_the_namespaces_and_keeps_its_own_view() {
    let mut state = prepared(&base(), no_edit);
    let copy = state.clone();
    assert!(copy.namespaces.ptr_eq(&state.namespaces), "the copy shares the namespaces map");
    state.apply(&create_ns("later")).expect("create namespace later");
    state.apply(&promote(0, 1)).expect("promote db1");
    assert!(!copy.namespaces.ptr_eq(&state.namespaces));
    assert!(copy.namespace("later").is_none() && state.namespace("later").is_some());
    assert_ne!(layout(&copy), layout(&state), "the copy keeps the old master");
    assert_eq!(copy, prepared(&base(), no_edit));
}

#[path = "apply_node_admin_tests.rs"]
mod node_admin;
