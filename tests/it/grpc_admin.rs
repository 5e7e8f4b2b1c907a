//! The gRPC Admin service's fleet calls, through a follower, against real MariaDB servers.

use serde_json::{json, Value};
use shardkeeper::pb;
use shardkeeper::pb::admin_client::AdminClient;

use crate::failover::Fleet;

fn cluster() -> pb::ClusterRef {
    pb::ClusterRef { namespace: "ns".into(), cluster: "c".into(), consistency: String::new(), expected_version: None }
}

fn json(reply: pb::JsonReply) -> Value {
    serde_json::from_slice(&reply.json).expect("a JSON document")
}

// A gRPC admin client talking to a follower sees the same health and recovery documents as the
// REST API, runs a switchover, acknowledges its record and changes a promotion rule; bad input is
// InvalidArgument and changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fleet_calls_through_a_follower() {
    let fleet = Fleet::start(181, json!({})).await;
    fleet.wait_all_healthy().await;
    let follower = fleet.shardkeeper.follower_index().await;
    let addr = fleet.shardkeeper.running(follower).grpc_addr;
    let mut admin = AdminClient::connect(format!("http://{addr}")).await.expect("grpc connect");

    let health = json(admin.cluster_health(cluster()).await.expect("health").into_inner());
    assert_eq!(health["shards"][0]["findings"][0]["kind"], "AllHealthy", "{health}");
    let observations = json(admin.cluster_observations(cluster()).await.expect("observations").into_inner());
    assert_eq!(observations["nodes"].as_object().map(|nodes| nodes.len()), Some(3), "{observations}");

    let (old_master_id, _) = fleet.master().await;
    let request = pb::FailoverRequest {
        namespace: "ns".into(),
        cluster: "c".into(),
        shard: 0,
        preferred_node_id: String::new(),
        expected_version: None,
    };
    let new_master_id = admin.failover(request).await.expect("switchover").into_inner().new_master_id;
    assert_ne!(new_master_id, old_master_id);
    assert_eq!(fleet.master().await.0, new_master_id);

    let recoveries = json(admin.list_recoveries(cluster()).await.expect("recoveries").into_inner());
    let record = &recoveries["recoveries"][0];
    assert_eq!((record["kind"].as_str(), record["state"].as_str()), (Some("switchover"), Some("succeeded")), "{record}");
    let id = record["id"].as_u64().expect("recovery id");
    let acknowledge = pb::AcknowledgeRecoveryRequest {
        namespace: "ns".into(),
        cluster: "c".into(),
        id,
        by: "ops".into(),
        comment: "planned".into(),
    };
    admin.acknowledge_recovery(acknowledge).await.expect("acknowledge");
    let recoveries = json(admin.list_recoveries(cluster()).await.expect("recoveries").into_inner());
    assert_eq!(recoveries["recoveries"][0]["acknowledged_by"], "ops");

    let rule = |promotion_rule: &str| pb::PromotionRuleRequest {
        namespace: "ns".into(),
        cluster: "c".into(),
        shard: 0,
        node_id: old_master_id.clone(),
        promotion_rule: promotion_rule.into(),
        expected_version: None,
    };
    let refused = admin.set_promotion_rule(rule("never")).await.expect_err("a bad rule is refused");
    assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{refused:?}");
    admin.set_promotion_rule(rule("must_not")).await.expect("promotion rule");
    let (_, body) = crate::harness::get_json(&format!("{}/api/v1/namespaces/ns/clusters/c", fleet.shardkeeper.url(0))).await;
    let nodes = body["data"]["cluster"]["shards"][0]["nodes"].as_array().cloned().unwrap_or_default();
    let old = nodes.iter().find(|node| node["id"] == old_master_id.as_str()).expect("the old master");
    assert_eq!(old["promotion_rule"], "must_not");

    let admin_state = |admin_state: &str| pb::AdminStateRequest {
        namespace: "ns".into(),
        cluster: "c".into(),
        shard: 0,
        node_id: old_master_id.clone(),
        admin_state: admin_state.into(),
        expected_version: None,
    };
    let refused = admin.set_admin_state(admin_state("paused")).await.expect_err("a bad admin state is refused");
    assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{refused:?}");
    admin.set_admin_state(admin_state("drain")).await.expect("admin state");
    let shard = admin.get_shard(pb::ShardRef { namespace: "ns".into(), cluster: "c".into(), shard: 0, ..Default::default() }).await.expect("shard");
    let old = shard.into_inner().nodes.into_iter().find(|node| node.id == old_master_id).expect("the old master");
    assert_eq!((old.admin_state.as_str(), old.name.as_str()), ("drain", ""));
    fleet.shardkeeper.shutdown().await;
}
