//! Server use cases: database nodes addressed by server name across the whole fleet, as the
//! MaxScale flavor does, with their live state (the leader's observations) and this node's
//! routed connections; creating, changing and deleting them; maintenance and drain.
//!
//! Owns: name lookups (`meta::server_names` rules), the "in use" rule of a delete, merging an
//! address change, and what "serving" means for a route. Must not touch HTTP or MaxScale's
//! words (in `api::maxscale`), raft (commands go through `node`), or the router's internals
//! (only `Router::routes` and `Router::close_connections_to`).

use std::collections::HashMap;

use super::clusters::cluster_version;
use super::{ClusterRef, Consistency, MetaService, ShardRef};
use crate::error::{ErrorCode, ServiceError};
use crate::health::NodeObservation;
use crate::meta::server_names::{effective_name, name_key};
use crate::meta::{AdminState, Command, MetaState, Node, NodeRole, Secret};
use crate::router::{ConnectionStatus, RouteRole, RouteStatus};

/// One database node as a server: where it is declared, what the leader last saw of it, and
/// what this node's routes do with it.
#[derive(Clone, Debug)]
pub struct Server {
    pub name: String,
    pub location: ShardRef,
    /// The declared node (its password is there: never serialize it).
    pub node: Node,
    pub observation: Option<NodeObservation>,
    /// The shard's master, for a replica: its `host:port` and `@@server_id` as last observed.
    pub master_addr: Option<String>,
    pub master_server_id: Option<u32>,
    /// `@@server_id`s of the shard's replicas, for the master.
    pub replica_server_ids: Vec<u32>,
    /// This node's routes whose destination is the server's shard and whose role covers the
    /// server's role.
    pub routes: Vec<String>,
    /// Routes that would send it a new connection now.
    pub serving_routes: Vec<String>,
    /// Routed connections to it open now on this node, and since the route started.
    pub connections: u64,
    pub total_connections: u64,
}

/// What a new server is: a replica of one shard.
#[derive(Clone, Debug)]
pub struct NewServer {
    pub name: String,
    pub host: String,
    pub port: u16,
    /// The cluster as `namespace.cluster`; `None` when the fleet holds exactly one cluster.
    pub cluster: Option<String>,
    pub shard: usize,
    /// Routes (MaxScale services) the caller expects to use it; each must exist on this node and
    /// lead to the shard. Routes are declared in config files: this links nothing.
    pub services: Option<Vec<String>>,
}

/// What a server update changes; `None` keeps the current value.
#[derive(Clone, Debug, Default)]
pub struct ServerPatch {
    pub name: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
    /// The cluster as `namespace.cluster`; it must be the server's own (no moves between clusters).
    pub cluster: Option<String>,
    /// As in `NewServer`.
    pub services: Option<Vec<String>>,
}

/// One routed connection to a server.
#[derive(Clone, Debug)]
pub struct RoutedConnection {
    pub route: String,
    pub connection: ConnectionStatus,
}

impl MetaService {
    /// Every server of the fleet, in namespace, cluster, shard and declaration order.
    pub async fn list_servers(&self, consistency: Consistency) -> Result<Vec<Server>, ServiceError> {
        let state = self.node.read(consistency, |state| Ok(state.clone())).await?;
        let observations = self.observations().await?;
        let routes = self.router.routes();
        Ok(declared_servers(&state).into_iter().map(|(location, node)| server(location, node, &state, &observations, &routes)).collect())
    }

    /// One server by name (case-insensitive, whitespace as hyphens).
    pub async fn get_server(&self, name: &str, consistency: Consistency) -> Result<Server, ServiceError> {
        let state = self.node.read(consistency, |state| Ok(state.clone())).await?;
        let (location, node) = find_server(&state, name)?;
        let observations = self.observations().await?;
        Ok(server(location, node, &state, &observations, &self.router.routes()))
    }

    /// Adds a replica named `new.name` to a shard.
    pub async fn create_server(&self, new: NewServer) -> Result<(), ServiceError> {
        let state = self.node.read(Consistency::Linearizable, |state| Ok(state.clone())).await?;
        let cluster = match &new.cluster {
            Some(monitor) => find_cluster_by_monitor_name(&state, monitor)?,
            None => only_cluster(&state)?,
        };
        let target = ShardRef { cluster, shard: new.shard };
        check_services(&self.router.routes(), &target, NodeRole::Slave, new.services.as_deref())?;
        let addr = join_addr(&new.host, new.port);
        self.create_node(target, addr, Some(new.name), NodeRole::Slave, Secret::default(), None).await.map(|_| ())
    }

    /// Renames or moves a server.
    pub async fn update_server(&self, name: &str, patch: ServerPatch) -> Result<(), ServiceError> {
        let state = self.node.read(Consistency::Linearizable, |state| Ok(state.clone())).await?;
        let (location, node) = find_server(&state, name)?;
        if let Some(monitor) = &patch.cluster {
            let own = format!("{}.{}", location.cluster.namespace, location.cluster.cluster);
            if *monitor != own {
                return Err(ServiceError::invalid(format!(
                    "server {name:?} belongs to monitor {own:?}; moving a server to another cluster is not supported"
                )));
            }
        }
        check_services(&self.router.routes(), &location, node.role, patch.services.as_deref())?;
        let (host, port) = split_addr(&node.addr)?;
        let addr = join_addr(patch.host.as_deref().unwrap_or(&host), patch.port.unwrap_or(port));
        let name = match patch.name {
            Some(new_name) if name_key(&new_name) == name_key(&node.addr) => None,
            Some(new_name) => Some(new_name),
            None => node.name.clone(),
        };
        let command = Command::UpdateNode {
            namespace: location.cluster.namespace,
            cluster: location.cluster.cluster,
            shard: location.shard,
            node_id: node.id,
            name,
            addr,
            expected_version: None,
        };
        self.node.propose(command).await.map(|_| ())
    }

    /// Deletes a server unless it is in use: the master of its shard, a destination of one of
    /// this node's routes now, or holding routed connections.
    pub async fn delete_server(&self, name: &str) -> Result<(), ServiceError> {
        let server = self.get_server(name, Consistency::Linearizable).await?;
        if server.node.role == NodeRole::Master {
            return Err(in_use(format!(
                "server {:?} is in use: it is the master of shard {} of cluster \"{}.{}\"",
                server.name, server.location.shard, server.location.cluster.namespace, server.location.cluster.cluster
            )));
        }
        if !server.serving_routes.is_empty() || server.connections > 0 {
            return Err(in_use(format!(
                "server {:?} is in use by routes [{}] with {} open connections; set it in maintenance first",
                server.name,
                server.serving_routes.join(", "),
                server.connections
            )));
        }
        self.delete_node(server.location, server.node.id, None).await.map(|_| ())
    }

    /// Sets a server's admin state; with `close_connections` this node's routed connections to
    /// it are closed as well (MaxScale's `force=yes`). Answers how many were closed.
    pub async fn set_server_admin_state(
        &self,
        name: &str,
        state: AdminState,
        close_connections: bool,
    ) -> Result<usize, ServiceError> {
        let (location, node) = self.locate_server(name).await?;
        self.set_node_admin_state(location, node.id, state, None).await?;
        Ok(if close_connections { self.router.close_connections_to(&node.addr) } else { 0 })
    }

    /// Clears `state` from a server: back to active when it holds that state, nothing otherwise.
    pub async fn clear_server_admin_state(&self, name: &str, state: AdminState) -> Result<(), ServiceError> {
        let (location, node) = self.locate_server(name).await?;
        if node.admin_state == state {
            self.set_node_admin_state(location, node.id, AdminState::Active, None).await?;
        }
        Ok(())
    }

    /// The native form: a node's admin state by shard and id; answers the cluster version.
    pub async fn set_node_admin_state(
        &self,
        target: ShardRef,
        node_id: String,
        state: AdminState,
        expected_version: Option<u64>,
    ) -> Result<u64, ServiceError> {
        let command = Command::SetNodeAdminState {
            namespace: target.cluster.namespace,
            cluster: target.cluster.cluster,
            shard: target.shard,
            node_id,
            state,
            expected_version,
        };
        cluster_version(self.node.propose(command).await?)
    }

    /// This node's routed connections to a server.
    pub async fn server_connections(&self, name: &str) -> Result<Vec<RoutedConnection>, ServiceError> {
        let (_, node) = self.locate_server(name).await?;
        Ok(self
            .router
            .routes()
            .into_iter()
            .flat_map(|route| {
                let name = route.config.name.clone();
                route.connections.into_iter().map(move |connection| RoutedConnection { route: name.clone(), connection })
            })
            .filter(|routed| routed.connection.destination_node_id == node.id)
            .collect())
    }

    /// Closes this node's routed connections to a server; answers how many.
    pub async fn close_server_connections(&self, name: &str) -> Result<usize, ServiceError> {
        let (_, node) = self.locate_server(name).await?;
        Ok(self.router.close_connections_to(&node.addr))
    }

    async fn locate_server(&self, name: &str) -> Result<(ShardRef, Node), ServiceError> {
        self.node.read(Consistency::Linearizable, |state| find_server(state, name)).await
    }
}

/// Every named route exists on this node and uses servers of `location` in `role`.
fn check_services(routes: &[RouteStatus], location: &ShardRef, role: NodeRole, services: Option<&[String]>) -> Result<(), ServiceError> {
    for service in services.unwrap_or_default() {
        match routes.iter().find(|route| route.config.name == *service) {
            None => return Err(ServiceError::invalid(format!("service {service:?} does not exist: routes are declared in the node's config file"))),
            Some(route) if !route_covers(route, location, role) => {
                return Err(ServiceError::invalid(format!(
                    "service {service:?} routes to {} shard {} ({}), not to this server; routes are declared in the node's config file",
                    route.destination.cluster,
                    route.destination.shard,
                    route.destination.role.as_str()
                )))
            }
            Some(_) => {}
        }
    }
    Ok(())
}

fn in_use(message: String) -> ServiceError {
    ServiceError::new(ErrorCode::Conflict, message)
}

/// Every declared node with its shard.
fn declared_servers(state: &MetaState) -> Vec<(ShardRef, Node)> {
    let mut servers = Vec::new();
    for (namespace, ns) in &state.namespaces {
        for (cluster_name, cluster) in &ns.clusters {
            for (shard, node) in cluster.nodes() {
                let cluster = ClusterRef { namespace: namespace.clone(), cluster: cluster_name.clone() };
                servers.push((ShardRef { cluster, shard }, node.clone()));
            }
        }
    }
    servers
}

/// The one node going by `name`; two nodes at the same address in different clusters without a
/// name of their own are ambiguous.
pub fn find_server(state: &MetaState, name: &str) -> Result<(ShardRef, Node), ServiceError> {
    let key = name_key(name);
    let mut found: Vec<(ShardRef, Node)> =
        declared_servers(state).into_iter().filter(|(_, node)| name_key(effective_name(node)) == key).collect();
    match found.len() {
        0 => Err(ServiceError::not_found(format!("server {name:?} does not exist"))),
        1 => Ok(found.remove(0)),
        _ => {
            let places: Vec<String> = found
                .iter()
                .map(|(at, _)| format!("{}.{} shard {}", at.cluster.namespace, at.cluster.cluster, at.shard))
                .collect();
            Err(ServiceError::new(
                ErrorCode::Conflict,
                format!("server name {name:?} is ambiguous ({}); give the nodes names", places.join("; ")),
            ))
        }
    }
}

/// The cluster a MaxScale monitor id names: `namespace.cluster` (either may contain dots).
pub fn find_cluster_by_monitor_name(state: &MetaState, monitor: &str) -> Result<ClusterRef, ServiceError> {
    let matches: Vec<ClusterRef> = state
        .namespaces
        .iter()
        .flat_map(|(namespace, ns)| ns.clusters.keys().map(move |cluster| (namespace, cluster)))
        .filter(|(namespace, cluster)| format!("{namespace}.{cluster}") == monitor)
        .map(|(namespace, cluster)| ClusterRef { namespace: namespace.clone(), cluster: cluster.clone() })
        .collect();
    match <[ClusterRef; 1]>::try_from(matches) {
        Ok([cluster]) => Ok(cluster),
        Err(matches) if matches.is_empty() => {
            Err(ServiceError::not_found(format!("monitor {monitor:?} does not exist; name a cluster as namespace.cluster")))
        }
        Err(_) => Err(ServiceError::invalid(format!("monitor {monitor:?} names more than one cluster"))),
    }
}

fn only_cluster(state: &MetaState) -> Result<ClusterRef, ServiceError> {
    let all: Vec<ClusterRef> = state
        .namespaces
        .iter()
        .flat_map(|(namespace, ns)| {
            ns.clusters.keys().map(move |cluster| ClusterRef { namespace: namespace.clone(), cluster: cluster.clone() })
        })
        .take(2)
        .collect();
    match <[ClusterRef; 1]>::try_from(all) {
        Ok([cluster]) => Ok(cluster),
        Err(_) => Err(ServiceError::invalid(
            "name the server's cluster in relationships.monitors (as namespace.cluster): the fleet does not hold exactly one cluster",
        )),
    }
}

fn server(
    location: ShardRef,
    node: Node,
    state: &MetaState,
    observations: &HashMap<String, NodeObservation>,
    routes: &[RouteStatus],
) -> Server {
    let server_id = |node: &Node| observations.get(&node.id).and_then(|o| o.state.as_ref()).map(|s| s.server_id);
    let shard = state
        .cluster(&location.cluster.namespace, &location.cluster.cluster)
        .and_then(|cluster| cluster.shards.get(location.shard));
    let master_addr = shard.filter(|_| node.role == NodeRole::Slave).and_then(|shard| shard.master()).map(|m| m.addr.clone());
    let (master_server_id, replica_server_ids) = match (node.role, shard) {
        (NodeRole::Slave, Some(shard)) => (shard.master().and_then(server_id), Vec::new()),
        (NodeRole::Master, Some(shard)) => {
            (None, shard.nodes.iter().filter(|other| other.role == NodeRole::Slave).filter_map(server_id).collect())
        }
        (_, None) => (None, Vec::new()),
    };
    let mut server = Server {
        name: effective_name(&node).to_string(),
        location,
        observation: observations.get(&node.id).cloned(),
        master_addr,
        master_server_id,
        replica_server_ids,
        routes: Vec::new(),
        serving_routes: Vec::new(),
        connections: 0,
        total_connections: 0,
        node,
    };
    let covering: Vec<&RouteStatus> = routes.iter().filter(|route| route_covers(route, &server.location, server.node.role)).collect();
    for route in covering {
        server.routes.push(route.config.name.clone());
        if let Some(destination) = route.destinations.iter().find(|d| d.node_id == server.node.id) {
            server.serving_routes.push(route.config.name.clone());
            server.total_connections += destination.total_connections;
        }
        let open = route.connections.iter().filter(|c| c.destination_node_id == server.node.id).count();
        server.connections += u64::try_from(open).unwrap_or(u64::MAX);
    }
    server
}

/// A route uses a server when its destination is the server's shard and its role covers the
/// server's role.
fn route_covers(route: &RouteStatus, location: &ShardRef, role: NodeRole) -> bool {
    let destination = &route.destination;
    let same_shard = destination.namespace == location.cluster.namespace
        && destination.cluster == location.cluster.cluster
        && destination.shard == location.shard;
    let role = match destination.role {
        RouteRole::Primary => role == NodeRole::Master,
        RouteRole::Secondary => role == NodeRole::Slave,
        RouteRole::PrimaryAndSecondary => true,
    };
    same_shard && role
}

/// `host:port` from MaxScale's separate address and port; an IPv6 host is bracketed.
pub fn join_addr(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// A declared `host:port` as MaxScale's separate address and port (IPv6 brackets dropped).
pub fn split_addr(addr: &str) -> Result<(String, u16), ServiceError> {
    let malformed = || ServiceError::internal(format!("declared address {addr:?} is not host:port"));
    let (host, port) = addr.rsplit_once(':').ok_or_else(malformed)?;
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    Ok((host.to_string(), port.parse().map_err(|_| malformed())?))
}

#[cfg(test)]
#[path = "servers_tests.rs"]
mod tests;
