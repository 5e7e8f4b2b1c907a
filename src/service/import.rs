//! Import: register live replication trees as a cluster, one shard per tree, with the roles the
//! servers have now. Reads the servers (replicas' sources, sources' replica lists) and changes
//! nothing on them; the leader's repairs only start once the cluster is registered.

use std::collections::{BTreeMap, VecDeque};

use super::clusters::cluster_version;
use super::{find_cluster, node_specs, ClusterRef, Consistency, ImportCluster, MetaService};
use crate::error::{ErrorCode, ServiceError};
use crate::meta::{Cluster, ClusterCredentials, Command};
use crate::mysql::{DbClient, DbEndpoint, DbTimeouts, DbTls, ServerState};

/// Servers an import may walk before it refuses (a guard against runaway discovery).
const MAX_IMPORTED_SERVERS: usize = 1000;

impl MetaService {
    /// Discovers the replication trees reachable from `request.nodes` and registers them as
    /// cluster `target`; answers the new cluster.
    pub async fn import_cluster(&self, target: ClusterRef, request: ImportCluster) -> Result<Cluster, ServiceError> {
        if request.nodes.is_empty() {
            return Err(ServiceError::invalid("import needs at least one node address"));
        }
        self.node
            .read(Consistency::Linearizable, |state| {
                if state.namespace(&target.namespace).is_none() {
                    return Err(ServiceError::not_found(format!("namespace \"{}\" does not exist", target.namespace)));
                }
                if state.cluster(&target.namespace, &target.cluster).is_some() {
                    return Err(ServiceError::new(
                        ErrorCode::AlreadyExists,
                        format!("cluster \"{}\" already exists", target.cluster),
                    ));
                }
                Ok(())
            })
            .await?;
        let credentials = request.access.into_credentials();
        let timeouts = self.fleet_config().db_timeouts();
        let servers = discover(&request.nodes, &credentials, &timeouts, self.fleet.db_tls()).await?;
        let trees = replication_trees(&servers)?;
        let command = Command::ImportCluster {
            namespace: target.namespace.clone(),
            name: target.cluster.clone(),
            shards: trees.into_iter().map(node_specs).collect(),
            credentials,
            policy: request.policy,
            created_at: crate::clock::unix_seconds(),
        };
        cluster_version(self.node.propose(command).await?)?;
        self.node.read(Consistency::Linearizable, |state| find_cluster(state, &target).cloned()).await
    }
}

/// Every server reachable from `seeds` through replication links, by address.
async fn discover(
    seeds: &[String],
    credentials: &ClusterCredentials,
    timeouts: &DbTimeouts,
    tls: &DbTls,
) -> Result<BTreeMap<String, ServerState>, ServiceError> {
    let mut servers = BTreeMap::new();
    let mut queue: VecDeque<String> = seeds.iter().cloned().collect();
    while let Some(addr) = queue.pop_front() {
        if servers.contains_key(&addr) {
            continue;
        }
        if servers.len() >= MAX_IMPORTED_SERVERS {
            return Err(ServiceError::invalid(format!("import stops at {MAX_IMPORTED_SERVERS} servers")));
        }
        let endpoint =
            DbEndpoint { addr: addr.clone(), user: credentials.user.clone(), password: credentials.password.clone() };
        let client = DbClient::new(endpoint, *timeouts, tls.clone());
        let state = client
            .probe()
            .await
            .map_err(|error| ServiceError::invalid(format!("cannot read server {addr}: {error}")))?;
        if let Some(replica) = &state.replica {
            queue.push_back(format!("{}:{}", replica.source_host, replica.source_port));
        }
        let replicas = client
            .replica_addresses()
            .await
            .map_err(|error| ServiceError::invalid(format!("cannot list the replicas of {addr}: {error}")))?;
        queue.extend(replicas);
        servers.insert(addr, state);
    }
    Ok(servers)
}

/// The trees of `servers`: each starts with its root (a server replicating from none of the
/// others), followed by the rest of the tree breadth first.
fn replication_trees(servers: &BTreeMap<String, ServerState>) -> Result<Vec<Vec<String>>, ServiceError> {
    let source_of = |addr: &str| -> Option<String> {
        let replica = servers.get(addr)?.replica.as_ref()?;
        let source = format!("{}:{}", replica.source_host, replica.source_port);
        servers.contains_key(&source).then_some(source)
    };
    let mut trees = Vec::new();
    for root in servers.keys().filter(|addr| source_of(addr).is_none()) {
        let mut tree = vec![root.clone()];
        let mut next = 0;
        while next < tree.len() {
            let parent = tree[next].clone();
            tree.extend(servers.keys().filter(|addr| source_of(addr).as_deref() == Some(parent.as_str())).cloned());
            next += 1;
        }
        trees.push(tree);
    }
    let placed: usize = trees.iter().map(Vec::len).sum();
    if placed < servers.len() {
        let circular: Vec<&str> =
            servers.keys().filter(|addr| !trees.iter().flatten().any(|placed| placed == *addr)).map(String::as_str).collect();
        return Err(ServiceError::invalid(format!(
            "circular replication is not supported: {}",
            circular.join(", ")
        )));
    }
    Ok(trees)
}
