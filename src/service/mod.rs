//! The service layer: one method per native use case, shared by every API flavor and by gRPC.
//!
//! Owns: turning a request into a stamped `Command` (ids, times) or a read of `MetaState`, and the
//! lookups that produce a clear 404. Must not touch HTTP or gRPC types; leadership, forwarding and
//! timeouts live in `node`, never here.

mod clusters;
mod fleet;
mod import;
mod namespaces;
pub mod proxysql;
mod routes;
mod servers;
mod shards;

use rand::distr::{Alphanumeric, SampleString};

use crate::config::{Config, FleetConfig, ProxySqlConfig};
use crate::error::ServiceError;
use crate::failover::Fleet;
use crate::meta::{Cluster, MetaState, NodeSpec, Shard, NODE_ID_LEN};
use crate::node::Node;
use crate::router::Router;

pub use fleet::{LeaderCall, LeaderReply, RecoveryFilter};
pub use clusters::{CreateCluster, DatabaseAccess, ImportCluster, DEFAULT_ADMIN_USER};
pub use servers::{split_addr, NewServer, RoutedConnection, Server, ServerPatch};
pub use routes::{RoutedCluster, RouterProcess};
/// Read freshness is node's (it runs the read index); every flavor names it through the service layer.
pub use crate::node::Consistency;


/// Names one cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterRef {
    pub namespace: String,
    pub cluster: String,
}

/// Names one shard of a cluster by its 0-based index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardRef {
    pub cluster: ClusterRef,
    pub shard: usize,
}

/// The service layer over one shardkeeper node.
#[derive(Clone)]
pub struct MetaService {
    node: Node,
    fleet: Fleet,
    fleet_config: FleetConfig,
    proxysql: Option<ProxySqlConfig>,
    router: Router,
}

impl MetaService {
    pub fn new(node: Node, fleet: Fleet, router: Router, config: &Config) -> Self {
        routes::stamp_process_start();
        MetaService { node, fleet, fleet_config: config.fleet.clone(), proxysql: config.proxysql.clone(), router }
    }

    /// This node's MySQL routes and their live figures.
    pub fn router(&self) -> &Router {
        &self.router
    }

    pub fn node(&self) -> &Node {
        &self.node
    }

    fn fleet_config(&self) -> &FleetConfig {
        &self.fleet_config
    }
}

fn new_node_id() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), NODE_ID_LEN)
}

fn node_specs(addrs: Vec<String>) -> Vec<NodeSpec> {
    addrs.into_iter().map(|addr| NodeSpec::new(new_node_id(), addr)).collect()
}

fn find_cluster<'a>(state: &'a MetaState, target: &ClusterRef) -> Result<&'a Cluster, ServiceError> {
    let namespace = state
        .namespace(&target.namespace)
        .ok_or_else(|| ServiceError::not_found(format!("namespace \"{}\" does not exist", target.namespace)))?;
    namespace.clusters.get(&target.cluster).ok_or_else(|| {
        ServiceError::not_found(format!(
            "cluster \"{}\" does not exist in namespace \"{}\"",
            target.cluster, target.namespace
        ))
    })
}

fn find_shard<'a>(state: &'a MetaState, target: &ShardRef) -> Result<&'a Shard, ServiceError> {
    let cluster = find_cluster(state, &target.cluster)?;
    cluster.shards.get(target.shard).ok_or_else(|| {
        ServiceError::not_found(format!(
            "shard {} does not exist in cluster \"{}\"",
            target.shard, target.cluster.cluster
        ))
    })
}
