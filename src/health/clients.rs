//! One `DbClient` per database node, shared by the prober and the executor, so that a server sees
//! one admin connection from the leader. A client is replaced when the node's address or the
//! cluster's credentials change.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::meta::ClusterCredentials;
use crate::mysql::{DbClient, DbEndpoint, DbTimeouts, DbTls};

#[derive(Clone)]
struct Entry {
    addr: String,
    credentials: ClusterCredentials,
    client: DbClient,
}

/// The leader's clients by database node id. Cheap to clone.
#[derive(Clone)]
pub struct DbClients {
    timeouts: DbTimeouts,
    tls: DbTls,
    by_node: Arc<Mutex<HashMap<String, Entry>>>,
}

impl DbClients {
    pub fn new(timeouts: DbTimeouts, tls: DbTls) -> Self {
        DbClients { timeouts, tls, by_node: Arc::default() }
    }

    /// How the clients use TLS (`[fleet.tls]`).
    pub fn tls(&self) -> &DbTls {
        &self.tls
    }

    /// The client of node `node_id` at `addr`, logging in with the cluster's admin account.
    pub fn client(&self, node_id: &str, addr: &str, credentials: &ClusterCredentials) -> DbClient {
        let mut by_node = self.by_node.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(entry) = by_node.get(node_id) {
            if entry.addr == addr && entry.credentials == *credentials {
                return entry.client.clone();
            }
        }
        let endpoint =
            DbEndpoint { addr: addr.to_string(), user: credentials.user.clone(), password: credentials.password.clone() };
        let client = DbClient::new(endpoint, self.timeouts, self.tls.clone());
        let entry = Entry { addr: addr.to_string(), credentials: credentials.clone(), client: client.clone() };
        by_node.insert(node_id.to_string(), entry);
        client
    }

    /// Drops the clients of nodes no longer declared (closing their connections).
    pub fn retain(&self, keep: impl Fn(&str) -> bool) {
        let mut by_node = self.by_node.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        by_node.retain(|node_id, _| keep(node_id));
    }
}
