use serde_json::json;

use super::*;
use crate::api::orchestrator::test_support::{member, tree};
use crate::meta::NodeRole::{Master, Slave};
use crate::meta::{NodeRef, RecoveryStep};

fn record(id: u64, shard: usize, failed: &str, successor: &str) -> Recovery {
    Recovery {
        id,
        namespace: "ns1".to_string(),
        cluster: "c1".to_string(),
        shard,
        kind: RecoveryKind::Switchover,
        finding: "Switchover".to_string(),
        failed_node: NodeRef { id: "old".to_string(), addr: failed.to_string() },
        successor: Some(NodeRef { id: "new".to_string(), addr: successor.to_string() }),
        started_at_ms: 1_700_000_000_000,
        ended_at_ms: Some(1_700_000_002_000),
        state: RecoveryState::Succeeded,
        error: None,
        lost_replicas: Vec::new(),
        steps: vec![RecoveryStep { at_ms: 1_700_000_001_000, text: "old master read_only".to_string() }],
        data_loss_possible: false,
        acknowledged_by: None,
        acknowledged_at_ms: None,
        acknowledge_comment: None,
    }
}

#[test]
fn recovery_json_uses_orchestrator_field_names() {
    let view =
        serde_json::to_value(RecoveryView::from_record(&record(7, 0, "10.0.0.1:3306", "10.0.0.2:3306"))).unwrap();
    assert_eq!(
        view,
        json!({
            "Id": 7,
            "UID": "1700000000000:7",
            "AnalysisEntry": {
                "AnalyzedInstanceKey": {"Hostname": "10.0.0.1", "Port": 3306},
                "Analysis": "Switchover",
                "Description": "planned switchover of shard ns1.c1.0",
                "ClusterDetails": {"ClusterName": "10.0.0.1:3306", "ClusterAlias": "ns1.c1.0"},
                "IsMaster": true,
            },
            "SuccessorKey": {"Hostname": "10.0.0.2", "Port": 3306},
            "SuccessorAlias": "",
            "IsActive": false,
            "IsSuccessful": true,
            "LostReplicas": [],
            "AllErrors": [],
            "RecoveryStartTimestamp": "2023-11-14 22:13:20",
            "RecoveryEndTimestamp": "2023-11-14 22:13:22",
            "Acknowledged": false,
            "AcknowledgedAt": "",
            "AcknowledgedBy": "",
            "AcknowledgedComment": "",
            "Kind": "switchover",
            "Steps": [{"AuditAt": "2023-11-14 22:13:21", "Message": "old master read_only"}],
            "DataLossPossible": false,
        })
    );
}

#[test]
fn failed_running_and_acknowledged_records() {
    let mut failed = record(1, 0, "10.0.0.1:3306", "10.0.0.2:3306");
    failed.kind = RecoveryKind::Failover;
    failed.finding = "DeadPrimary".to_string();
    failed.state = RecoveryState::Failed;
    failed.error = Some("candidate did not catch up".to_string());
    failed.lost_replicas = vec![NodeRef { id: "x".to_string(), addr: "10.0.0.3:3306".to_string() }];
    failed.acknowledged_by = Some("ops".to_string());
    failed.acknowledged_at_ms = Some(1_700_000_010_000);
    failed.acknowledge_comment = Some("checked".to_string());
    let view = RecoveryView::from_record(&failed);
    assert_eq!(view.analysis_entry.analysis, "DeadMaster");
    assert!(!view.is_successful && !view.is_active && view.acknowledged);
    assert_eq!(view.all_errors, vec!["candidate did not catch up".to_string()]);
    assert_eq!(view.lost_replicas, vec![InstanceKey::from_addr("10.0.0.3:3306")]);
    assert_eq!((view.acknowledged_by.as_str(), view.acknowledged_comment.as_str()), ("ops", "checked"));
    assert_eq!(view.acknowledged_at, "2023-11-14 22:13:30");

    let mut running = record(2, 0, "10.0.0.1:3306", "10.0.0.2:3306");
    running.state = RecoveryState::Running;
    running.ended_at_ms = None;
    let view = RecoveryView::from_record(&running);
    assert!(view.is_active && !view.is_successful);
    assert_eq!(view.recovery_end_timestamp, "");
}

#[test]
fn filters_resolve_cluster_hints_and_aliases() {
    // Shard 0's master is now 10.0.0.2 (after the switchover recorded below); shard 1 is another tree.
    let trees = vec![
        tree(vec![member("a", "10.0.0.1:3306", Slave), member("b", "10.0.0.2:3306", Master)]),
        ShardTree {
            shard: 1,
            alias: "ns1.c1.1".to_string(),
            name: "10.0.1.1:3306".to_string(),
            ..tree(vec![member("c", "10.0.1.1:3306", Master)])
        },
    ];
    let shard0 = record(1, 0, "10.0.0.1:3306", "10.0.0.2:3306");
    let shard1 = record(2, 1, "10.0.1.9:3306", "10.0.1.1:3306");
    let query = |cluster: Option<&str>, alias: Option<&str>| RecoveriesQuery {
        cluster: cluster.map(str::to_string),
        alias: alias.map(str::to_string),
        page: None,
    };
    let cases = [
        (query(None, None), [true, true]),
        (query(Some("10.0.0.2:3306"), None), [true, false]),
        (query(Some("10.0.0.1:3306"), None), [true, false]),
        (query(Some("ns1.c1.0"), None), [true, false]),
        (query(Some("10.0.1.1:3306"), None), [false, true]),
        (query(Some("10.0.1.9:3306"), None), [false, true]),
        (query(Some("nope:1"), None), [false, false]),
        (query(Some(""), None), [true, true]),
        (query(None, Some("ns1.c1.1")), [false, true]),
        (query(None, Some("ns1.c1")), [false, false]),
        (query(Some("10.0.0.2:3306"), Some("ns1.c1.1")), [false, false]),
    ];
    for (query, expected) in cases {
        let got = [matches(&shard0, &query, &trees), matches(&shard1, &query, &trees)];
        assert_eq!(got, expected, "{query:?}");
    }
}

#[test]
fn pages_hold_twenty() {
    let items: Vec<u32> = (0..45).collect();
    assert_eq!(page_of(items.clone(), 0), (0..20).collect::<Vec<_>>());
    assert_eq!(page_of(items.clone(), 2), (40..45).collect::<Vec<_>>());
    assert!(page_of(items.clone(), 3).is_empty());
    assert!(page_of(items, usize::MAX).is_empty());
}

#[test]
fn page_must_be_a_non_negative_integer() {
    assert_eq!(parse_page(None).ok(), Some(0));
    assert_eq!(parse_page(Some("0")).ok(), Some(0));
    assert_eq!(parse_page(Some("3")).ok(), Some(3));
    for bad in ["", "abc", "-1", "1.5", " 1", "99999999999999999999999"] {
        let error = parse_page(Some(bad)).unwrap_err();
        assert_eq!((error.status.as_u16(), error.code), (400, "BAD_REQUEST"), "{bad:?}");
    }
}
