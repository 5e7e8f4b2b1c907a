//! Response shapes of the v2 cluster and instance endpoints, with orchestrator's JSON field names
//! (its Go struct fields: `ClusterInfo`, `Instance`, `InstanceKey`, `sql.NullInt64`), built from a
//! `ShardTree` and the leader's observations. Pure.
//!
//! What a view shows of a server comes from its last successful probe, kept while the server is
//! unreachable (as orchestrator keeps its last reading); `IsLastCheckValid` says whether that
//! probe is the latest. A member never probed (or any member while observations are unavailable)
//! shows its declared place only: declared master or replica of the declared master.

use std::collections::HashMap;

use serde::Serialize;

use super::catalog::{split_addr, Member, ShardTree};
use super::topology::{place, Placement};
use crate::health::{errant_transactions, NodeObservation};
use crate::meta::{NodeRole, PromotionRule};
use crate::mysql::status::join_host_port;
use crate::mysql::{Flavor, IoThreadState};

/// orchestrator's `InstanceKey`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InstanceKey {
    pub hostname: String,
    pub port: u16,
}

impl InstanceKey {
    pub fn from_addr(addr: &str) -> InstanceKey {
        let (hostname, port) = split_addr(addr);
        InstanceKey { hostname, port }
    }

    /// `host:port`, IPv6 hosts in brackets.
    pub fn display(&self) -> String {
        join_host_port(&self.hostname, self.port)
    }

    fn is_set(&self) -> bool {
        !self.hostname.is_empty() && self.port != 0
    }
}

/// Go's `sql.NullInt64`, as orchestrator serializes it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NullInt64 {
    #[serde(rename = "Int64")]
    pub int64: i64,
    #[serde(rename = "Valid")]
    pub valid: bool,
}

impl NullInt64 {
    fn of(value: Option<i64>) -> NullInt64 {
        NullInt64 { int64: value.unwrap_or(0), valid: value.is_some() }
    }
}

/// orchestrator's `ReplicationThreadState`: -1 no thread, 0 stopped, 1 running, 2 other.
const THREAD_NONE: i8 = -1;
const THREAD_STOPPED: i8 = 0;
const THREAD_RUNNING: i8 = 1;
const THREAD_OTHER: i8 = 2;

/// orchestrator's `ClusterInfo`, plus the master's key and where the shard lives in shardkeeper.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ClusterInfo {
    pub cluster_name: String,
    pub cluster_alias: String,
    /// No VIP or DNS name is managed: always empty.
    pub cluster_domain: String,
    pub count_instances: usize,
    /// The highest replication lag any replica reports, in seconds.
    pub heuristic_lag: i64,
    pub has_automated_master_recovery: bool,
    /// shardkeeper has no intermediate masters to recover: always false.
    pub has_automated_intermediate_master_recovery: bool,
    /// The declared master; `null` when the shard has none.
    pub master_key: Option<InstanceKey>,
    pub namespace: String,
    pub cluster: String,
    pub shard: usize,
}

/// orchestrator's `Instance` (the fields shardkeeper knows), plus shardkeeper's node id, role,
/// promotion rule and diverged mark.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InstanceView {
    #[serde(rename = "Key")]
    pub key: InstanceKey,
    #[serde(rename = "InstanceAlias")]
    pub instance_alias: String,
    #[serde(rename = "ServerID")]
    pub server_id: u32,
    #[serde(rename = "ServerUUID")]
    pub server_uuid: String,
    #[serde(rename = "Version")]
    pub version: String,
    #[serde(rename = "FlavorName")]
    pub flavor_name: String,
    #[serde(rename = "ReadOnly")]
    pub read_only: bool,
    /// Not probed by shardkeeper: always empty (the topology leaves the token out).
    #[serde(rename = "Binlog_format")]
    pub binlog_format: String,
    #[serde(rename = "LogBinEnabled")]
    pub log_bin_enabled: bool,
    #[serde(rename = "LogSlaveUpdatesEnabled")]
    pub log_slave_updates_enabled: bool,
    #[serde(rename = "LogReplicationUpdatesEnabled")]
    pub log_replication_updates_enabled: bool,
    #[serde(rename = "MasterKey")]
    pub master_key: InstanceKey,
    #[serde(rename = "Slave_SQL_Running")]
    pub slave_sql_running: bool,
    #[serde(rename = "ReplicationSQLThreadRuning")]
    pub replication_sql_thread_running: bool,
    #[serde(rename = "Slave_IO_Running")]
    pub slave_io_running: bool,
    #[serde(rename = "ReplicationIOThreadRuning")]
    pub replication_io_thread_running: bool,
    #[serde(rename = "ReplicationSQLThreadState")]
    pub replication_sql_thread_state: i8,
    #[serde(rename = "ReplicationIOThreadState")]
    pub replication_io_thread_state: i8,
    #[serde(rename = "SupportsOracleGTID")]
    pub supports_oracle_gtid: bool,
    #[serde(rename = "UsingOracleGTID")]
    pub using_oracle_gtid: bool,
    #[serde(rename = "UsingMariaDBGTID")]
    pub using_mariadb_gtid: bool,
    #[serde(rename = "UsingPseudoGTID")]
    pub using_pseudo_gtid: bool,
    #[serde(rename = "LastSQLError")]
    pub last_sql_error: String,
    #[serde(rename = "LastIOError")]
    pub last_io_error: String,
    #[serde(rename = "SecondsBehindMaster")]
    pub seconds_behind_master: NullInt64,
    #[serde(rename = "ExecutedGtidSet")]
    pub executed_gtid_set: String,
    #[serde(rename = "GtidErrant")]
    pub gtid_errant: String,
    #[serde(rename = "SlaveLagSeconds")]
    pub slave_lag_seconds: NullInt64,
    #[serde(rename = "ReplicationLagSeconds")]
    pub replication_lag_seconds: NullInt64,
    #[serde(rename = "SlaveHosts")]
    pub slave_hosts: Vec<InstanceKey>,
    #[serde(rename = "Replicas")]
    pub replicas: Vec<InstanceKey>,
    #[serde(rename = "ClusterName")]
    pub cluster_name: String,
    #[serde(rename = "SuggestedClusterAlias")]
    pub suggested_cluster_alias: String,
    #[serde(rename = "ReplicationDepth")]
    pub replication_depth: usize,
    #[serde(rename = "IsCoMaster")]
    pub is_co_master: bool,
    #[serde(rename = "SemiSyncMasterEnabled")]
    pub semi_sync_master_enabled: bool,
    #[serde(rename = "SemiSyncReplicaEnabled")]
    pub semi_sync_replica_enabled: bool,
    #[serde(rename = "SemiSyncMasterStatus")]
    pub semi_sync_master_status: bool,
    /// Semi-sync replica enabled and its I/O thread connected.
    #[serde(rename = "SemiSyncReplicaStatus")]
    pub semi_sync_replica_status: bool,
    /// UTC `YYYY-MM-DD HH:MM:SS` of the last successful probe; empty when never.
    #[serde(rename = "LastSeenTimestamp")]
    pub last_seen_timestamp: String,
    #[serde(rename = "IsLastCheckValid")]
    pub is_last_check_valid: bool,
    #[serde(rename = "IsUpToDate")]
    pub is_up_to_date: bool,
    #[serde(rename = "IsRecentlyChecked")]
    pub is_recently_checked: bool,
    #[serde(rename = "SecondsSinceLastSeen")]
    pub seconds_since_last_seen: NullInt64,
    #[serde(rename = "PromotionRule")]
    pub promotion_rule: PromotionRule,
    #[serde(rename = "Problems")]
    pub problems: Vec<String>,
    /// shardkeeper's node id.
    #[serde(rename = "NodeId")]
    pub node_id: String,
    /// shardkeeper's declared role: `master` or `slave`.
    #[serde(rename = "Role")]
    pub role: &'static str,
    /// Why shardkeeper left the node out of replication; `null` when it did not.
    #[serde(rename = "Diverged")]
    pub diverged: Option<String>,
}

impl InstanceView {
    /// orchestrator's `IsReplica`: a replication source is configured.
    pub fn is_replica(&self) -> bool {
        self.master_key.is_set() && self.replication_io_thread_state != THREAD_NONE
    }

    /// orchestrator's `ReplicaRunning`: a replica with both threads running.
    pub fn replica_running(&self) -> bool {
        self.is_replica()
            && self.replication_io_thread_state == THREAD_RUNNING
            && self.replication_sql_thread_state == THREAD_RUNNING
    }
}

/// Every instance of `tree` in topology order (master first, each replica under its source),
/// with its depth.
pub fn instance_views(
    tree: &ShardTree,
    observations: &HashMap<String, NodeObservation>,
    now_ms: i64,
) -> Vec<(usize, InstanceView)> {
    let placement = place(tree, observations);
    placement
        .order
        .iter()
        .map(|(index, depth)| (*depth, instance_view(tree, &placement, *index, observations, now_ms)))
        .collect()
}

/// The summary of `tree` from its instances (`instance_views`).
pub fn cluster_info(tree: &ShardTree, instances: &[(usize, InstanceView)]) -> ClusterInfo {
    let heuristic_lag = instances
        .iter()
        .filter(|(_, view)| view.is_replica() && view.replication_lag_seconds.valid)
        .map(|(_, view)| view.replication_lag_seconds.int64)
        .max()
        .unwrap_or(0);
    ClusterInfo {
        cluster_name: tree.name.clone(),
        cluster_alias: tree.alias.clone(),
        cluster_domain: String::new(),
        count_instances: tree.members.len(),
        heuristic_lag,
        has_automated_master_recovery: tree.auto_failover,
        has_automated_intermediate_master_recovery: false,
        master_key: tree.master().map(|master| InstanceKey::from_addr(&master.addr)),
        namespace: tree.namespace.clone(),
        cluster: tree.cluster.clone(),
        shard: tree.shard,
    }
}

fn instance_view(
    tree: &ShardTree,
    placement: &Placement,
    index: usize,
    observations: &HashMap<String, NodeObservation>,
    now_ms: i64,
) -> InstanceView {
    let member = &tree.members[index];
    let observation = observations.get(&member.id);
    let state = observation.and_then(|observation| observation.state.as_ref());
    let valid = observation.is_some_and(|observation| observation.reachable);
    let replica = state.and_then(|state| state.replica.as_ref());
    let master_state = tree
        .master()
        .filter(|master| master.id != member.id)
        .and_then(|master| observations.get(&master.id))
        .and_then(|observation| observation.state.as_ref());
    let replicas: Vec<InstanceKey> =
        placement.children(index).into_iter().map(|child| InstanceKey::from_addr(&tree.members[child].addr)).collect();
    let declared_source = placement.parent[index].map(|parent| InstanceKey::from_addr(&tree.members[parent].addr));
    let master_key = match (state, replica) {
        (_, Some(replica)) => InstanceKey { hostname: replica.source_host.clone(), port: replica.source_port },
        (Some(_), None) => InstanceKey::default(),
        (None, None) => declared_source.filter(|_| member.role == NodeRole::Slave).unwrap_or_default(),
    };
    let (io_state, sql_state) = match (state, replica) {
        (_, Some(replica)) => (io_thread_state(replica.io_state), sql_thread_state(replica.sql_running)),
        _ => (THREAD_NONE, THREAD_NONE),
    };
    let seconds_behind = replica.and_then(|replica| replica.seconds_behind_source).map(saturating_i64);
    let replication_lag = match replica {
        Some(_) => NullInt64::of(seconds_behind),
        None => NullInt64 { int64: 0, valid: state.is_some() },
    };
    let flavor = state.map(|state| state.flavor);
    let using_gtid = replica.is_some_and(|replica| replica.using_gtid);
    let is_mariadb = flavor.is_some_and(Flavor::is_mariadb);
    let last_seen_ms = observation.and_then(|observation| observation.last_seen_ms);
    InstanceView {
        key: InstanceKey::from_addr(&member.addr),
        instance_alias: String::new(),
        server_id: state.map(|state| state.server_id).unwrap_or(0),
        server_uuid: state.and_then(|state| state.server_uuid.clone()).unwrap_or_default(),
        version: state.map(|state| state.version.clone()).unwrap_or_default(),
        flavor_name: flavor.map(flavor_name).unwrap_or_default().to_string(),
        read_only: state.is_some_and(|state| state.read_only),
        binlog_format: String::new(),
        log_bin_enabled: state.is_some_and(|state| state.log_bin),
        log_slave_updates_enabled: state.is_some_and(|state| state.log_replica_updates),
        log_replication_updates_enabled: state.is_some_and(|state| state.log_replica_updates),
        master_key,
        slave_sql_running: sql_state == THREAD_RUNNING,
        replication_sql_thread_running: sql_state == THREAD_RUNNING,
        slave_io_running: io_state == THREAD_RUNNING,
        replication_io_thread_running: io_state == THREAD_RUNNING,
        replication_sql_thread_state: sql_state,
        replication_io_thread_state: io_state,
        // shardkeeper runs MySQL with gtid_mode=ON, and MariaDB always writes GTIDs.
        supports_oracle_gtid: flavor.is_some_and(|flavor| !flavor.is_mariadb()),
        using_oracle_gtid: using_gtid && !is_mariadb,
        using_mariadb_gtid: is_mariadb && (using_gtid || replica.is_none()),
        using_pseudo_gtid: false,
        last_sql_error: replica.map(|replica| replica.last_sql_error.clone()).unwrap_or_default(),
        last_io_error: replica.map(|replica| replica.last_io_error.clone()).unwrap_or_default(),
        seconds_behind_master: NullInt64::of(seconds_behind),
        executed_gtid_set: state.map(|state| state.gtid_executed.to_string()).unwrap_or_default(),
        gtid_errant: match (state, master_state) {
            (Some(state), Some(master_state)) => {
                errant_transactions(state, master_state).map(|errant| errant.to_string()).unwrap_or_default()
            }
            _ => String::new(),
        },
        slave_lag_seconds: replication_lag,
        replication_lag_seconds: replication_lag,
        slave_hosts: replicas.clone(),
        replicas,
        cluster_name: tree.name.clone(),
        suggested_cluster_alias: tree.alias.clone(),
        replication_depth: placement.depth(index),
        is_co_master: false,
        semi_sync_master_enabled: state.is_some_and(|state| state.semi_sync_source_enabled),
        semi_sync_replica_enabled: state.is_some_and(|state| state.semi_sync_replica_enabled),
        semi_sync_master_status: state.is_some_and(|state| state.semi_sync_source_active),
        semi_sync_replica_status: state.is_some_and(|state| state.semi_sync_replica_enabled)
            && io_state == THREAD_RUNNING,
        last_seen_timestamp: last_seen_ms.map(format_timestamp).unwrap_or_default(),
        is_last_check_valid: valid,
        is_up_to_date: valid,
        is_recently_checked: observation.is_some(),
        seconds_since_last_seen: NullInt64::of(last_seen_ms.map(|seen| (now_ms - seen).max(0) / 1000)),
        promotion_rule: member.promotion_rule,
        problems: problems(member, observation),
        node_id: member.id.clone(),
        role: member.role.as_str(),
        diverged: member.diverged.clone(),
    }
}

/// What is wrong with a member, in words: diverged, never probed, unreachable.
fn problems(member: &Member, observation: Option<&NodeObservation>) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(reason) = &member.diverged {
        problems.push(format!("diverged: {reason}"));
    }
    match observation {
        None => problems.push("not probed yet".to_string()),
        Some(observation) if !observation.reachable => match &observation.last_error {
            Some(error) => problems.push(format!("unreachable: {error}")),
            None => problems.push("unreachable".to_string()),
        },
        Some(_) => {}
    }
    problems
}

/// orchestrator's `FlavorName`.
fn flavor_name(flavor: Flavor) -> &'static str {
    if flavor.is_mariadb() {
        "MariaDB"
    } else {
        "MySQL"
    }
}

fn io_thread_state(state: IoThreadState) -> i8 {
    match state {
        IoThreadState::Running => THREAD_RUNNING,
        IoThreadState::Connecting => THREAD_OTHER,
        IoThreadState::Stopped => THREAD_STOPPED,
    }
}

fn sql_thread_state(running: bool) -> i8 {
    if running {
        THREAD_RUNNING
    } else {
        THREAD_STOPPED
    }
}

fn saturating_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Unix milliseconds as UTC `YYYY-MM-DD HH:MM:SS`, the form orchestrator's timestamps take.
pub fn format_timestamp(unix_ms: i64) -> String {
    let seconds = unix_ms.div_euclid(1000);
    let (days, second_of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60
    )
}

#[cfg(test)]
#[path = "views_tests.rs"]
mod tests;
