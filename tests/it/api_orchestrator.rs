//! The orchestrator v2 flavor (/api/v2) on a real three-node shardkeeper cluster: its envelope and
//! codes, its name / alias / instance-key resolution, orchestrator's field names and ASCII
//! topology, and a planned switchover seen through it, against real MariaDB servers.

use std::time::Duration;

use serde_json::{json, Value};
use shardkeeper::config::ProxySqlConfig;
use shardkeeper::meta::Secret;

use crate::harness::{eventually, get_json, http, post_json, TestCluster};
use crate::mariadb::{start_many, MariaDbServer, ADMIN_PASSWORD, ADMIN_USER};

/// How long shardkeeper may take to set up replication or finish a switchover here.
const REPAIR_WITHIN: Duration = Duration::from_secs(60);

/// GET `base` + `path`, answering (status, body), where a v2 body is always an envelope.
async fn v2(base: &str, path: &str) -> (u16, Value) {
    let (status, body) = get_json(&format!("{base}/api/v2{path}")).await;
    let expected = if status == 200 { "ok" } else { "error" };
    assert_eq!(body["status"], expected, "GET /api/v2{path} answered {status} {body}");
    (status, body)
}

/// The `data` of a 200 answer.
async fn v2_data(base: &str, path: &str) -> Value {
    let (status, body) = v2(base, path).await;
    assert_eq!(status, 200, "GET /api/v2{path}: {body}");
    body["data"].clone()
}

/// Checks that GET `path` fails with `status` and `code`.
async fn v2_error(base: &str, path: &str, status: u16, code: &str) {
    let (got, body) = v2(base, path).await;
    assert_eq!((got, body["error"]["code"].as_str()), (status, Some(code)), "GET /api/v2{path}: {body}");
    assert!(body["error"]["message"].as_str().is_some_and(|message| !message.is_empty()), "{body}");
}

fn key(addr: &str) -> Value {
    let (host, port) = addr.rsplit_once(':').unwrap();
    json!({"Hostname": host, "Port": port.parse::<u16>().unwrap()})
}

/// Creates namespace `ns` and cluster `ns/c` of one shard over `nodes` through the native API.
async fn create_cluster(base: &str, nodes: &[String]) {
    let (status, body) = post_json(&format!("{base}/api/v1/namespaces"), json!({"namespace": "ns"})).await;
    assert_eq!(status, 201, "{body}");
    let create = json!({"name": "c", "nodes": nodes, "replicas": 3, "user": ADMIN_USER, "password": ADMIN_PASSWORD});
    let (status, body) = post_json(&format!("{base}/api/v1/namespaces/ns/clusters"), create).await;
    assert_eq!(status, 201, "{body}");
}

/// (node id, addr) of every node of shard 0, as the native API declares them; the master first.
async fn declared(base: &str) -> Vec<(String, String)> {
    let (status, body) = get_json(&format!("{base}/api/v1/namespaces/ns/clusters/c")).await;
    assert_eq!(status, 200, "{body}");
    let mut nodes: Vec<(bool, String, String)> = body["data"]["cluster"]["shards"][0]["nodes"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|node| {
            (node["role"] != "master", node["id"].as_str().unwrap().into(), node["addr"].as_str().unwrap().into())
        })
        .collect();
    nodes.sort();
    nodes.into_iter().map(|(_, id, addr)| (id, addr)).collect()
}

/// Shard 0 of `ns/c` reports nothing but AllHealthy.
async fn wait_all_healthy(base: &str) {
    let url = format!("{base}/api/v1/namespaces/ns/clusters/c/health");
    eventually("shard 0 all healthy", REPAIR_WITHIN, || async {
        let (status, body) = get_json(&url).await;
        let kinds: Vec<&str> = body["data"]["shards"][0]["findings"]
            .as_array()?
            .iter()
            .filter_map(|finding| finding["kind"].as_str())
            .collect();
        (status == 200 && kinds == ["AllHealthy"]).then_some(())
    })
    .await;
}

/// The lines of a topology, each split into (indentation + marker + key, description).
fn topology_lines(topology: &str) -> Vec<(String, String)> {
    let columns: Vec<usize> = topology.lines().map(|line| line.find('[').expect("a [ on every line")).collect();
    assert!(columns.windows(2).all(|pair| pair[0] == pair[1]), "the [ column is aligned:\n{topology}");
    topology
        .lines()
        .map(|line| {
            let (head, description) = line.split_at(line.find('[').unwrap());
            (head.trim_end().to_string(), description.to_string())
        })
        .collect()
}

// The v2 envelope and every refusal on a cluster whose servers do not exist: unknown names 404,
// bad ports and pages 400, ProxySQL not configured 503 (unreachable 500), unknown routes 404 and
// wrong methods 405, all in the v2 envelope; the declared topology still shows, marked invalid.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn envelope_errors_and_a_declared_only_topology() {
    let unreachable_proxysql = ProxySqlConfig {
        addr: "127.0.0.1:1".to_string(),
        user: "radmin".to_string(),
        password: Secret::new("pr0xy-s3cret"),
    };
    let cluster = TestCluster::start_with(3, |config| {
        if config.node_id == 2 {
            config.proxysql = Some(unreachable_proxysql.clone());
        }
    })
    .await;
    let base = cluster.url(0);
    let nodes = ["db1.invalid:3306", "db2.invalid:3306", "db3.invalid:3306"].map(String::from);
    create_cluster(&base, &nodes).await;
    let master = declared(&base).await[0].1.clone();

    let clusters = v2_data(&base, "/clusters").await;
    assert_eq!(clusters.as_array().map(Vec::len), Some(1), "{clusters}");
    assert_eq!(clusters[0]["ClusterName"], json!(master));
    assert_eq!(clusters[0]["ClusterAlias"], json!("ns.c.0"));
    assert_eq!(clusters[0]["CountInstances"], json!(3));

    let instances = v2_data(&base, "/clusters/ns.c.0/instances").await;
    let instances = instances.as_array().cloned().unwrap_or_default();
    assert_eq!(instances.len(), 3);
    assert_eq!(instances[0]["Key"], key(&master), "master first");
    assert!(instances.iter().all(|instance| instance["IsLastCheckValid"] == json!(false)), "{instances:?}");
    assert!(instances[1..].iter().all(|instance| instance["MasterKey"] == key(&master)), "declared source");

    let topology = v2_data(&base, "/clusters/ns.c.0/topology").await;
    assert_eq!(topology["clusterName"], json!(master));
    let lines = topology_lines(topology["topology"].as_str().unwrap());
    assert_eq!(lines.len(), 3, "{topology}");
    assert_eq!(lines[0].0, master);
    for (head, description) in &lines {
        assert!(description.starts_with("[unknown,invalid,"), "{head} {description}");
    }
    assert!(lines[1..].iter().all(|(head, _)| head.starts_with("- ")), "{lines:?}");

    v2_error(&base, "/clusters/nope:3306", 404, "NOT_FOUND").await;
    v2_error(&base, "/clusters/ns.c.1/instances", 404, "NOT_FOUND").await;
    v2_error(&base, "/clusters/ns.c/topology", 404, "NOT_FOUND").await;
    v2_error(&base, "/instances/db1.invalid/abc", 400, "BAD_REQUEST").await;
    v2_error(&base, "/instances/db1.invalid/0", 400, "BAD_REQUEST").await;
    v2_error(&base, "/instances/db1.invalid/65536", 400, "BAD_REQUEST").await;
    v2_error(&base, "/instances/db9.invalid/3306", 404, "NOT_FOUND").await;
    v2_error(&base, "/recoveries?page=abc", 400, "BAD_REQUEST").await;
    v2_error(&base, "/recoveries?page=-1", 400, "BAD_REQUEST").await;
    v2_error(&base, "/clusters?consistency=eventual", 400, "BAD_REQUEST").await;
    v2_error(&base, "/proxysql/servers", 503, "PROXYSQL_NOT_CONFIGURED").await;
    v2_error(&base, "/no/such/route", 404, "NOT_FOUND").await;
    v2_error(&base, "", 404, "NOT_FOUND").await;

    let (status, body) = v2(&cluster.url(1), "/proxysql/servers").await;
    assert_eq!((status, body["error"]["code"].as_str()), (500, Some("PROXYSQL_ERROR")), "{body}");
    assert!(!body.to_string().contains("pr0xy-s3cret"), "{body}");

    let response = http().post(format!("{base}/api/v2/clusters")).json(&json!({})).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 405);
    let body: Value = response.json().await.unwrap();
    assert_eq!((body["status"].as_str(), body["error"]["code"].as_str()), (Some("error"), Some("METHOD_NOT_ALLOWED")));

    assert_eq!(v2_data(&base, "/recoveries").await, json!([]));
    assert_eq!(v2_data(&base, "/recoveries?page=3&cluster=ns.c.0").await, json!([]));
    assert_eq!(v2_data(&base, "/recoveries/active").await, json!([]));
    assert_eq!(v2_data(&base, "/clusters/ns.c.0?consistency=stale").await["ClusterName"], json!(master));
    let status = v2_data(&cluster.url(2), "/status").await;
    assert_eq!(status["Healthy"], json!(true), "{status}");
    assert_eq!(status["RaftHealthyMembers"].as_array().map(Vec::len), Some(3), "{status}");

    cluster.shutdown().await;
}

// Three blank MariaDB servers managed by shardkeeper, seen through /api/v2: the shard is one
// cluster named by its master and resolvable by alias or any member; instances carry
// orchestrator's fields; the topology is orchestrator's tree. After a planned switchover the
// cluster is named by the new master, the topology starts with it and /recoveries lists it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_real_shard_through_a_planned_switchover() {
    let (cluster, servers) = tokio::join!(TestCluster::start(3), start_many(3, 301));
    let base = cluster.url(0);
    let addrs: Vec<String> = servers.iter().map(MariaDbServer::addr).collect();
    create_cluster(&base, &addrs).await;
    wait_all_healthy(&base).await;
    let nodes = declared(&base).await;
    let (old_master_id, old_master) = nodes[0].clone();
    let replicas: Vec<String> = nodes[1..].iter().map(|(_, addr)| addr.clone()).collect();
    let server_of = |addr: &str| servers.iter().find(|server| server.addr() == addr).expect("a server");

    // Clusters: one, named by the master; resolvable by name, alias and any member's key.
    let clusters = v2_data(&base, "/clusters").await;
    let info = &clusters[0];
    assert_eq!(clusters.as_array().map(Vec::len), Some(1), "{clusters}");
    assert_eq!(info["ClusterName"], json!(old_master));
    assert_eq!(info["ClusterAlias"], json!("ns.c.0"));
    assert_eq!(info["CountInstances"], json!(3));
    assert_eq!(info["MasterKey"], key(&old_master));
    assert_eq!(info["HasAutomatedMasterRecovery"], json!(true));
    for hint in [old_master.as_str(), "ns.c.0", replicas[0].as_str(), replicas[1].as_str()] {
        let resolved = v2_data(&base, &format!("/clusters/{hint}")).await;
        assert_eq!(
            (&resolved["ClusterName"], &resolved["ClusterAlias"]),
            (&info["ClusterName"], &info["ClusterAlias"])
        );
    }

    // Instances: master first, then its replicas, with what the servers report.
    let instances = eventually("every instance checked and replicating", REPAIR_WITHIN, || async {
        let instances = v2_data(&base, "/clusters/ns.c.0/instances").await.as_array().cloned()?;
        let ready = instances.iter().all(|instance| instance["IsLastCheckValid"] == json!(true))
            && instances[1..].iter().all(|instance| instance["ReplicationIOThreadRuning"] == json!(true));
        ready.then_some(instances)
    })
    .await;
    assert_eq!(instances.len(), 3);
    let master = &instances[0];
    assert_eq!(master["Key"], key(&old_master));
    assert_eq!(master["ServerID"], json!(server_of(&old_master).server_id()));
    assert_eq!((master["ReadOnly"].clone(), master["ReplicationDepth"].clone()), (json!(false), json!(0)));
    assert_eq!(master["FlavorName"], json!("MariaDB"));
    assert!(master["Version"].as_str().is_some_and(|version| version.contains("MariaDB")), "{master}");
    assert_eq!((master["Role"].clone(), master["NodeId"].clone()), (json!("master"), json!(old_master_id)));
    let mut listed = master["Replicas"].as_array().cloned().unwrap_or_default();
    listed.sort_by_key(|key| key["Port"].as_u64());
    let mut expected: Vec<Value> = replicas.iter().map(|addr| key(addr)).collect();
    expected.sort_by_key(|key| key["Port"].as_u64());
    assert_eq!(listed, expected);
    for replica in &instances[1..] {
        let addr = format!("{}:{}", replica["Key"]["Hostname"].as_str().unwrap(), replica["Key"]["Port"]);
        assert_eq!(replica["ServerID"], json!(server_of(&addr).server_id()));
        assert_eq!(replica["MasterKey"], key(&old_master));
        assert_eq!(replica["ReadOnly"], json!(true));
        assert_eq!(replica["ReplicationSQLThreadRuning"], json!(true));
        assert_eq!(replica["UsingMariaDBGTID"], json!(true));
        assert_eq!(replica["ReplicationDepth"], json!(1));
        assert_eq!(replica["SecondsBehindMaster"]["Valid"], json!(true));
        assert_eq!(replica["ClusterName"], json!(old_master));
        assert_eq!(replica["SuggestedClusterAlias"], json!("ns.c.0"));
        assert_eq!(replica["GtidErrant"], json!(""));
    }
    let (host, port) = replicas[0].rsplit_once(':').unwrap();
    let one = v2_data(&base, &format!("/instances/{host}/{port}")).await;
    assert_eq!((one["Key"].clone(), one["MasterKey"].clone()), (key(&replicas[0]), key(&old_master)));
    v2_error(&base, &format!("/instances/{host}/abc"), 400, "BAD_REQUEST").await;
    v2_error(&base, &format!("/instances/{host}/1"), 404, "NOT_FOUND").await;
    v2_error(&base, "/clusters/ns.c.9", 404, "NOT_FOUND").await;

    // Topology: orchestrator's tree, master first.
    let topology = v2_data(&base, &format!("/clusters/{old_master}/topology")).await;
    assert_eq!(topology["clusterName"], json!(old_master));
    let lines = topology_lines(topology["topology"].as_str().unwrap());
    assert_eq!(lines.len(), 3, "{topology}");
    assert_eq!(lines[0].0, old_master);
    assert!(lines[0].1.starts_with("[0s,ok,") && lines[0].1.contains(",rw,"), "{topology}");
    for (head, description) in &lines[1..] {
        assert!(replicas.iter().any(|replica| head == &format!("+ {replica}")), "{topology}");
        assert!(description.contains(",ok,") && description.contains(",ro,"), "{topology}");
        assert!(description.contains(">>") && description.contains("GTID"), "{topology}");
    }

    // Status: every node healthy, one of them the raft leader.
    let mut leaders = 0;
    for index in 0..cluster.size() {
        let status = v2_data(&cluster.url(index), "/status").await;
        assert_eq!(status["Healthy"], json!(true), "{status}");
        assert_eq!(status["AvailableNodes"].as_array().map(Vec::len), Some(3), "{status}");
        leaders += usize::from(status["IsRaftLeader"] == json!(true));
    }
    assert_eq!(leaders, 1);
    assert_eq!(v2_data(&base, "/recoveries").await, json!([]));
    v2_error(&base, "/proxysql/servers", 503, "PROXYSQL_NOT_CONFIGURED").await;

    // A planned switchover through the native API.
    let url = format!("{base}/api/v1/namespaces/ns/clusters/c/shards/0/failover");
    let (status, body) = post_json(&url, json!({})).await;
    assert_eq!(status, 200, "{body}");
    let new_master_id = body["data"]["new_master_id"].as_str().expect("new_master_id").to_string();
    let (_, new_master) = declared(&base).await[0].clone();
    assert_ne!(new_master, old_master);
    assert_eq!(declared(&base).await[0].0, new_master_id);

    // The cluster is now named by the new master, under any of its names, old ones included.
    for hint in ["ns.c.0", new_master.as_str(), old_master.as_str()] {
        let info = v2_data(&base, &format!("/clusters/{hint}")).await;
        assert_eq!(info["ClusterName"], json!(new_master), "resolving {hint}");
        assert_eq!(info["MasterKey"], key(&new_master));
    }
    wait_all_healthy(&base).await;
    let topology = eventually("the topology rebuilt under the new master", REPAIR_WITHIN, || async {
        let topology = v2_data(&base, "/clusters/ns.c.0/topology").await;
        let lines = topology_lines(topology["topology"].as_str()?);
        let settled = lines.len() == 3
            && lines[1..].iter().all(|(head, description)| head.starts_with("+ ") && description.contains(",ok,"));
        settled.then_some((topology, lines))
    })
    .await;
    let (topology, lines) = topology;
    assert_eq!(topology["clusterName"], json!(new_master));
    assert_eq!(lines[0].0, new_master, "{topology}");
    assert!(lines[0].1.contains(",rw,"), "{topology}");
    assert!(lines.iter().any(|(head, _)| head == &format!("+ {old_master}")), "old master re-attached: {topology}");

    // The switchover is on record, found by alias and by the cluster's names, old and new.
    let recoveries = v2_data(&base, "/recoveries?alias=ns.c.0").await;
    assert_eq!(recoveries.as_array().map(Vec::len), Some(1), "{recoveries}");
    let recovery = &recoveries[0];
    assert_eq!(recovery["AnalysisEntry"]["Analysis"], json!("Switchover"));
    assert_eq!(recovery["AnalysisEntry"]["AnalyzedInstanceKey"], key(&old_master));
    assert_eq!(recovery["AnalysisEntry"]["ClusterDetails"]["ClusterAlias"], json!("ns.c.0"));
    assert_eq!(recovery["AnalysisEntry"]["ClusterDetails"]["ClusterName"], json!(old_master));
    assert_eq!(recovery["SuccessorKey"], key(&new_master));
    assert_eq!((recovery["IsSuccessful"].clone(), recovery["IsActive"].clone()), (json!(true), json!(false)));
    assert_eq!(recovery["Kind"], json!("switchover"));
    assert_eq!(recovery["AllErrors"], json!([]));
    assert!(recovery["RecoveryEndTimestamp"].as_str().is_some_and(|end| !end.is_empty()), "{recovery}");
    for filter in [format!("cluster={new_master}"), format!("cluster={old_master}"), "cluster=ns.c.0".to_string()] {
        assert_eq!(&v2_data(&base, &format!("/recoveries?{filter}")).await, &recoveries, "{filter}");
    }
    assert_eq!(v2_data(&base, "/recoveries?alias=ns.c.1").await, json!([]));
    assert_eq!(v2_data(&base, "/recoveries?alias=ns.c.0&page=1").await, json!([]));
    assert_eq!(v2_data(&base, "/recoveries/active").await, json!([]));
    assert_eq!(v2_data(&cluster.url(2), "/recoveries").await, recoveries, "any node answers");

    cluster.shutdown().await;
}
