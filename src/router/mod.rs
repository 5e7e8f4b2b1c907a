//! The MySQL connection router: a listener per declared route, each sending client connections to
//! the servers of one shard chosen from this node's applied metadata (and the leader's observations
//! when this node has them), then copying bytes both ways. It follows failovers: when raft applies a
//! new primary, new connections go to it and those to the old primary are closed.
//!
//! Owns: route listeners, destination choice, quarantine, the client-host block list, the live
//! figures (`RouteStatus`). Must not touch: HTTP (the MySQL Router and MaxScale flavors in `api` read
//! `Router::routes`), raft writes, MySQL parsing beyond the handshake.

pub mod config;
mod status;

pub use config::{RouteConfig, RoutingStrategy};
pub use status::{ConnectionStatus, Destination, DestinationStatus, RouteRole, RouteStatus};

/// A handle on this node's routes; cheap to clone.
#[derive(Clone, Default)]
pub struct Router {}

impl Router {
    /// The live status of every route, in declaration order.
    pub fn routes(&self) -> Vec<RouteStatus> {
        Vec::new()
    }

    /// One route by name.
    pub fn route(&self, name: &str) -> Option<RouteStatus> {
        self.routes().into_iter().find(|route| route.config.name == name)
    }

    /// Closes every routed connection to the server at `addr` (`host:port`); answers how many.
    pub fn close_connections_to(&self, _addr: &str) -> usize {
        0
    }
}
