use serde_json::{json, Value};

use super::*;
use crate::api::orchestrator::test_support::{
    by_id, lost, master_state, member, replica_state, seen, tree, NOW_MS, SEEN_MS,
};
use crate::meta::NodeRole::{Master, Slave};
use crate::mysql::GtidSet;

const M: &str = "127.0.0.1:3306";
const R1: &str = "127.0.0.1:3307";
const R2: &str = "127.0.0.1:3308";

fn three() -> ShardTree {
    tree(vec![member("m", M, Master), member("r1", R1, Slave), member("r2", R2, Slave)])
}

fn views(observations: Vec<NodeObservation>) -> Vec<(usize, InstanceView)> {
    instance_views(&three(), &by_id(observations), NOW_MS)
}

fn key(addr: &str) -> Value {
    let (host, port) = addr.rsplit_once(':').unwrap();
    json!({"Hostname": host, "Port": port.parse::<u16>().unwrap()})
}

#[test]
fn instance_json_uses_orchestrator_field_names() {
    let all = views(vec![
        seen("m", M, master_state(11, "0-11-7")),
        seen("r1", R1, replica_state(12, M, "0-11-7", Some(2))),
        seen("r2", R2, replica_state(13, M, "0-11-7", Some(0))),
    ]);
    let master = serde_json::to_value(&all[0].1).unwrap();
    let expected_master: Vec<(&str, Value)> = vec![
        ("Key", json!(key(M))),
        ("InstanceAlias", json!("")),
        ("ServerID", json!(11)),
        ("ServerUUID", json!("")),
        ("Version", json!("10.11.6-MariaDB")),
        ("FlavorName", json!("MariaDB")),
        ("ReadOnly", json!(false)),
        ("Binlog_format", json!("")),
        ("LogBinEnabled", json!(true)),
        ("LogSlaveUpdatesEnabled", json!(true)),
        ("LogReplicationUpdatesEnabled", json!(true)),
        ("MasterKey", json!({"Hostname": "", "Port": 0})),
        ("Slave_SQL_Running", json!(false)),
        ("ReplicationSQLThreadRuning", json!(false)),
        ("Slave_IO_Running", json!(false)),
        ("ReplicationIOThreadRuning", json!(false)),
        ("ReplicationSQLThreadState", json!(-1)),
        ("ReplicationIOThreadState", json!(-1)),
        ("SupportsOracleGTID", json!(false)),
        ("UsingOracleGTID", json!(false)),
        ("UsingMariaDBGTID", json!(true)),
        ("UsingPseudoGTID", json!(false)),
        ("LastSQLError", json!("")),
        ("LastIOError", json!("")),
        ("SecondsBehindMaster", json!({"Int64": 0, "Valid": false})),
        ("ExecutedGtidSet", json!("0-11-7")),
        ("GtidErrant", json!("")),
        ("SlaveLagSeconds", json!({"Int64": 0, "Valid": true})),
        ("ReplicationLagSeconds", json!({"Int64": 0, "Valid": true})),
        ("SlaveHosts", json!([key(R1), key(R2)])),
        ("Replicas", json!([key(R1), key(R2)])),
        ("ClusterName", json!(M)),
        ("SuggestedClusterAlias", json!("ns1.c1.0")),
        ("ReplicationDepth", json!(0)),
        ("IsCoMaster", json!(false)),
        ("SemiSyncMasterEnabled", json!(true)),
        ("SemiSyncReplicaEnabled", json!(false)),
        ("SemiSyncMasterStatus", json!(true)),
        ("SemiSyncReplicaStatus", json!(false)),
        ("LastSeenTimestamp", json!("2023-11-14 22:13:20")),
        ("IsLastCheckValid", json!(true)),
        ("IsUpToDate", json!(true)),
        ("IsRecentlyChecked", json!(true)),
        ("SecondsSinceLastSeen", json!({"Int64": 5, "Valid": true})),
        ("PromotionRule", json!("neutral")),
        ("Problems", json!([])),
        ("NodeId", json!("m")),
        ("Role", json!("master")),
        ("Diverged", json!(null)),
    ];
    let expected_master: Value =
        expected_master.into_iter().map(|(k, v)| (k.to_string(), v)).collect::<serde_json::Map<_, _>>().into();
    assert_eq!(master, expected_master);

    let replica = serde_json::to_value(&all[1].1).unwrap();
    let field = |name: &str| replica[name].clone();
    assert_eq!(field("MasterKey"), key(M));
    assert_eq!(field("ReplicationIOThreadRuning"), json!(true));
    assert_eq!(field("ReplicationSQLThreadRuning"), json!(true));
    assert_eq!(field("ReplicationIOThreadState"), json!(1));
    assert_eq!(field("SecondsBehindMaster"), json!({"Int64": 2, "Valid": true}));
    assert_eq!(field("ReplicationLagSeconds"), json!({"Int64": 2, "Valid": true}));
    assert_eq!(field("ReplicationDepth"), json!(1));
    assert_eq!(field("Replicas"), json!([]));
    assert_eq!(field("ReadOnly"), json!(true));
    assert_eq!(field("SemiSyncReplicaStatus"), json!(true));
    assert_eq!(field("Role"), json!("slave"));
}

#[test]
fn without_observations_instances_show_their_declared_place() {
    let all = views(Vec::new());
    let summary: Vec<(usize, String, InstanceKey, bool, Vec<String>)> = all
        .iter()
        .map(|(depth, view)| {
            (*depth, view.key.display(), view.master_key.clone(), view.is_last_check_valid, view.problems.clone())
        })
        .collect();
    let not_probed = vec!["not probed yet".to_string()];
    assert_eq!(
        summary,
        vec![
            (0, M.to_string(), InstanceKey::default(), false, not_probed.clone()),
            (1, R1.to_string(), InstanceKey::from_addr(M), false, not_probed.clone()),
            (1, R2.to_string(), InstanceKey::from_addr(M), false, not_probed),
        ]
    );
    let replica = &all[1].1;
    assert_eq!(replica.replication_io_thread_state, -1);
    assert!(!replica.is_replica());
    assert_eq!(replica.last_seen_timestamp, "");
    assert_eq!(replica.seconds_since_last_seen, NullInt64 { int64: 0, valid: false });
    assert_eq!(all[0].1.replicas, vec![InstanceKey::from_addr(R1), InstanceKey::from_addr(R2)]);
}

#[test]
fn unreachable_instances_keep_their_last_reading() {
    let all = views(vec![
        seen("m", M, master_state(11, "0-11-7")),
        lost("r1", R1, Some(replica_state(12, M, "0-11-7", Some(0)))),
        lost("r2", R2, None),
    ]);
    let r1 = &all[1].1;
    assert!(!r1.is_last_check_valid && !r1.is_up_to_date && r1.is_recently_checked);
    assert_eq!((r1.server_id, r1.version.as_str()), (12, "10.11.6-MariaDB"));
    assert_eq!(r1.last_seen_timestamp, format_timestamp(SEEN_MS - 10_000));
    assert_eq!(r1.seconds_since_last_seen, NullInt64 { int64: 15, valid: true });
    assert_eq!(r1.problems, vec!["unreachable: connection refused".to_string()]);
    let r2 = &all[2].1;
    assert_eq!((r2.server_id, r2.version.as_str()), (0, ""));
    assert_eq!(r2.master_key, InstanceKey::from_addr(M), "declared source");
}

#[test]
fn errant_gtids_and_mysql_flags() {
    let mut mysql_master = master_state(1, "");
    mysql_master.flavor = crate::mysql::Flavor::MySql80;
    mysql_master.version = "8.0.36".to_string();
    mysql_master.server_uuid = Some("3e11fa47-71ca-11e1-9e33-c80aa9429562".to_string());
    mysql_master.gtid_executed = GtidSet::parse_any("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5").unwrap();
    let mut mysql_replica = mysql_master.clone();
    mysql_replica.server_uuid = Some("4e11fa47-71ca-11e1-9e33-c80aa9429562".to_string());
    mysql_replica.gtid_executed =
        GtidSet::parse_any("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5,4e11fa47-71ca-11e1-9e33-c80aa9429562:1-2")
            .unwrap();
    mysql_replica.replica = replica_state(2, M, "", Some(0)).replica;
    let all = views(vec![seen("m", M, mysql_master), seen("r1", R1, mysql_replica)]);
    let (master, replica) = (&all[0].1, &all[1].1);
    assert_eq!(master.flavor_name, "MySQL");
    assert!(master.supports_oracle_gtid && !master.using_oracle_gtid && !master.using_mariadb_gtid);
    assert_eq!(master.server_uuid, "3e11fa47-71ca-11e1-9e33-c80aa9429562");
    assert!(replica.using_oracle_gtid && !replica.using_mariadb_gtid);
    assert_eq!(replica.gtid_errant, "4e11fa47-71ca-11e1-9e33-c80aa9429562:1-2");
}

#[test]
fn cluster_info_summarises_the_tree() {
    let t = three();
    let all = instance_views(
        &t,
        &by_id(vec![
            seen("m", M, master_state(11, "0-11-7")),
            seen("r1", R1, replica_state(12, M, "0-11-7", Some(4))),
            seen("r2", R2, replica_state(13, M, "0-11-7", Some(9))),
        ]),
        NOW_MS,
    );
    let info = serde_json::to_value(cluster_info(&t, &all)).unwrap();
    assert_eq!(
        info,
        json!({
            "ClusterName": M,
            "ClusterAlias": "ns1.c1.0",
            "ClusterDomain": "",
            "CountInstances": 3,
            "HeuristicLag": 9,
            "HasAutomatedMasterRecovery": true,
            "HasAutomatedIntermediateMasterRecovery": false,
            "MasterKey": key(M),
            "Namespace": "ns1",
            "Cluster": "c1",
            "Shard": 0,
        })
    );
    let masterless = tree(vec![member("r1", R1, Slave)]);
    let info = cluster_info(&masterless, &instance_views(&masterless, &HashMap::new(), NOW_MS));
    assert_eq!((info.cluster_name.as_str(), info.master_key, info.heuristic_lag), ("ns1.c1.0", None, 0));
}

#[test]
fn timestamps_are_utc_datetimes() {
    let cases = [
        (0, "1970-01-01 00:00:00"),
        (999, "1970-01-01 00:00:00"),
        (1_700_000_000_000, "2023-11-14 22:13:20"),
        (951_782_400_000, "2000-02-29 00:00:00"),
        (1_709_251_199_000, "2024-02-29 23:59:59"),
        (4_102_444_800_000, "2100-01-01 00:00:00"),
        (-1_000, "1969-12-31 23:59:59"),
    ];
    for (ms, expected) in cases {
        assert_eq!(format_timestamp(ms), expected, "{ms}");
    }
}
