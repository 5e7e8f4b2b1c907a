//! The members' gRPC servers: what only cluster members call on each other.
//!
//! Owns: the Raft service (openraft's messages) and the Members service (forwarded writes, the
//! leader's read index, leader-only calls, forwarded membership changes and joins). Sits beside
//! `node` and imports it; nothing below imports this. Client operations are `admin_grpc`'s.

mod members_service;
mod raft_service;

pub use members_service::MembersService;
pub use raft_service::RaftService;
