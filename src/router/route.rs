//! One running route's shared state: its current view of the shard (recomputed by `topology`),
//! the round-robin cursor, the connections it serves with their byte counters, the per-host
//! handshake error counts, and the status copied out of all that. Owns no socket and no task.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::Notify;

use super::choice::{order, unavailable_reason, Candidate, Eligible};
use super::status::{ConnectionStatus, DestinationStatus, RouteStatus};
use super::validation::CheckedRoute;

/// What a route knows of its shard since the last topology refresh.
#[derive(Clone, Debug)]
pub(super) struct RouteView {
    /// The qualifying servers, or why the shard cannot be routed to (no such cluster or shard).
    pub eligible: Result<Eligible, String>,
    /// The shard's declared primary, to notice a promotion.
    pub master_addr: Option<String>,
    /// The shard's database node ids, for the observations a follower asks the leader for.
    pub node_ids: Vec<String>,
}

pub(super) struct Route {
    pub checked: CheckedRoute,
    pub local_addr: SocketAddr,
    pub alive: AtomicBool,
    view: RwLock<Arc<RouteView>>,
    cursor: AtomicU64,
    active: AtomicU64,
    total: AtomicU64,
    connections: Mutex<HashMap<u64, Arc<Connection>>>,
    totals_by_destination: Mutex<HashMap<String, u64>>,
    connect_errors: Mutex<HashMap<IpAddr, u64>>,
    refreshes: AtomicU64,
    last_refresh: Mutex<Option<SystemTime>>,
}

/// One routed client connection, shared by its task and the status readers.
pub(super) struct Connection {
    pub id: u64,
    pub source: SocketAddr,
    pub destination: Candidate,
    pub started_at: SystemTime,
    pub connected_at: SystemTime,
    pub to_server: AtomicU64,
    pub from_server: AtomicU64,
    /// Unix milliseconds of the last bytes each way (0: none yet).
    pub last_sent_ms: AtomicI64,
    pub last_received_ms: AtomicI64,
    close: Notify,
}

impl Connection {
    /// Asks the connection's task to close both sockets (the permit waits if it is busy).
    pub fn close(&self) {
        self.close.notify_one();
    }

    pub async fn closed(&self) {
        self.close.notified().await
    }
}

/// Holds one of the route's `max_connections` places; gives it back when dropped.
pub(super) struct Admission {
    route: Arc<Route>,
    registered: Option<u64>,
}

impl Drop for Admission {
    fn drop(&mut self) {
        if let Some(id) = self.registered {
            self.route.lock_connections().remove(&id);
        }
        self.route.active.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Admission {
    /// Records the connection made to `destination`; it is listed until the admission drops.
    pub fn register(&mut self, id: u64, source: SocketAddr, destination: Candidate, started_at: SystemTime) -> Arc<Connection> {
        let connection = Arc::new(Connection {
            id,
            source,
            destination,
            started_at,
            connected_at: SystemTime::now(),
            to_server: AtomicU64::new(0),
            from_server: AtomicU64::new(0),
            last_sent_ms: AtomicI64::new(0),
            last_received_ms: AtomicI64::new(0),
            close: Notify::new(),
        });
        self.route.total.fetch_add(1, Ordering::Relaxed);
        *lock(&self.route.totals_by_destination).entry(connection.destination.addr.clone()).or_default() += 1;
        self.route.lock_connections().insert(id, connection.clone());
        self.registered = Some(id);
        connection
    }
}

impl Route {
    pub fn new(checked: CheckedRoute, local_addr: SocketAddr) -> Route {
        Route {
            checked,
            local_addr,
            alive: AtomicBool::new(true),
            view: RwLock::new(Arc::new(RouteView { eligible: Err("the topology is not read yet".to_string()), master_addr: None, node_ids: Vec::new() })),
            cursor: AtomicU64::new(0),
            active: AtomicU64::new(0),
            total: AtomicU64::new(0),
            connections: Mutex::default(),
            totals_by_destination: Mutex::default(),
            connect_errors: Mutex::default(),
            refreshes: AtomicU64::new(0),
            last_refresh: Mutex::new(None),
        }
    }

    pub fn name(&self) -> &str {
        &self.checked.config.name
    }

    /// Takes a place unless `max_connections` are served already.
    pub fn admit(self: &Arc<Self>) -> Option<Admission> {
        let max = self.checked.config.max_connections;
        let before = self.active.fetch_add(1, Ordering::AcqRel);
        let admission = Admission { route: self.clone(), registered: None };
        (before < max).then_some(admission)
    }

    /// The servers a new connection tries, in order, or why there is none.
    pub fn candidates(&self, quarantined: &HashSet<String>) -> Result<Vec<Candidate>, String> {
        let view = self.view();
        let eligible = view.eligible.as_ref().map_err(|reason| self.no_destination(reason))?;
        let cursor = self.cursor.fetch_add(1, Ordering::Relaxed);
        let destination = &self.checked.destination;
        let ordered = order(eligible, destination.role, self.checked.strategy, quarantined, cursor);
        if ordered.is_empty() {
            return Err(unavailable_reason(eligible, destination.role, quarantined, &destination.shard_path()));
        }
        Ok(ordered)
    }

    fn no_destination(&self, reason: &str) -> String {
        let destination = &self.checked.destination;
        format!("no {} available for shard {}: {reason}", destination.role.as_str(), destination.shard_path())
    }

    pub fn view(&self) -> Arc<RouteView> {
        self.view.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Installs a refreshed view; answers the previous one.
    pub fn set_view(&self, view: RouteView) -> Arc<RouteView> {
        self.refreshes.fetch_add(1, Ordering::Relaxed);
        *lock(&self.last_refresh) = Some(SystemTime::now());
        let mut current = self.view.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        std::mem::replace(&mut *current, Arc::new(view))
    }

    /// Closes the route's connections to `addr`; answers how many.
    pub fn close_connections_to(&self, addr: &str) -> usize {
        let connections = self.lock_connections();
        let matching = connections.values().filter(|connection| connection.destination.addr == addr);
        matching.map(|connection| connection.close()).count()
    }

    pub fn close_all(&self) {
        self.lock_connections().values().for_each(|connection| connection.close());
    }

    pub fn is_blocked(&self, host: IpAddr) -> bool {
        lock(&self.connect_errors).get(&host).is_some_and(|errors| *errors >= self.checked.config.max_connect_errors)
    }

    /// A failed handshake from `host`; answers whether the host is blocked now.
    pub fn count_connect_error(&self, host: IpAddr) -> bool {
        let mut errors = lock(&self.connect_errors);
        let count = errors.entry(host).or_default();
        *count += 1;
        *count >= self.checked.config.max_connect_errors
    }

    /// A successful handshake from `host` forgets its earlier failures (as MySQL Router does).
    pub fn clear_connect_errors(&self, host: IpAddr) {
        lock(&self.connect_errors).remove(&host);
    }

    pub fn client_connect_timeout(&self) -> Duration {
        self.checked.config.client_connect_timeout
    }

    /// The status the API flavors serve, copied out.
    pub fn status(&self, quarantined: &HashSet<String>) -> RouteStatus {
        let view = self.view();
        let connections: Vec<Arc<Connection>> = self.lock_connections().values().cloned().collect();
        let totals = lock(&self.totals_by_destination).clone();
        let destination = &self.checked.destination;
        let (destinations, unavailable_reason) = match &view.eligible {
            Ok(eligible) => {
                let cursor = self.cursor.load(Ordering::Relaxed);
                let ordered = order(eligible, destination.role, self.checked.strategy, &HashSet::new(), cursor);
                let reason = self.candidates_reason(eligible, quarantined);
                let statuses = ordered
                    .into_iter()
                    .map(|candidate| DestinationStatus {
                        quarantined: quarantined.contains(&candidate.addr),
                        active_connections: connections.iter().filter(|c| c.destination.addr == candidate.addr).count() as u64,
                        total_connections: totals.get(&candidate.addr).copied().unwrap_or(0),
                        node_id: candidate.node_id,
                        addr: candidate.addr,
                    })
                    .collect();
                (statuses, reason)
            }
            Err(reason) => (Vec::new(), Some(self.no_destination(reason))),
        };
        let max_errors = self.checked.config.max_connect_errors;
        let mut blocked_hosts: Vec<IpAddr> =
            lock(&self.connect_errors).iter().filter(|(_, errors)| **errors >= max_errors).map(|(host, _)| *host).collect();
        blocked_hosts.sort();
        let mut connections: Vec<ConnectionStatus> = connections.iter().map(|connection| connection_status(connection)).collect();
        connections.sort_by_key(|connection| connection.id);
        RouteStatus {
            config: self.checked.config.clone(),
            destination: destination.clone(),
            routing_strategy: self.checked.strategy,
            local_addr: Some(self.local_addr),
            is_alive: self.alive.load(Ordering::Relaxed),
            unavailable_reason,
            active_connections: connections.len() as u64,
            total_connections: self.total.load(Ordering::Relaxed),
            blocked_hosts,
            destinations,
            connections,
            topology_refreshes: self.refreshes.load(Ordering::Relaxed),
            last_topology_refresh: *lock(&self.last_refresh),
        }
    }

    fn candidates_reason(&self, eligible: &Eligible, quarantined: &HashSet<String>) -> Option<String> {
        let destination = &self.checked.destination;
        let ordered = order(eligible, destination.role, self.checked.strategy, quarantined, 0);
        ordered
            .is_empty()
            .then(|| unavailable_reason(eligible, destination.role, quarantined, &destination.shard_path()))
    }

    fn lock_connections(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Connection>>> {
        lock(&self.connections)
    }
}

fn connection_status(connection: &Connection) -> ConnectionStatus {
    let at = |millis: i64| (millis > 0).then(|| UNIX_EPOCH + Duration::from_millis(millis as u64));
    ConnectionStatus {
        id: connection.id,
        source: connection.source,
        destination: connection.destination.addr.clone(),
        destination_node_id: connection.destination.node_id.clone(),
        bytes_to_server: connection.to_server.load(Ordering::Relaxed),
        bytes_from_server: connection.from_server.load(Ordering::Relaxed),
        started_at: connection.started_at,
        connected_to_server_at: Some(connection.connected_at),
        last_sent_to_server: at(connection.last_sent_ms.load(Ordering::Relaxed)),
        last_received_from_server: at(connection.last_received_ms.load(Ordering::Relaxed)),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
