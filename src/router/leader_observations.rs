//! The leader's observations for a follower's routes: every `POLL_INTERVAL`, while this node is not
//! the leader, it asks the leader (through the service layer's leader-call path, handed in as
//! `FetchObservations`) for the latest probes of the servers its routes use, and keeps them for
//! `FRESH_FOR`. Owns that copy and its poll task; on the leader the routes read `Fleet` directly.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use tokio::sync::Notify;

use crate::failover::Fleet;
use crate::health::NodeObservation;

/// How often a follower asks the leader.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// How long a copy is honoured; older ones are dropped and the metadata alone decides.
pub const FRESH_FOR: Duration = Duration::from_secs(3);

/// Asks the leader for its latest probes of the given database nodes.
pub type FetchObservations =
    Arc<dyn Fn(Vec<String>) -> BoxFuture<'static, Result<HashMap<String, NodeObservation>, String>> + Send + Sync>;

/// A copy of the leader's observations and when it arrived.
type Copy = (Instant, HashMap<String, NodeObservation>);

#[derive(Clone, Default)]
pub(super) struct LeaderObservations {
    latest: Arc<RwLock<Option<Copy>>>,
    /// Woken when a new copy arrives, so that routes re-read it at once.
    arrived: Arc<Notify>,
}

impl LeaderObservations {
    /// The copy's observations of `node_ids`, when the copy is fresh.
    pub fn of_nodes<'a>(&self, node_ids: impl IntoIterator<Item = &'a str>) -> Option<HashMap<String, NodeObservation>> {
        let latest = self.latest.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (_, all) = latest.as_ref().filter(|(at, _)| at.elapsed() < FRESH_FOR)?;
        Some(node_ids.into_iter().filter_map(|id| all.get_key_value(id)).map(|(id, seen)| (id.clone(), seen.clone())).collect())
    }

    /// Resolves when a new copy has arrived since the last call.
    pub async fn arrived(&self) {
        self.arrived.notified().await
    }

    fn set(&self, copy: Option<HashMap<String, NodeObservation>>) {
        let mut latest = self.latest.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        let changed = match (&*latest, &copy) {
            (Some((_, old)), Some(new)) => old != new,
            (None, None) => false,
            _ => true,
        };
        *latest = copy.map(|copy| (Instant::now(), copy));
        drop(latest);
        if changed {
            self.arrived.notify_one();
        }
    }

    /// Polls until aborted. `node_ids` names the servers the routes use now.
    pub async fn poll(self, fetch: FetchObservations, fleet: Fleet, node_ids: impl Fn() -> Vec<String> + Send + 'static) {
        let mut ticker = tokio::time::interval(POLL_INTERVAL);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            ticker.tick().await;
            let wanted = node_ids();
            if fleet.is_active() || wanted.is_empty() {
                self.set(None);
                continue;
            }
            match tokio::time::timeout(POLL_INTERVAL, fetch(wanted)).await {
                Ok(Ok(copy)) => self.set(Some(copy)),
                Ok(Err(error)) => {
                    tracing::debug!(%error, "the leader's observations are not available; routing from metadata");
                    self.set(None);
                }
                Err(_) => self.set(None),
            }
        }
    }
}
