//! Builders for the unit tests of this flavor: shard trees, server states, observations.

use std::collections::HashMap;

use super::catalog::{Member, ShardTree};
use crate::health::NodeObservation;
use crate::meta::{NodeRole, PromotionRule};
use crate::mysql::{Flavor, GtidSet, IoThreadState, ReplicaStatus, ServerState};

/// Probe time of every observation built here, and a "now" 5 s later.
pub const SEEN_MS: i64 = 1_700_000_000_000;
pub const NOW_MS: i64 = SEEN_MS + 5_000;

pub fn member(id: &str, addr: &str, role: NodeRole) -> Member {
    Member { id: id.to_string(), addr: addr.to_string(), role, promotion_rule: PromotionRule::Neutral, diverged: None }
}

/// A tree of ns1/c1 shard 0 named by its master (or its alias without one).
pub fn tree(members: Vec<Member>) -> ShardTree {
    let alias = "ns1.c1.0".to_string();
    let name = members.iter().find(|m| m.role == NodeRole::Master).map(|m| m.addr.clone()).unwrap_or(alias.clone());
    ShardTree {
        namespace: "ns1".to_string(),
        cluster: "c1".to_string(),
        shard: 0,
        name,
        alias,
        members,
        auto_failover: true,
    }
}

/// A MariaDB master: writable, binlog with replica updates, semi-sync source active.
pub fn master_state(server_id: u32, gtids: &str) -> ServerState {
    ServerState {
        version: "10.11.6-MariaDB".to_string(),
        flavor: Flavor::MariaDb,
        server_id,
        server_uuid: None,
        read_only: false,
        gtid_executed: GtidSet::parse(Flavor::MariaDb, gtids).unwrap(),
        replica: None,
        semi_sync_source_enabled: true,
        semi_sync_source_active: true,
        semi_sync_replica_enabled: false,
        client_count: 0,
        log_bin: true,
        log_replica_updates: true,
    }
}

/// A MariaDB replica of `source` (`host:port`), replicating with GTID, lag `lag`.
pub fn replica_state(server_id: u32, source: &str, gtids: &str, lag: Option<u64>) -> ServerState {
    let (host, port) = source.rsplit_once(':').unwrap();
    ServerState {
        read_only: true,
        semi_sync_source_enabled: false,
        semi_sync_source_active: false,
        semi_sync_replica_enabled: true,
        replica: Some(ReplicaStatus {
            source_host: host.to_string(),
            source_port: port.parse().unwrap(),
            io_state: IoThreadState::Running,
            sql_running: true,
            last_io_error: String::new(),
            last_sql_error: String::new(),
            seconds_behind_source: lag,
            using_gtid: true,
            received_gtids: GtidSet::parse(Flavor::MariaDb, gtids).unwrap(),
        }),
        ..master_state(server_id, gtids)
    }
}

/// A successful probe of node `id` that read `state`.
pub fn seen(id: &str, addr: &str, state: ServerState) -> NodeObservation {
    NodeObservation {
        node_id: id.to_string(),
        addr: addr.to_string(),
        reachable: true,
        consecutive_failures: 0,
        last_error: None,
        probed_at_ms: SEEN_MS,
        last_seen_ms: Some(SEEN_MS),
        state: Some(state),
    }
}

/// A failed probe of node `id`, which was last seen with `state` (if ever).
pub fn lost(id: &str, addr: &str, state: Option<ServerState>) -> NodeObservation {
    NodeObservation {
        reachable: false,
        consecutive_failures: 3,
        last_error: Some("connection refused".to_string()),
        last_seen_ms: state.as_ref().map(|_| SEEN_MS - 10_000),
        state,
        ..seen(id, addr, master_state(0, ""))
    }
}

pub fn by_id(observations: Vec<NodeObservation>) -> HashMap<String, NodeObservation> {
    observations.into_iter().map(|observation| (observation.node_id.clone(), observation)).collect()
}
