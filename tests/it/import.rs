//! Import of live replication trees against real MariaDB servers.

use std::time::Duration;

use serde_json::json;

use crate::harness::{eventually, get_json, post_json, TestCluster};
use crate::mariadb::{start_many, MariaDbServer, ADMIN_PASSWORD, ADMIN_USER};

/// Makes `replica` a read-only GTID replica of `primary`, by hand (as an operator would have).
async fn replicate_by_hand(replica: &MariaDbServer, primary: &MariaDbServer) {
    let password = ADMIN_PASSWORD.replace('\'', "\\'");
    replica
        .exec(&format!(
            "SET GLOBAL read_only = ON; CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={}, \
             MASTER_USER='{ADMIN_USER}', MASTER_PASSWORD='{password}', MASTER_USE_GTID=slave_pos; START SLAVE",
            primary.port()
        ))
        .await;
}

// Import walks live replication trees from any member: given one replica of tree A and the lone
// server D, it finds A's primary (the replica's source) and A's other replica (the primary's
// replica list), and registers two shards with the roles the servers have, changing none of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn import_registers_each_live_tree_as_a_shard() {
    let (shardkeeper, servers) = tokio::join!(TestCluster::start(1), start_many(4, 161));
    let (primary, replica_b, replica_c, lone) = (&servers[0], &servers[1], &servers[2], &servers[3]);
    replicate_by_hand(replica_b, primary).await;
    replicate_by_hand(replica_c, primary).await;
    eventually("both replicas connected to the primary", Duration::from_secs(20), || async {
        let hosts = primary.query_strings("SHOW SLAVE HOSTS").await;
        (hosts.len() == 2).then_some(())
    })
    .await;

    let base = shardkeeper.url(0);
    let (status, body) = post_json(&format!("{base}/api/v1/namespaces"), json!({"namespace": "ns"})).await;
    assert_eq!(status, 201, "{body}");
    let import = json!({
        "nodes": [replica_b.addr(), lone.addr()],
        "user": ADMIN_USER, "password": ADMIN_PASSWORD,
        "policy": {"semi_sync": false},
    });
    let (status, body) = post_json(&format!("{base}/api/v1/namespaces/ns/clusters/imported/import"), import).await;
    assert_eq!(status, 201, "{body}");
    let shards = body["data"]["cluster"]["shards"].as_array().cloned().expect("shards");
    assert_eq!(shards.len(), 2, "{body}");
    let layout: Vec<Vec<(String, String)>> = shards
        .iter()
        .map(|shard| {
            let mut nodes: Vec<(String, String)> = shard["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|node| (node["addr"].as_str().unwrap().to_string(), node["role"].as_str().unwrap().to_string()))
                .collect();
            nodes.sort();
            nodes
        })
        .collect();
    let tree_a = {
        let mut nodes = vec![
            (primary.addr(), "master".to_string()),
            (replica_b.addr(), "slave".to_string()),
            (replica_c.addr(), "slave".to_string()),
        ];
        nodes.sort();
        nodes
    };
    let tree_d = vec![(lone.addr(), "master".to_string())];
    assert!(layout.contains(&tree_a) && layout.contains(&tree_d), "imported layout {layout:?}");
    assert_eq!(body["data"]["cluster"]["shards"][0]["slot_ranges"].as_array().map(Vec::len), Some(1));

    let health = format!("{base}/api/v1/namespaces/ns/clusters/imported/health");
    eventually("both imported shards healthy", Duration::from_secs(20), || async {
        let (status, body) = get_json(&health).await;
        let healthy = |index: usize| body["data"]["shards"][index]["findings"][0]["kind"] == "AllHealthy";
        (status == 200 && healthy(0) && healthy(1)).then_some(())
    })
    .await;
    assert_eq!(primary.query_value("SELECT @@read_only").await.as_deref(), Some("0"), "the primary stays writable");
    for replica in [replica_b, replica_c] {
        let status = replica.query_strings("SHOW SLAVE STATUS").await;
        assert_eq!(status.len(), 1, "{} still replicates", replica.addr());
    }

    let (status, body) = post_json(&format!("{base}/api/v1/namespaces/ns/clusters/imported/import"), json!({"nodes": [lone.addr()]})).await;
    assert_eq!(status, 409, "importing over an existing cluster: {body}");
    shardkeeper.shutdown().await;
}
