//! What a running route reports: the live figures the MySQL Router and MaxScale flavors serve.
//! Plain data, copied out of the router so that no API call holds a router lock.

use std::net::SocketAddr;
use std::time::SystemTime;

use super::config::{RouteConfig, RoutingStrategy};

/// Which servers of the shard a route sends connections to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteRole {
    Primary,
    Secondary,
    PrimaryAndSecondary,
}

impl RouteRole {
    /// The word of the `role=` parameter of a `shard://` destination.
    pub fn as_str(self) -> &'static str {
        match self {
            RouteRole::Primary => "PRIMARY",
            RouteRole::Secondary => "SECONDARY",
            RouteRole::PrimaryAndSecondary => "PRIMARY_AND_SECONDARY",
        }
    }

    /// MySQL Router's `mode`: read-write for PRIMARY, read-only otherwise.
    pub fn mode(self) -> &'static str {
        match self {
            RouteRole::Primary => "read-write",
            RouteRole::Secondary | RouteRole::PrimaryAndSecondary => "read-only",
        }
    }
}

/// A route's destination: one shard and the role of the servers wanted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Destination {
    pub namespace: String,
    pub cluster: String,
    pub shard: usize,
    pub role: RouteRole,
}

/// One route as it runs now.
#[derive(Clone, Debug)]
pub struct RouteStatus {
    /// The route as declared (with its defaults filled in).
    pub config: RouteConfig,
    pub destination: Destination,
    /// The strategy in force (the declared one, or the role's default).
    pub routing_strategy: RoutingStrategy,
    /// The address the listener is bound to (the real port when `bind_port` was 0).
    pub local_addr: Option<SocketAddr>,
    /// The listener is accepting connections.
    pub is_alive: bool,
    /// Why the route cannot route now (no such cluster yet, no eligible server), if so.
    pub unavailable_reason: Option<String>,
    pub active_connections: u64,
    pub total_connections: u64,
    /// Client hosts blocked after `max_connect_errors` failed handshakes.
    pub blocked_hosts: Vec<std::net::IpAddr>,
    /// The servers new connections may go to now, in the order the strategy uses them.
    pub destinations: Vec<DestinationStatus>,
    pub connections: Vec<ConnectionStatus>,
    /// How many times this route re-read the shard's topology, and when last.
    pub topology_refreshes: u64,
    pub last_topology_refresh: Option<SystemTime>,
}

/// One server of a route's shard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DestinationStatus {
    /// The database node's id and `host:port`.
    pub node_id: String,
    pub addr: String,
    /// Refused or timed out recently; retried in the background.
    pub quarantined: bool,
    pub active_connections: u64,
    pub total_connections: u64,
}

/// One client connection of a route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionStatus {
    pub id: u64,
    pub source: SocketAddr,
    /// The database node's `host:port`.
    pub destination: String,
    pub destination_node_id: String,
    pub bytes_to_server: u64,
    pub bytes_from_server: u64,
    pub started_at: SystemTime,
    pub connected_to_server_at: Option<SystemTime>,
    pub last_sent_to_server: Option<SystemTime>,
    pub last_received_from_server: Option<SystemTime>,
}
