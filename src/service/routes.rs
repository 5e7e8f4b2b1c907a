//! Router use cases the router flavors share beyond `Router::routes`: the clusters this node's
//! routes point at (MySQL Router's "metadata cache" instances) with their declared servers and the
//! routes' topology refresh figures, and facts about this process (id, start time, host, version).
//!
//! Owns: grouping routes by cluster and reading the clusters from this node's applied metadata
//! (the copy the routes themselves follow, so no leader is needed). Must not touch HTTP, and never
//! hands out a credential: a routed cluster carries addresses only.

use std::sync::OnceLock;
use std::time::SystemTime;

use super::MetaService;
use crate::meta::MetaState;
use crate::router::RouteStatus;

/// When this process started serving: stamped by the first `MetaService::new`.
static PROCESS_STARTED: OnceLock<SystemTime> = OnceLock::new();

/// Stamps the process start time (only the first call counts).
pub(super) fn stamp_process_start() {
    PROCESS_STARTED.get_or_init(SystemTime::now);
}

/// One cluster that at least one route of this node sends connections to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoutedCluster {
    /// `namespace.cluster`, the name the flavors use for it.
    pub name: String,
    pub namespace: String,
    pub cluster: String,
    /// Whether the cluster exists in this node's applied metadata (a route may name one that does
    /// not exist yet).
    pub exists: bool,
    /// `host:port` of every server of every shard, shard by shard, as declared.
    pub servers: Vec<String>,
    /// Names of the routes pointing at it, in declaration order.
    pub routes: Vec<String>,
    /// The most topology re-reads any of those routes made, and the latest of them.
    pub topology_refreshes: u64,
    pub last_topology_refresh: Option<SystemTime>,
}

/// Facts about this shardkeeper process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouterProcess {
    pub process_id: u32,
    pub started_at: SystemTime,
    /// The host name, when the system tells it.
    pub hostname: Option<String>,
    pub version: &'static str,
}

impl MetaService {
    /// The clusters this node's routes point at, ordered by name.
    pub fn routed_clusters(&self) -> Vec<RoutedCluster> {
        let routes = self.router().routes();
        let state = self.node().reader().snapshot();
        routed_clusters_of(&routes, &state)
    }

    /// One routed cluster by its `namespace.cluster` name.
    pub fn routed_cluster(&self, name: &str) -> Option<RoutedCluster> {
        self.routed_clusters().into_iter().find(|cluster| cluster.name == name)
    }

    /// The raft address (`host:port`) this node's copy of the metadata is replicated to: where a
    /// route's topology is read from.
    pub async fn metadata_source(&self) -> Option<String> {
        let status = self.node().status().await;
        status.members.into_iter().find(|member| member.node_id == status.node_id).map(|member| member.grpc_addr)
    }

    /// This process: id, start time, host name, version.
    pub fn router_process(&self) -> RouterProcess {
        RouterProcess {
            process_id: std::process::id(),
            started_at: *PROCESS_STARTED.get_or_init(SystemTime::now),
            hostname: hostname(),
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

/// The name the flavors give a cluster: `namespace.cluster`.
fn routed_cluster_name(namespace: &str, cluster: &str) -> String {
    format!("{namespace}.{cluster}")
}

/// Groups `routes` by the cluster of their destination and looks each cluster up in `state`.
pub fn routed_clusters_of(routes: &[RouteStatus], state: &MetaState) -> Vec<RoutedCluster> {
    let mut clusters: Vec<RoutedCluster> = Vec::new();
    for route in routes {
        let destination = &route.destination;
        let name = routed_cluster_name(&destination.namespace, &destination.cluster);
        let index = match clusters.iter().position(|cluster| cluster.name == name) {
            Some(index) => index,
            None => {
                let declared = state.cluster(&destination.namespace, &destination.cluster);
                clusters.push(RoutedCluster {
                    name,
                    namespace: destination.namespace.clone(),
                    cluster: destination.cluster.clone(),
                    exists: declared.is_some(),
                    servers: declared
                        .map(|cluster| cluster.nodes().map(|(_, node)| node.addr.clone()).collect())
                        .unwrap_or_default(),
                    routes: Vec::new(),
                    topology_refreshes: 0,
                    last_topology_refresh: None,
                });
                clusters.len() - 1
            }
        };
        let cluster = &mut clusters[index];
        cluster.routes.push(route.config.name.clone());
        cluster.topology_refreshes = cluster.topology_refreshes.max(route.topology_refreshes);
        cluster.last_topology_refresh = cluster.last_topology_refresh.max(route.last_topology_refresh);
    }
    clusters.sort_by(|left, right| left.name.cmp(&right.name));
    clusters
}

/// The kernel's host name (Linux), else the `HOSTNAME` variable; `None` when neither says.
fn hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::meta::{Cluster, Namespace, Node, NodeRole, Shard};
    use crate::router::{Destination, RouteConfig, RouteRole, RoutingStrategy};

    fn route(name: &str, namespace: &str, cluster: &str, refreshes: u64, last: Option<u64>) -> RouteStatus {
        let config: RouteConfig = toml::from_str(&format!(
            "name = \"{name}\"\nbind_port = 0\ndestinations = \"shard://{namespace}/{cluster}/0?role=PRIMARY\""
        ))
        .unwrap();
        RouteStatus {
            config,
            destination: Destination {
                namespace: namespace.into(),
                cluster: cluster.into(),
                shard: 0,
                role: RouteRole::Primary,
            },
            routing_strategy: RoutingStrategy::FirstAvailable,
            local_addr: None,
            is_alive: true,
            unavailable_reason: None,
            active_connections: 0,
            total_connections: 0,
            blocked_hosts: Vec::new(),
            destinations: Vec::new(),
            connections: Vec::new(),
            topology_refreshes: refreshes,
            last_topology_refresh: last.map(|seconds| SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)),
        }
    }

    fn node(addr: &str, role: NodeRole) -> Node {
        serde_json::from_value(serde_json::json!({
            "id": "x".repeat(40), "addr": addr, "role": role, "created_at": 0, "password": "secret"
        }))
        .unwrap()
    }

    fn state_with_orders() -> MetaState {
        let shard = |addrs: [&str; 2]| Shard {
            nodes: vec![node(addrs[0], NodeRole::Master), node(addrs[1], NodeRole::Slave)],
            ..Shard::default()
        };
        let cluster: Cluster = serde_json::from_value(serde_json::json!({
            "name": "orders", "version": 1,
            "credentials": {"user": "root", "password": "pw"},
            "shards": []
        }))
        .unwrap();
        let cluster =
            Cluster { shards: vec![shard(["db1:3306", "db2:3306"]), shard(["db3:3306", "db4:3306"])], ..cluster };
        let mut state = MetaState::default();
        let namespace = Namespace { name: "prod".into(), clusters: [("orders".to_string(), cluster)].into() };
        state.namespaces.insert("prod".into(), namespace);
        state
    }

    #[test]
    fn routes_are_grouped_by_cluster_with_the_declared_servers() {
        let state = state_with_orders();
        let routes = [
            route("orders_rw", "prod", "orders", 3, Some(30)),
            route("later_rw", "prod", "later", 0, None),
            route("orders_ro", "prod", "orders", 5, Some(20)),
        ];
        let clusters = routed_clusters_of(&routes, &state);
        let names: Vec<&str> = clusters.iter().map(|cluster| cluster.name.as_str()).collect();
        assert_eq!(names, ["prod.later", "prod.orders"]);

        let later = &clusters[0];
        assert!(!later.exists);
        assert!(later.servers.is_empty());
        assert_eq!((later.topology_refreshes, later.last_topology_refresh), (0, None));

        let orders = &clusters[1];
        assert!(orders.exists);
        assert_eq!(orders.servers, ["db1:3306", "db2:3306", "db3:3306", "db4:3306"]);
        assert_eq!(orders.routes, ["orders_rw", "orders_ro"]);
        assert_eq!(orders.topology_refreshes, 5, "the most refreshes of any of its routes");
        assert_eq!(orders.last_topology_refresh, Some(SystemTime::UNIX_EPOCH + Duration::from_secs(30)));
    }

    #[test]
    fn no_routes_no_clusters() {
        assert!(routed_clusters_of(&[], &state_with_orders()).is_empty());
    }
}
