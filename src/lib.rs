//! shardkeeper: a raft-replicated control plane for sharded MySQL / MariaDB fleets.
//!
//! - `meta`: the domain (namespaces, clusters, shards, nodes, slots) and the pure state machine.
//! - `storage`: sled, the only module that touches disk; `raft`: openraft glue over it.
//! - `mysql`: the MySQL / MariaDB client layer (flavors, GTID sets, status parsing, repair SQL).
//! - `health`: the leader's prober and the pure analysis of what it sees; `failover`: planning and
//!   executing failovers, switchovers and repairs, leader only.
//! - `pb`: the generated protobuf code and pb <-> domain conversions, at the bottom.
//! - `transport`: the members' client side (channel cache, transport-error classification).
//! - `node`: one raft member; leadership, forwarding (gRPC, one hop), linearizable reads, membership.
//! - `member_rpc`: the gRPC servers only members call (Raft, Members: Propose, ReadIndex, ...).
//! - `router`: the MySQL connection router (a listener per route, following failovers).
//! - `service`: one method per use case, shared by every API flavor.
//! - `api`: axum routers, one module per flavor, thin over `service`; `admin_grpc`: the public Admin
//!   gRPC service beside it, and the one gRPC listener.
//! - `auth`: principals, roles, tokens, the one role table, the cluster secret, the safe default;
//!   used by `api`'s layer, `admin_grpc`'s layer and the members' check (docs/security.md).
//! - `tls`: the `[tls]` and `[fleet.tls]` PEM files, checked once at start, and the rustls / tonic /
//!   mysql_async settings of the servers, the members' channels and the database connections.
//! - `error`: the one error-code table for HTTP and gRPC; `config` / `cli`: settings and flags.
//! - `server`: wires a node's storage, raft and servers together and shuts them down.
//! - `fuzzing` (only under `cfg(fuzzing)`): the entry points of the fuzz targets in `fuzz/`.
//!
//! Writes become `meta::Command`s committed by a raft majority and applied on every node; reads are
//! linearizable through the leader's read index unless `?consistency=stale` asks for the local copy.

pub mod admin_grpc;
pub mod api;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod error;
pub mod failover;
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;
pub mod health;
pub mod member_rpc;
pub mod meta;
pub mod mysql;
pub mod node;
pub mod pb;
pub mod raft;
pub mod router;
pub mod server;
pub mod service;
pub mod storage;
pub mod tls;
pub mod transport;
