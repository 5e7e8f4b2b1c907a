//! Hand-made servers and observations for the analysis and planner tests (MariaDB GTIDs).

use std::collections::HashMap;

use super::NodeObservation;
use crate::meta::{Cluster, ClusterCredentials, ClusterPolicy, Node, NodeRole, PromotionRule, Secret, Shard};
use crate::mysql::{Flavor, GtidSet, IoThreadState, ReplicaStatus, ServerState};

pub const MASTER: &str = "127.0.0.1:3306";
pub const REPLICA_1: &str = "127.0.0.1:3307";
pub const REPLICA_2: &str = "127.0.0.1:3308";

pub fn gtids(text: &str) -> GtidSet {
    GtidSet::parse(Flavor::MariaDb, text).expect("test gtids parse")
}

/// A writable primary with `executed` transactions and semi-sync active.
pub fn primary(server_id: u32, executed: &str) -> ServerState {
    ServerState {
        version: "10.11.6-MariaDB".to_string(),
        flavor: Flavor::MariaDb,
        server_id,
        server_uuid: None,
        read_only: false,
        gtid_executed: gtids(executed),
        replica: None,
        semi_sync_source_enabled: true,
        semi_sync_source_active: true,
        semi_sync_replica_enabled: false,
        client_count: 3,
        log_bin: true,
        log_replica_updates: true,
    }
}

/// A read-only replica of `source` with its io thread in `io` state.
pub fn replica(server_id: u32, executed: &str, source: &str, io: IoThreadState) -> ServerState {
    let (host, port) = source.rsplit_once(':').expect("host:port");
    ServerState {
        read_only: true,
        semi_sync_source_enabled: false,
        semi_sync_source_active: false,
        semi_sync_replica_enabled: true,
        replica: Some(ReplicaStatus {
            source_host: host.to_string(),
            source_port: port.parse().expect("port"),
            io_state: io,
            sql_running: true,
            last_io_error: String::new(),
            last_sql_error: String::new(),
            seconds_behind_source: Some(0),
            using_gtid: true,
            received_gtids: gtids(executed),
        }),
        ..primary(server_id, executed)
    }
}

pub fn seen(node_id: &str, addr: &str, state: ServerState) -> NodeObservation {
    NodeObservation {
        node_id: node_id.to_string(),
        addr: addr.to_string(),
        reachable: true,
        consecutive_failures: 0,
        last_error: None,
        probed_at_ms: 1_000,
        last_seen_ms: Some(1_000),
        state: Some(state),
    }
}

/// Unreachable for `failures` probes; `last_state` is what it showed before.
pub fn lost(node_id: &str, addr: &str, failures: u32, last_state: Option<ServerState>) -> NodeObservation {
    NodeObservation {
        reachable: false,
        consecutive_failures: failures,
        last_error: Some("connection refused".to_string()),
        last_seen_ms: last_state.as_ref().map(|_| 500),
        state: last_state,
        ..seen(node_id, addr, primary(0, ""))
    }
}

pub fn node(id: &str, addr: &str, role: NodeRole) -> Node {
    Node {
        id: id.to_string(),
        addr: addr.to_string(),
        role,
        created_at: 0,
        password: Secret::default(),
        promotion_rule: PromotionRule::Neutral,
        diverged: None,
        name: None,
        admin_state: Default::default(),
    }
}

/// One shard: "m" master at MASTER, "r1" and "r2" replicas.
pub fn shard() -> Shard {
    Shard {
        nodes: vec![
            node("m", MASTER, NodeRole::Master),
            node("r1", REPLICA_1, NodeRole::Slave),
            node("r2", REPLICA_2, NodeRole::Slave),
        ],
        ..Shard::default()
    }
}

pub fn cluster(shard: Shard) -> Cluster {
    Cluster {
        name: "c".to_string(),
        version: 1,
        credentials: ClusterCredentials::default(),
        policy: ClusterPolicy::default(),
        shards: vec![shard],
    }
}

pub fn observed(list: Vec<NodeObservation>) -> HashMap<String, NodeObservation> {
    list.into_iter().map(|observation| (observation.node_id.clone(), observation)).collect()
}

/// Every node healthy: master at 0-1-10, both replicas caught up and replicating.
pub fn healthy() -> Vec<NodeObservation> {
    vec![
        seen("m", MASTER, primary(1, "0-1-10")),
        seen("r1", REPLICA_1, replica(2, "0-1-10", MASTER, IoThreadState::Running)),
        seen("r2", REPLICA_2, replica(3, "0-1-10", MASTER, IoThreadState::Running)),
    ]
}
