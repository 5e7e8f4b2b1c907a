//! The quarantine, shared by a node's routes as in MySQL Router: a destination that refused a
//! connection or did not answer within `connect_timeout` gets no new connections, and a background
//! task tries a plain TCP connect to it every `PROBE_INTERVAL` until it answers, then releases it.
//! Owns those probe tasks; knows nothing of routes or of MySQL.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::task::JoinSet;

/// How often a quarantined destination is tried again.
pub const PROBE_INTERVAL: Duration = Duration::from_millis(500);

#[derive(Clone, Default)]
pub(super) struct Quarantine {
    addrs: Arc<Mutex<HashSet<String>>>,
    probes: Arc<Mutex<JoinSet<()>>>,
}

impl Quarantine {
    /// Quarantines `addr` (`host:port`) and starts probing it, unless it is quarantined already.
    pub fn add(&self, addr: &str, connect_timeout: Duration) {
        if !self.lock_addrs().insert(addr.to_string()) {
            return;
        }
        tracing::warn!(destination = addr, "destination quarantined: it refused or timed out");
        let (quarantine, addr) = (self.clone(), addr.to_string());
        let mut probes = self.probes.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        while probes.try_join_next().is_some() {}
        probes.spawn(async move {
            loop {
                tokio::time::sleep(PROBE_INTERVAL).await;
                if let Ok(Ok(_)) = tokio::time::timeout(connect_timeout, TcpStream::connect(&addr)).await {
                    quarantine.lock_addrs().remove(&addr);
                    tracing::info!(destination = %addr, "destination answers again: out of quarantine");
                    return;
                }
            }
        });
    }

    /// The quarantined addresses now.
    pub fn snapshot(&self) -> HashSet<String> {
        let addrs = self.lock_addrs();
        if addrs.is_empty() {
            HashSet::new()
        } else {
            addrs.clone()
        }
    }

    /// Stops every probe (router shutdown).
    pub fn stop(&self) {
        self.probes.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).abort_all();
    }

    fn lock_addrs(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.addrs.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
