//! Repair of the fleet (leader only): planning (pure) and executing failovers, switchovers and the
//! repairs that keep every shard as declared.
//!
//! Owns: `Fleet`, the leader-only runtime every node carries and starts when it becomes raft leader
//! (prober + supervisor) and stops when it loses leadership; the per-shard locks that keep one
//! piece of work per shard at a time; and the leader-side answers to observation, health and
//! switchover requests. Must not touch HTTP: the service layer forwards calls here.

mod dirty;
mod executor;
mod planner;
mod supervisor;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openraft::ServerState as RaftRole;
use tokio::task::{JoinHandle, JoinSet};

use crate::config::FleetConfig;
use crate::error::{ErrorCode, ServiceError};
use crate::health::{analyze_cluster, DbClients, NodeObservation, Observations, ShardHealth};
use crate::meta::{MetaState, RecoveryKind};
use crate::mysql::DbTls;
use crate::node::Node;

pub use executor::{Executor, RecoveryReport, ShardTarget};
pub use planner::{
    choose_candidate, is_blocked, plan_repairs, should_fail_over, Candidate, Repair, FAILED_RECOVERY_PAUSE_MS,
};

/// Names one shard for locking and logs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ShardKey {
    namespace: String,
    cluster: String,
    shard: usize,
}

impl ShardKey {
    pub fn new(namespace: &str, cluster: &str, shard: usize) -> Self {
        ShardKey { namespace: namespace.to_string(), cluster: cluster.to_string(), shard }
    }
}

impl fmt::Display for ShardKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.namespace, self.cluster, self.shard)
    }
}

/// Shards with work in flight. A shard is taken for the whole of one repair batch or recovery.
#[derive(Clone, Default)]
struct ShardLocks {
    busy: Arc<Mutex<HashSet<ShardKey>>>,
}

impl ShardLocks {
    fn is_busy(&self, key: &ShardKey) -> bool {
        self.lock().contains(key)
    }

    fn try_take(&self, key: &ShardKey) -> bool {
        self.lock().insert(key.clone())
    }

    fn release(&self, key: &ShardKey) {
        self.lock().remove(key);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<ShardKey>> {
        self.busy.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Releases a shard lock when the work ends, even by panic or abort.
struct ShardGuard {
    locks: ShardLocks,
    key: ShardKey,
}

impl Drop for ShardGuard {
    fn drop(&mut self) {
        self.locks.release(&self.key);
    }
}

/// The leader-only runtime of one shardkeeper node. Cheap to clone.
#[derive(Clone)]
pub struct Fleet {
    node: Node,
    config: FleetConfig,
    clients: DbClients,
    observations: Observations,
    executor: Executor,
    locks: ShardLocks,
    supervisor: Arc<Mutex<Option<JoinHandle<()>>>>,
    /// Repairs and recoveries in flight; aborted when leadership ends.
    work: Arc<Mutex<JoinSet<()>>>,
}

impl Fleet {
    /// The leader-only runtime; its database connections use `db_tls`.
    pub fn new(node: Node, config: FleetConfig, db_tls: DbTls) -> Self {
        let clients = DbClients::new(config.db_timeouts(), db_tls);
        let executor = Executor::new(node.clone(), clients.clone(), config.clone());
        Fleet {
            node,
            config,
            clients,
            observations: Observations::default(),
            executor,
            locks: ShardLocks::default(),
            supervisor: Arc::default(),
            work: Arc::default(),
        }
    }

    /// Starts the prober and supervisor whenever this node becomes leader and stops them when it
    /// stops being leader; returns when raft shuts down.
    pub async fn follow_leadership(self) {
        let mut metrics = self.node.raft().metrics();
        loop {
            let is_leader = metrics.borrow_and_update().state == RaftRole::Leader;
            self.set_active(is_leader);
            if metrics.changed().await.is_err() {
                self.set_active(false);
                return;
            }
        }
    }

    fn set_active(&self, active: bool) {
        let mut supervisor = self.supervisor.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match (active, supervisor.is_some()) {
            (true, false) => {
                tracing::info!(node_id = self.node.id(), "leader: starting the prober and the supervisor");
                *supervisor = Some(tokio::spawn(supervisor::supervise(self.clone())));
            }
            (false, true) => {
                tracing::info!(node_id = self.node.id(), "no longer leader: stopping the prober and the supervisor");
                if let Some(handle) = supervisor.take() {
                    handle.abort();
                }
                self.work.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).abort_all();
                self.observations.clear();
            }
            _ => {}
        }
    }

    /// Stops the prober and the supervisor for good (node shutdown).
    /// How the database connections use TLS (`[fleet.tls]`).
    pub fn db_tls(&self) -> &DbTls {
        self.clients.tls()
    }

    pub fn stop(&self) {
        self.set_active(false);
    }

    pub fn is_active(&self) -> bool {
        self.supervisor.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).is_some()
    }

    /// Runs `work` with the shard taken; does nothing if the shard is busy already.
    fn spawn_locked<F, Fut>(&self, key: ShardKey, work: F)
    where
        F: FnOnce(Fleet) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        if !self.locks.try_take(&key) {
            return;
        }
        let guard = ShardGuard { locks: self.locks.clone(), key };
        let fleet = self.clone();
        let mut in_flight = self.work.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        while in_flight.try_join_next().is_some() {}
        in_flight.spawn(async move {
            let _guard = guard;
            work(fleet).await;
        });
    }

    /// Every observation, by node id (leader only).
    pub fn observations(&self) -> Result<HashMap<String, NodeObservation>, ServiceError> {
        self.require_active()?;
        Ok(self.observations.snapshot())
    }

    /// The latest probes of the given nodes while this node leads, `None` otherwise (the router
    /// honours them when it has them).
    pub fn observations_of<'a>(&self, node_ids: impl IntoIterator<Item = &'a str>) -> Option<HashMap<String, NodeObservation>> {
        self.is_active().then(|| self.observations.of_nodes(node_ids))
    }

    /// The findings of every shard of a cluster (leader only).
    pub fn health(&self, state: &MetaState, namespace: &str, cluster: &str) -> Result<Vec<ShardHealth>, ServiceError> {
        self.require_active()?;
        let cluster = state
            .cluster(namespace, cluster)
            .ok_or_else(|| ServiceError::not_found(format!("cluster \"{cluster}\" does not exist in namespace \"{namespace}\"")))?;
        Ok(analyze_cluster(cluster, &self.observations.snapshot()))
    }

    /// A planned switchover (healthy master) or an on-demand failover (dead master, ignoring the
    /// block period). Answers the new master's node id.
    pub async fn switchover(
        &self,
        namespace: &str,
        cluster: &str,
        shard: usize,
        preferred: Option<&str>,
    ) -> Result<String, ServiceError> {
        self.require_active()?;
        let key = ShardKey::new(namespace, cluster, shard);
        self.take_within(&key, self.config.switchover_timeout).await?;
        let guard = ShardGuard { locks: self.locks.clone(), key };
        let state = self.node.reader().snapshot();
        let cluster = state.cluster(namespace, cluster).ok_or_else(|| {
            ServiceError::not_found(format!("cluster \"{cluster}\" does not exist in namespace \"{namespace}\""))
        })?;
        let declared = cluster
            .shards
            .get(shard)
            .ok_or_else(|| ServiceError::not_found(format!("shard {shard} does not exist in cluster \"{}\"", cluster.name)))?;
        if let Some(preferred) = preferred.filter(|id| !declared.nodes.iter().any(|node| node.id == *id)) {
            return Err(ServiceError::not_found(format!("node \"{preferred}\" does not exist in shard {shard}")));
        }
        let observations = self.observations.snapshot();
        let master_alive = declared
            .master()
            .and_then(|master| observations.get(&master.id))
            .is_some_and(|observation| observation.reachable);
        let candidate = choose_candidate(declared, &observations, &cluster.policy, preferred, master_alive)
            .map_err(|reason| ServiceError::new(ErrorCode::Conflict, reason))?;
        let (kind, finding) =
            if master_alive { (RecoveryKind::Switchover, "Switchover") } else { (RecoveryKind::Failover, "DeadPrimary") };
        let target = ShardTarget { namespace: namespace.to_string(), cluster: Arc::new(cluster.clone()), shard };
        let report = self.executor.start_recovery(&target, kind, finding, &candidate).await;
        drop(guard);
        Ok(report?.new_master.id)
    }

    /// Waits up to `within` for the shard to be free, then takes it.
    async fn take_within(&self, key: &ShardKey, within: Duration) -> Result<(), ServiceError> {
        let deadline = tokio::time::Instant::now() + within;
        while !self.locks.try_take(key) {
            if tokio::time::Instant::now() >= deadline {
                return Err(ServiceError::new(
                    ErrorCode::Conflict,
                    format!("shard {key} is busy with another repair or recovery; retry later"),
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    fn require_active(&self) -> Result<(), ServiceError> {
        if self.is_active() {
            Ok(())
        } else {
            Err(ServiceError::unavailable("this node is not the raft leader; the leader answers this"))
        }
    }
}
