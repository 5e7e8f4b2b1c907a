//! Commands into the replicated state machine, as the API bodies of every flavor become them and as
//! members send and store them: sequences of commands over a small vocabulary of names, ids,
//! addresses and slots (and, from the same bytes, any JSON `Vec<Command>`), applied to one state.
//! A rejected command leaves the state exactly as it was, replaying the accepted log gives the
//! same state, and the state survives a snapshot (JSON) round trip.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use shardkeeper::meta::{
    AdminState, ClusterCredentials, ClusterPolicy, Command, MetaState, NodeRef, NodeRole, NodeSpec, PromotionRule,
    RecoveryIntent, RecoveryKind, RecoveryOutcome, Secret, SlotRange,
};

const NAMES: [&str; 5] = ["ns", "c", "", "a b", "x.y"];
const ADDRS: [&str; 6] = ["db1:3306", "db2:3306", "[::1]:3306", "db1:3306 ", "nohost", "db3:0"];
const NAMED: [Option<&str>; 4] = [None, Some("srv-a"), Some("SRV A"), Some("")];

fn id(n: u8) -> String {
    match n % 8 {
        7 => "short".to_string(),
        n => format!("node{n:036}"),
    }
}

#[derive(Arbitrary, Debug)]
struct Spec(u8, u8, u8);

impl Spec {
    fn node(&self) -> NodeSpec {
        NodeSpec {
            id: id(self.0),
            addr: ADDRS[usize::from(self.1) % ADDRS.len()].to_string(),
            name: NAMED[usize::from(self.2) % NAMED.len()].map(str::to_string),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Op {
    CreateNamespace(u8),
    DeleteNamespace(u8),
    CreateCluster(u8, u8, Vec<Spec>, u32),
    ImportCluster(u8, u8, Vec<Vec<Spec>>),
    DeleteCluster(u8, u8, Option<u64>),
    CreateShard(u8, u8, Vec<Spec>, Option<u64>),
    DeleteShard(u8, u8, u8, Option<u64>),
    CreateNode(u8, u8, u8, Spec, bool, Option<u64>),
    DeleteNode(u8, u8, u8, u8, Option<u64>),
    MigrateSlots(u8, u8, u8, u16, u16, Option<u64>),
    PromoteNode(u8, u8, u8, u8, Option<u64>),
    SetPromotionRule(u8, u8, u8, u8, u8, Option<u64>),
    SetNodeAdminState(u8, u8, u8, u8, u8, Option<u64>),
    UpdateNode(u8, u8, u8, u8, Spec, Option<u64>),
    MarkDiverged(u8, u8, u8, u8, Option<String>),
    BeginRecovery(u8, u8, u8, u8, u8, bool),
    FinishRecovery(u64, bool, Vec<Spec>),
    AcknowledgeRecovery(u64, String),
    Batch(Vec<Op>),
}

fn name(n: u8) -> String {
    NAMES[usize::from(n) % NAMES.len()].to_string()
}

fn node_ref(n: u8) -> NodeRef {
    NodeRef { id: id(n), addr: ADDRS[usize::from(n) % ADDRS.len()].to_string() }
}

fn shard(n: u8) -> usize {
    usize::from(n % 4)
}

fn pick<T: Copy>(options: &[T], n: u8) -> T {
    options[usize::from(n) % options.len()]
}

impl Op {
    fn command(&self) -> Command {
        match self {
            Op::CreateNamespace(n) => Command::CreateNamespace { name: name(*n) },
            Op::DeleteNamespace(n) => Command::DeleteNamespace { name: name(*n) },
            Op::CreateCluster(ns, c, specs, replicas) => Command::CreateCluster {
                namespace: name(*ns),
                name: name(*c),
                nodes: specs.iter().map(Spec::node).collect(),
                replicas: *replicas,
                credentials: ClusterCredentials { user: "root".into(), password: Secret::new("pw"), ..Default::default() },
                policy: ClusterPolicy::default(),
                created_at: 1,
            },
            Op::ImportCluster(ns, c, shards) => Command::ImportCluster {
                namespace: name(*ns),
                name: name(*c),
                shards: shards.iter().map(|specs| specs.iter().map(Spec::node).collect()).collect(),
                credentials: ClusterCredentials::default(),
                policy: ClusterPolicy::default(),
                created_at: 1,
            },
            Op::DeleteCluster(ns, c, v) => Command::DeleteCluster { namespace: name(*ns), name: name(*c), expected_version: *v },
            Op::CreateShard(ns, c, specs, v) => Command::CreateShard {
                namespace: name(*ns),
                cluster: name(*c),
                nodes: specs.iter().map(Spec::node).collect(),
                password: Secret::default(),
                created_at: 1,
                expected_version: *v,
            },
            Op::DeleteShard(ns, c, s, v) => {
                Command::DeleteShard { namespace: name(*ns), cluster: name(*c), shard: shard(*s), expected_version: *v }
            }
            Op::CreateNode(ns, c, s, spec, master, v) => Command::CreateNode {
                namespace: name(*ns),
                cluster: name(*c),
                shard: shard(*s),
                node: spec.node(),
                role: if *master { NodeRole::Master } else { NodeRole::Slave },
                password: Secret::default(),
                created_at: 1,
                expected_version: *v,
            },
            Op::DeleteNode(ns, c, s, n, v) => Command::DeleteNode {
                namespace: name(*ns),
                cluster: name(*c),
                shard: shard(*s),
                node_id: id(*n),
                expected_version: *v,
            },
            Op::MigrateSlots(ns, c, target, start, stop, v) => Command::MigrateSlots {
                namespace: name(*ns),
                cluster: name(*c),
                target: shard(*target),
                // Deserialized slots are not checked by `SlotRange::new`: keep any pair.
                slots: SlotRange { start: *start, stop: *stop },
                expected_version: *v,
            },
            Op::PromoteNode(ns, c, s, n, v) => Command::PromoteNode {
                namespace: name(*ns),
                cluster: name(*c),
                shard: shard(*s),
                new_master_id: id(*n),
                expected_version: *v,
            },
            Op::SetPromotionRule(ns, c, s, n, rule, v) => Command::SetPromotionRule {
                namespace: name(*ns),
                cluster: name(*c),
                shard: shard(*s),
                node_id: id(*n),
                rule: pick(&[PromotionRule::Prefer, PromotionRule::Neutral, PromotionRule::MustNot], *rule),
                expected_version: *v,
            },
            Op::SetNodeAdminState(ns, c, s, n, state, v) => Command::SetNodeAdminState {
                namespace: name(*ns),
                cluster: name(*c),
                shard: shard(*s),
                node_id: id(*n),
                state: pick(&[AdminState::Active, AdminState::Maintenance, AdminState::Drain], *state),
                expected_version: *v,
            },
            Op::UpdateNode(ns, c, s, n, spec, v) => {
                let spec = spec.node();
                Command::UpdateNode {
                    namespace: name(*ns),
                    cluster: name(*c),
                    shard: shard(*s),
                    node_id: id(*n),
                    name: spec.name,
                    addr: spec.addr,
                    expected_version: *v,
                }
            }
            Op::MarkDiverged(ns, c, s, n, reason) => Command::MarkDiverged {
                namespace: name(*ns),
                cluster: name(*c),
                shard: shard(*s),
                node_id: id(*n),
                reason: reason.clone(),
            },
            Op::BeginRecovery(ns, c, s, failed, successor, switchover) => Command::BeginRecovery(RecoveryIntent {
                namespace: name(*ns),
                cluster: name(*c),
                shard: shard(*s),
                kind: if *switchover { RecoveryKind::Switchover } else { RecoveryKind::Failover },
                finding: "DeadPrimary".into(),
                failed_node: node_ref(*failed),
                successor: node_ref(*successor),
                started_at_ms: 1,
                data_loss_possible: false,
            }),
            Op::FinishRecovery(id, success, lost) => Command::FinishRecovery(RecoveryOutcome {
                id: *id % 4,
                ended_at_ms: 2,
                success: *success,
                error: None,
                lost_replicas: lost.iter().map(|spec| node_ref(spec.0)).collect(),
                steps: Vec::new(),
                data_loss_possible: false,
            }),
            Op::AcknowledgeRecovery(id, by) => {
                Command::AcknowledgeRecovery { id: *id % 4, by: by.clone(), comment: String::new(), at_ms: 3 }
            }
            Op::Batch(ops) => Command::Batch(ops.iter().map(Op::command).collect()),
        }
    }
}

fn run(commands: &[Command]) {
    let mut state = MetaState::default();
    let mut accepted = Vec::new();
    for command in commands {
        let before = state.clone();
        let result = state.apply(command);
        if result.is_err() {
            assert_eq!(state, before, "rejected {command:?} changed the state");
        } else {
            accepted.push(command);
        }
    }
    let mut replayed = MetaState::default();
    for command in accepted {
        assert!(replayed.apply(command).is_ok(), "{command:?} was accepted once and refused on replay");
    }
    assert_eq!(replayed, state, "replaying the accepted commands gives another state");
    let snapshot = serde_json::to_vec(&state).expect("a state serializes");
    let restored: MetaState = serde_json::from_slice(&snapshot).expect("a snapshot deserializes");
    assert_eq!(restored, state, "the state does not survive a snapshot");
}

fuzz_target!(|data: &[u8]| {
    if let Ok(commands) = serde_json::from_slice::<Vec<Command>>(data) {
        run(&commands);
    }
    let mut input = Unstructured::new(data);
    if let Ok(ops) = Vec::<Op>::arbitrary(&mut input) {
        run(&ops.iter().map(Op::command).collect::<Vec<_>>());
    }
});
