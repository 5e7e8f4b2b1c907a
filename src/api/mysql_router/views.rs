//! Pure translation of a running route (`RouteStatus`) into MySQL Router's JSON shapes, with its
//! field names (camelCase), its timestamp format (`2020-06-11T21:28:20.882204Z`, UTC, microseconds)
//! and its `address` / `port` split of destinations.
//!
//! Owns only these shapes; must not call the service layer or the router.

use std::time::SystemTime;

use serde::Serialize;

use crate::router::{ConnectionStatus, DestinationStatus, RouteStatus};

/// Router's list envelope: `{"items": [...]}`.
#[derive(Serialize)]
pub struct Items<T> {
    pub items: Vec<T>,
}

/// `{"name": ...}`: one entry of the route, metadata and pool lists.
#[derive(Serialize)]
pub struct Named {
    pub name: String,
}

/// A list of names.
pub fn names(names: impl IntoIterator<Item = String>) -> Items<Named> {
    Items { items: names.into_iter().map(|name| Named { name }).collect() }
}

/// A point in time as Router writes it: RFC 3339, UTC, microseconds.
pub fn format_time(time: SystemTime) -> String {
    humantime_serde::re::humantime::format_rfc3339_micros(time).to_string()
}

/// Splits `host:port` (also `[v6]:port`) into address and port; an address without a valid port
/// keeps its whole text with port 0.
pub fn split_addr(addr: &str) -> (String, u16) {
    match addr.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && (host.starts_with('[') || !host.contains(':')) => {
            match port.parse() {
                Ok(port) => (host.trim_start_matches('[').trim_end_matches(']').to_string(), port),
                Err(_) => (addr.to_string(), 0),
            }
        }
        _ => (addr.to_string(), 0),
    }
}

/// GET /routes/{routeName}/config
#[derive(Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteConfigView {
    pub bind_address: String,
    /// The bound port (the real one when the route was declared with port 0).
    pub bind_port: u16,
    pub client_connect_timeout_in_ms: u64,
    pub destination_connect_timeout_in_ms: u64,
    pub max_active_connections: u64,
    pub max_connect_errors: u64,
    /// Always "classic": routes carry the classic MySQL protocol.
    pub protocol: &'static str,
    pub routing_strategy: &'static str,
    /// "read-write" for PRIMARY routes, "read-only" for the others.
    pub mode: &'static str,
}

impl RouteConfigView {
    pub fn of(route: &RouteStatus) -> RouteConfigView {
        let config = &route.config;
        RouteConfigView {
            bind_address: config.bind_address.clone(),
            bind_port: route.local_addr.map_or(config.bind_port, |addr| addr.port()),
            client_connect_timeout_in_ms: millis(config.client_connect_timeout),
            destination_connect_timeout_in_ms: millis(config.connect_timeout),
            max_active_connections: config.max_connections,
            max_connect_errors: config.max_connect_errors,
            protocol: "classic",
            routing_strategy: route.routing_strategy.as_str(),
            mode: route.destination.role.mode(),
        }
    }
}

fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// GET /routes/{routeName}/status
#[derive(Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteStatusView {
    pub active_connections: u64,
    pub total_connections: u64,
    pub blocked_hosts: u64,
}

impl RouteStatusView {
    pub fn of(route: &RouteStatus) -> RouteStatusView {
        RouteStatusView {
            active_connections: route.active_connections,
            total_connections: route.total_connections,
            blocked_hosts: route.blocked_hosts.len() as u64,
        }
    }
}

/// GET /routes/{routeName}/health
#[derive(Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteHealthView {
    pub is_alive: bool,
}

impl RouteHealthView {
    /// Alive when the listener accepts and at least one destination is not quarantined (Router:
    /// alive when the route has destinations).
    pub fn of(route: &RouteStatus) -> RouteHealthView {
        RouteHealthView {
            is_alive: route.is_alive && route.destinations.iter().any(|destination| !destination.quarantined),
        }
    }
}

/// One entry of GET /routes/{routeName}/destinations.
#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct DestinationView {
    pub address: String,
    pub port: u16,
}

impl DestinationView {
    pub fn of(destination: &DestinationStatus) -> DestinationView {
        let (address, port) = split_addr(&destination.addr);
        DestinationView { address, port }
    }
}

/// The destinations of a route, in the order its strategy uses them.
pub fn destinations(route: &RouteStatus) -> Items<DestinationView> {
    Items { items: route.destinations.iter().map(DestinationView::of).collect() }
}

/// One entry of GET /routes/{routeName}/connections. A time not reached yet (no byte sent, not
/// connected) is left out, as Router does.
#[derive(Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionView {
    pub bytes_from_server: u64,
    pub bytes_to_server: u64,
    pub source_address: String,
    pub destination_address: String,
    pub time_started: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_connected_to_server: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_last_sent_to_server: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_last_received_from_server: Option<String>,
}

impl ConnectionView {
    pub fn of(connection: &ConnectionStatus) -> ConnectionView {
        ConnectionView {
            bytes_from_server: connection.bytes_from_server,
            bytes_to_server: connection.bytes_to_server,
            source_address: connection.source.to_string(),
            destination_address: connection.destination.clone(),
            time_started: format_time(connection.started_at),
            time_connected_to_server: connection.connected_to_server_at.map(format_time),
            time_last_sent_to_server: connection.last_sent_to_server.map(format_time),
            time_last_received_from_server: connection.last_received_from_server.map(format_time),
        }
    }
}

/// The client connections of a route.
pub fn connections(route: &RouteStatus) -> Items<ConnectionView> {
    Items { items: route.connections.iter().map(ConnectionView::of).collect() }
}

/// GET /routes/{routeName}/blockedHosts: the blocked client addresses, as strings.
pub fn blocked_hosts(route: &RouteStatus) -> Items<String> {
    Items { items: route.blocked_hosts.iter().map(ToString::to_string).collect() }
}

/// GET /routing/status: Router's global limit and count. shardkeeper has no global limit: the
/// limit is the sum of the routes' `max_connections`.
#[derive(Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoutingStatusView {
    pub max_total_connections: u64,
    pub current_total_connections: u64,
}

impl RoutingStatusView {
    pub fn of(routes: &[RouteStatus]) -> RoutingStatusView {
        RoutingStatusView {
            max_total_connections: routes.iter().map(|route| route.config.max_connections).sum(),
            current_total_connections: routes.iter().map(|route| route.active_connections).sum(),
        }
    }
}
