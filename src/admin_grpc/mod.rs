//! gRPC at the top, beside `api`: the public Admin service (thin, over `service`) and the one gRPC
//! listener that also carries the members' services from `member_rpc`.
//!
//! Owns: turning Admin calls into service calls. Must not hold anything only members call.

mod admin_service;

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;
use tonic::transport::Server;

pub use admin_service::AdminService;

use crate::member_rpc::{MembersService, RaftService};
use crate::pb;
use crate::service::MetaService;

/// Serves the Raft, Members and Admin services on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    service: MetaService,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let node = service.node().clone();
    let raft = RaftService::new(node.raft().clone(), node.identity().clone());
    let members = MembersService::new(node, Arc::new(service.clone()));
    let admin = AdminService::new(service);
    // `Server::tcp_nodelay` applies only to listeners tonic binds itself: set it on this one, or
    // small replies (raft acks, forwarded writes' answers) wait on Nagle and the peer's delayed ACK.
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    Server::builder()
        .add_service(pb::raft_server::RaftServer::new(raft).max_decoding_message_size(MAX_MESSAGE_BYTES))
        .add_service(pb::members_server::MembersServer::new(members))
        .add_service(pb::admin_server::AdminServer::new(admin))
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
}

/// Largest raft message accepted (snapshots travel in chunks well below this).
const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;
