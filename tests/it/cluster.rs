//! Cluster behaviour: replication, leader loss, restarts, membership, snapshots, durability.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::{eventually, get_json, post_json, ProcessCluster, TestCluster};

async fn create_namespace(base: &str, name: &str) -> u16 {
    post_json(&format!("{base}/api/v1/namespaces"), json!({ "namespace": name })).await.0
}

async fn namespaces(base: &str, consistency: &str) -> Option<Vec<String>> {
    let (status, body) = get_json(&format!("{base}/api/v1/namespaces?consistency={consistency}")).await;
    if status != 200 {
        return None;
    }
    serde_json::from_value(body["data"]["namespaces"].clone()).ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_through_a_follower_is_readable_on_every_node() {
    // A follower forwards the write to the leader; once acknowledged, a linearizable read on any
    // node sees it at once, and stale reads converge.
    let cluster = TestCluster::start(3).await;
    let follower = cluster.follower_index().await;
    assert_eq!(create_namespace(&cluster.url(follower), "via-follower").await, 201);
    for index in 0..cluster.size() {
        let seen = namespaces(&cluster.url(index), "linearizable").await.expect("linearizable read");
        assert_eq!(seen, vec!["via-follower".to_string()], "node {}", index + 1);
    }
    for index in 0..cluster.size() {
        let base = cluster.url(index);
        eventually("stale read converges", Duration::from_secs(5), || async {
            (namespaces(&base, "stale").await? == vec!["via-follower".to_string()]).then_some(())
        })
        .await;
    }
    let (status, body) = get_json(&format!("{}/api/v1/status", cluster.url(follower))).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["role"], "follower");
    assert_eq!(body["data"]["members"].as_array().map(Vec::len), Some(3));
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_continue_after_the_leader_dies_and_it_catches_up_on_restart() {
    // Crash the leader: a survivor elects a new leader and acknowledges writes; the old leader
    // restarts on its data directory, rejoins as follower and catches up.
    let mut cluster = TestCluster::start(3).await;
    let old_leader = cluster.leader_index().await;
    assert_eq!(create_namespace(&cluster.url(old_leader), "before-crash").await, 201);
    cluster.crash(old_leader).await;
    let survivor = (0..3).find(|index| *index != old_leader).unwrap();
    let started = Instant::now();
    // A write forwarded to the dying leader over a connection the crash cuts is ambiguous (504):
    // as a client must, read before retrying; 409 after a 504 means the first attempt was applied.
    let url = format!("{}/api/v1/namespaces", cluster.url(survivor));
    let mut answers = Vec::new();
    loop {
        let (status, body) = post_json(&url, json!({ "namespace": "after-crash" })).await;
        answers.push((status, body));
        let acknowledged = status == 201 || (status == 409 && answers.iter().any(|(status, _)| *status == 504));
        if acknowledged {
            break;
        }
        assert!(
            status == 504 && answers.len() < 5 && started.elapsed() < Duration::from_secs(10),
            "a survivor acknowledges a write after the leader died; answers: {answers:?}"
        );
    }
    println!("leader crash -> first acknowledged write: {:?}", started.elapsed());
    let new_leader = cluster.leader_index().await;
    assert_ne!(new_leader, old_leader);

    cluster.restart(old_leader).await;
    let base = cluster.url(old_leader);
    eventually("restarted node catches up", Duration::from_secs(15), || async {
        let seen = namespaces(&base, "stale").await?;
        (seen == vec!["after-crash".to_string(), "before-crash".to_string()]).then_some(())
    })
    .await;
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fourth_node_joins_and_a_member_is_removed() {
    // --join adds a node as learner, then voter; it serves linearizable reads; DELETE of a peer
    // shrinks the membership and the cluster keeps accepting writes.
    let mut cluster = TestCluster::start(3).await;
    assert_eq!(create_namespace(&cluster.url(0), "before-join").await, 201);
    let joined = cluster.join_new_node(1).await;
    let peers_url = format!("{}/api/v1/raft/peers", cluster.url(0));
    eventually("four voters", Duration::from_secs(20), || async {
        let (_, body) = get_json(&peers_url).await;
        let members = body["data"]["members"].as_array()?.clone();
        let voters = members.iter().filter(|member| member["kind"] == "voter").count();
        (voters == 4).then_some(())
    })
    .await;
    cluster.wait_ready().await;
    assert_eq!(namespaces(&cluster.url(joined), "linearizable").await, Some(vec!["before-join".to_string()]));

    let leader = cluster.leader_index().await;
    let removed = (0..3).find(|index| *index != leader).unwrap();
    let response = crate::harness::http()
        .delete(format!("{}/api/v1/raft/peers/{}", cluster.url(joined), removed + 1))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap();
    let ids: Vec<u64> =
        body["data"]["members"].as_array().unwrap().iter().filter_map(|member| member["node_id"].as_u64()).collect();
    assert!(!ids.contains(&(removed as u64 + 1)), "{body}");
    assert_eq!(ids.len(), 3);
    assert_eq!(create_namespace(&cluster.url(joined), "after-remove").await, 201);
    let (status, _) =
        post_json(&format!("{}/api/v1/raft/peers", cluster.url(0)), json!({"node_id": 9, "grpc_addr": "nohost"})).await;
    assert_eq!(status, 400, "a peer address that is not host:port is refused");
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_down_past_the_snapshot_threshold_catches_up_by_snapshot() {
    // With snapshots every 20 entries and no log kept behind them, a node that misses 60 writes
    // can only catch up by installing the leader's snapshot.
    let mut cluster = TestCluster::start_with(3, |config| {
        config.raft.snapshot_logs = 20;
        config.raft.logs_kept_after_snapshot = 0;
    })
    .await;
    let leader = cluster.leader_index().await;
    let lagging = (0..3).find(|index| *index != leader).unwrap();
    cluster.crash(lagging).await;
    for number in 0..60 {
        assert_eq!(create_namespace(&cluster.url(leader), &format!("ns-{number:03}")).await, 201);
    }
    let purged = cluster.running(leader).node.raft().metrics().borrow().purged;
    assert!(purged.is_some_and(|log_id| log_id.index >= 20), "leader purged its log behind a snapshot: {purged:?}");

    cluster.restart(lagging).await;
    let base = cluster.url(lagging);
    eventually("lagging node has all 60 namespaces", Duration::from_secs(20), || async {
        (namespaces(&base, "stale").await?.len() == 60).then_some(())
    })
    .await;
    let snapshot = cluster.running(lagging).node.raft().metrics().borrow().snapshot;
    assert!(snapshot.is_some(), "the lagging node holds a snapshot after catching up");
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_of_every_process_keeps_every_acknowledged_write() {
    // Real processes: acknowledged writes are on disk before they are acknowledged, so SIGKILL of
    // the whole cluster and a restart lose none of them; the cluster also survives a leader SIGKILL.
    let mut cluster = ProcessCluster::start(3);
    for index in 0..3 {
        cluster.wait_ready(index).await;
    }
    let mut acknowledged = Vec::new();
    for number in 0..30 {
        let name = format!("durable-{number:02}");
        if create_namespace(&cluster.url(number % 3), &name).await == 201 {
            acknowledged.push(name);
        }
    }
    assert_eq!(acknowledged.len(), 30);

    let leader = cluster.leader_index(0).await;
    cluster.kill(leader);
    let survivor = (leader + 1) % 3;
    let started = Instant::now();
    eventually("a write after leader SIGKILL", Duration::from_secs(15), || async {
        (create_namespace(&cluster.url(survivor), "after-leader-kill").await == 201).then_some(())
    })
    .await;
    println!("leader SIGKILL -> first acknowledged write: {:?}", started.elapsed());
    acknowledged.push("after-leader-kill".to_string());

    cluster.kill_all();
    for index in 0..3 {
        cluster.spawn(index);
    }
    for index in 0..3 {
        cluster.wait_ready(index).await;
    }
    acknowledged.sort();
    for index in 0..3 {
        let seen = namespaces(&cluster.url(index), "linearizable").await;
        let stale = namespaces(&cluster.url(index), "stale").await;
        eprintln!("node {index} leader {leader} stale {stale:?}");
        assert_eq!(seen, Some(acknowledged.clone()), "node {}", index + 1);
    }
}

// A stray one-node cluster started on the address of a crashed member (a reused port) is not
// adopted by the first cluster: its raft refuses the first cluster's messages (another cluster
// id), so it keeps leading itself while the first cluster goes on writing without it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stray_cluster_on_a_reused_address_is_refused() {
    let mut cluster = TestCluster::start(3).await;
    // A new election first, so the cluster's term is above the stray node's.
    let first_leader = cluster.leader_index().await;
    cluster.crash(first_leader).await;
    let leader = cluster.leader_index().await;
    cluster.restart(first_leader).await;
    let victim = (0..3).find(|index| *index != leader).expect("a follower");
    let reused = cluster.grpc_addr(victim);
    cluster.crash(victim).await;

    let data = tempfile::tempdir().expect("temporary directory");
    let listeners = eventually("the crashed member's port free", Duration::from_secs(10), || async {
        let grpc = tokio::net::TcpListener::bind(&reused).await.ok()?;
        let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.ok()?;
        Some(shardkeeper::server::Listeners { http, grpc })
    })
    .await;
    let stray_config = shardkeeper::config::Config {
        node_id: 1,
        http_addr: listeners.http.local_addr().unwrap().to_string(),
        grpc_addr: reused.clone(),
        data_dir: data.path().join("stray"),
        initial_cluster: Some(format!("1={reused}")),
        ..shardkeeper::config::Config::default()
    };
    let stray = shardkeeper::server::start(stray_config, listeners).await.expect("stray node starts");
    eventually("the stray node leads itself", Duration::from_secs(10), || async {
        (stray.node.raft().metrics().borrow().current_leader == Some(1)).then_some(())
    })
    .await;

    let base = cluster.url(leader);
    for index in 0..20 {
        assert_eq!(create_namespace(&base, &format!("after-{index}")).await, 201);
    }
    let metrics = stray.node.raft().metrics().borrow().clone();
    assert_eq!(metrics.current_leader, Some(1), "the stray node followed another cluster's leader");
    let stray_members: Vec<u64> = metrics.membership_config.membership().voter_ids().collect();
    assert_eq!(stray_members, vec![1]);
    assert_ne!(stray.node.identity().get(), cluster.running(leader).node.identity().get());
    stray.shutdown().await;
    cluster.shutdown().await;
}
