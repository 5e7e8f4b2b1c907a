//! The MySQL connection router: a listener per declared route, each sending client connections to
//! the servers of one shard chosen from this node's applied metadata (and the leader's observations
//! when this node has them), then copying bytes both ways. It follows failovers: when raft applies a
//! new primary, new connections go to it and those to the old primary are closed.
//!
//! Owns: route listeners, destination choice, quarantine, the client-host block list, the live
//! figures (`RouteStatus`). Must not touch: HTTP (the MySQL Router and MaxScale flavors in `api` read
//! `Router::routes`), raft writes, MySQL parsing beyond the handshake.
//!
//! Layout: `destination` and `validation` (pure) check the declared routes; `choice` (pure) picks
//! servers; `handshake` (pure) is the little MySQL the router reads and writes; `route` holds a
//! route's state; `proxy` is the data path, `quarantine` the probing of failed destinations, and
//! `topology` the loop that follows raft; `workers` are the threads the connections live on.

mod choice;
pub mod config;
mod destination;
pub(crate) mod handshake;
mod leader_observations;
mod proxy;
mod quarantine;
mod route;
mod status;
mod topology;
mod validation;
mod workers;

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use config::{RouteConfig, RoutingStrategy};
pub use destination::DestinationError;
pub use leader_observations::FetchObservations;
pub use status::{ConnectionStatus, Destination, DestinationStatus, RouteRole, RouteStatus};
pub use validation::{check_routes, default_strategy, CheckedRoute, RouteConfigError};

use crate::failover::Fleet;
use crate::node::Node;
use leader_observations::LeaderObservations;
use quarantine::Quarantine;
use route::Route;
use workers::DataPathWorkers;

/// Why the router cannot start; the node refuses to start with it.
#[derive(Debug, thiserror::Error)]
pub enum RouterError {
    #[error("invalid [[routes]]: {0}")]
    Config(#[from] RouteConfigError),
    #[error("route \"{route}\" cannot bind {addr}: {source}")]
    Bind { route: String, addr: String, source: std::io::Error },
    #[error("cannot start the router's data-path threads: {0}")]
    Threads(std::io::Error),
}

/// A handle on this node's routes; cheap to clone. `Router::default()` serves no route.
#[derive(Clone, Default)]
pub struct Router {
    inner: Arc<RouterInner>,
}

#[derive(Default)]
struct RouterInner {
    routes: Vec<Arc<Route>>,
    quarantine: Quarantine,
    /// The leader's observations as last asked for by this node while a follower.
    copied: LeaderObservations,
    /// `None` for `Router::default()`, which serves nothing.
    fleet: Option<Fleet>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    /// The threads that carry routed connections; `None` when the node serves no route.
    workers: Option<Arc<DataPathWorkers>>,
}

impl Router {
    /// Checks `routes`, binds every listener (`bind_port = 0` takes any free port; the status says
    /// which), and starts serving and following the topology.
    pub async fn start(node: Node, fleet: Fleet, routes: &[RouteConfig]) -> Result<Router, RouterError> {
        let checked = check_routes(routes)?;
        let mut bound = Vec::with_capacity(checked.len());
        for route in checked {
            let addr = format!("{}:{}", route.config.bind_address, route.config.bind_port);
            let bind_error = |source| RouterError::Bind { route: route.config.name.clone(), addr: addr.clone(), source };
            let listener = TcpListener::bind(&addr).await.map_err(bind_error)?;
            let local_addr = listener.local_addr().map_err(bind_error)?;
            tracing::info!(route = %route.config.name, %local_addr, destinations = %route.destination.uri(), "route listening");
            bound.push((Arc::new(Route::new(route, local_addr)), listener));
        }
        let quarantine = Quarantine::default();
        let ids = Arc::new(AtomicU64::new(0));
        let routes: Vec<Arc<Route>> = bound.iter().map(|(route, _)| route.clone()).collect();
        let copied = LeaderObservations::default();
        let workers = match routes.is_empty() {
            true => None,
            false => Some(Arc::new(DataPathWorkers::start().map_err(RouterError::Threads)?)),
        };
        let mut tasks = vec![tokio::spawn(topology::follow(routes.clone(), node, fleet.clone(), copied.clone()))];
        if let Some(workers) = &workers {
            for (route, listener) in bound {
                tasks.push(tokio::spawn(proxy::serve(route, listener, quarantine.clone(), ids.clone(), workers.clone())));
            }
        }
        let inner = RouterInner { routes, quarantine, copied, fleet: Some(fleet), tasks: Mutex::new(tasks), workers };
        Ok(Router { inner: Arc::new(inner) })
    }

    /// On a follower, asks the leader for its observations of the routes' servers every second
    /// through `fetch` (the service layer's leader call), so that routes honour down, detached and
    /// lagging servers there too. Does nothing without routes.
    pub fn follow_leader_observations(&self, fetch: FetchObservations) {
        let Some(fleet) = self.inner.fleet.clone().filter(|_| !self.inner.routes.is_empty()) else { return };
        let routes = self.inner.routes.clone();
        let node_ids = move || {
            let mut ids: Vec<String> = routes.iter().flat_map(|route| route.view().node_ids.clone()).collect();
            ids.sort();
            ids.dedup();
            ids
        };
        let poll = tokio::spawn(self.inner.copied.clone().poll(fetch, fleet, node_ids));
        self.inner.tasks.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(poll);
    }

    /// The live status of every route, in declaration order.
    pub fn routes(&self) -> Vec<RouteStatus> {
        let quarantined = self.quarantined();
        self.inner.routes.iter().map(|route| route.status(&quarantined)).collect()
    }

    /// One route by name.
    pub fn route(&self, name: &str) -> Option<RouteStatus> {
        let route = self.inner.routes.iter().find(|route| route.name() == name)?;
        Some(route.status(&self.quarantined()))
    }

    /// Closes every routed connection to the server at `addr` (`host:port`); answers how many.
    pub fn close_connections_to(&self, addr: &str) -> usize {
        self.inner.routes.iter().map(|route| route.close_connections_to(addr)).sum()
    }

    /// The destinations quarantined now (refused or timed out, probed in the background).
    pub fn quarantined(&self) -> HashSet<String> {
        self.inner.quarantine.snapshot()
    }

    /// Stops listening, closes every routed connection and stops the background tasks.
    pub fn stop(&self) {
        for task in self.inner.tasks.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).drain(..) {
            task.abort();
        }
        for route in &self.inner.routes {
            route.alive.store(false, Ordering::Relaxed);
            route.close_all();
        }
        self.inner.quarantine.stop();
        if let Some(workers) = &self.inner.workers {
            workers.stop();
        }
    }
}
