//! The prober (leader only): one task per declared database node, probing it every
//! `probe_interval`, and every `failure_retry_interval` while it or its shard's master fails, so
//! that a dead master is confirmed within a fraction of a second instead of `failure_threshold`
//! whole intervals. A master's first failed probe also wakes its replicas' tasks at once, so the
//! analysis sees whether they lost it too without waiting for their next interval. Regular
//! probes run at a fixed rate from a random phase per node, so a fleet's probes spread evenly
//! over the interval and a probe's own latency does not stretch the period.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::{DbClients, NodeObservation, Observations};
use crate::config::FleetConfig;
use crate::meta::{ClusterCredentials, MetaState};

/// What a probe task needs to know about its node; updated in place when metadata changes.
#[derive(Clone, Debug, PartialEq)]
struct ProbeTarget {
    addr: String,
    credentials: ClusterCredentials,
    interval: Duration,
    /// The master of the node's shard: while it fails, the node is probed fast too.
    master_id: Option<String>,
}

struct ProbeTask {
    target: watch::Sender<ProbeTarget>,
    handle: JoinHandle<()>,
}

/// Wakes the probe tasks of a master's replicas when the master's probe starts failing, so that
/// their evidence (did they lose it too?) is fresh when the master's failures reach the threshold.
#[derive(Clone, Default)]
struct MasterAlarms {
    by_master: Arc<Mutex<HashMap<String, Arc<Notify>>>>,
}

impl MasterAlarms {
    fn alarm(&self, master_id: &str) -> Arc<Notify> {
        let mut by_master = self.by_master.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        by_master.entry(master_id.to_string()).or_default().clone()
    }
}

/// The set of probe tasks. Dropping it stops them.
pub struct Prober {
    clients: DbClients,
    observations: Observations,
    alarms: MasterAlarms,
    failure_retry_interval: Duration,
    default_interval: Duration,
    tasks: HashMap<String, ProbeTask>,
}

impl Prober {
    pub fn new(clients: DbClients, observations: Observations, config: &FleetConfig) -> Self {
        Prober {
            clients,
            observations,
            alarms: MasterAlarms::default(),
            failure_retry_interval: config.failure_retry_interval,
            default_interval: config.probe_interval,
            tasks: HashMap::new(),
        }
    }

    /// Starts, retargets and stops probe tasks so that exactly the declared nodes are probed.
    pub fn sync(&mut self, state: &MetaState) {
        let mut declared: HashMap<String, ProbeTarget> = HashMap::new();
        for cluster in state.namespaces.values().flat_map(|namespace| namespace.clusters.values()) {
            let interval = cluster.policy.probe_interval.unwrap_or(self.default_interval);
            for shard in &cluster.shards {
                let master_id = shard.master().map(|master| master.id.clone());
                for node in &shard.nodes {
                    let target = ProbeTarget {
                        addr: node.addr.clone(),
                        credentials: cluster.credentials.clone(),
                        interval,
                        master_id: master_id.clone(),
                    };
                    declared.insert(node.id.clone(), target);
                }
            }
        }
        self.tasks.retain(|node_id, task| {
            let keep = declared.contains_key(node_id);
            if !keep {
                task.handle.abort();
            }
            keep
        });
        for (node_id, target) in declared.iter() {
            match self.tasks.get(node_id) {
                Some(task) => {
                    task.target.send_if_modified(|current| {
                        let changed = current != target;
                        if changed {
                            *current = target.clone();
                        }
                        changed
                    });
                }
                None => {
                    let (sender, receiver) = watch::channel(target.clone());
                    let handle = tokio::spawn(probe_loop(
                        node_id.clone(),
                        receiver,
                        self.clients.clone(),
                        self.observations.clone(),
                        self.alarms.clone(),
                        self.failure_retry_interval,
                    ));
                    self.tasks.insert(node_id.clone(), ProbeTask { target: sender, handle });
                }
            }
        }
        self.observations.retain(|node_id| declared.contains_key(node_id));
        let mut alarms = self.alarms.by_master.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        alarms.retain(|master_id, _| declared.contains_key(master_id));
        self.clients.retain(|node_id| declared.contains_key(node_id));
    }

    pub fn probed_nodes(&self) -> usize {
        self.tasks.len()
    }
}

impl Drop for Prober {
    fn drop(&mut self) {
        for task in self.tasks.values() {
            task.handle.abort();
        }
        self.observations.clear();
    }
}

async fn probe_loop(
    node_id: String,
    mut target: watch::Receiver<ProbeTarget>,
    clients: DbClients,
    observations: Observations,
    alarms: MasterAlarms,
    failure_retry_interval: Duration,
) {
    let own_alarm = alarms.alarm(&node_id);
    let mut current = target.borrow_and_update().clone();
    let mut master_alarm = master_alarm(&alarms, &current, &node_id);
    // Regular probes fall on `anchor + k * interval`: a fixed rate, each node at its own random
    // phase, so that the fleet's probes are spread over the interval instead of bunched.
    let anchor = Instant::now() + current.interval.mul_f64(rand::random::<f64>());
    loop {
        let started = Instant::now();
        let client = clients.client(&node_id, &current.addr, &current.credentials);
        let outcome = client.probe().await;
        let now = crate::clock::unix_millis();
        let observation = match outcome {
            Ok(state) => NodeObservation {
                node_id: node_id.clone(),
                addr: current.addr.clone(),
                reachable: true,
                consecutive_failures: 0,
                last_error: None,
                probed_at_ms: now,
                last_seen_ms: Some(now),
                state: Some(state),
            },
            Err(error) => {
                let previous = observations.previous(&node_id, &current.addr);
                let previous_failures = previous.as_ref().map_or(0, |previous| previous.consecutive_failures);
                if previous_failures == 0 {
                    tracing::info!(node_id = %node_id, addr = %current.addr, %error, "database node probe failed");
                    own_alarm.notify_waiters();
                }
                NodeObservation {
                    node_id: node_id.clone(),
                    addr: current.addr.clone(),
                    reachable: false,
                    consecutive_failures: previous_failures.saturating_add(1),
                    last_error: Some(error.to_string()),
                    probed_at_ms: now,
                    last_seen_ms: previous.as_ref().and_then(|previous| previous.last_seen_ms),
                    state: previous.and_then(|previous| previous.state),
                }
            }
        };
        let failing = !observation.reachable
            || current.master_id.as_deref().is_some_and(|master| observations.is_unreachable(master));
        observations.record(observation);
        let wake_at =
            if failing { Instant::now() + failure_retry_interval } else { next_slot(anchor, current.interval, started) };
        let master_failed = async {
            match &master_alarm {
                Some(alarm) => alarm.notified().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::time::sleep_until(wake_at) => {}
            _ = master_failed => {}
            changed = target.changed() => {
                if changed.is_err() {
                    return;
                }
                current = target.borrow_and_update().clone();
                master_alarm = self::master_alarm(&alarms, &current, &node_id);
            }
        }
    }
}

/// The alarm of the node's master, raised when the master's probe starts failing.
fn master_alarm(alarms: &MasterAlarms, target: &ProbeTarget, node_id: &str) -> Option<Arc<Notify>> {
    target.master_id.as_deref().filter(|master| *master != node_id).map(|master| alarms.alarm(master))
}

/// The first regular probe time strictly after `after`: `anchor + k * interval` for some k >= 0.
fn next_slot(anchor: Instant, interval: Duration, after: Instant) -> Instant {
    if after < anchor {
        return anchor;
    }
    let period = interval.as_nanos().max(1);
    let slots = (after - anchor).as_nanos() / period + 1;
    anchor + Duration::from_nanos(u64::try_from(slots * period).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_probes_keep_their_phase() {
        let anchor = Instant::now();
        let ms = Duration::from_millis;
        // (probe started this long after the anchor, next probe this long after the anchor)
        let cases = [
            (None, ms(0)), // started before the anchor: at the anchor
            (Some(ms(0)), ms(1_000)),
            (Some(ms(3)), ms(1_000)), // a late wake-up does not shift the phase
            (Some(ms(999)), ms(1_000)),
            (Some(ms(1_000)), ms(2_000)),
            (Some(ms(2_400)), ms(3_000)), // after fast retries: back on the grid
            (Some(ms(5_999)), ms(6_000)),
        ];
        for (started, expected) in cases {
            let after = match started {
                Some(offset) => anchor + offset,
                None => anchor - ms(10),
            };
            assert_eq!(next_slot(anchor, ms(1_000), after), anchor + expected, "started {started:?}");
        }
    }
}
