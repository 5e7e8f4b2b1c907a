//! The failover workloads: applications write unique rows into the demo shard, through the PRIMARY
//! route of a random shardkeeper node (`failover`) or straight to whichever MariaDB server
//! shardkeeper currently names as its master (`failover-direct`), while a sampler asks every
//! shardkeeper node which servers it names as masters. At the end the suite reads the rows back
//! from the final master and the `read_only` flag of every server (see `checker::failover`).

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{anyhow, bail};
use rand::seq::IndexedRandom;
use mysql_async::prelude::Queryable;
use serde_json::{json, Value};

use super::{pick_node, Client};
use crate::api::Outcome;
use crate::deployment::{self, Host, APP_DATABASE, APP_PASSWORD, APP_USER, DEMO_CLUSTER, DEMO_NAMESPACE};
use crate::history::EventKind;

const TABLE: &str = "jepsen_rows";
const STATEMENT_TIMEOUT: Duration = Duration::from_secs(3);

fn cluster_path() -> String {
    format!("/api/v1/namespaces/{DEMO_NAMESPACE}/clusters/{DEMO_CLUSTER}")
}

/// The addresses shardkeeper names as masters of shard 0 in a cluster view.
fn masters_of_shard_zero(data: &Value) -> Vec<String> {
    data.pointer("/cluster/shards/0/nodes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|node| node.get("role").and_then(Value::as_str) == Some("master"))
        .filter_map(|node| node.get("addr").and_then(Value::as_str).map(str::to_string))
        .collect()
}

/// The master shardkeeper names, asked of one node.
async fn current_master(client: &Client, node: &str) -> Result<&'static Host, String> {
    match client.api.get(node, &cluster_path()).await {
        Outcome::Ok { data, .. } => match masters_of_shard_zero(&data).as_slice() {
            [master] => deployment::database_server(master).ok_or_else(|| format!("unknown server {master}")),
            masters => Err(format!("shard 0 names {} masters", masters.len())),
        },
        Outcome::Fail { error, .. } | Outcome::Unknown { error } => Err(error),
    }
}

/// Logs in as the application to `name`, published on the host at 127.0.0.1:`port`.
async fn connect(name: &str, port: u16) -> anyhow::Result<mysql_async::Conn> {
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(port)
        .user(Some(APP_USER))
        .pass(Some(APP_PASSWORD))
        .db_name(Some(APP_DATABASE));
    tokio::time::timeout(Duration::from_secs(2), mysql_async::Conn::new(opts))
        .await
        .map_err(|_| anyhow!("connecting to {name} timed out"))?
        .map_err(|error| anyhow!("connecting to {name}: {error}"))
}

async fn connect_server(server: &Host) -> anyhow::Result<mysql_async::Conn> {
    connect(server.name, server.host_port).await
}

/// Creates the table on the current master (once; replicas receive it through replication).
pub async fn set_up(client: &Client, nodes: &[String]) -> anyhow::Result<()> {
    let mut last = String::new();
    for attempt in 0..60 {
        let node = &nodes[attempt % nodes.len()];
        match current_master(client, node).await {
            Ok(master) => match connect_server(master).await {
                Ok(mut conn) => {
                    let sql = format!("CREATE TABLE IF NOT EXISTS {TABLE} (id BIGINT PRIMARY KEY, process INT NOT NULL)");
                    match conn.query_drop(sql).await {
                        Ok(()) => return Ok(()),
                        Err(error) => last = error.to_string(),
                    }
                }
                Err(error) => last = error.to_string(),
            },
            Err(error) => last = error,
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    bail!("could not create {TABLE} on the demo shard's master: {last}")
}

/// Server errors that say the statement was refused before anything was committed.
fn refused_before_commit(code: u16) -> bool {
    // read-only server, read-only transaction, deadlock, lock wait timeout, duplicate key
    matches!(code, 1290 | 1792 | 1213 | 1205 | 1062)
}

/// How an application writer reaches the master.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WritePath {
    /// Through the PRIMARY route of a random shardkeeper node (workload `failover`): the router
    /// follows the master, the application never asks.
    Route,
    /// Straight to the server a random shardkeeper node names as master (workload `failover-direct`).
    Direct,
}

impl WritePath {
    pub fn workload(self) -> &'static str {
        match self {
            WritePath::Route => "failover",
            WritePath::Direct => "failover-direct",
        }
    }
}

/// Where the next insert goes: a route of a shardkeeper node or the named master server, with the
/// name recorded in the history and the host port to connect to.
async fn write_target(client: &Client, nodes: &[String], path: WritePath) -> Option<(&'static str, u16)> {
    match path {
        WritePath::Route => {
            let route = deployment::ROUTES.choose(&mut rand::rng()).expect("a route");
            Some((route.name, route.host_port))
        }
        WritePath::Direct => {
            let master = current_master(client, &pick_node(nodes)).await.ok()?;
            Some((master.name, master.host_port))
        }
    }
}

/// One application writer inserting unique rows. Its connection is kept while it works; after
/// any failure (or, directly, when another server is named master) it connects again.
pub async fn run_writer(client: Client, nodes: Vec<String>, path: WritePath) {
    let workload = path.workload();
    let process = client.recorder.new_process();
    let mut connection: Option<(&'static str, mysql_async::Conn)> = None;
    let mut next = 0u64;
    while !client.stopped() {
        let target = match (path, &connection) {
            (WritePath::Route, Some((name, _))) => Some((*name, 0)),
            _ => write_target(&client, &nodes, path).await,
        };
        let Some((name, port)) = target else {
            client.think(Duration::from_millis(100)).await;
            continue;
        };
        let row = (process << 32) | next;
        next += 1;
        let value = json!({"row": row, "server": name});
        client.invoke(process, workload, "insert", None, value.clone(), name);
        if connection.as_ref().is_none_or(|(connected, _)| *connected != name) {
            connection = match connect(name, port).await {
                Ok(conn) => Some((name, conn)),
                Err(error) => {
                    client.record(process, EventKind::Fail, workload, "insert", None, value, name, Some(error.to_string()));
                    client.think(Duration::from_millis(100)).await;
                    continue;
                }
            };
        }
        let (_, conn) = connection.as_mut().expect("connected above");
        let insert = conn.exec_drop(format!("INSERT INTO {TABLE} (id, process) VALUES (?, ?)"), (row, process));
        let (kind, error) = match tokio::time::timeout(STATEMENT_TIMEOUT, insert).await {
            Ok(Ok(())) => (EventKind::Ok, None),
            Ok(Err(mysql_async::Error::Server(error))) if refused_before_commit(error.code) => {
                (EventKind::Fail, Some(format!("{} ({})", error.message, error.code)))
            }
            Ok(Err(error)) => (EventKind::Info, Some(error.to_string())),
            Err(_) => (EventKind::Info, Some(format!("no answer within {STATEMENT_TIMEOUT:?}"))),
        };
        if kind != EventKind::Ok {
            connection = None;
        }
        client.record(process, kind, workload, "insert", None, value, name, error);
        client.think(Duration::from_millis(20)).await;
    }
}

/// Asks every shardkeeper node, a few times a second, which servers it names as masters of the
/// demo shard, and records each answer (`f` = `masters`, value `{"masters": [...]}`).
pub async fn run_sampler(client: Client, nodes: Vec<String>) {
    let process = client.recorder.new_process();
    while !client.stopped() {
        for node in &nodes {
            client.invoke(process, "failover", "masters", None, Value::Null, node);
            let (kind, value, error) = match client.api.get(node, &cluster_path()).await {
                Outcome::Ok { data, .. } => (EventKind::Ok, json!({"masters": masters_of_shard_zero(&data)}), None),
                Outcome::Fail { error, .. } | Outcome::Unknown { error } => (EventKind::Fail, Value::Null, Some(error)),
            };
            client.record(process, kind, "failover", "masters", None, value, node, error);
        }
        client.think(Duration::from_millis(250)).await;
    }
}

/// What the suite read from the servers once every fault was healed.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct FinalState {
    /// The master shardkeeper names (linearizable read).
    pub master: String,
    /// `read_only` of each server that answered, by name.
    pub read_only: HashMap<String, bool>,
    /// Every row id on the final master.
    pub rows: Vec<u64>,
}

async fn read_only(server: &Host) -> anyhow::Result<bool> {
    let mut conn = connect_server(server).await?;
    let flag: Option<u8> = tokio::time::timeout(STATEMENT_TIMEOUT, conn.query_first("SELECT @@global.read_only"))
        .await
        .map_err(|_| anyhow!("reading read_only of {} timed out", server.name))??;
    Ok(flag.unwrap_or(0) != 0)
}

/// Waits until shardkeeper's master is writable and every other server answers read-only (the
/// repairs after the last fault take a few seconds), then reads the final state. After
/// `deadline` it reads the state as it is, and the checker judges it.
pub async fn final_state(client: &Client, nodes: &[String], deadline: Duration) -> anyhow::Result<FinalState> {
    let started = tokio::time::Instant::now();
    loop {
        let node = pick_node(nodes);
        let master = current_master(client, &node).await;
        let mut flags = HashMap::new();
        for server in &deployment::DATABASE_SERVERS {
            if let Ok(flag) = read_only(server).await {
                flags.insert(server.name.to_string(), flag);
            }
        }
        if let Ok(master) = master {
            let settled = flags.len() == deployment::DATABASE_SERVERS.len()
                && flags.iter().all(|(name, read_only)| *read_only == (name != master.name));
            if settled || started.elapsed() > deadline {
                let mut conn = connect_server(master).await?;
                let rows: Vec<u64> = conn.query(format!("SELECT id FROM {TABLE}")).await?;
                return Ok(FinalState { master: master.name.to_string(), read_only: flags, rows });
            }
        } else if started.elapsed() > deadline {
            bail!("shardkeeper names no single master {deadline:?} after the faults were healed: {master:?}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
