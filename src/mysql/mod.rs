//! The MySQL / MariaDB layer on `mysql_async`: everything shardkeeper says to a database server.
//!
//! - `flavor`: MariaDB / MySQL 8.0 / MySQL 8.4, from the version string.
//! - `gtid`: GTID sets of both flavors with subset / difference / union (pure).
//! - `dialect`: the SQL text per flavor, with escaping; statements carrying a password are
//!   `SqlWithSecret`, whose `Debug` hides it (pure).
//! - `status`: replica status rows of every flavor, interpreted (pure).
//! - `client`: `DbClient`, one lazily opened, time-bounded session per server; `session` and
//!   `ops` are its insides (connection handling; the statement sequences of each operation).
//! - `error`: `DbError`, the one error type of this module; `tls`: `DbTls`, whether sessions speak
//!   TLS (built from `[fleet.tls]` by `crate::tls`).
//!
//! This module knows nothing of shards, raft or policies: callers decide what to do, this
//! module does it against one server. Passwords arrive as `meta::Secret` and are only exposed
//! while building connection options and the statements that need them; nothing here logs or
//! formats them.

pub mod client;
pub mod dialect;
pub mod error;
pub mod flavor;
pub mod gtid;
mod ops;
mod session;
pub mod status;
mod tls;

pub use client::{DbClient, DbEndpoint, DbTimeouts, ReplicationSource, ServerState};
pub use dialect::SqlWithSecret;
pub use error::{DbError, ER_NO_SUCH_THREAD, ER_UNKNOWN_SYSTEM_VARIABLE};
pub use flavor::Flavor;
pub use gtid::{GtidSet, Interval, MariaDbGtid, MariaDbGtids, MySqlGtids};
pub use status::{IoThreadState, ReplicaStatus, StatusRow};
pub use tls::DbTls;
