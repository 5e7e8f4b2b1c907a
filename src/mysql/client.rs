//! `DbClient`: the handle the prober and the executors use to talk to one database server. It
//! owns at most one session (opened lazily, dropped after any error so the next call starts
//! fresh) and the per-call timeouts; every network step is bounded, so a frozen server makes a
//! call fail within the timeout instead of hanging. The statements themselves live in `ops`
//! (what to run) and `dialect` (how each flavor spells it).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::meta::Secret;
use crate::mysql::session::Session;
use crate::mysql::{DbError, DbTls, Flavor, GtidSet, ReplicaStatus};

/// Where and as whom to connect (the cluster's admin credentials).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbEndpoint {
    /// `host:port`; IPv6 hosts in brackets.
    pub addr: String,
    pub user: String,
    /// Never serialized.
    #[serde(skip_serializing, default)]
    pub password: Secret,
}

/// Bounds on each network step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DbTimeouts {
    /// Opening a session: TCP connect, handshake and login (default 1s).
    #[serde(with = "humantime_serde")]
    pub connect: Duration,
    /// Each statement (default 1s). Waits get their own timeout on top of this one.
    #[serde(with = "humantime_serde")]
    pub query: Duration,
    /// `STOP SLAVE` / `STOP REPLICA` (default 5s): it waits for the IO thread, which may sit in a
    /// read from a silent (paused, cut off) source for up to the replica's `slave_net_timeout`,
    /// so this must exceed that.
    #[serde(with = "humantime_serde")]
    pub stop_replication: Duration,
}

impl Default for DbTimeouts {
    fn default() -> Self {
        DbTimeouts {
            connect: Duration::from_secs(1),
            query: Duration::from_secs(1),
            stop_replication: Duration::from_secs(5),
        }
    }
}

/// The source a replica is pointed at, with the replication credentials.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicationSource {
    pub host: String,
    pub port: u16,
    pub user: String,
    /// Never serialized.
    #[serde(skip_serializing, default)]
    pub password: Secret,
    /// Replication heartbeat period (default 0.5s; millisecond precision).
    #[serde(with = "humantime_serde", default = "default_heartbeat")]
    pub heartbeat: Duration,
    /// Seconds between reconnection attempts of the replica (default 1, the minimum).
    #[serde(default = "default_connect_retry")]
    pub connect_retry_secs: u32,
}

fn default_heartbeat() -> Duration {
    Duration::from_millis(500)
}

fn default_connect_retry() -> u32 {
    1
}

impl ReplicationSource {
    /// A source with the default heartbeat (0.5s) and connect retry (1s).
    pub fn new(
        host: impl Into<String>,
        port: u16,
        user: impl Into<String>,
        password: Secret,
    ) -> Self {
        ReplicationSource {
            host: host.into(),
            port,
            user: user.into(),
            password,
            heartbeat: default_heartbeat(),
            connect_retry_secs: default_connect_retry(),
        }
    }
}

/// One probe of a server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServerState {
    pub version: String,
    pub flavor: Flavor,
    pub server_id: u32,
    /// MySQL `@@server_uuid` (the origin of its own GTIDs); `None` on MariaDB.
    pub server_uuid: Option<String>,
    pub read_only: bool,
    /// MySQL `gtid_executed`; MariaDB `gtid_binlog_state` merged with `gtid_slave_pos`.
    pub gtid_executed: GtidSet,
    /// `None` when no replication source is configured.
    pub replica: Option<ReplicaStatus>,
    pub semi_sync_source_enabled: bool,
    /// Semi-sync source status ON: enabled and not fallen back to asynchronous.
    pub semi_sync_source_active: bool,
    pub semi_sync_replica_enabled: bool,
    /// Client sessions, excluding system and replication threads and our own session.
    pub client_count: u32,
    pub log_bin: bool,
    pub log_replica_updates: bool,
}

/// A cheap-to-clone handle on one server; clones share the kept session.
///
/// One session is kept open between calls. A call that finds it busy (the prober probing while
/// an executor waits for GTIDs, say) does not queue behind it: it opens a one-off session that
/// it closes when done, so a long wait never delays a probe.
#[derive(Clone)]
pub struct DbClient {
    inner: Arc<Inner>,
}

struct Inner {
    endpoint: DbEndpoint,
    timeouts: DbTimeouts,
    tls: DbTls,
    session: Mutex<Option<Session>>,
    /// Server-side id of the kept session (0: none), spared by kills run on one-off sessions.
    kept_id: AtomicU32,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(session) = self.session.get_mut().take() {
            session.close();
        }
    }
}

impl std::fmt::Debug for DbClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbClient")
            .field("addr", &self.inner.endpoint.addr)
            .field("user", &self.inner.endpoint.user)
            .field("timeouts", &self.inner.timeouts)
            .field("tls", &self.inner.tls)
            .finish()
    }
}

/// Runs `$body` (an expression over `$s: &mut Session`, awaited) on the kept session, or on a
/// one-off session when the kept one is busy.
macro_rules! with_session {
    ($client:expr, retry = $retry:expr, |$s:ident| $body:expr) => {{
        let inner = &$client.inner;
        match inner.session.try_lock() {
            Ok(mut kept) => in_slot!(inner, &mut *kept, true, $retry, |$s| $body),
            Err(_) => {
                let mut one_off = None;
                let result = in_slot!(inner, &mut one_off, false, $retry, |$s| $body);
                if let Some(session) = one_off.take() {
                    session.close();
                }
                result
            }
        }
    }};
}

/// Runs `$body` with the session in `$slot`, opening it first when needed and closing it after
/// any error. With `retry`, a call that found a kept session broken (the server restarted since,
/// say) is retried once on a fresh one; only read-only calls may retry.
macro_rules! in_slot {
    ($inner:expr, $slot:expr, $kept:expr, $retry:expr, |$s:ident| $body:expr) => {{
        let slot: &mut Option<Session> = $slot;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let fresh = slot.is_none();
            let $s = match $inner.ensure(slot, $kept).await {
                Ok(s) => s,
                Err(e) => break Err(e),
            };
            // Stays set if the caller drops this call midway; `ensure` then starts afresh.
            $s.interrupted = true;
            match $body.await {
                Ok(v) => {
                    if let Some(session) = slot.as_mut() {
                        session.interrupted = false;
                    }
                    break Ok(v);
                }
                Err(e) => {
                    $inner.discard(slot, $kept);
                    let lost = matches!(e, DbError::ConnectionLost { .. });
                    if $retry && lost && !fresh && attempts < 2 {
                        tracing::debug!(addr = %$inner.endpoint.addr, error = %e, "kept session broken, reconnecting");
                        continue;
                    }
                    break Err(e);
                }
            }
        }
    }};
}

impl Inner {
    async fn ensure<'a>(
        &self,
        slot: &'a mut Option<Session>,
        kept: bool,
    ) -> Result<&'a mut Session, DbError> {
        if slot.as_ref().is_some_and(|s| s.interrupted) {
            tracing::debug!(addr = %self.endpoint.addr, "session left mid-call, reconnecting");
            self.discard(slot, kept);
        }
        if slot.is_none() {
            let session = Session::open(&self.endpoint, &self.timeouts, &self.tls).await?;
            if kept {
                self.kept_id.store(session.id(), Ordering::Relaxed);
            }
            *slot = Some(session);
        }
        slot.as_mut()
            .ok_or_else(|| DbError::unexpected(&self.endpoint.addr, "connect", "no session"))
    }

    fn discard(&self, slot: &mut Option<Session>, kept: bool) {
        if let Some(session) = slot.take() {
            session.close();
        }
        if kept {
            self.kept_id.store(0, Ordering::Relaxed);
        }
    }

    /// The kept session's id, to spare it (when the calling session is a one-off).
    fn spare(&self) -> Option<u32> {
        Some(self.kept_id.load(Ordering::Relaxed)).filter(|id| *id != 0)
    }
}

impl DbClient {
    /// A client whose sessions use `tls`; nothing is opened until the first call.
    pub fn new(endpoint: DbEndpoint, timeouts: DbTimeouts, tls: DbTls) -> DbClient {
        DbClient {
            inner: Arc::new(Inner {
                endpoint,
                timeouts,
                tls,
                session: Mutex::new(None),
                kept_id: AtomicU32::new(0),
            }),
        }
    }

    /// `host:port` of the server.
    pub fn addr(&self) -> &str {
        &self.inner.endpoint.addr
    }

    pub fn timeouts(&self) -> DbTimeouts {
        self.inner.timeouts
    }

    /// Drops the kept session, if any (the next call reconnects).
    pub async fn disconnect(&self) {
        let mut kept = self.inner.session.lock().await;
        self.inner.discard(&mut kept, true);
    }

    /// Reads the server's state: two round trips on an open session.
    pub async fn probe(&self) -> Result<ServerState, DbError> {
        with_session!(self, retry = true, |s| s.probe(self.inner.spare()))
    }

    /// The executed GTIDs (see `ServerState::gtid_executed`).
    pub async fn gtid_executed(&self) -> Result<GtidSet, DbError> {
        with_session!(self, retry = true, |s| s.gtid_executed())
    }

    /// The replica status alone; `None` when no source is configured.
    pub async fn replica_status(&self) -> Result<Option<ReplicaStatus>, DbError> {
        with_session!(self, retry = true, |s| s.replica_status())
    }

    /// Turns `read_only` on (MySQL: `super_read_only`) or off.
    pub async fn set_read_only(&self, read_only: bool) -> Result<(), DbError> {
        with_session!(self, retry = false, |s| s.set_read_only(read_only))
    }

    /// Kills every client session except ours (system users and replication threads are
    /// spared); answers how many were killed.
    pub async fn kill_client_sessions(&self) -> Result<u32, DbError> {
        with_session!(self, retry = false, |s| s
            .kill_client_sessions(self.inner.spare()))
    }

    /// Fences an old primary: kills client sessions, turns read_only on, kills again the
    /// sessions that slipped in meanwhile; answers how many were killed in all.
    pub async fn fence(&self) -> Result<u32, DbError> {
        with_session!(self, retry = false, |s| s.fence(self.inner.spare()))
    }

    /// Makes the server a primary: stops and forgets replication, enables source-side semi-sync
    /// (and disables the replica side) when `semi_sync`, then turns read_only off.
    pub async fn promote(&self, semi_sync: bool) -> Result<(), DbError> {
        with_session!(self, retry = false, |s| s.promote(semi_sync))
    }

    /// Makes the server a read-only replica of `source` with GTID auto-positioning; replica-side
    /// semi-sync on or off per `semi_sync`, source side off. Safe to repeat.
    pub async fn repoint(
        &self,
        source: &ReplicationSource,
        semi_sync: bool,
    ) -> Result<(), DbError> {
        with_session!(self, retry = false, |s| s.repoint(source, semi_sync))
    }

    /// Waits until the server has executed `target`; `Ok(false)` when `timeout` ran out first.
    /// MariaDB waits on `gtid_slave_pos` per domain (`MASTER_GTID_WAIT`), after a quick check
    /// that the target is not already contained in what the server executed.
    pub async fn wait_for_gtids(
        &self,
        target: &GtidSet,
        timeout: Duration,
    ) -> Result<bool, DbError> {
        with_session!(self, retry = false, |s| s.wait_for_gtids(target, timeout))
    }

    /// Waits until the SQL thread has applied everything the I/O thread received. `Ok(true)`
    /// when nothing is pending (or the server is not a replica); `Ok(false)` on timeout, or at
    /// once when the SQL thread is stopped with transactions still pending.
    pub async fn wait_relay_log_applied(&self, timeout: Duration) -> Result<bool, DbError> {
        with_session!(self, retry = false, |s| s.wait_relay_log_applied(timeout))
    }

    /// `host:port` of the replicas currently connected to this server, as they report
    /// themselves (`report_host` / `report_port`); replicas that report no host are left out.
    pub async fn replica_addresses(&self) -> Result<Vec<String>, DbError> {
        with_session!(self, retry = true, |s| s.replica_addresses())
    }

    /// Runs one statement and discards its result (tests and tools). Never pass a password.
    pub async fn execute(&self, sql: &str) -> Result<(), DbError> {
        with_session!(self, retry = false, |s| s.execute(sql))
    }

    /// Runs one query and answers its rows as text (tests and tools).
    pub async fn query(&self, sql: &str) -> Result<Vec<Vec<Option<String>>>, DbError> {
        with_session!(self, retry = false, |s| s.query_text(sql))
    }
}
