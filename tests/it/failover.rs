//! Failover, switchover and repair against real MariaDB servers managed by a real three-node
//! shardkeeper cluster (in-process nodes over loopback sockets).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use serde_json::{json, Value};
use shardkeeper::meta::{Command, NodeRef, RecoveryIntent, RecoveryKind};

use crate::harness::{eventually, get_json, post_json, TestCluster};
use crate::mariadb::{start_many, MariaDbServer, ADMIN_PASSWORD, ADMIN_USER};

/// How long shardkeeper may take to set up replication or finish a failover in these tests.
const REPAIR_WITHIN: Duration = Duration::from_secs(30);

/// Three MariaDB servers registered as one shard of cluster `ns/c` on a three-node shardkeeper.
pub(crate) struct Fleet {
    pub(crate) shardkeeper: TestCluster,
    pub(crate) servers: Vec<MariaDbServer>,
}

impl Fleet {
    /// Blank servers with ids `first_server_id..+3`; the first is declared master.
    pub(crate) async fn start(first_server_id: u32, policy: Value) -> Fleet {
        Self::start_with(first_server_id, policy, |_| {}).await
    }

    /// As `start`, with each shardkeeper node's config adjusted by `tune` (routes, say).
    pub(crate) async fn start_with(first_server_id: u32, policy: Value, tune: impl Fn(&mut shardkeeper::config::Config)) -> Fleet {
        let (shardkeeper, servers) = tokio::join!(TestCluster::start_with(3, tune), start_many(3, first_server_id));
        let fleet = Fleet { shardkeeper, servers };
        let base = fleet.base();
        let (status, body) = post_json(&format!("{base}/api/v1/namespaces"), json!({"namespace": "ns"})).await;
        assert_eq!(status, 201, "{body}");
        let nodes: Vec<String> = fleet.servers.iter().map(MariaDbServer::addr).collect();
        let create = json!({
            "name": "c", "nodes": nodes, "replicas": 3,
            "user": ADMIN_USER, "password": ADMIN_PASSWORD, "policy": policy,
        });
        let (status, body) = post_json(&format!("{base}/api/v1/namespaces/ns/clusters"), create).await;
        assert_eq!(status, 201, "{body}");
        fleet
    }

    fn base(&self) -> String {
        self.shardkeeper.url(0)
    }

    pub(crate) fn cluster_url(&self) -> String {
        format!("{}/api/v1/namespaces/ns/clusters/c", self.base())
    }

    /// The kinds of shard 0's findings.
    async fn findings(&self) -> Vec<String> {
        let (status, body) = get_json(&format!("{}/health", self.cluster_url())).await;
        if status != 200 {
            return vec![format!("http {status}: {body}")];
        }
        body["data"]["shards"][0]["findings"]
            .as_array()
            .map(|findings| findings.iter().map(|finding| finding["kind"].as_str().unwrap_or("?").to_string()).collect())
            .unwrap_or_default()
    }

    pub(crate) async fn wait_all_healthy(&self) {
        eventually("shard 0 all healthy", REPAIR_WITHIN, || async {
            (self.findings().await == ["AllHealthy"]).then_some(())
        })
        .await;
    }

    /// Waits until the leader's latest probe of the master saw semi-sync replication active, so a
    /// failover judges the master's last state as semi-synchronous (else it records possible loss).
    async fn wait_master_observed_semi_sync(&self, master_id: &str) {
        eventually("the master observed with semi-sync active", REPAIR_WITHIN, || async {
            let (status, body) = get_json(&format!("{}/observations", self.cluster_url())).await;
            (status == 200 && body["data"]["nodes"][master_id]["state"]["semi_sync_source_active"] == true).then_some(())
        })
        .await;
    }

    /// (node id, addr) of shard 0's declared master.
    pub(crate) async fn master(&self) -> (String, String) {
        let (status, body) = get_json(&self.cluster_url()).await;
        assert_eq!(status, 200, "{body}");
        let nodes = body["data"]["cluster"]["shards"][0]["nodes"].as_array().cloned().unwrap_or_default();
        let master = nodes.iter().find(|node| node["role"] == "master").expect("a master");
        (master["id"].as_str().unwrap().to_string(), master["addr"].as_str().unwrap().to_string())
    }

    pub(crate) fn server(&self, addr: &str) -> &MariaDbServer {
        self.servers.iter().find(|server| server.addr() == addr).expect("a server with that address")
    }

    pub(crate) fn index_of(&self, addr: &str) -> usize {
        self.servers.iter().position(|server| server.addr() == addr).expect("a server with that address")
    }

    async fn recoveries(&self) -> Vec<Value> {
        let (status, body) = get_json(&format!("{}/recoveries", self.cluster_url())).await;
        assert_eq!(status, 200, "{body}");
        body["data"]["recoveries"].as_array().cloned().unwrap_or_default()
    }
}

/// Inserts row `id` as the application user on `server`; Ok only when the commit was acknowledged.
async fn insert_row(server: &MariaDbServer, id: u64) -> Result<(), String> {
    let opts = server.app_opts();
    let attempt = async {
        let mut conn = mysql_async::Conn::new(opts).await.map_err(|error| error.to_string())?;
        conn.query_drop("CREATE TABLE IF NOT EXISTS rows_t (id BIGINT PRIMARY KEY)").await.map_err(|error| error.to_string())?;
        conn.query_drop(format!("INSERT INTO rows_t (id) VALUES ({id})")).await.map_err(|error| error.to_string())?;
        let _ = conn.disconnect().await;
        Ok(())
    };
    tokio::time::timeout(Duration::from_secs(3), attempt).await.unwrap_or_else(|_| Err("timed out".to_string()))
}

/// The ids in `app.rows_t` on `server` (none when the table is not there yet).
pub(crate) async fn row_ids(server: &MariaDbServer) -> BTreeSet<u64> {
    server
        .try_query_strings("SELECT id FROM app.rows_t")
        .await
        .unwrap_or_default()
        .into_iter()
        .filter_map(|row| row.into_iter().next().flatten()?.parse().ok())
        .collect()
}

async fn replicates_from(replica: &MariaDbServer, master: &MariaDbServer) -> bool {
    let Ok(mut conn) = mysql_async::Conn::new(replica.admin_opts()).await else { return false };
    let status: Option<mysql_async::Row> = conn.query_first("SHOW SLAVE STATUS").await.ok().flatten();
    let _ = conn.disconnect().await;
    let Some(row) = status else { return false };
    let port: Option<u16> = row.get("Master_Port");
    let io: Option<String> = row.get("Slave_IO_Running");
    let read_only = replica.query_value("SELECT @@read_only").await;
    port == Some(master.port()) && io.as_deref() == Some("Yes") && read_only.as_deref() == Some("1")
}

async fn is_writable(server: &MariaDbServer) -> bool {
    let Ok(mut conn) = mysql_async::Conn::new(server.admin_opts()).await else { return false };
    let read_only: Option<u8> = conn.query_first("SELECT @@read_only").await.ok().flatten();
    let _ = conn.disconnect().await;
    read_only == Some(0)
}

// Blank servers registered as one shard end up replicating as declared: the master writable with
// semi-sync on, the replicas read-only and replicating with GTID; an application row written on
// the master reaches both replicas, and the application cannot write to a replica.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn blank_servers_replicate_as_declared() {
    let fleet = Fleet::start(101, json!({})).await;
    fleet.wait_all_healthy().await;
    let (_, master_addr) = fleet.master().await;
    let master = fleet.server(&master_addr);
    assert_eq!(master_addr, fleet.servers[0].addr(), "the first node is the declared master");
    insert_row(master, 1).await.expect("the application writes to the master");
    let semi_sync = master.query_strings("SHOW STATUS LIKE 'Rpl_semi_sync_master_status'").await;
    assert_eq!(semi_sync[0][1].as_deref(), Some("ON"), "semi-sync is active on the master");
    for replica in &fleet.servers[1..] {
        assert!(replicates_from(replica, master).await, "{} replicates from the master", replica.addr());
        eventually("the row on the replica", REPAIR_WITHIN, || async { row_ids(replica).await.contains(&1).then_some(()) })
            .await;
        assert!(insert_row(replica, 2).await.is_err(), "the application cannot write to a read-only replica");
    }
    fleet.shardkeeper.shutdown().await;
}

// SIGKILL of the primary: shardkeeper promotes a replica, the other replica follows it, every row
// acknowledged before the kill (semi-sync on) is on the new primary, the application writes to it,
// and the killed primary, restarted writable by its config, is fenced and re-attached read-only.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_of_the_primary_fails_over_and_the_old_primary_rejoins() {
    let fleet = Fleet::start(111, json!({})).await;
    fleet.wait_all_healthy().await;
    let (old_master_id, old_master_addr) = fleet.master().await;
    fleet.wait_master_observed_semi_sync(&old_master_id).await;
    let acknowledged: BTreeSet<u64> = {
        let master = fleet.server(&old_master_addr);
        let mut acknowledged = BTreeSet::new();
        for id in 1..=50 {
            insert_row(master, id).await.expect("write before the kill");
            acknowledged.insert(id);
        }
        acknowledged
    };
    let killed = fleet.index_of(&old_master_addr);
    let kill_time = Instant::now();
    fleet.servers[killed].kill();

    let new_master_addr = eventually("a new master in metadata, writable", REPAIR_WITHIN, || async {
        let (id, addr) = fleet.master().await;
        (id != old_master_id && is_writable(fleet.server(&addr)).await).then_some(addr)
    })
    .await;
    println!("primary SIGKILL -> new primary writable and committed: {} ms", kill_time.elapsed().as_millis());
    let new_master = fleet.server(&new_master_addr);
    assert_eq!(row_ids(new_master).await, acknowledged, "every acknowledged row is on the new primary");
    insert_row(new_master, 1000).await.expect("the application writes to the new primary");
    let other = fleet.servers.iter().find(|server| server.addr() != old_master_addr && server.addr() != new_master_addr).unwrap();
    eventually("the other replica follows the new primary", REPAIR_WITHIN, || async {
        (replicates_from(other, new_master).await && row_ids(other).await.contains(&1000)).then_some(())
    })
    .await;
    let recoveries = fleet.recoveries().await;
    assert_eq!(recoveries.len(), 1, "{recoveries:?}");
    assert_eq!(recoveries[0]["state"], "succeeded", "{:?}", recoveries[0]);
    assert_eq!(recoveries[0]["failed_node"]["addr"], old_master_addr.as_str());
    assert_eq!(recoveries[0]["successor"]["addr"], new_master_addr.as_str());
    assert_eq!(recoveries[0]["data_loss_possible"], false, "{:?}", recoveries[0]);

    fleet.servers[killed].restart().await;
    let old = &fleet.servers[killed];
    eventually("the old primary re-attached read-only", REPAIR_WITHIN, || async {
        replicates_from(old, new_master).await.then_some(())
    })
    .await;
    eventually("the old primary has the new row", REPAIR_WITHIN, || async { row_ids(old).await.contains(&1000).then_some(()) })
        .await;
    fleet.wait_all_healthy().await;
    fleet.shardkeeper.shutdown().await;
}

// SIGSTOP of the primary (no TCP reset): the replicas notice through the replication heartbeat,
// shardkeeper's probes time out, and the failover follows.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigstop_of_the_primary_fails_over() {
    let fleet = Fleet::start(121, json!({})).await;
    fleet.wait_all_healthy().await;
    let (old_master_id, old_master_addr) = fleet.master().await;
    insert_row(fleet.server(&old_master_addr), 1).await.expect("write before the pause");
    fleet.server(&old_master_addr).pause();
    let new_master_addr = eventually("a new writable master", Duration::from_secs(60), || async {
        let (id, addr) = fleet.master().await;
        (id != old_master_id && is_writable(fleet.server(&addr)).await).then_some(addr)
    })
    .await;
    assert!(row_ids(fleet.server(&new_master_addr)).await.contains(&1));
    fleet.server(&old_master_addr).resume();
    let old = fleet.server(&old_master_addr);
    let new_master = fleet.server(&new_master_addr);
    eventually("the paused primary re-attached after it resumes", REPAIR_WITHIN, || async {
        replicates_from(old, new_master).await.then_some(())
    })
    .await;
    fleet.shardkeeper.shutdown().await;
}

// A planned switchover while an application writes continuously (always to the master shardkeeper
// names): the switchover answers the new master, and no acknowledged write is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn planned_switchover_under_writes_loses_nothing() {
    let fleet = Fleet::start(131, json!({})).await;
    fleet.wait_all_healthy().await;
    let (old_master_id, _) = fleet.master().await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let fleet = &fleet;
        async move {
            let mut acknowledged = BTreeSet::new();
            let mut gaps = Vec::new();
            let mut last_ok = Instant::now();
            let mut id = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                id += 1;
                let (_, addr) = fleet.master().await;
                if insert_row(fleet.server(&addr), id).await.is_ok() {
                    acknowledged.insert(id);
                    gaps.push(last_ok.elapsed());
                    last_ok = Instant::now();
                }
            }
            (acknowledged, gaps.into_iter().max().unwrap_or_default())
        }
    };
    let switchover = async {
        eventually("some writes before the switchover", REPAIR_WITHIN, || async {
            (fleet.server(&fleet.master().await.1).try_query_value("SELECT COUNT(*) FROM app.rows_t").await.ok()??.parse::<u64>().ok()? > 20)
                .then_some(())
        })
        .await;
        let url = format!("{}/shards/0/failover", fleet.cluster_url());
        let (status, body) = post_json(&url, json!({})).await;
        assert_eq!(status, 200, "{body}");
        let new_master_id = body["data"]["new_master_id"].as_str().expect("new_master_id").to_string();
        assert_ne!(new_master_id, old_master_id);
        eventually("more writes after the switchover", REPAIR_WITHIN, || async {
            (fleet.server(&fleet.master().await.1).try_query_value("SELECT COUNT(*) FROM app.rows_t").await.ok()??.parse::<u64>().ok()? > 60)
                .then_some(())
        })
        .await;
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        new_master_id
    };
    let ((acknowledged, longest_gap), new_master_id) = tokio::join!(writer, switchover);
    let (master_id, master_addr) = fleet.master().await;
    assert_eq!(master_id, new_master_id);
    let rows = row_ids(fleet.server(&master_addr)).await;
    let lost: Vec<&u64> = acknowledged.difference(&rows).collect();
    assert!(lost.is_empty(), "acknowledged writes missing on the new master: {lost:?}");
    println!("switchover: {} acknowledged writes, longest write gap {} ms", acknowledged.len(), longest_gap.as_millis());
    fleet.wait_all_healthy().await;
    fleet.shardkeeper.shutdown().await;
}

// A replica with an errant transaction (written locally, not from the master) is reported and is
// never promoted when the master dies.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_with_an_errant_transaction_is_never_promoted() {
    let fleet = Fleet::start(141, json!({})).await;
    fleet.wait_all_healthy().await;
    let (old_master_id, old_master_addr) = fleet.master().await;
    insert_row(fleet.server(&old_master_addr), 1).await.expect("write");
    let errant = fleet.servers.iter().find(|server| server.addr() != old_master_addr).unwrap().addr();
    eventually("the row replicated", REPAIR_WITHIN, || async { row_ids(fleet.server(&errant)).await.contains(&1).then_some(()) })
        .await;
    fleet.server(&errant).exec("INSERT INTO app.rows_t (id) VALUES (999)").await;
    eventually("the errant transaction reported", REPAIR_WITHIN, || async {
        fleet.findings().await.iter().any(|kind| kind == "ErrantGtid").then_some(())
    })
    .await;
    let killed = fleet.index_of(&old_master_addr);
    fleet.servers[killed].kill();
    let new_master_addr = eventually("a new master", REPAIR_WITHIN, || async {
        let (id, addr) = fleet.master().await;
        (id != old_master_id).then_some(addr)
    })
    .await;
    assert_ne!(new_master_addr, errant, "the errant replica was promoted");
    fleet.shardkeeper.shutdown().await;
}

// The shardkeeper leader dies in the middle of a recovery (intent recorded, successor already
// promoted, nothing else done): the next leader finishes it, leaving exactly one writable primary,
// the other replica following it, and a consistent recovery record.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_new_leader_finishes_a_recovery_its_predecessor_began() {
    let mut fleet = Fleet::start(151, json!({"auto_failover": false})).await;
    fleet.wait_all_healthy().await;
    let (old_master_id, old_master_addr) = fleet.master().await;
    let (status, body) = get_json(&fleet.cluster_url()).await;
    assert_eq!(status, 200);
    let nodes = body["data"]["cluster"]["shards"][0]["nodes"].as_array().cloned().unwrap();
    let successor = nodes.iter().find(|node| node["role"] == "slave").unwrap();
    let successor = NodeRef { id: successor["id"].as_str().unwrap().into(), addr: successor["addr"].as_str().unwrap().into() };
    insert_row(fleet.server(&old_master_addr), 1).await.expect("write");
    eventually("the row replicated", REPAIR_WITHIN, || async {
        row_ids(fleet.server(&successor.addr)).await.contains(&1).then_some(())
    })
    .await;
    let killed = fleet.index_of(&old_master_addr);
    fleet.servers[killed].kill();
    eventually("the dead master seen", REPAIR_WITHIN, || async {
        fleet.findings().await.iter().any(|kind| kind == "DeadPrimary").then_some(())
    })
    .await;

    let leader = fleet.shardkeeper.leader_index().await;
    let intent = RecoveryIntent {
        namespace: "ns".into(),
        cluster: "c".into(),
        shard: 0,
        kind: RecoveryKind::Failover,
        finding: "DeadPrimary".into(),
        failed_node: NodeRef { id: old_master_id.clone(), addr: old_master_addr.clone() },
        successor: successor.clone(),
        started_at_ms: 0,
        data_loss_possible: false,
    };
    fleet.shardkeeper.running(leader).node.propose(Command::BeginRecovery(intent)).await.expect("intent recorded");
    fleet.server(&successor.addr).exec("STOP SLAVE; RESET SLAVE ALL; SET GLOBAL read_only = OFF").await;
    fleet.shardkeeper.crash(leader).await;

    let survivor = (0..3).find(|index| *index != leader).unwrap();
    let url = format!("{}/api/v1/namespaces/ns/clusters/c", fleet.shardkeeper.url(survivor));
    eventually("the recovery finished by the new leader", REPAIR_WITHIN, || async {
        let (status, body) = get_json(&format!("{url}/recoveries")).await;
        (status == 200 && body["data"]["recoveries"][0]["state"] == "succeeded").then_some(())
    })
    .await;
    let (_, body) = get_json(&url).await;
    let master = body["data"]["cluster"]["shards"][0]["nodes"].as_array().unwrap().iter().find(|n| n["role"] == "master").cloned();
    assert_eq!(master.unwrap()["id"], successor.id.as_str());
    let mut writable = 0;
    for server in fleet.servers.iter().filter(|server| server.addr() != old_master_addr) {
        writable += usize::from(is_writable(server).await);
    }
    assert_eq!(writable, 1, "exactly one writable primary among the live servers");
    let other = fleet.servers.iter().find(|s| s.addr() != old_master_addr && s.addr() != successor.addr).unwrap();
    eventually("the other replica follows the successor", REPAIR_WITHIN, || async {
        replicates_from(other, fleet.server(&successor.addr)).await.then_some(())
    })
    .await;
    fleet.shardkeeper.restart(leader).await;
    fleet.shardkeeper.shutdown().await;
}

// An old primary that returns holding a transaction the new primary never received (its replicas
// had stopped fetching, semi-sync off) is fenced, marked diverged with the reason, and left out of
// replication; the recovery record says data loss was possible.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_returning_primary_with_lost_transactions_is_marked_diverged() {
    let fleet = Fleet::start(171, json!({"semi_sync": false})).await;
    fleet.wait_all_healthy().await;
    let (old_master_id, old_master_addr) = fleet.master().await;
    insert_row(fleet.server(&old_master_addr), 1).await.expect("write");
    let replicas: Vec<&MariaDbServer> = fleet.servers.iter().filter(|server| server.addr() != old_master_addr).collect();
    for replica in &replicas {
        eventually("the row replicated", REPAIR_WITHIN, || async { row_ids(replica).await.contains(&1).then_some(()) }).await;
        replica.exec("STOP SLAVE IO_THREAD").await;
    }
    insert_row(fleet.server(&old_master_addr), 2).await.expect("a write only the old primary gets");
    let killed = fleet.index_of(&old_master_addr);
    fleet.servers[killed].kill();
    eventually("a new master", REPAIR_WITHIN, || async { (fleet.master().await.0 != old_master_id).then_some(()) }).await;
    let recoveries = fleet.recoveries().await;
    assert_eq!(recoveries[0]["data_loss_possible"], true, "{:?}", recoveries[0]);

    fleet.servers[killed].restart().await;
    let url = fleet.cluster_url();
    let reason = eventually("the old primary marked diverged", REPAIR_WITHIN, || async {
        let (_, body) = get_json(&url).await;
        let nodes = body["data"]["cluster"]["shards"][0]["nodes"].as_array()?.clone();
        let old = nodes.into_iter().find(|node| node["id"] == old_master_id.as_str())?;
        old["diverged"].as_str().map(str::to_string)
    })
    .await;
    assert!(reason.contains("lacks"), "{reason}");
    let old = fleet.server(&old_master_addr);
    assert_eq!(old.query_value("SELECT @@read_only").await.as_deref(), Some("1"), "the old primary stays read-only");
    assert!(old.query_strings("SHOW SLAVE STATUS").await.is_empty(), "the old primary is left out of replication");
    assert!(fleet.findings().await.iter().any(|kind| kind == "DivergedNode"));
    fleet.shardkeeper.shutdown().await;
}
